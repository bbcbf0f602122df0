/**
 * Type-checks and lints the TypeScript code cells of a notebook (part of `deno task check`).
 *
 * `deno check` and `deno lint` do not read `.ipynb` files (only `deno fmt` does), so this
 * concatenates the code cells, in order, into one temporary module next to the notebook (so
 * relative imports and deno.json's import map resolve exactly as in the kernel; top-level
 * await is allowed in a module), runs both tools on it, and reports each problem with the
 * notebook cell number and the line inside that cell.
 *
 * Because all cells become one module, a name declared with `const`/`let` in two cells is an
 * error here, as it would be when running the notebook top to bottom.
 *
 * @example
 * ```sh
 * deno run -A jupyter/check_notebook.ts mnist_handwritten_digit_recognizer.ipynb
 * ```
 *
 * @module
 */

import { basename, dirname, join, resolve } from "node:path";

/** Where a line of the generated module came from. */
export interface CellLine {
  /** 1-based position of the cell in the notebook (markdown cells count). */
  cell: number;
  /** 1-based line inside the cell. */
  line: number;
}

/** The generated module and its line map (index = generated line - 1). */
export interface ExtractedCells {
  source: string;
  lines: (CellLine | undefined)[];
  codeCells: number;
}

interface NotebookJson {
  cells?: { cell_type?: string; source?: string | string[] }[];
}

/**
 * Concatenates the code cells of a notebook into one module with a line map.
 *
 * @example
 * ```ts
 * import { extractCells } from "./check_notebook.ts";
 * const nb = { cells: [{ cell_type: "markdown", source: "# hi" }, { cell_type: "code", source: "const a = 1;\na;" }] };
 * const { source, lines } = extractCells(JSON.stringify(nb));
 * console.log(source.split("\n")[1], lines[1]); // const a = 1; { cell: 2, line: 1 }
 * ```
 */
export function extractCells(notebookText: string): ExtractedCells {
  const nb = JSON.parse(notebookText) as NotebookJson;
  const out: string[] = [];
  const lines: (CellLine | undefined)[] = [];
  let codeCells = 0;
  (nb.cells ?? []).forEach((cell, index) => {
    if (cell.cell_type !== "code") return;
    codeCells++;
    const text = Array.isArray(cell.source) ? cell.source.join("") : cell.source ?? "";
    out.push(`// --- notebook cell ${index + 1} ---`);
    lines.push(undefined);
    text.split("\n").forEach((line, i) => {
      out.push(line);
      lines.push({ cell: index + 1, line: i + 1 });
    });
  });
  // Makes the file a module (top-level await) even if no cell imports anything.
  out.push("export {};", "");
  return { source: out.join("\n"), lines, codeCells };
}

/** The most lines a code cell may have: a few lines of code, the rest in typed helpers. */
export const MAX_CELL_LINES = 15;

/**
 * What breaks the notebook's own rules: code cells over {@linkcode MAX_CELL_LINES} lines, and a
 * tutorial model not written in `tf.layers` in its cell (no `tf.layers.conv2d`, or a call of a
 * project model builder).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { notebookRuleErrors } from "./check_notebook.ts";
 * const cell = (source: string) => ({ cell_type: "code", source });
 * const text = JSON.stringify({ cells: [cell("buildBaselineModel({ seed: 1 });")] });
 * assert.deepEqual(notebookRuleErrors(text), [
 *   "cell 1 calls buildBaselineModel: write the tutorial's model with tf.layers in its cell",
 *   "no code cell writes a tf.layers.conv2d layer: the build cell should",
 * ]);
 * ```
 */
