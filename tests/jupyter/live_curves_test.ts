// The live training figure in real Jupyter clients: the classic Notebook in headless Chromium
// (frontend.ts) must show ONE figure under the training cell whose points grow while the cell
// runs, and the headless runner (jupyter/execute_notebook.py) must keep the figure's final state,
// which the rendered copy then draws as a picture. The training is a slowed loop of a few
// seconds that calls the callbacks as model.fit would.
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { openNotebookInBrowser } from "./frontend.ts";
import { figureOf } from "../../lib/display/plotly.ts";
import { renderFigureImages } from "../../lib/display/static_plot.ts";
import { type Notebook, renderedCopy } from "../../jupyter/rendered_copy.ts";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const EPOCHS = 3;
const BATCHES = 50;
/** Per-batch points of both panels plus the per-epoch ones (training and validation, twice). */
const FINAL_POINTS = 2 * EPOCHS * BATCHES + 4 * EPOCHS;

const SOURCES = [
  `import { loadPlotly } from "../../lib/display/plotly.ts";\nawait loadPlotly();`,
  [
    `import { liveTrainingCurves } from "../../lib/display/training_curves.ts";`,
    `const callbacks = liveTrainingCurves({ epochs: ${EPOCHS}, batchesPerEpoch: ${BATCHES}, minIntervalMs: 300 });`,
    `for (let epoch = 0, step = 1; epoch < ${EPOCHS}; epoch++) {`,
    `  for (let batch = 0; batch < ${BATCHES}; batch++, step++) {`,
    `    await new Promise((resolve) => setTimeout(resolve, 50)); // a training step`,
    `    await callbacks.onBatchEnd(batch, { loss: 2 / step, acc: 1 - 1 / (step + 1) });`,
    `  }`,
    `  const loss = 2 / step, acc = 1 - 1 / step;`,
    `  await callbacks.onEpochEnd(epoch, { loss, acc, val_loss: loss * 1.1, val_acc: acc * 0.99 });`,
    `}`,
    `await callbacks.onTrainEnd();`,
  ].join("\n"),
  `console.log("after training");`,
];

async function writeNotebook(prefix: string): Promise<{ dir: string; path: string }> {
  // Inside the repository, so that the kernel resolves imports with its deno.json.
  await Deno.mkdir(join(repo, "outputs"), { recursive: true });
  const dir = await Deno.makeTempDir({ dir: join(repo, "outputs"), prefix });
  const path = join(dir, "live.ipynb");
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      nbformat: 4,
      nbformat_minor: 5,
      metadata: {
        kernelspec: { name: "deno", display_name: "Deno", language: "typescript" },
        language_info: { name: "typescript" },
      },
      cells: SOURCES.map((source, i) => ({
        cell_type: "code",
        id: `cell${i}`,
        source,
        metadata: {},
        outputs: [],
        execution_count: null,
      })),
    }),
  );
  return { dir, path };
}

/** What the page shows under the training cell at one moment. */
interface Sample {
  running: boolean;
  outputs: number;
  /** Points drawn by each Plotly plot in the cell's output area (from the plot's own data). */
  plots: number[];
}

const SAMPLE = `(() => {
  const cell = Jupyter.notebook.get_cell(1);
  const plots = [...cell.output_area.element[0].querySelectorAll(".js-plotly-plot")];
  return {
    running: cell.input_prompt_number === "*",
    outputs: cell.output_area.outputs.length,
    plots: plots.map((p) => (p.data ?? []).reduce((n, t) => n + (t.x ?? []).length, 0)),
  };
})()`;

Deno.test("the classic Notebook shows one figure under the training cell that grows while it runs", async () => {
  const { dir, path } = await writeNotebook(".live-curves-test-");
  try {
    const page = await openNotebookInBrowser(path);
    try {
      // The page records what the cell shows each time its outputs change: on a busy machine
      // polling from here, or even a timer in the page, would miss most of the updates.
      await page.evaluate(`(() => {
        const samples = window.__samples = [];
        const area = Jupyter.notebook.get_cell(1).output_area.element[0];
        new MutationObserver(() => samples.push(${SAMPLE}))
          .observe(area, { childList: true, subtree: true });
        return true;
      })()`);
      const { cells } = await page.runAll({ timeoutMs: 120_000, settleMs: 1000 });
      const samples = await page.evaluate<Sample[]>(`window.__samples`);
      const final = await page.evaluate<Sample>(SAMPLE);
      const seen = JSON.stringify(samples.filter((s) => s.running));
      assert.ok(samples.every((s) => s.plots.length <= 1 && s.outputs <= 1), seen);
      const growing = samples.filter((s) => s.running && s.plots.length === 1).map((s) =>
        s.plots[0]
      );
      assert.deepEqual(growing, growing.toSorted((a, b) => a - b), `never shrinks: ${seen}`);
      assert.ok(new Set(growing).size >= 5, `point counts seen while running: ${seen}`);
      assert.ok(growing[0] < FINAL_POINTS / 2, `starts small: ${seen}`);
      assert.deepEqual(final, { running: false, outputs: 1, plots: [FINAL_POINTS] });
      assert.equal(cells[1].outputs.length, 1, "one output: the figure, updated in place");
      assert.match(String(cells[2].outputs[0]?.text), /after training/);
    } finally {
      await page.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the headless runner keeps the final figure, and the rendered copy draws it", async () => {
  const { dir, path } = await writeNotebook(".live-curves-runner-");
  try {
    const result = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(repo, "jupyter", "run_notebook.ts"), path, "--no-html"]
        .concat(["--output-dir", join(dir, "out")]),
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(result.stderr);
    assert.equal(result.code, 0, stderr);
    const executed: Notebook = JSON.parse(
      await Deno.readTextFile(join(dir, "out", "live.ipynb")),
    );
    const outputs = executed.cells[1].outputs ?? [];
    assert.equal(outputs.length, 1, "one output, updated in place");
    const figure = figureOf(outputs[0].data ?? {});
    assert.ok(figure, "the output holds the figure object");
    const points = figure.data.reduce((n, t) => n + (t.x as number[]).length, 0);
    assert.equal(points, FINAL_POINTS, "the final state, every point");
    assert.match(String(outputs[0].data?.["text/plain"]), /Training: done, 3 epochs/);

    const copy = await renderedCopy(executed, {
      draw: renderFigureImages,
      provenance: { commit: "test", machine: "test", date: "2026-12-07", parameters: {} },
    });
    const drawn = copy.cells[2].outputs ?? [];
    assert.equal(drawn.length, 1);
    assert.match(String(drawn[0].data?.["image/png"]), /^iVBORw0KGgo/, "a PNG picture");
    assert.deepEqual(drawn[0].metadata, { "image/png": { width: 900, height: 400 } });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
