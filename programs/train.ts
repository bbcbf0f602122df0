/**
 * The headless trainer: trains one model variant on MNIST or Fashion-MNIST on the wasm backend,
 * shows a progress bar on the terminal, and writes the same `metrics.json` and model files as the
 * notebook. Run `deno task train --help` for the flags.
 *
 * Every flag is checked before any work starts: a bad one prints a sentence saying what to do and
 * exits with code 2, without loading data.
 *
 * @example
 * ```sh
 * DATA_MIRROR=/work/shared deno task train --variant deep --seed 1
 * deno task train --dataset fashion-mnist --epochs 1 --train-samples 2000 --out /tmp/run
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import type { DatasetName } from "../lib/data/mnist.ts";
import { DATASETS } from "../lib/data/mnist.ts";
import { runExperiment } from "../lib/training/experiment.ts";
import { formatDuration, trainingProgress } from "../lib/display/progress.ts";
import { saveRun } from "../lib/training/run_metrics.ts";
import {
  disposeModel,
  getVariant,
  type Variant,
  VARIANT_NAMES,
  VARIANTS,
} from "../lib/models/variants.ts";
import { setupWasmBackend, shutdownWasmBackend } from "../lib/wasm/backend.ts";

/** The exit code for bad flags, as the usual command-line convention. */
export const USAGE_EXIT_CODE = 2;

/** The flags, parsed and checked. */
export interface TrainCliOptions {
  help: boolean;
  dataset: DatasetName;
  variant: Variant;
  seed: number;
  epochs?: number;
  batchSize?: number;
  trainSamples?: number;
  out: string;
  threads?: number;
}

/** A flag that cannot be used; its message says what to do. */
export class UsageError extends Error {
  override name = "UsageError";
}

const variantLines = VARIANT_NAMES.map((name) => {
  const v = VARIANTS[name];
  return `                       ${name.padEnd(12)}${v.summary} (${v.training.epochs} epochs)`;
}).join("\n");

/** The `--help` text. */
export const HELP: string = `Usage: deno task train [flags]

Trains one model variant on the tfjs wasm backend, shows progress on stderr, writes
<out>/metrics.json and <out>/model/ (model.json + weights.bin, as the notebook does),
and prints a one-line summary.

Flags:
  --dataset NAME       mnist (default) or fashion-mnist
  --variant NAME       the model and its training (default seed):
${variantLines}
  --epochs N           epochs to train (default: the variant's)
  --batch-size N       images per batch (default 128)
  --seed N             seeds weights, shuffling, Dropout and augmentation (default 42)
  --train-samples N    train on the first N training images only; the last 10% of them
                       are held out for validation (default: all 60,000)
  --out DIR            output folder (default outputs/<variant>-<dataset>)
  --threads N          XNNPACK threads (default: logical cores); 1 = single-threaded, which
                       makes a run repeat exactly for a seed
  --help               show this help

Environment:
  DATA_MIRROR          folder or URL holding <dataset>/<file>.gz, used when data/ lacks a file
  WASM_THREADS         thread count when --threads is not given (WASM_THREADS=1: one thread)

Exit codes: 0 done, 1 training failed, 2 bad flags (nothing was loaded).
`;

function integer(flag: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^[+-]?\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min) {
    throw new UsageError(
      `--${flag} must be a whole number of at least ${min}, got "${text}". ` +
        "See deno task train --help.",
    );
  }
  return value;
}

/**
 * Parses and checks the flags without doing any work.
 *
 * @throws {UsageError} for an unknown flag, a missing or non-integer value, or an unknown variant
 * or dataset.
 *
 * @example
 * ```ts
 * import { parseTrainArgs } from "./train.ts";
 * const options = parseTrainArgs(["--variant", "deep", "--epochs", "3"]);
 * console.assert(options.epochs === 3 && options.out === "outputs/deep-mnist");
 * ```
 */
