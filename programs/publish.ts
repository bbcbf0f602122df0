/**
 * `deno task publish`: runs the notebook (Run All, with the parameters of the environment, by
 * default none), then writes the rendered copy beside it
 * (`mnist_handwritten_digit_recognizer.rendered.ipynb`: outputs kept, figures as pictures drawn by
 * one headless Chromium session, no inlined plotly.js, a header naming the commit and machine)
 * and the README's pictures in `images/`.
 *
 * `--skip-run` reuses the executed notebook of the previous publish run in `outputs/publish/`
 * (to redraw the pictures without training again).
 *
 * @example
 * ```sh
 * deno task publish              # about as long as deno task notebook, plus ~1 s per figure
 * deno task publish --skip-run   # redraw from outputs/publish/
 * ```
 *
 * @module
 */
import os from "node:os";
import { join } from "node:path";
import { writeFileAtomically, writeJson } from "../lib/files.ts";
import { renderFigureImages } from "../lib/display/static_plot.ts";
import type { PlotlyFigure } from "../lib/display/plotly.ts";
import { USAGE_EXIT_CODE } from "../lib/command_line.ts";
import { readEnvironment } from "../lib/parameters.ts";
import { RUN_PARAMETERS } from "../lib/training/run_parameters.ts";
import { runNotebook } from "../jupyter/run_notebook.ts";
import {
  checkRenderedCopy,
  type Notebook,
  type Provenance,
  RENDERED_NOTEBOOK,
  renderedCopy,
  SOURCE_NOTEBOOK,
  sourceText,
} from "../jupyter/rendered_copy.ts";

/** Where the publish run keeps the executed notebook and its provenance (git-ignored). */
export const PUBLISH_DIR = "outputs/publish";

/** The README's pictures: the figure of the first code cell whose source contains `marker`. */
export const README_IMAGES: readonly { file: string; marker: string }[] = [
  { file: "images/confusion_matrix.png", marker: "confusionMatrixFigure(" },
  { file: "images/predictions.png", marker: "predictionsFigure(" },
  { file: "images/filters.png", marker: "filtersFigure(" },
  { file: "images/learned_map.png", marker: "learnedMapFigure(" },
];

/** The `--help` text. */
export const HELP = `Usage: deno task publish [--skip-run]

Runs ${SOURCE_NOTEBOOK} (Run All; the notebook's parameters come from the environment, by
default none: a default run) and writes ${RENDERED_NOTEBOOK}: its outputs, with every Plotly
figure as a picture drawn by headless Chromium, no inlined plotly.js, and a header cell naming the
commit and machine. Also writes the README's pictures to images/.

  --skip-run   reuse the executed notebook of the last publish run in ${PUBLISH_DIR}/
`;

/** The notebook parameters set in `env` (variable -> value): what made this run not a default one. */
export function parametersSet(
  env: Record<string, string | undefined>,
): Record<string, string> {
  const names = Object.values(RUN_PARAMETERS.rows).map((spec) => spec.env)
    .filter((name) => name !== "WASM_THREADS"); // how fast, not what: not a notebook parameter
  return Object.fromEntries(names.flatMap((name) => {
    const value = env[name];
    return value === undefined ? [] : [[name, value]];
  }));
}

/** The commit checked out, with ` + uncommitted changes` when tracked files differ from it. */
async function currentCommit(): Promise<string> {
  const git = async (...args: string[]) => {
    const out = await new Deno.Command("git", { args, stdout: "piped", stderr: "null" }).output();
    return new TextDecoder().decode(out.stdout).trim();
  };
  const commit = await git("rev-parse", "--short=10", "HEAD");
  const dirty = await git("status", "--porcelain", "--untracked-files=no");
  return `${commit || "unknown"}${dirty ? " + uncommitted changes" : ""}`;
}

/** The machine in a few words: CPU, cores, memory, OS and Deno. */
function describeMachine(): string {
  // os.cpus() needs only --allow-sys=cpus; Deno refuses /proc/cpuinfo to all but -A.
  const cpu = os.cpus()[0]?.model.trim() || "unknown CPU";
  const memory = (Deno.systemMemoryInfo().total / 2 ** 30).toFixed(0);
  return `${navigator.hardwareConcurrency} cores of ${cpu}, ${memory} GiB, ${Deno.build.os}, ` +
    `Deno ${Deno.version.deno}`;
}