export function notebookRuleErrors(notebookText: string): string[] {
  const nb = JSON.parse(notebookText) as NotebookJson;
  const errors: string[] = [];
  let conv = false;
  (nb.cells ?? []).forEach((cell, index) => {
    if (cell.cell_type !== "code") return;
    const text = Array.isArray(cell.source) ? cell.source.join("") : cell.source ?? "";
    const lines = text.replace(/\n+$/, "").split("\n").length;
    if (lines > MAX_CELL_LINES) {
      errors.push(`cell ${index + 1} has ${lines} lines, more than ${MAX_CELL_LINES}`);
    }
    const builder = text.match(/\b(buildBaselineModel|buildVariant)\(/);
    if (builder) {
      errors.push(
        `cell ${index + 1} calls ${
          builder[1]
        }: write the tutorial's model with tf.layers in its cell`,
      );
    }
    conv ||= text.includes("tf.layers.conv2d(");
  });
  if (!conv) errors.push("no code cell writes a tf.layers.conv2d layer: the build cell should");
  return errors;
}

/** Rewrites `<file>:LINE:COL` locations in tool output into notebook cell locations. */
export function mapLocations(
  output: string,
  file: string,
  lines: (CellLine | undefined)[],
  notebook: string,
): string {
  const escaped = file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const pattern = new RegExp(`(?:file://)?${escaped}:(\\d+):(\\d+)`, "g");
  return output.replace(pattern, (_match, line: string, col: string) => {
    const where = lines[Number(line) - 1];
    return where
      ? `${notebook} cell ${where.cell}, line ${where.line}:${col}`
      : `${notebook} (generated line ${line}:${col})`;
  });
}

async function run(args: string[]): Promise<{ ok: boolean; output: string }> {
  const result = await new Deno.Command(Deno.execPath(), {
    args,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const decoder = new TextDecoder();
  return {
    ok: result.success,
    output: decoder.decode(result.stdout) + decoder.decode(result.stderr),
  };
}

/**
 * Whether `deno fmt` would leave the notebook as it is. `deno fmt --check` cannot say: in Deno 2.9.6
 * it reports every notebook whose language is TypeScript as unformatted when its cache is cold,
 * even one `deno fmt` has just written. So a copy beside the notebook (same config) is formatted
 * and compared.
 */
export async function isFormatted(notebookPath: string): Promise<boolean> {
  const copy = resolve(
    join(dirname(notebookPath), `.${basename(notebookPath, ".ipynb")}.fmt-${Deno.pid}.ipynb`),
  );
  const original = await Deno.readTextFile(notebookPath);
  await Deno.writeTextFile(copy, original);
  try {
    const result = await run(["fmt", "-q", copy]);
    if (!result.ok) throw new Error(`deno fmt failed on ${notebookPath}:\n${result.output}`);
    return (await Deno.readTextFile(copy)) === original;
  } finally {
    await Deno.remove(copy).catch(() => {});
  }
}

/**
 * Checks one notebook; returns true when it is formatted and `deno check` and `deno lint` pass.
 */
export async function checkNotebook(notebookPath: string): Promise<boolean> {
  const notebook = basename(notebookPath);
  if (!(await isFormatted(notebookPath))) {
    console.error(`${notebook} is not formatted: run \`deno fmt ${notebookPath}\`.`);
    return false;
  }
  const text = await Deno.readTextFile(notebookPath);
  const broken = notebookRuleErrors(text);
  if (broken.length > 0) {
    console.error(`${notebook} breaks the notebook's rules:\n  ${broken.join("\n  ")}`);
  }
  const { source, lines, codeCells } = extractCells(text);
  // A hidden file beside the notebook, unique per process, always removed afterwards.
  const file = resolve(
    join(dirname(notebookPath), `.${notebook.replace(/\.ipynb$/, "")}.check-${Deno.pid}.ts`),
  );
  await Deno.writeTextFile(file, source);
  try {
    let ok = broken.length === 0;
    for (const [name, args] of [["deno check", ["check", file]], ["deno lint", ["lint", file]]]) {
      const result = await run(args as string[]);
      if (!result.ok) {
        ok = false;
        console.error(`${name} failed for the code cells of ${notebook}:`);
        console.error(mapLocations(result.output, file, lines, notebook));
      }
    }
    if (ok) console.log(`${notebook}: ${codeCells} code cells type-check and lint clean`);
    return ok;
  } finally {
    await Deno.remove(file).catch(() => {});
  }
}

if (import.meta.main) {
  const explicit = Deno.args.length > 0;
  const paths = explicit ? Deno.args : ["mnist_handwritten_digit_recognizer.ipynb"];
  let ok = true;
  for (const path of paths) {
    try {
      await Deno.stat(path);
    } catch {
      // The default notebook may not be written yet; `deno task notebook` (run by CI) fails
      // loudly in that case, so only an explicitly named notebook is an error here.
      console.error(
        `${explicit ? "error" : "warning"}: notebook ${path} does not exist; nothing to check.`,
      );
      ok = ok && !explicit;
      continue;
    }
    ok = (await checkNotebook(path)) && ok;
  }
  if (!ok) Deno.exit(1);
}
