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
import { parseArgs } from "node:util";
import { dirname, join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { type DatasetName, DATASETS } from "../lib/data/mnist.ts";
import { ImageFileError, readImageFile } from "../lib/data/image_file.ts";
import { type DigitPrediction, loadDigitModel, predictDigit } from "../lib/models/predict_digit.ts";

/** Exit code for bad flags, a bad model folder or a bad image file. */
export const USAGE_EXIT_CODE = 2;
/** Exit code when every file could be read but some held no digit. */
export const NO_DIGIT_EXIT_CODE = 1;

/** The flags, parsed and checked. */
export interface PredictCliOptions {
  help: boolean;
  /** The model folder (model.json + weights). */
  model: string;
  /** Whose class names to print; `undefined` reads it from the run's metrics.json. */
  dataset?: DatasetName;
  files: string[];
}

/** A flag that cannot be used; its message says what to do. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The `--help` text. */
export const HELP: string = `Usage: deno task predict [flags] FILE...

Prints the class a trained model sees in each image, and its top-3 probabilities.
Images are PNG or JPEG, of any size up to 50 megapixels, colour or grey, with or without
transparency, dark ink on light paper or light on dark. Each is prepared as MNIST's digits
were: cropped to the ink, scaled into 20x20 keeping its shape, centred by mass in 28x28.

Flags:
  --model DIR          the saved model (DIR/model.json + weights), as the notebook and
                       deno task train write it (default outputs/model)
  --dataset NAME       mnist or fashion-mnist: whose class names to print (default: the
                       dataset in DIR/../metrics.json, else mnist)
  --help               show this help

Exit codes: 0 every image predicted, 1 no digit found in some image, 2 bad flags, a bad
model folder or a file that is missing or not a readable PNG or JPEG.
`;

/**
 * Parses and checks the flags without reading anything.
 *
 * @throws {UsageError} for an unknown flag, a missing value, an unknown dataset or no file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePredictArgs } from "./predict.ts";
 *
 * const options = parsePredictArgs(["--model", "m", "a.png", "b.jpg"]);
 * assert.deepEqual(options.files, ["a.png", "b.jpg"]);
 * assert.equal(options.model, "m");
 * assert.throws(() => parsePredictArgs(["--modle", "m", "a.png"]), /Unknown flag --modle/);
 * ```
 */
export function parsePredictArgs(args: readonly string[]): PredictCliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: true,
      options: {
        model: { type: "string" },
        dataset: { type: "string" },
        help: { type: "boolean" },
      },
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const unknown = /Unknown option '([^']+)'/.exec(message);
    const missing = /Option '([^']+?)(?: <value>)?' argument missing/.exec(message);
    const ambiguous = /Option '([^']+)' argument is ambiguous/.exec(message);
    throw new UsageError(
      unknown
        ? `Unknown flag ${unknown[1]}. See deno task predict --help for the flags.`
        : missing
        ? `${missing[1].split(",").at(-1)?.trim()} needs a value. See deno task predict --help.`
        : ambiguous
        ? `${ambiguous[1]} needs a value before the next flag. See deno task predict --help.`
        : `${message} See deno task predict --help.`,
    );
  }
  const { values, positionals } = parsed;
  const dataset = values.dataset;
  if (dataset !== undefined && !(dataset in DATASETS)) {
    throw new UsageError(
      `Unknown dataset "${dataset}": use --dataset ${Object.keys(DATASETS).join(" or ")}.`,
    );
  }
  const help = values.help ?? false;
  if (!help && positionals.length === 0) {
    throw new UsageError(
      "Name at least one PNG or JPEG file, as deno task predict digit.png. " +
        "See deno task predict --help.",
    );
  }
  return {
    help,
    model: values.model ?? join("outputs", "model"),
    dataset: dataset as DatasetName | undefined,
    files: positionals,
  };
}

/**
 * The class names for a model folder: the flag's dataset, else the one recorded in the run's
 * `metrics.json` beside the folder, else MNIST's digits.
 */
async function classNamesFor(options: PredictCliOptions): Promise<readonly string[]> {
  let dataset = options.dataset;
  if (dataset === undefined) {
    try {
      const metrics = JSON.parse(
        await Deno.readTextFile(join(dirname(options.model), "metrics.json")),
      );
      if (metrics?.dataset in DATASETS) dataset = metrics.dataset;
    } catch {
      // No record of the run: the model is taken to be an MNIST one.
    }
  }
  return DATASETS[dataset ?? "mnist"].classNames;
}

/**
 * One line for a prediction: the class, then the top three with their probabilities.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatPrediction } from "./predict.ts";
 *
 * const ranking = [
 *   { index: 7, name: "7", probability: 0.9712 },
 *   { index: 1, name: "1", probability: 0.015 },
 *   { index: 9, name: "9", probability: 0.008 },
 * ];
 * assert.equal(
 *   formatPrediction("seven.png", ranking),
 *   "seven.png: 7   (7 97.12%, 1 1.50%, 9 0.80%)",
 * );
 * ```
 */
export function formatPrediction(file: string, ranking: DigitPrediction["ranking"]): string {
  const top = ranking.slice(0, 3).map((c) => `${c.name} ${(100 * c.probability).toFixed(2)}%`);
  return `${file}: ${ranking[0].name}   (${top.join(", ")})`;
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
  // Quiet: without this tfjs' CPU backend prints a banner about its Node.js backend.
  tf.enableProdMode();
  await tf.setBackend("cpu");
  let model: tf.LayersModel;
  try {
    model = await loadDigitModel(options.model);
  } catch (error) {
    console.error(`Error: ${error instanceof Error ? error.message : String(error)}`);
    return USAGE_EXIT_CODE;
  }
  const classNames = await classNamesFor(options);
  let code = 0;
  try {
    for (const file of options.files) {
      let prediction: DigitPrediction | undefined;
      try {
        prediction = predictDigit(model, await readImageFile(file), classNames);
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
      console.log(formatPrediction(file, prediction.ranking));
    }
  } finally {
    model.dispose();
  }
  return code;
}

if (import.meta.main) {
  Deno.exitCode = await main(Deno.args);
}
