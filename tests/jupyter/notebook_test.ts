// End-to-end tests of the notebook tooling: jupyter/execute_notebook.py (via run_notebook.ts)
// in a real Deno kernel, and jupyter/check_notebook.ts. These need Debian's Jupyter
// (/usr/bin/python3 + jupyter-client/nbconvert) and chromium; `deno task test` sets them up first
// (jupyter/setup.ts), so their absence is a test FAILURE with the install command, never a skip.
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  extractCells,
  isFormatted,
  mapLocations,
  notebookRuleErrors,
} from "../../jupyter/check_notebook.ts";
import { CHROMIUM, CHROMIUM_BROWSER, installCommand, JUPYTER } from "../../jupyter/setup.ts";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** nbformat stores multi-line strings as arrays of lines. */
type MultilineString = string | string[];
interface Output {
  output_type: string;
  name?: string;
  text?: MultilineString;
  data?: Record<string, MultilineString>;
}

function str(value: MultilineString | undefined): string {
  return Array.isArray(value) ? value.join("") : value ?? "";
}
interface Cell {
  cell_type: string;
  source: string;
  outputs?: Output[];
  metadata?: Record<string, unknown>;
}

function notebook(sources: string[], tags: Record<number, string[]> = {}): string {
  return JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: "deno", display_name: "Deno", language: "typescript" },
      language_info: { name: "typescript" },
    },
    cells: sources.map((source, i) => ({
      cell_type: "code",
      id: `c${i}`,
      source,
      metadata: tags[i] ? { tags: tags[i] } : {},
      outputs: [],
      execution_count: null,
    })),
  });
}

