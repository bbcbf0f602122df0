// jupyter/rendered_copy.ts on a notebook as Jupyter saves it: sources and outputs stored as lists
// of lines, not single strings.
import assert from "node:assert/strict";
import {
  checkRenderedCopy,
  type Notebook,
  renderedCopy,
  sourceText,
} from "../../jupyter/rendered_copy.ts";
import { storedAsLines } from "../fixtures.ts";

const PROVENANCE = {
  commit: "abcdef0123",
  machine: "2 cores of a test CPU",
  date: "2026-12-07T12:00:00Z",
  parameters: {},
};

function executed(): Notebook {
  return storedAsLines<Notebook>({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {},
    cells: [
      { cell_type: "markdown", source: "# Digits\n\nWhat and why.", metadata: {} },
      {
        cell_type: "code",
        source: 'const x = 1;\nconsole.log("hi");',
        metadata: {},
        execution_count: 1,
        outputs: [
          { output_type: "stream", name: "stdout", text: "hi\nthere\n" },
          {
            output_type: "display_data",
            metadata: {},
            data: {
              "text/html": "<div>slider</div>\n<script>\nstart();\n</script>\n",
              "text/plain": "slider\nwidget",
            },
          },
        ],
      },
    ],
  });
}

Deno.test("the fixture stores text as Jupyter does: lines ending in a newline, in a list", () => {
  const cell = executed().cells[1];
  assert.deepEqual(cell.source, ["const x = 1;\n", 'console.log("hi");']);
  assert.equal(sourceText(cell), 'const x = 1;\nconsole.log("hi");');
});

Deno.test("renderedCopy() finds a script in HTML stored as lines and keeps only the text", async () => {
  const copy = await renderedCopy(executed(), {
    draw: () => Promise.resolve([]),
    provenance: PROVENANCE,
  });
  const outputs = copy.cells[2].outputs ?? [];
  assert.equal(JSON.stringify(outputs).includes("<script"), false, JSON.stringify(outputs));
  assert.match(JSON.stringify(outputs), /slider/);
  const source = executed();
  source.cells = source.cells.map((c) => ({
    ...c,
    outputs: c.cell_type === "code" ? [] : undefined,
  }));
  assert.deepEqual(checkRenderedCopy(source, copy, 100_000), []);
});
