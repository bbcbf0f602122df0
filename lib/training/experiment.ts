/**
 * One training experiment end to end, as the notebook runs it: load the dataset, hold out the last
 * 10% of the training images for validation, build a variant's model, train it, and evaluate it on
 * the test images. The headless trainer (`programs/train.ts`) and the notebook's comparison cell both
 * call {@linkcode runExperiment}.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { type DatasetName, loadMnist, type Mnist, type MnistSplit } from "../data/mnist.ts";
import {
  type PreparedSplit,
  prepareSplit,
  splitValidation,
  takeFirst,
} from "../data/preprocess.ts";
import { type RunMetrics, runMetrics } from "./run_metrics.ts";
import { evaluateModel, type EvaluateOptions, type Evaluation } from "./evaluate.ts";
import { NOT_SURE_TARGET_ACCURACY, notSureThreshold } from "./calibration.ts";
import { trainModel, type TrainOptions, type TrainResult } from "./train.ts";
import { disposeModel } from "../models/model.ts";
import {
  buildVariant,
  getVariant,
  type Variant,
  variantFingerprint,
  type VariantName,
  variantTrainOptions,
} from "../models/variants.ts";
import { setupWasmBackend, type WasmBackendInfo } from "../engine/mod.ts";
import { checkSeed } from "../random.ts";

/** Options of {@linkcode runExperiment}. */
export interface ExperimentOptions extends Pick<TrainOptions, "callbacks"> {
  /** Default `"mnist"`. */
  dataset?: DatasetName;
  /** The variant, by name or as an object. */
  variant: VariantName | Variant;
  /** Fixes the initial weights, the shuffling, the Dropout masks and the augmentation. */
  seed: number;
  /** Default: the variant's. */
  epochs?: number;
  /** Default: the variant's (128 for all). */
  batchSize?: number;
  /** Train on the first N training images only (before the validation split); default all. */
  trainSamples?: number;
  /** The fraction held out from the end of the training images. Default 0.1, as Keras. */
  validationSplit?: number;
  /** The dataset, already loaded (the notebook has it); default: loaded with `loadMnist`. */
  data?: Mnist;
  /** The backend, already set up; default: `setupWasmBackend()` (a no-op when already done). */
  backend?: WasmBackendInfo;
}

/** What {@linkcode runExperiment} gives back. The caller disposes `model` with `disposeModel`. */
export interface ExperimentResult {
  variant: Variant;
  model: tf.LayersModel;
  training: TrainResult;
  evaluation: Evaluation;
  /** The `metrics.json` record (`saveRun` writes it). */
  metrics: RunMetrics;
  /** The training and validation images as trained on: normalized floats. */
  train: PreparedSplit;
  validation: PreparedSplit;
  test: MnistSplit;
}

/**
 * Loads, splits, builds, trains and evaluates: the whole pipeline for one variant and seed.
 *
 * @throws {RangeError} before loading anything when an option is not valid.
 *
 * @example Train the tuned variant on 2,000 images and print its test accuracy
 * ```ts ignore
 * import { runExperiment } from "./experiment.ts";
 * import { trainingProgress } from "../display/progress.ts";
 * const run = await runExperiment({ variant: "tuned", seed: 1, trainSamples: 2000, callbacks: trainingProgress() });
 * console.log(run.metrics.test_accuracy);
 * disposeModel(run.model);
 * ```
 */
export async function runExperiment(options: ExperimentOptions): Promise<ExperimentResult> {
  const variant = typeof options.variant === "string"
    ? getVariant(options.variant)
    : options.variant;
  const epochs = options.epochs ?? variant.training.epochs;
  const batchSize = options.batchSize ?? variant.training.batchSize;
  const validationSplit = options.validationSplit ?? 0.1;
  const dataset = checkExperimentOptions(options, { epochs, batchSize });

  const backend = options.backend ?? await setupWasmBackend();
  const data = options.data ?? await loadMnist({ dataset });
  // Normalized once (4 bytes a pixel), as the notebook's cells do, then split without copying.
  const { train, validation } = splitValidation(
    prepareSplit(takeFirst(data.train, options.trainSamples)),
    validationSplit,
  );
  const model = buildVariant(variant, { seed: options.seed, classes: data.classNames.length });
  try {
    const training = await trainModel(model, train, {
      epochs,
      batchSize,
      seed: options.seed,
      validationData: validation,
      classes: data.classNames.length,
      ...variantTrainOptions(variant, epochs),
      callbacks: options.callbacks,
    });
    const scoring = { testTimeAugmentation: variant.testTimeAugmentation };
    const scoringStart = performance.now();
    const evaluation = await evaluateModel(model, data.test, scoring);
    const testSeconds = (performance.now() - scoringStart) / 1000;
    const metrics = runMetrics({
      notSureBelow: await notSureBelowOn(model, validation, scoring),
      testSeconds,
      params: { dataset, seed: options.seed, epochs, batchSize },
      variant: variant.name,
      fingerprint: await variantFingerprint(variant),
      train,
      validation,
      model,
      training,
      evaluation,
      backend,
    });
    return { variant, model, training, evaluation, metrics, train, validation, test: data.test };
  } catch (error) {
    disposeModel(model);
    throw error;
  }
}

/**
 * Checks the options before anything is loaded (an error after loading the data would come
 * minutes late); returns the dataset they name.
 */
function checkExperimentOptions(
  options: ExperimentOptions,
  sizes: { epochs: number; batchSize: number },
): DatasetName {
  for (
    const [name, value] of [["epochs", sizes.epochs], ["batch size", sizes.batchSize]] as const
  ) {
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(`The ${name} must be a positive integer, got ${value}.`);
    }
  }
  checkSeed(options.seed);
  if (options.data && options.dataset && options.data.dataset !== options.dataset) {
    throw new RangeError(
      `The data given is ${options.data.dataset} but the dataset asked for is ${options.dataset}; ` +
        "pass one or make them agree.",
    );
  }
  return options.data?.dataset ?? options.dataset ?? "mnist";
}

/**
 * The "not sure" threshold chosen on the validation images for {@linkcode NOT_SURE_TARGET_ACCURACY},
 * as the notebook chooses it; `undefined` without validation images.
 */
async function notSureBelowOn(
  model: tf.LayersModel,
  validation: PreparedSplit,
  scoring: EvaluateOptions,
): Promise<number | undefined> {
  if (validation.count === 0) return undefined;
  const { probabilities } = await evaluateModel(model, validation, scoring);
  return notSureThreshold({
    probabilities,
    labels: validation.labels,
    targetAccuracy: NOT_SURE_TARGET_ACCURACY,
  }).threshold;
}