/** Runs the runner on `sources` in a temp dir inside the repo (so deno.json applies). */
async function runNotebook(
  sources: string[],
  options: { env?: Record<string, string>; tags?: Record<number, string[]>; html?: boolean } = {},
) {
  await Deno.mkdir(join(repo, "outputs"), { recursive: true });
  const dir = await Deno.makeTempDir({ dir: join(repo, "outputs"), prefix: ".notebook-test-" });
  const path = join(dir, "t.ipynb");
  await Deno.writeTextFile(path, notebook(sources, options.tags));
  const args = ["run", "-A", join(repo, "jupyter", "run_notebook.ts"), path];
  args.push("--output-dir", join(dir, "out"));
  if (!options.html) args.push("--no-html");
  const result = await new Deno.Command(Deno.execPath(), {
    args,
    env: options.env ?? {},
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(result.stderr);
  let cells: Cell[] = [];
  try {
    cells = JSON.parse(await Deno.readTextFile(join(dir, "out", "t.ipynb"))).cells;
  } catch {
    // no executed notebook (e.g. startup failure); the assertions on `code` report it
  }
  return { code: result.code, stderr, cells, dir };
}

function texts(cell: Cell): string {
  return (cell.outputs ?? []).map((o) => str(o.text ?? o.data?.["text/plain"])).join("\n");
}

async function requireJupyter(): Promise<void> {
  assert.ok(
    await JUPYTER.probe(),
    `Jupyter is missing for /usr/bin/python3, so the notebook runner cannot be tested. ` +
      `Install it with: ${installCommand(JUPYTER.packages)}`,
  );
}

Deno.test("runner keeps every output, even those Deno sends after the cell's idle", async () => {
  await requireJupyter();
  // Each round has the output kinds that Deno 2.9.6 was seen to drop with nbconvert --execute.
  const sources: string[] = [];
  for (let i = 0; i < 6; i++) {
    sources.push(`console.log("print-${i}");`);
    sources.push(`await Deno.jupyter.display({ "text/plain": "disp-${i}" }, { raw: true });`);
    sources.push(
      `await Deno.jupyter.broadcast("display_data", { data: { "text/plain": "bc-${i}" }, ` +
        `metadata: {}, transient: { display_id: "bc${i}" } });`,
    );
    sources.push(
      `console.log("a-${i}"); await new Promise((r) => setTimeout(r, 20)); console.log("b-${i}");`,
    );
    sources.push(`"result-${i}"`);
  }
  sources.push(`console.log(Deno.env.get("EPOCHS"), Deno.env.get("RUNNER_TEST_TOKEN"));`);
  const { code, stderr, cells, dir } = await runNotebook(sources, {
    env: { EPOCHS: "3", RUNNER_TEST_TOKEN: "tok-42" },
  });
  try {
    assert.equal(code, 0, stderr);
    sources.forEach((source, i) => {
      for (const token of source.matchAll(/"((?:print|disp|bc|a|b|result)-\d)"/g)) {
        assert.ok(texts(cells[i]).includes(token[1]), `cell ${i + 1} lacks ${token[1]}`);
      }
    });
    assert.equal(texts(cells.at(-1)!).trim(), "3 tok-42", "environment reaches the kernel");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runner: plots render offline in the HTML, library once, progress updated in place", async () => {
  await requireJupyter();
  const sources = [
    `import { loadPlotly, showPlot } from "../../lib/display/plotly.ts";\n` +
    `import { ProgressDisplay } from "../../lib/display/progress.ts";\n` +
    `import { showSvg } from "../../lib/display/jupyter.ts";\n` +
    `await showPlot({ data: [{ type: "scatter", y: [3, 1, 2] }], layout: { title: { text: "one" } } });`,
    `const progress = new ProgressDisplay({ title: "Training", minIntervalMs: 50 });\n` +
    `for (let i = 1; i <= 20; i++) {\n` +
    `  await progress.update({ value: i, total: 20, fields: { batch: i } });\n` +
    `  await new Promise((r) => setTimeout(r, 10));\n}\nawait progress.done();`,
    `await showPlot({ data: [{ type: "bar", x: ["a"], y: [1] }], layout: { title: { text: "two" } } });`,
    `await showSvg('<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"></svg>');`,
    `await loadPlotly(); // explicit: always re-emits the library`,
    `await showPlot({ data: [{ type: "scatter", y: [1] }], layout: { title: { text: "three" } } });`,
  ];
  const { code, stderr, cells, dir } = await runNotebook(sources, { html: true });
  try {
    assert.equal(code, 0, stderr);
    const chunks = (c: Cell) =>
      (c.outputs ?? []).filter((o) => str(o.data?.["text/html"]).includes("__plotlyChunks")).length;
    assert.ok(chunks(cells[0]) >= 2, "first plot carries the library");
    assert.equal(chunks(cells[2]), 0, "second plot does not");
    assert.ok(chunks(cells[4]) >= 2, "loadPlotly() emits the library even when loaded");
    assert.equal(chunks(cells[5]), 0, "and plots after it do not");
    assert.equal(cells[1].outputs?.length, 1, "progress is a single output");
    assert.match(texts(cells[1]), /Training \[#{20}\] 100% \| batch 20/);
    assert.ok(str(cells[3].outputs?.[0].data?.["text/html"]).startsWith("<svg"));

    const htmlPath = join(dir, "out", "t.html");
    const browser = await new Deno.Command(CHROMIUM, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--virtual-time-budget=10000",
        "--dump-dom",
        `file://${htmlPath}`,
      ],
      stdout: "piped",
      stderr: "null",
    }).output().catch(() => undefined);
    assert.ok(
      browser?.success,
      "chromium is needed to check that plots render in the HTML: " +
        installCommand(CHROMIUM_BROWSER.packages),
    );
    const dom = new TextDecoder().decode(browser.stdout);
    const rendered = dom.match(/class="plot-container plotly"/g) ?? [];
    assert.equal(rendered.length, 3, "all figures drawn by the inlined plotly.js, offline");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runner fails naming the cell that errors, and stops there", async () => {
  await requireJupyter();
  const { code, stderr, cells, dir } = await runNotebook([
    `console.log("ok");`,
    `throw new Error("boom in cell two");`,
    `console.log("never");`,
  ]);
  try {
    assert.notEqual(code, 0);
    assert.match(
      stderr,
      /Notebook cell 2 \(first line: `throw new Error\("boom in cell two"\);`\) raised Error: boom in cell two/,
    );
    assert.equal(cells[2].outputs?.length, 0, "execution stopped at the error");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runner fails naming a cell that exceeds NOTEBOOK_CELL_TIMEOUT, keeping its outputs", async () => {
  await requireJupyter();
  const { code, stderr, cells, dir } = await runNotebook(
    [
      `console.log("before");`,
      `console.log("waiting");\nawait new Promise((r) => setTimeout(r, 60_000));`,
    ],
    { env: { NOTEBOOK_CELL_TIMEOUT: "3" } },
  );
  try {
    assert.notEqual(code, 0);
    assert.match(
      stderr,
      /Notebook cell 2 \(first line: `console.log\("waiting"\);`\) did not finish within 3s/,
    );
    assert.match(texts(cells[0]), /before/);
    assert.match(texts(cells[1]), /waiting/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runner fails on a code cell without output unless tagged allow-empty-output", async () => {
  await requireJupyter();
  const { code, stderr, dir } = await runNotebook(
    [`const a = 1;`, `const b = 2;`, `console.log(a + b);`],
    { tags: { 1: ["allow-empty-output"] } },
  );
  try {
    assert.notEqual(code, 0);
    assert.match(stderr, /Notebook cell 1 .*produced no output/);
    assert.doesNotMatch(stderr, /Notebook cell 2/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runner explains a missing notebook", async () => {
  await requireJupyter();
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(repo, "jupyter", "run_notebook.ts"), "/nonexistent/x.ipynb"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.notEqual(result.code, 0);
  assert.match(
    new TextDecoder().decode(result.stderr),
    /Notebook \/nonexistent\/x.ipynb does not exist/,
  );
});

Deno.test("check_notebook maps code cells to one module and errors back to cells", () => {
  const nb = JSON.stringify({
    cells: [
      { cell_type: "markdown", source: "# Title" },
      { cell_type: "code", source: ["const a = 1;\n", "a;"] },
      { cell_type: "code", source: "const b: string = a;" },
    ],
  });
  const { source, lines, codeCells } = extractCells(nb);
  assert.equal(codeCells, 2);
  const generated = source.split("\n");
  assert.equal(generated[1], "const a = 1;");
  assert.deepEqual(lines[1], { cell: 2, line: 1 });
  const line = generated.indexOf("const b: string = a;") + 1;
  assert.deepEqual(lines[line - 1], { cell: 3, line: 1 });
  assert.ok(source.trimEnd().endsWith("export {};"));
  const mapped = mapLocations(`at file:///r/.nb.ts:${line}:7`, "/r/.nb.ts", lines, "nb.ipynb");
  assert.equal(mapped, "at nb.ipynb cell 3, line 1:7");
});

Deno.test("check_notebook holds code cells to 15 lines and the model to tf.layers in its cell", () => {
  const cell = (source: string) => ({ cell_type: "code", source });
  const conv = "model.add(tf.layers.conv2d({ filters: 32, kernelSize: 3 }));";
  const long = Array.from({ length: 16 }, (_, i) => `const v${i} = ${i};`).join("\n") + "\n";
  const errors = notebookRuleErrors(JSON.stringify({ cells: [cell(conv), cell(long)] }));
  assert.deepEqual(errors, ["cell 2 has 16 lines, more than 15"]);
  const fifteen = long.split("\n").slice(1).join("\n");
  assert.deepEqual(notebookRuleErrors(JSON.stringify({ cells: [cell(conv), cell(fifteen)] })), []);
  const built = notebookRuleErrors(JSON.stringify({ cells: [cell(`buildVariant("deep", o);`)] }));
  assert.match(built[0], /cell 1 calls buildVariant: write the tutorial's model with tf.layers/);
});

Deno.test("check_notebook reports a type error with its notebook cell", async () => {
  // Not under outputs/: deno.json excludes it, and deno check/lint skip excluded files.
  const dir = await Deno.makeTempDir({ dir: repo, prefix: ".check-test-" });
  try {
    const path = join(dir, "bad.ipynb");
    await Deno.writeTextFile(
      path,
      notebook([`const n = await Promise.resolve(1);\nconsole.log(n);`, `const s: string = n;`]),
    );
    const result = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(repo, "jupyter", "check_notebook.ts"), path],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(result.stderr);
    assert.notEqual(result.code, 0);
    assert.match(stderr, /deno check failed for the code cells of bad\.ipynb/);
    assert.match(stderr, /bad\.ipynb cell 2, line 1:7/);
    const leftovers = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".ts"));
    assert.deepEqual(leftovers, [], "the generated module is removed");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("check_notebook tells a formatted TypeScript notebook from one deno fmt would change", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const notebook = (code: string) =>
      JSON.stringify(
        {
          cells: [{
            cell_type: "code",
            execution_count: null,
            id: "a",
            metadata: {},
            outputs: [],
            source: [code],
          }],
          metadata: {
            kernelspec: { display_name: "Deno", language: "typescript", name: "deno" },
            language_info: { name: "typescript" },
          },
          nbformat: 4,
          nbformat_minor: 5,
        },
        null,
        1,
      ) + "\n";
    const messy = join(dir, "messy.ipynb");
    await Deno.writeTextFile(messy, notebook("const   a=1"));
    assert.equal(await isFormatted(messy), false);
    const tidy = join(dir, "tidy.ipynb");
    await Deno.writeTextFile(tidy, notebook("const a = 1;"));
    assert.equal(await isFormatted(tidy), true);
    assert.equal(
      await Deno.readTextFile(messy),
      notebook("const   a=1"),
      "the notebook itself is left as it was",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
