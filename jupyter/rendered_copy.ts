/**
 * The rendered copy of the notebook, to read where scripts do not run (GitHub's notebook view,
 * VS Code's preview, nbviewer): the executed notebook's outputs with every Plotly figure turned
 * into a picture, the inlined plotly.js left out, and a header cell saying which commit and
 * machine made the outputs. `deno task publish` writes it; {@link checkRenderedCopy} (run by
 * `deno task check`) makes sure its cells are still the source notebook's cells.
 *
 * Run as a program, it checks the committed copy against the notebook:
 *
 * @example
 * ```sh
 * deno run --allow-read jupyter/rendered_copy.ts
 * ```
 *
 * @module
 */
import { figureOf, type PlotlyFigure } from "../lib/display/plotly.ts";

/** The notebook the rendered copy is made from. */
export const SOURCE_NOTEBOOK = "mnist_handwritten_digit_recognizer.ipynb";
/** The committed rendered copy, beside the notebook. */
export const RENDERED_NOTEBOOK = "mnist_handwritten_digit_recognizer.rendered.ipynb";
/** The rendered copy must stay under this size to display on GitHub quickly (3 MB). */
export const MAX_RENDERED_BYTES = 3 * 1024 * 1024;
/** The tag of the header cell that the rendered copy has and the notebook does not. */
export const HEADER_TAG = "rendered-copy-header";

/** One output of a code cell (nbformat 4). */
export interface NotebookOutput {
  output_type: string;
  data?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  [key: string]: unknown;
}

/** One cell (nbformat 4). */
export interface NotebookCell {
  cell_type: string;
  source: string | string[];
  metadata?: Record<string, unknown>;
  outputs?: NotebookOutput[];
  [key: string]: unknown;
}

/** A notebook (nbformat 4). */
export interface Notebook {
  cells: NotebookCell[];
  metadata: Record<string, unknown>;
  nbformat: number;
  nbformat_minor: number;
}

/** Who made the outputs: recorded in the header cell and in `metadata.rendered_copy`. */
export interface Provenance {
  /** The commit the notebook ran at, e.g. `"ca5634f"`, with `+ changes` if the tree was dirty. */
  commit: string;
  /** The machine, e.g. `"2 x AMD EPYC, 7.8 GB, Linux"`. */
  machine: string;
  /** When the run ended, ISO 8601. */
  date: string;
  /** The notebook parameters set in the environment, e.g. `{ EPOCHS: "1" }`; empty = defaults. */
  parameters: Record<string, string>;
  /** How long Run All took, in seconds. */
  runSeconds?: number;
}

/** Draws figures as base64 PNGs, e.g. `renderFigureImages` from `lib/display/static_plot.ts`. */
export type DrawFigures = (figures: readonly PlotlyFigure[]) => Promise<string[]>;

/** A cell's source as one string (nbformat allows a list of lines). */
export function sourceText(cell: NotebookCell): string {
  return Array.isArray(cell.source) ? cell.source.join("") : cell.source;
}

/** The Plotly figure objects in a notebook's outputs, in order. */
export function figuresIn(notebook: Notebook): PlotlyFigure[] {
  return notebook.cells.flatMap((cell) =>
    (cell.outputs ?? []).flatMap((output) =>
      output.data && figureOf(output.data) ? [figureOf(output.data) as PlotlyFigure] : []
    )
  );
}

function htmlOf(output: NotebookOutput): string {
  const html = output.data?.["text/html"];
  return Array.isArray(html) ? html.join("") : typeof html === "string" ? html : "";
}

