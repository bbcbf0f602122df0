// jupyter/rendered_copy.ts: building the rendered copy from an executed notebook, and the check
// that keeps it in step with the notebook (run by deno task check).
import assert from "node:assert/strict";
import {
  checkRenderedCopy,
  figuresIn,
  HEADER_TAG,
  MAX_RENDERED_BYTES,
  type Notebook,
  type NotebookCell,
  type Provenance,
  renderedCopy,
} from "../../jupyter/rendered_copy.ts";
import { PLOTLY_MIME, type PlotlyFigure } from "../../lib/display/plotly.ts";

const PROVENANCE: Provenance = {
  commit: "0123456789",
  machine: "2 cores of a test CPU",
  date: "2026-11-25T12:00:00Z",
  parameters: {},
  runSeconds: 185,
};

const figure = (title: string): PlotlyFigure => ({
  data: [{ type: "bar", y: [1] }],
  layout: { title: { text: title }, width: 320, height: 240 },
});

function executed(): Notebook {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: "deno" } },
    cells: [
      { cell_type: "markdown", source: "# Title", metadata: {} },
      {
        cell_type: "code",
        source: "await loadPlotly();",
        metadata: {},
        execution_count: 1,
        outputs: [
          {
            output_type: "display_data",
            metadata: {},
            data: {
              "text/html": '<script>(window.__plotlyChunks = [])[0] = "...";</script>',
              "text/plain": "[plotly.js part 1/1]",
            },
          },
          {
            output_type: "display_data",
            metadata: {},
            data: {
              "text/html": "<script>run()</script><div>loaded</div>",
              "text/plain": "loaded",
            },
          },
          { output_type: "stream", name: "stdout", text: "hello\n" },
        ],
      },
      {
        cell_type: "code",
        source: ["await showPlot(a);\n", "await showPlot(b);"],
        metadata: {},
        execution_count: 2,
        outputs: ["A", "B"].map((title) => ({
          output_type: "display_data",
          metadata: {},
          data: {
            "text/html": "<div id=x></div><script>Plotly.newPlot()</script>",
            [PLOTLY_MIME]: figure(title),
            "text/plain": `[Plotly figure: ${title}, 1 trace(s)]`,
          },
        })),
      },
      {
        cell_type: "code",
        source: "table",
        metadata: {},
        execution_count: 3,
        outputs: [{
          output_type: "execute_result",
          execution_count: 3,
          metadata: {},
          data: { "text/html": "<table><tr><td>1</td></tr></table>", "text/plain": "1" },
        }],
      },
    ],
  };
}

/** The source notebook: the executed one without outputs. */
function source(): Notebook {
  const nb = executed();
  nb.cells = nb.cells.map((c) => ({ ...c, outputs: c.cell_type === "code" ? [] : undefined }));
  return nb;
}

const fakeDraw = (figures: readonly PlotlyFigure[]) =>
  Promise.resolve(figures.map((f) => btoa(JSON.stringify(f.layout?.title))));

Deno.test("figuresIn() finds the figure objects of the Plotly outputs, in order", () => {
  assert.deepEqual(figuresIn(executed()), [figure("A"), figure("B")]);
});

Deno.test("renderedCopy() turns figures into pictures and drops plotly.js and scripts", async () => {
  const copy = await renderedCopy(executed(), { draw: fakeDraw, provenance: PROVENANCE });
  const [header, title, setup, plots, table] = copy.cells;
  assert.deepEqual(header.metadata, { tags: [HEADER_TAG] });
  assert.deepEqual(title, executed().cells[0]);
  // The library slice is gone; the loader keeps its text; the stream is untouched.
  assert.deepEqual(setup.outputs, [
    { output_type: "display_data", metadata: {}, data: { "text/plain": "loaded" } },
    { output_type: "stream", name: "stdout", text: "hello\n" },
  ]);
  assert.deepEqual(plots.outputs?.map((o) => o.data), [
    { "image/png": btoa('{"text":"A"}'), "text/plain": "[Plotly figure: A, 1 trace(s)]" },
    { "image/png": btoa('{"text":"B"}'), "text/plain": "[Plotly figure: B, 1 trace(s)]" },
  ]);
  assert.deepEqual(plots.outputs?.[0].metadata, { "image/png": { width: 320, height: 240 } });
  assert.deepEqual(table, executed().cells[3], "HTML without scripts is kept as it is");
  assert.deepEqual(copy.metadata.rendered_copy, PROVENANCE);
  assert.deepEqual(checkRenderedCopy(source(), copy, 1000), []);
});

