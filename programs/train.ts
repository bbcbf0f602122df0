/**
 * The headless trainer: trains one model variant on MNIST or Fashion-MNIST on the wasm backend,
 * shows a progress bar on the terminal, and writes the same `metrics.json` and model files as the
 * notebook. Run `deno task train --help` for the flags, which come from the parameter table in
 * `lib/parameters.ts`, like the notebook's variables.
 *
 * Every flag, and the output folder, is checked before any work starts: a bad one prints a
 * sentence saying what to do and exits with code 2, without loading data.
 *
 * @example
 * ```sh
 * DATA_MIRROR=/work/shared deno task train --variant deep --seed 1
 * deno task train --dataset fashion-mnist --epochs 1 --train-samples 2000 --out /tmp/run
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { disposeModel } from "../lib/models/model.ts";
import { VARIANT_NAMES, VARIANTS } from "../lib/models/variants.ts";
import {
  helpText,
  parseProgramArgs,
  type ProgramSpec,
  startProgram,
  USAGE_EXIT_CODE,
} from "../lib/command_line.ts";
import { lockOutputDir } from "../lib/run_lock.ts";
import type { ParameterName } from "../lib/parameters.ts";
import { RUN_PARAMETERS, type RunParameters } from "../lib/training/run_parameters.ts";
import { formatDuration, trainingProgress } from "../lib/display/progress.ts";
import { runExperiment } from "../lib/training/experiment.ts";
import { type RunMetrics, saveRun } from "../lib/training/run_metrics.ts";
import { setupWasmBackend, shutdownWasmBackend } from "../lib/engine/mod.ts";
import { inTutorialTerms } from "../lib/training/engine_errors.ts";

/** The trainer's command line: the table's parameters and its own `--out`. */
export const TRAIN_PROGRAM = {
  table: RUN_PARAMETERS,
  command: "deno task train",
  summary: `Trains one model variant on the tfjs wasm backend, shows progress on stderr, writes
<out>/metrics.json and <out>/model/ (model.json + weights-<hash>.bin, as the notebook does),
and prints a one-line summary. The variants:
${VARIANT_NAMES.map((name) => `  ${name.padEnd(12)}${VARIANTS[name].summary}`).join("\n")}`,
  parameters: [
    "dataset",
    "variant",
    "epochs",
    "batchSize",
    "validationSplit",
    "seed",
    "trainSamples",
    "threads",
  ],
  flags: [{
    flag: "out",
    valueName: "DIR",
    help: "output folder",
    defaultText: "outputs/<variant>-<dataset>",
  }],
  epilogue:
    `Also read: DATA_MIRROR, a folder or URL holding <dataset>/<file>.gz, used when data/ lacks a file.
One thread (--threads 1) makes a run repeat exactly for a seed.

Exit codes: 0 done, 1 training failed, 2 bad flags or output folder (nothing was loaded).`,
} as const satisfies ProgramSpec<ParameterName>;

/** The `--help` text. */
export const HELP: string = helpText(TRAIN_PROGRAM);

/** The trainer's options, parsed and checked. */
export interface TrainProgramOptions {
  help: boolean;
  parameters: Pick<RunParameters, typeof TRAIN_PROGRAM.parameters[number]>;
  out: string;
  warnings: string[];
}

/**
 * Parses and checks the flags without doing any work.
 *
 * @throws {UsageError} for an unknown flag, a missing or bad value, or an unknown variant or
 * dataset.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTrainArgs } from "./train.ts";
 * const options = parseTrainArgs(["--variant", "deep", "--epochs", "3"], { env: {} });
 * assert.equal(options.parameters.epochs, 3);
 * assert.equal(options.out, "outputs/deep-mnist");
 * ```
 */
export function parseTrainArgs(
  args: readonly string[],
  options: { env?: Record<string, string | undefined> } = {},
): TrainProgramOptions {
  const parsed = parseProgramArgs(TRAIN_PROGRAM, args, options);
  const { variant, dataset } = parsed.parameters;
  const out = parsed.flags.out;
  return {
    help: parsed.help,
    parameters: parsed.parameters,
    out: typeof out === "string" ? out : join("outputs", `${variant}-${dataset}`),
    warnings: parsed.warnings,
  };
}

/**
 * Runs the trainer with `args`; returns the process exit code.
 *
 * @example
 * ```ts ignore
 * import { main } from "./train.ts";
 * Deno.exit(await main(["--variant", "tuned", "--train-samples", "2000"]));
 * ```
 */
export async function main(args: readonly string[]): Promise<number> {
  const options = await startProgram({
    parse: () => parseTrainArgs(args),
    help: HELP,
    outputDir: (o) => o.out,
  });
  if (typeof options === "number") return options;
  // A second run into the same folder stops here, before any work, instead of mixing files.
  const lock = await lockOutputDir(options.out, "deno task train").catch((error) => error as Error);
  if (lock instanceof Error) {
    console.error(`Error: ${lock.message}`);
    return USAGE_EXIT_CODE;
  }
  try {
    const { dataset, variant, seed, threads } = options.parameters;
    const backend = await setupWasmBackend({ threads });
    console.error(
      `Training ${variant} on ${dataset} (seed ${seed}) on ${backend.backend}, ` +
        `${backend.threads} thread(s), SIMD ${backend.simd ? "on" : "off"}.`,
    );
    const run = await runExperiment({
      ...options.parameters,
      backend,
      callbacks: trainingProgress({ title: `${variant} on ${dataset}` }),
    });
    try {
      const paths = await saveRun(options.out, run.model, run.metrics);
      console.log(`${summaryLine(run.metrics)}; wrote ${paths.metrics} and ${paths.model}/.`);
    } finally {
      disposeModel(run.model);
    }
    return 0;
  } catch (caught) {
    const error = await inTutorialTerms(caught);
    console.error(`Error: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    await lock.release();
    shutdownWasmBackend();
  }
}

function summaryLine(m: RunMetrics): string {
  return `${m.variant} on ${m.dataset} (seed ${m.seed}): test accuracy ${
    (100 * m.test_accuracy).toFixed(2)
  }%, test loss ${m.test_loss.toFixed(4)}, ${m.parameters.toLocaleString("en-US")} ` +
    `parameters, ${m.epochs_run}/${m.epochs} epochs in ${formatDuration(m.train_seconds)} ` +
    `(${Math.round(m.train_samples_per_s)} images/s)`;
}

if (import.meta.main) {
  Deno.exitCode = await main(Deno.args);
}