/**
 * Builds the rendered copy of an executed notebook: each Plotly output becomes its PNG (from
 * `draw`, one call for all figures) and its text; the plotly.js slices are dropped; any other
 * output whose HTML needs a script keeps only its text. A header cell comes first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderedCopy } from "./rendered_copy.ts";
 * const executed = {
 *   nbformat: 4, nbformat_minor: 5, metadata: {},
 *   cells: [{ cell_type: "code", source: "await showPlot(f);", metadata: {}, outputs: [{
 *     output_type: "display_data", metadata: {},
 *     data: { "text/html": "<div></div><script>draw()</script>", "text/plain": "[figure]",
 *       "application/vnd.plotly.v1+json": { data: [], layout: { width: 10, height: 20 } } },
 *   }] }],
 * };
 * const copy = await renderedCopy(executed, {
 *   draw: (figures) => Promise.resolve(figures.map(() => "iVBORw0KGgo=")),
 *   provenance: { commit: "abc1234", machine: "test", date: "2026-11-25T12:00:00Z", parameters: {} },
 * });
 * assert.equal(copy.cells.length, 2, "the header, then the notebook's cell");
 * assert.deepEqual(copy.cells[1].outputs?.[0].data, { "image/png": "iVBORw0KGgo=", "text/plain": "[figure]" });
 * ```
 */
export async function renderedCopy(
  executed: Notebook,
  options: { draw: DrawFigures; provenance: Provenance; sourcePath?: string },
): Promise<Notebook> {
  const figures = figuresIn(executed);
  const images = await options.draw(figures);
  if (images.length !== figures.length) {
    throw new Error(`Drew ${images.length} pictures for ${figures.length} figures.`);
  }
  let next = 0;
  const cells = executed.cells.map((cell): NotebookCell => {
    if (cell.outputs === undefined) return structuredClone(cell);
    const outputs = cell.outputs.flatMap((output): NotebookOutput[] => {
      const data = output.data;
      if (data === undefined) return [structuredClone(output)];
      const figure = figureOf(data);
      if (figure !== undefined) {
        const width = Number(figure.layout?.width) || 700;
        const height = Number(figure.layout?.height) || 450;
        return [{
          output_type: output.output_type,
          ...("execution_count" in output ? { execution_count: output.execution_count } : {}),
          data: { "image/png": images[next++], "text/plain": data["text/plain"] ?? "[figure]" },
          metadata: { "image/png": { width, height } },
        }];
      }
      const html = htmlOf(output);
      if (html.includes("__plotlyChunks")) return []; // a slice of the library
      if (/<script\b/i.test(html)) {
        const { "text/html": _dropped, ...rest } = data;
        return [{ ...structuredClone(output), data: rest }];
      }
      return [structuredClone(output)];
    });
    return { ...structuredClone(cell), outputs };
  });
  const { provenance } = options;
  return {
    nbformat: executed.nbformat,
    nbformat_minor: executed.nbformat_minor,
    metadata: { ...structuredClone(executed.metadata), rendered_copy: provenance },
    cells: [headerCell(provenance, options.sourcePath ?? SOURCE_NOTEBOOK), ...cells],
  };
}

/** The markdown cell that opens the rendered copy. */
export function headerCell(provenance: Provenance, sourcePath: string): NotebookCell {
  const parameters = Object.entries(provenance.parameters);
  const how = parameters.length === 0
    ? "with the default parameters"
    : `with ${parameters.map(([k, v]) => `\`${k}=${v}\``).join(", ")}`;
  const took = provenance.runSeconds === undefined
    ? ""
    : ` Run All took ${Math.round(provenance.runSeconds / 60)} min.`;
  return {
    cell_type: "markdown",
    metadata: { tags: [HEADER_TAG] },
    source: [
      `> **This is a rendered copy of [\`${sourcePath}\`](${sourcePath})**, made by`,
      ` \`deno task publish\` to be read where notebooks cannot run: the figures are pictures`,
      ` (run the notebook for interactive ones).\n>\n`,
      `> Its outputs come from one run ${how} at commit \`${provenance.commit}\`, on`,
      ` ${provenance.machine}, finished ${provenance.date}.${took} The cells below are the`,
      ` notebook's cells (CI checks it), but the code may have moved on since that run.`,
    ].join(""),
  };
}

