// Run All in a real frontend: the classic Notebook (Debian's jupyter-notebook) in headless
// Chromium, with the Deno kernel this test runs on. Run All queues every cell at once; a kernel
// that lets the next cell start before the previous one's displays went out shows them under
// the wrong cell (Deno 2.9.6 did, in most runs). Each cell here prints tokens naming itself,
// in the ways the notebook's own cells do (a line, a large HTML display like plotly.js, a
// polars table as the cell's value), and the test checks that every token is under its cell.
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type FrontendCell, type FrontendOutput, openNotebookInBrowser } from "./frontend.ts";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const CELLS = 8;

/**
 * Cell `i`'s code: a line, displays, and a polars table as its value, each carrying the token
 * `cell<i>-<kind>`. Sizes are the notebook's: the first cell sends plotly.js in 2 MB slices,
 * as the setup cell's loadPlotly() does, and the others send figures of a few hundred KB.
 */
function cellSource(i: number): string {
  const displays = i === 0 ? 3 : 1;
  const padding = i === 0 ? 2_000_000 : 1_000_000;
  return [
    `import pl from "nodejs-polars";`,
    `console.log("cell${i}-log");`,
    `for (let k = 0; k < ${displays}; k++) {`,
    `  await Deno.jupyter.display({`,
    `    "text/html": "<!-- " + "x".repeat(${padding}) + " --><b>cell${i}-display</b>",`,
    `    "text/plain": "cell${i}-display",`,
    `  }, { raw: true });`,
    `}`,
    `pl.DataFrame({ token: ["cell${i}-table"], cell: [${i}] });`,
  ].join("\n");
}

function notebookJson(): string {
  return JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: "deno", display_name: "Deno", language: "typescript" },
      language_info: { name: "typescript" },
    },
    cells: Array.from({ length: CELLS }, (_, i) => ({
      cell_type: "code",
      id: `cell${i}`,
      source: cellSource(i),
      metadata: {},
      outputs: [],
      execution_count: null,
    })),
  });
}

/** An output's text: a stream's, or every MIME type's of a display or result. */
function outputText(output: FrontendOutput): string {
  if (output.text !== undefined) return output.text;
  return Object.values(output.data ?? {}).map((v) => Array.isArray(v) ? v.join("") : String(v))
    .join("\n");
}

/** For each cell, the tokens found in its outputs, in order ("cell3-log", ...). */
export function tokensByCell(cells: readonly FrontendCell[]): string[][] {
  return cells.map((cell) =>
    cell.outputs.flatMap((output) => [
      ...new Set([...outputText(output).matchAll(/cell\d+-[a-z]+/g)].map((m) => m[0])),
    ])
  );
}

Deno.test("Run All in the classic Notebook puts every output under its own cell", async () => {
  // Inside the repository, so that the kernel resolves "nodejs-polars" with its deno.json.
  await Deno.mkdir(join(repo, "outputs"), { recursive: true });
  const dir = await Deno.makeTempDir({ dir: join(repo, "outputs"), prefix: ".run-all-test-" });
  const path = join(dir, "run_all.ipynb");
  await Deno.writeTextFile(path, notebookJson());
  try {
    const page = await openNotebookInBrowser(path);
    try {
      const { cells, kernelBusy } = await page.runAll({ timeoutMs: 120_000 });
      assert.equal(cells.length, CELLS);
      const found = tokensByCell(cells);
      const misplaced = found.flatMap((tokens, i) =>
        tokens.filter((t) => !t.startsWith(`cell${i}-`)).map((t) => `${t} under cell ${i}`)
      );
      // What each cell's request received, in order, to tell a misplaced output from one
      // that arrived after its cell's idle and reply (which the frontend drops).
      const received = cells.map((c, i) => `cell ${i}: ${c.messages.join(" ")}`).join("\n") +
        `\nnotebook server's warnings and errors:\n` +
        page.serverLog().split("\n").filter((l) => /^\[[WEC] /.test(l)).join("\n").slice(0, 4000);
      assert.deepEqual(
        misplaced,
        [],
        `outputs under the wrong cell (kernel: Deno ${Deno.version.deno}; the README says ` +
          `which Deno to use): ${JSON.stringify(found)}\nmessages:\n${received}`,
      );
      found.forEach((tokens, i) => {
        assert.deepEqual(
          [...new Set(tokens)].sort(),
          [`cell${i}-display`, `cell${i}-log`, `cell${i}-table`],
          `cell ${i} shows ${JSON.stringify(tokens)}\nmessages:\n${received}`,
        );
      });
      // The page must end up showing the kernel idle: a status out of order leaves it "busy"
      // for good, as happened once in our runs on Deno 2.9.6.
      assert.equal(kernelBusy, false, `the page still shows the kernel busy\n${received}`);
      const counts = cells.map((c) => c.executionCount);
      assert.deepEqual(counts, counts.toSorted((a, b) => (a ?? 0) - (b ?? 0)), "ran in order");
    } finally {
      await page.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tokensByCell() finds each cell's tokens in streams, displays and results", () => {
  const cells: FrontendCell[] = [
    {
      executionCount: 1,
      messages: [],
      outputs: [
        { output_type: "stream", name: "stdout", text: "cell0-log\n" },
        {
          output_type: "display_data",
          data: { "text/plain": "cell1-display", "text/html": "<b>cell1-display</b>" },
        },
      ],
    },
    {
      executionCount: 2,
      messages: [],
      outputs: [{ output_type: "execute_result", data: { "text/plain": ["x cell1-", "table"] } }],
    },
  ];
  assert.deepEqual(tokensByCell(cells), [["cell0-log", "cell1-display"], ["cell1-table"]]);
});
