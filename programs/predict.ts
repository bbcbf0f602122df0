/**
 * Reads your own digit images (PNG or JPEG, any size, colour or grey, with or without transparency)
 * and prints what a trained model sees in each: its class and the top-3 probabilities. Run
 * `deno task predict --help` for the flags.
 *
 * The model is checked before any image is read, and every file is checked before it is decoded:
 * a problem prints a sentence naming the file and what is wrong, and the exit code is 2.
 *
 * @example
 * ```sh
 * deno task predict my_seven.png photo_of_a_three.jpg
 * deno task predict --model outputs/deep-mnist/model digit.png
 * ```
 *
 * @module
 */
import { dirname, join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { type DatasetName, DATASETS, isDatasetName } from "../lib/data/mnist.ts";
import { ImageFileError, readImageFile } from "../lib/data/image_file.ts";
import { readRunMetrics, type RunMetrics } from "../lib/training/run_metrics.ts";
import {
  type DigitPrediction,
  formatPrediction,
  loadDigitModel,
  predictDigit,
} from "../lib/models/predict_digit.ts";
import {
  helpText,
  parseProgramArgs,
  type ProgramSpec,
  USAGE_EXIT_CODE,
  UsageError,
} from "../lib/command_line.ts";
import { readEnvironment } from "../lib/parameters.ts";
import { RUN_PARAMETERS } from "../lib/training/run_parameters.ts";

/** Exit code when every file could be read but some held no digit. */
export const NO_DIGIT_EXIT_CODE = 1;

/** The command line of `deno task predict`, for the shared parser and `--help`. */
export const PREDICT_PROGRAM = {
  table: RUN_PARAMETERS,
  command: "deno task predict",
  summary: `Prints the class a trained model sees in each image, and its top-3 probabilities.
Images are PNG or JPEG, of any size up to 50 megapixels, colour or grey, with or without
transparency, dark ink on light paper or light on dark. Each is prepared as MNIST's digits
were: cropped to the ink, scaled into 20x20 keeping its shape, centred by mass in 28x28.`,
  parameters: ["dataset"],
  flags: [{
    flag: "model",
    valueName: "DIR",
    help:
      "the saved model (DIR/model.json + weights), as the notebook and deno task train write it",
    defaultText: "outputs/model",
  }],
  positionals: "FILE...",
  epilogue: `Without --dataset or DATASET, the class names are those of the dataset recorded in
DIR/../metrics.json (written with the model), else MNIST's digits. When that record holds a
notSureBelow threshold (chosen on the validation images), an answer less probable than it
prints "not sure", still with the top 3.

Exit codes: 0 every image predicted, 1 no digit found in some image, 2 bad flags, a bad
model folder or a file that is missing or not a readable PNG or JPEG.`,
} as const satisfies ProgramSpec<"dataset">;

/** The `--help` text. */
export const HELP: string = helpText(PREDICT_PROGRAM);

/** The command line, parsed and checked. */
export interface PredictCliOptions {
  help: boolean;
  /** The model folder (model.json + weights). */
  model: string;
  /** Whose class names to print; `undefined`: the run's metrics.json says. */
  dataset?: DatasetName;
  files: string[];
  /** Sentences about misspelt environment variables. */
  warnings: string[];
}

/**
 * Parses and checks the command line without reading anything.
 *
 * @throws {UsageError} for an unknown flag, a missing value, an unknown dataset or no file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePredictArgs } from "./predict.ts";
 *
 * const options = parsePredictArgs(["--model", "m", "a.png", "b.jpg"], { env: {} });
 * assert.deepEqual(options.files, ["a.png", "b.jpg"]);
 * assert.equal(options.model, "m");
 * assert.equal(options.dataset, undefined);
 * assert.throws(() => parsePredictArgs(["--modle", "m", "a.png"]), /Unknown flag --modle/);
 * ```
 */
export function parsePredictArgs(
  args: readonly string[],
  options: { env?: Record<string, string | undefined> } = {},
): PredictCliOptions {
  const env = options.env ?? readEnvironment(RUN_PARAMETERS.variables);
  const parsed = parseProgramArgs(PREDICT_PROGRAM, args, { env });
  if (!parsed.help && parsed.positionals.length === 0) {
    throw new UsageError(
      "Name at least one PNG or JPEG file, as deno task predict digit.png. " +
        "See deno task predict --help.",
    );
  }
  // The table's default (mnist) only applies when the run's record does not say.
  const flag = RUN_PARAMETERS.rows.dataset.flag;
  const given = env[RUN_PARAMETERS.rows.dataset.env] !== undefined ||
    args.some((arg) => arg === `--${flag}` || arg.startsWith(`--${flag}=`));
  const model = parsed.flags.model;
  return {
    help: parsed.help,
    model: typeof model === "string" ? model : join("outputs", "model"),
    dataset: given ? parsed.parameters.dataset : undefined,
    files: parsed.positionals,
    warnings: parsed.warnings,
  };
}

/** What the program takes from the run's record beside the model folder. */
interface ModelRecord {
  /** The class names: the flag's dataset, else the recorded one, else MNIST's digits. */
  classNames: readonly string[];
  /** The recorded "not sure" threshold (chosen on the validation images), if any. */
  notSureBelow?: number;
}

/**
 * The class names and the "not sure" threshold for a model folder, from the run's `metrics.json`
 * beside the folder (without one, the model is taken to be an MNIST one that always answers).
 */
async function modelRecord(options: PredictCliOptions): Promise<ModelRecord> {
  let metrics: RunMetrics | undefined;
  try {
    metrics = await readRunMetrics(join(dirname(options.model), "metrics.json"));
  } catch (error) {
    // No record of the run: the model is taken to be an MNIST one. A damaged record is told.
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const recorded = metrics !== undefined && isDatasetName(metrics.dataset)
    ? metrics.dataset
    : undefined;
  const dataset = options.dataset ?? recorded ?? "mnist";
  return { classNames: DATASETS[dataset].classNames, notSureBelow: metrics?.notSureBelow };
}

/**
 * Runs the program with `args`; returns the exit code.
 *
 * @example
 * ```ts ignore
 * import { main } from "./predict.ts";
 * Deno.exit(await main(["digit.png"]));
 * ```
 */
export async function main(args: readonly string[]): Promise<number> {
  let options: PredictCliOptions;
  try {
    options = parsePredictArgs(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`Error: ${error.message}`);
    return USAGE_EXIT_CODE;
  }
  if (options.help) {
    console.log(HELP);
    return 0;
  }
  for (const warning of options.warnings) console.error(`Warning: ${warning}`);
  // Quiet: without this tfjs' CPU backend prints a banner about its Node.js backend.
  tf.enableProdMode();
  await tf.setBackend("cpu");
  let model: tf.LayersModel;
  let record: ModelRecord;
  try {
    record = await modelRecord(options);
    model = await loadDigitModel(options.model);
  } catch (error) {
    console.error(`Error: ${error instanceof Error ? error.message : String(error)}`);
    return USAGE_EXIT_CODE;
  }
  let code = 0;
  try {
    for (const file of options.files) {
      let prediction: DigitPrediction | undefined;
      try {
        prediction = predictDigit(model, await readImageFile(file), record.classNames);
      } catch (error) {
        if (!(error instanceof ImageFileError)) throw error;
        console.error(`Error: ${error.message}`);
        code = USAGE_EXIT_CODE;
        continue;
      }
      if (prediction === undefined) {
        console.log(
          `${file}: no digit found in ${file} (blank, or too faint): nothing to predict.`,
        );
        code = Math.max(code, NO_DIGIT_EXIT_CODE);
        continue;
      }
      console.log(formatPrediction(file, prediction.ranking, record));
    }
  } finally {
    model.dispose();
  }
  return code;
}

if (import.meta.main) {
  Deno.exitCode = await main(Deno.args);
}