/** Writes the README's pictures from the rendered copy; returns the files written. */
export async function writeReadmeImages(copy: Notebook, root = "."): Promise<string[]> {
  const written: string[] = [];
  for (const { file, marker } of README_IMAGES) {
    const cell = copy.cells.find((c) => c.cell_type === "code" && sourceText(c).includes(marker));
    const png = cell?.outputs?.find((o) => o.data?.["image/png"])?.data?.["image/png"];
    if (typeof png !== "string") {
      throw new Error(`No picture for ${file}: no cell calling ${marker} drew a figure.`);
    }
    const bytes = Uint8Array.from(atob(png.replaceAll("\n", "")), (c) => c.charCodeAt(0));
    await Deno.mkdir(join(root, "images"), { recursive: true });
    await writeFileAtomically(join(root, file), bytes);
    written.push(file);
  }
  return written;
}

/** Runs the publish steps with `args`; returns the exit code. */
export async function main(args: readonly string[]): Promise<number> {
  if (args.includes("--help")) {
    console.log(HELP);
    return 0;
  }
  const unknown = args.filter((arg) => arg !== "--skip-run");
  if (unknown.length > 0) {
    console.error(`Error: unknown argument ${unknown.join(" ")}. See deno task publish --help.`);
    return USAGE_EXIT_CODE;
  }
  const paths = {
    executed: join(PUBLISH_DIR, SOURCE_NOTEBOOK),
    provenance: join(PUBLISH_DIR, "provenance.json"),
  };
  if (!args.includes("--skip-run")) {
    const code = await runAndRecord(paths.provenance);
    if (code !== 0) return code;
  }
  let executed: Notebook;
  let provenance: Provenance;
  try {
    executed = JSON.parse(await Deno.readTextFile(paths.executed)) as Notebook;
    provenance = JSON.parse(await Deno.readTextFile(paths.provenance)) as Provenance;
  } catch (error) {
    console.error(
      `Error: cannot read the last publish run in ${PUBLISH_DIR}/ (${error}). ` +
        "Run `deno task publish` without --skip-run.",
    );
    return 1;
  }
  return await publishCopy(executed, provenance);
}

/** Runs the notebook into {@link PUBLISH_DIR} and records the run's provenance; the exit code. */
async function runAndRecord(provenancePath: string): Promise<number> {
  const commit = await currentCommit();
  const started = performance.now();
  const code = await runNotebook([SOURCE_NOTEBOOK, "--output-dir", PUBLISH_DIR]);
  if (code !== 0) {
    console.error(`Error: the notebook run failed (exit ${code}); nothing was published.`);
    return 1;
  }
  const provenance: Provenance = {
    commit,
    machine: describeMachine(),
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    parameters: parametersSet(readEnvironment(RUN_PARAMETERS.variables)),
    runSeconds: (performance.now() - started) / 1000,
  };
  await writeJson(provenancePath, provenance);
  return 0;
}

/** Draws the figures, checks the rendered copy and writes it and the README's pictures. */
async function publishCopy(executed: Notebook, provenance: Provenance): Promise<number> {
  const started = performance.now();
  // Twice the figure's size in pixels, shown at its size: sharp on high-density screens.
  const draw = (figures: readonly PlotlyFigure[]) =>
    renderFigureImages(figures, {
      scale: 2,
      profileParent: PUBLISH_DIR, // publish may write only its own folders (deno.json)
    });
  const copy = await renderedCopy(executed, { draw, provenance });
  const text = JSON.stringify(copy, null, 1) + "\n";
  const problems = checkRenderedCopy(
    JSON.parse(await Deno.readTextFile(SOURCE_NOTEBOOK)) as Notebook,
    copy,
    new TextEncoder().encode(text).length,
  );
  if (problems.length > 0) {
    for (const problem of problems) console.error(`Error: ${problem}`);
    return 1;
  }
  // Written in outputs/ and renamed into place: publish may write only that file at the top.
  const partial = join(PUBLISH_DIR, `${RENDERED_NOTEBOOK}.partial`);
  await writeFileAtomically(partial, new TextEncoder().encode(text));
  await Deno.rename(partial, RENDERED_NOTEBOOK);
  const images = await writeReadmeImages(copy);
  const figures = copy.cells.flatMap((c) => c.outputs ?? []).filter((o) => o.data?.["image/png"]);
  console.log(
    `Wrote ${RENDERED_NOTEBOOK} (${(text.length / 1e6).toFixed(2)} MB, ${figures.length} ` +
      `figures drawn in ${((performance.now() - started) / 1000).toFixed(1)} s) and ` +
      `${images.join(", ")}.`,
  );
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