Deno.test("the header cell says which commit, machine and parameters made the outputs", async () => {
  const made = async (parameters: Record<string, string>) => {
    const copy = await renderedCopy(executed(), {
      draw: fakeDraw,
      provenance: { ...PROVENANCE, parameters },
    });
    return String(copy.cells[0].source);
  };
  const text = await made({});
  assert.match(text, /commit `0123456789`/);
  assert.match(text, /on 2 cores of a test CPU, finished 2026-11-25T12:00:00Z/);
  assert.match(text, /with the default parameters/);
  assert.match(text, /Run All took 3 min/);
  assert.match(text, /\[`mnist_handwritten_digit_recognizer.ipynb`\]\(/);
  assert.match(
    await made({ EPOCHS: "1", TRAIN_SAMPLES: "2000" }),
    /with `EPOCHS=1`, `TRAIN_SAMPLES=2000`/,
  );
});

Deno.test("renderedCopy() fails when the drawing does not give one picture per figure", async () => {
  await assert.rejects(
    renderedCopy(executed(), { draw: () => Promise.resolve(["x"]), provenance: PROVENANCE }),
    /Drew 1 pictures for 2 figures/,
  );
});

Deno.test("checkRenderedCopy() names each way the copy can drift from the notebook", async () => {
  const copy = await renderedCopy(executed(), { draw: fakeDraw, provenance: PROVENANCE });
  const edited = structuredClone(copy);
  (edited.cells[3] as NotebookCell).source = "await showPlot(c);";
  assert.deepEqual(checkRenderedCopy(source(), edited, 1000), [
    "Notebook cell 3 (`await showPlot(a);`) differs in the rendered copy.",
  ]);
  const retyped = structuredClone(copy);
  retyped.cells[1].cell_type = "raw";
  assert.match(checkRenderedCopy(source(), retyped, 1000)[0], /cell 1 \(`# Title`\) differs/);

  const longer = source();
  longer.cells.push({ cell_type: "markdown", source: "new", metadata: {} });
  assert.deepEqual(checkRenderedCopy(longer, copy, 1000), [
    "The rendered copy has 4 cells after its header, the notebook 5.",
  ]);

  const headless = { ...copy, cells: copy.cells.slice(1) };
  assert.match(checkRenderedCopy(source(), headless, 1000)[0], /does not start with its header/);

  const scripted = structuredClone(copy);
  scripted.cells[4].outputs![0].data!["text/html"] = "<script>x()</script>";
  assert.deepEqual(checkRenderedCopy(source(), scripted, 1000), [
    "An output of cell 4 in the rendered copy carries a script.",
  ]);

  assert.deepEqual(checkRenderedCopy(source(), copy, MAX_RENDERED_BYTES), []);
  assert.match(
    checkRenderedCopy(source(), copy, MAX_RENDERED_BYTES + 1)[0],
    /is 3\.1 MB, over the limit of 3 MB/,
  );
});

Deno.test("checkRenderedCopy() names the first three differing cells and counts the rest", async () => {
  const copy = await renderedCopy(executed(), { draw: fakeDraw, provenance: PROVENANCE });
  const inserted = source();
  inserted.cells.unshift({ cell_type: "markdown", source: "new first cell", metadata: {} });
  copy.cells.push({ cell_type: "markdown", source: "padding", metadata: {} });
  const problems = checkRenderedCopy(inserted, copy, 1000);
  assert.equal(problems.length, 4);
  assert.match(problems[0], /^Notebook cell 1 \(`new first cell`\) differs/);
  assert.equal(problems[3], "2 more cells differ.");
});