export function parseTrainArgs(args: readonly string[]): TrainCliOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        dataset: { type: "string" },
        variant: { type: "string" },
        epochs: { type: "string" },
        "batch-size": { type: "string" },
        seed: { type: "string" },
        "train-samples": { type: "string" },
        out: { type: "string" },
        threads: { type: "string" },
        help: { type: "boolean" },
      },
    }));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const unknown = /Unknown option '([^']+)'/.exec(message);
    const positional = /Unexpected argument '([^']+)'/.exec(message);
    const missing = /Option '([^']+?)(?: <value>)?' argument missing/.exec(message);
    // parseArgs takes "--epochs --out x" as --epochs missing its value (the next token is a flag).
    const ambiguous = /Option '([^']+)' argument is ambiguous/.exec(message);
    throw new UsageError(
      unknown
        ? `Unknown flag ${unknown[1]}. See deno task train --help for the flags.`
        : positional
        ? `Unexpected argument "${positional[1]}": every value follows its flag, as --epochs 3. ` +
          "See deno task train --help."
        : missing
        ? `${missing[1].split(",").at(-1)?.trim()} needs a value. See deno task train --help.`
        : ambiguous
        ? `${ambiguous[1]} needs a value before the next flag (write a value that starts with ` +
          `a dash as ${ambiguous[1]}=-1). See deno task train --help.`
        : `${message} See deno task train --help.`,
    );
  }
  const datasetName = values.dataset ?? "mnist";
  if (!(datasetName in DATASETS)) {
    throw new UsageError(
      `Unknown dataset "${datasetName}": use --dataset ${Object.keys(DATASETS).join(" or ")}.`,
    );
  }
  const dataset = datasetName as DatasetName;
  let variant: Variant;
  try {
    variant = getVariant(values.variant ?? "seed");
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  return {
    help: values.help ?? false,
    dataset,
    variant,
    seed: integer("seed", values.seed, 0) ?? 42,
    epochs: integer("epochs", values.epochs, 1),
    batchSize: integer("batch-size", values["batch-size"], 1),
    trainSamples: integer("train-samples", values["train-samples"], 2),
    out: values.out ?? join("outputs", `${variant.name}-${dataset}`),
    threads: integer("threads", values.threads, 1),
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
  let options: TrainCliOptions;
  try {
    options = parseTrainArgs(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`Error: ${error.message}`);
    return USAGE_EXIT_CODE;
  }
  if (options.help) {
    console.log(HELP);
    return 0;
  }
  try {
    // The flag wins over WASM_THREADS, which setupWasmBackend reads before its option.
    if (options.threads !== undefined) Deno.env.set("WASM_THREADS", String(options.threads));
    const backend = await setupWasmBackend();
    const { variant, dataset, seed } = options;
    console.error(
      `Training ${variant.name} on ${dataset} (seed ${seed}) on ${backend.backend}, ` +
        `${backend.threads} thread(s), SIMD ${backend.simd ? "on" : "off"}.`,
    );
    const run = await runExperiment({
      dataset,
      variant,
      seed,
      epochs: options.epochs,
      batchSize: options.batchSize,
      trainSamples: options.trainSamples,
      backend,
      ...trainingProgress({ title: `${variant.name} on ${dataset}` }),
    });
    try {
      const paths = await saveRun(options.out, run.model, run.metrics);
      const m = run.metrics;
      console.log(
        `${m.variant} on ${m.dataset} (seed ${m.seed}): test accuracy ${
          (100 * m.test_accuracy).toFixed(2)
        }%, test loss ${m.test_loss.toFixed(4)}, ${m.parameters.toLocaleString("en-US")} ` +
          `parameters, ${m.epochs_run}/${m.epochs} epochs in ${formatDuration(m.train_seconds)} ` +
          `(${Math.round(m.train_samples_per_s)} images/s); wrote ${paths.metrics} and ` +
          `${paths.model}/.`,
      );
    } finally {
      disposeModel(run.model);
    }
    return 0;
  } catch (error) {
    console.error(`Error: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    shutdownWasmBackend();
  }
}

if (import.meta.main) {
  Deno.exitCode = await main(Deno.args);
}
