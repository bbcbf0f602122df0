/**
 * The run's parameters, read from environment variables with the tutorial's defaults, so that a
 * headless run can change them without editing the notebook.
 *
 * @module
 */
import { type DatasetName, DATASETS } from "./data/mnist.ts";

/** The parameters of a training run. */
export interface Parameters {
  /** `DATASET`: `mnist` (default) or `fashion-mnist`. */
  dataset: DatasetName;
  /** `EPOCHS`: default 5. */
  epochs: number;
  /** `BATCH_SIZE`: default 128. */
  batchSize: number;
  /** `VALIDATION_SPLIT`: the fraction held out from the end of the training set; default 0.1. */
  validationSplit: number;
  /** `SEED`: fixes initial weights and shuffling; default 42. */
  seed: number;
  /** `TRAIN_SAMPLES`: train on the first N training images only; default all. */
  trainSamples?: number;
}

/** The tutorial's values. */
export const DEFAULT_PARAMETERS: Readonly<Parameters> = {
  dataset: "mnist",
  epochs: 5,
  batchSize: 128,
  validationSplit: 0.1,
  seed: 42,
};

/**
 * Reads the parameters from environment variables (`DATASET`, `EPOCHS`, `BATCH_SIZE`,
 * `VALIDATION_SPLIT`, `SEED`, `TRAIN_SAMPLES`); unset or empty ones take the defaults.
 *
 * @param env The variables to read. Default: the process environment.
 * @throws {RangeError} naming the variable and value when a value is not valid.
 *
 * @example
 * ```ts
 * import { readParameters } from "./parameters.ts";
 * const parameters = readParameters({ EPOCHS: "1", TRAIN_SAMPLES: "2000" });
 * console.assert(parameters.epochs === 1 && parameters.batchSize === 128);
 * ```
 */
export function readParameters(
  env: Record<string, string | undefined> = Deno.env.toObject(),
): Parameters {
  const get = (name: string) => {
    const value = env[name]?.trim();
    return value === undefined || value === "" ? undefined : value;
  };
  const dataset = get("DATASET") ?? DEFAULT_PARAMETERS.dataset;
  if (!(dataset in DATASETS)) {
    throw new RangeError(
      `DATASET="${dataset}" is not a dataset this notebook knows: use ${
        Object.keys(DATASETS).join(" or ")
      }.`,
    );
  }
  const trainSamples = get("TRAIN_SAMPLES");
  return {
    dataset: dataset as DatasetName,
    epochs: parseInteger("EPOCHS", get("EPOCHS"), DEFAULT_PARAMETERS.epochs, 1),
    batchSize: parseInteger("BATCH_SIZE", get("BATCH_SIZE"), DEFAULT_PARAMETERS.batchSize, 1),
    validationSplit: parseFraction("VALIDATION_SPLIT", get("VALIDATION_SPLIT")),
    seed: parseInteger("SEED", get("SEED"), DEFAULT_PARAMETERS.seed, 0),
    trainSamples: trainSamples === undefined
      ? undefined
      : parseInteger("TRAIN_SAMPLES", trainSamples, 0, 1),
  };
}

/**
 * Parses a whole number of at least `min`, or returns `fallback` when `text` is undefined.
 *
 * @example
 * ```ts
 * import { parseInteger } from "./parameters.ts";
 * console.assert(parseInteger("EPOCHS", "3", 5, 1) === 3);
 * ```
 */
export function parseInteger(
  name: string,
  text: string | undefined,
  fallback: number,
  min: number,
): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^[+]?\d+$/.test(text) || !Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${name}="${text}" is not valid: give a whole number of at least ${min}.`);
  }
  return value;
}

function parseFraction(name: string, text: string | undefined): number {
  if (text === undefined) return DEFAULT_PARAMETERS.validationSplit;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || value >= 1) {
    throw new RangeError(
      `${name}="${text}" is not valid: give a fraction from 0 (none) up to, not including, 1.`,
    );
  }
  return value;
}