/**
 * What is wrong with a rendered copy, as sentences (empty when it is right): the header cell must
 * come first, then exactly the notebook's cells (type and source); no output may carry a script
 * (GitHub drops them, and plotly.js must not be inlined); and it must stay under
 * {@link MAX_RENDERED_BYTES}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkRenderedCopy, HEADER_TAG } from "./rendered_copy.ts";
 * const source = { nbformat: 4, nbformat_minor: 5, metadata: {},
 *   cells: [{ cell_type: "code", source: "1 + 1", metadata: {} }] };
 * const header = { cell_type: "markdown", source: "rendered", metadata: { tags: [HEADER_TAG] } };
 * const copy = { ...source, cells: [header, { cell_type: "code", source: "1 + 2", metadata: {} }] };
 * assert.match(checkRenderedCopy(source, copy, 100)[0], /cell 1 .*differs/);
 * ```
 */
export function checkRenderedCopy(source: Notebook, copy: Notebook, bytes: number): string[] {
  const problems: string[] = [];
  const [header, ...cells] = copy.cells;
  const tags = header?.metadata?.tags;
  if (!Array.isArray(tags) || !tags.includes(HEADER_TAG)) {
    problems.push(`The rendered copy does not start with its header cell (tagged ${HEADER_TAG}).`);
  }
  if (cells.length !== source.cells.length) {
    problems.push(
      `The rendered copy has ${cells.length} cells after its header, the notebook ` +
        `${source.cells.length}.`,
    );
  }
  const count = Math.min(cells.length, source.cells.length);
  const differing = [];
  for (let i = 0; i < count; i++) {
    const [theirs, ours] = [source.cells[i], cells[i]];
    if (theirs.cell_type !== ours.cell_type || sourceText(theirs) !== sourceText(ours)) {
      differing.push(i);
    }
  }
  // After an inserted cell every later one differs: the first few say enough.
  for (const i of differing.slice(0, 3)) {
    const first = sourceText(source.cells[i]).split("\n")[0].slice(0, 60);
    problems.push(`Notebook cell ${i + 1} (\`${first}\`) differs in the rendered copy.`);
  }
  if (differing.length > 3) problems.push(`${differing.length - 3} more cells differ.`);
  cells.forEach((cell, i) => {
    for (const output of cell.outputs ?? []) {
      if (/<script\b/i.test(htmlOf(output))) {
        problems.push(`An output of cell ${i + 1} in the rendered copy carries a script.`);
      }
    }
  });
  if (bytes > MAX_RENDERED_BYTES) {
    problems.push(
      `The rendered copy is ${(bytes / 1e6).toFixed(1)} MB, over the limit of ` +
        `${MAX_RENDERED_BYTES / 1024 / 1024} MB.`,
    );
  }
  return problems;
}

if (import.meta.main) {
  const [sourcePath, copyPath] = Deno.args.length === 2
    ? Deno.args
    : [SOURCE_NOTEBOOK, RENDERED_NOTEBOOK];
  const read = async (path: string) => {
    try {
      return await Deno.readTextFile(path);
    } catch (error) {
      console.error(
        `error: cannot read ${path} (${error}). Run \`deno task publish\` to write it.`,
      );
      Deno.exit(1);
    }
  };
  const copyText = await read(copyPath);
  const problems = checkRenderedCopy(
    JSON.parse(await read(sourcePath)) as Notebook,
    JSON.parse(copyText) as Notebook,
    new TextEncoder().encode(copyText).length,
  );
  if (problems.length > 0) {
    for (const problem of problems) console.error(`error: ${copyPath}: ${problem}`);
    console.error("Run `deno task publish` to write the rendered copy again.");
    Deno.exit(1);
  }
  console.log(`${copyPath}: the notebook's cells, no scripts, ${copyText.length} bytes`);
}
