/**
 * Training and evaluation loops for the tutorial's models: seeded shuffling, Keras-style epoch logs,
 * validation on held-out images, progress reports, and guards against bad labels and divergence.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { MnistSplit } from "../data/mnist.ts";
import { gatherBatch, IMAGE_SIZE, normalizePixels } from "../data/preprocess.ts";
import { createRandom, shuffledIndices } from "../random.ts";

/** What one epoch achieved, as Keras' `history` reports it. */
export interface EpochLogs {
  /** 1-based. */
  epoch: number;
  /** Mean training loss over the epoch's batches, weighted by batch size. */
  loss: number;
  /** Training accuracy over the epoch. */
  accuracy: number;
  /** Loss on the validation images after the epoch (absent without validation images). */
  valLoss?: number;
  /** Accuracy on the validation images after the epoch. */
  valAccuracy?: number;
  /** The learning rate used in the epoch. */
  learningRate: number;
  /** Wall time of the epoch's training steps (validation excluded). */
  seconds: number;
  /** Training images per second in the epoch. */
  samplesPerSecond: number;
}

/** Where training is, reported after every batch. */
export interface BatchProgress {
  epoch: number;
  epochs: number;
  /** 1-based batch number within the epoch. */
  batch: number;
  batches: number;
  /** Running mean of the epoch's loss and accuracy so far. */
  loss: number;
  accuracy: number;
  samplesPerSecond: number;
  /** Estimated seconds left for the whole run. */
  etaSeconds: number;
}

/**
 * Changes a batch of images in place before it is trained on: `pixels` holds `count` images of
 * 28x28 floats in [0, 1]; `random` is seeded by the training run.
 */
export type Augmentation = (pixels: Float32Array, count: number, random: () => number) => void;

/** Options of {@linkcode trainModel}. */
export interface TrainOptions {
  epochs: number;
  batchSize: number;
  /** Fixes the order of the images in every epoch (and the augmentation). */
  seed: number;
  /** Images to report validation loss and accuracy on after each epoch. */
  validation?: MnistSplit;
  /** The learning rate of each 0-based epoch; default: the optimizer's own, unchanged. */
  learningRateSchedule?: (epoch: number) => number;
  /** Stop when the validation loss has not improved for `patience` epochs, keeping the best weights. */
  earlyStopping?: { patience: number };
  /** Applied to every training batch (not to validation). */
  augment?: Augmentation;
  /** The number of classes; labels must be below it. Default 10. */
  classes?: number;
  onBatchEnd?: (progress: BatchProgress) => void | Promise<void>;
  onEpochEnd?: (logs: EpochLogs) => void | Promise<void>;
  /** Called once when training ends, early or not (not when it fails). */
  onTrainEnd?: (result: TrainResult) => void | Promise<void>;
}

/** The outcome of {@linkcode trainModel}. */
export interface TrainResult {
  history: EpochLogs[];
  /** Wall time of all training steps (validation excluded). */
  seconds: number;
  samplesPerSecond: number;
  /** The epoch whose weights the model holds at the end (the best one with early stopping). */
  bestEpoch: number;
  stoppedEarly: boolean;
}

/**
 * Trains a compiled model with sparse labels: every epoch visits the training images in an order
 * fixed by `seed` and `epoch`, in batches of `batchSize` (the last one smaller).
 *
 * @throws {RangeError} before any step when a label is outside 0..classes-1 or an option is bad.
 * @throws {Error} naming the epoch and batch when the loss or the weights become NaN or infinite.
 *
 * @example
 * ```ts ignore
 * import { buildSeedModel } from "../models/model.ts";
 * import { trainModel } from "./train.ts";
 * const result = await trainModel(buildSeedModel(), train, { epochs: 5, batchSize: 128, seed: 42 });
 * console.log(result.history.at(-1));
 * ```
 */
export async function trainModel(
  model: tf.LayersModel,
  train: MnistSplit,
  options: TrainOptions,
): Promise<TrainResult> {
  const { epochs, batchSize, seed } = options;
  const classes = options.classes ?? 10;
  checkPositiveInteger("epochs", epochs);
  checkPositiveInteger("batch size", batchSize);
  if (!Number.isInteger(seed)) throw new RangeError(`The seed must be an integer, got ${seed}.`);
  if (train.count === 0) throw new RangeError("There are no training images to train on.");
  checkLabels(train, classes, "training");
  if (options.validation) checkLabels(options.validation, classes, "validation");

  const batches = Math.ceil(train.count / batchSize);
  const history: EpochLogs[] = [];
  const random = createRandom(seed ^ 0x5bd1e995);
  let best: { epoch: number; valLoss: number; weights: tf.Tensor[] } | undefined;
  let trainSeconds = 0;
  let stoppedEarly = false;

  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      const learningRate = options.learningRateSchedule?.(epoch) ?? getLearningRate(model);
      setLearningRate(model, learningRate);
      const order = shuffledIndices(train.count, seed * 1000 + epoch);
      let lossSum = 0;
      let correctSum = 0;
      let seen = 0;
      const epochStart = performance.now();
      for (let batch = 0; batch < batches; batch++) {
        const indices = order.subarray(
          batch * batchSize,
          Math.min((batch + 1) * batchSize, train.count),
        );
        const { pixels, labels } = gatherBatch(train, indices);
        options.augment?.(pixels, indices.length, random);
        const x = tf.tensor4d(pixels, [indices.length, 28, 28, 1]);
        const y = tf.tensor1d(labels);
        let values: number | number[];
        try {
          values = await model.trainOnBatch(x, y);
        } finally {
          x.dispose();
          y.dispose();
        }
        const [loss, accuracy] = Array.isArray(values) ? values : [values, NaN];
        // The wasm backend's clip and relu turn NaN into numbers, so a diverged model can still
        // report a finite loss: the weights are checked too (one sum, a fraction of a millisecond).
        const diverged = !Number.isFinite(loss)
          ? `the loss became ${loss}`
          : !weightsAreFinite(model)
          ? "the weights became NaN or infinite"
          : undefined;
        if (diverged) {
          const where = `epoch ${epoch + 1}, batch ${batch + 1}`;
          throw new Error(
            `Training diverged: ${diverged} at ${where}. ` +
              `Lower the learning rate or check the input data for NaN values.`,
          );
        }
        lossSum += loss * indices.length;
        correctSum += accuracy * indices.length;
        seen += indices.length;
        if (options.onBatchEnd) {
          const elapsed = (performance.now() - epochStart) / 1000;
          const rate = seen / Math.max(elapsed, 1e-9);
          const remaining = (epochs - epoch - 1) * train.count + (train.count - seen);
          await options.onBatchEnd({
            epoch: epoch + 1,
            epochs,
            batch: batch + 1,
            batches,
            loss: lossSum / seen,
            accuracy: correctSum / seen,
            samplesPerSecond: rate,
            etaSeconds: remaining / rate,
          });
        }
      }
      const seconds = (performance.now() - epochStart) / 1000;
      trainSeconds += seconds;
      const logs: EpochLogs = {
        epoch: epoch + 1,
        loss: lossSum / seen,
        accuracy: correctSum / seen,
        learningRate,
        seconds,
        samplesPerSecond: seen / seconds,
      };
      if (options.validation && options.validation.count > 0) {
        const evaluation = evaluateModel(model, options.validation);
        logs.valLoss = evaluation.loss;
        logs.valAccuracy = evaluation.accuracy;
      }
      history.push(logs);
      await options.onEpochEnd?.(logs);

      if (options.earlyStopping && logs.valLoss !== undefined) {
        if (best === undefined || logs.valLoss < best.valLoss) {
          tf.dispose(best?.weights);
          best = {
            epoch: epoch + 1,
            valLoss: logs.valLoss,
            weights: model.getWeights().map((w) => w.clone()),
          };
        } else if (epoch + 1 - best.epoch >= options.earlyStopping.patience) {
          stoppedEarly = true;
          break;
        }
      }
    }
    if (best !== undefined && best.epoch !== history.length) model.setWeights(best.weights);
  } finally {
    tf.dispose(best?.weights);
  }
  const trained = history.length * train.count;
  const result: TrainResult = {
    history,
    seconds: trainSeconds,
    samplesPerSecond: trained / Math.max(trainSeconds, 1e-9),
    bestEpoch: best?.epoch ?? history.length,
    stoppedEarly,
  };
  await options.onTrainEnd?.(result);
  return result;
}

/** The predictions of a model on a split, with the loss and accuracy they give. */
export interface Evaluation {
  /** Mean sparse categorical cross-entropy (probabilities clipped to [1e-7, 1 - 1e-7], as Keras). */
  loss: number;
  accuracy: number;
  /** The predicted class of each image. */
  predicted: Uint8Array;
  /** The predicted probability of each class, `count` x classes, row-major. */
  probabilities: Float32Array;
}

/**
 * Predicts every image of a split in batches and scores the predictions against the labels.
 *
 * @example
 * ```ts ignore
 * import { evaluateModel } from "./train.ts";
 * const { loss, accuracy } = evaluateModel(model, mnist.test);
 * ```
 */
export function evaluateModel(
  model: tf.LayersModel,
  split: MnistSplit,
  options: { batchSize?: number } = {},
): Evaluation {
  const probabilities = predictProbabilities(model, split.images, options);
  const classes = split.count === 0 ? 0 : probabilities.length / split.count;
  const predicted = new Uint8Array(split.count);
  let lossSum = 0;
  let correct = 0;
  for (let i = 0; i < split.count; i++) {
    const row = probabilities.subarray(i * classes, (i + 1) * classes);
    let arg = 0;
    for (let c = 1; c < classes; c++) if (row[c] > row[arg]) arg = c;
    predicted[i] = arg;
    if (arg === split.labels[i]) correct++;
    const p = Math.min(Math.max(row[split.labels[i]], 1e-7), 1 - 1e-7);
    lossSum -= Math.log(p);
  }
  return {
    loss: lossSum / Math.max(split.count, 1),
    accuracy: correct / Math.max(split.count, 1),
    predicted,
    probabilities,
  };
}

/**
 * The model's class probabilities for 28x28 images given as bytes, `count` x classes, row-major.
 *
 * @example
 * ```ts ignore
 * import { predictProbabilities } from "./train.ts";
 * const probabilities = predictProbabilities(model, mnist.test.images.subarray(0, 784));
 * ```
 */
export function predictProbabilities(
  model: tf.LayersModel,
  images: Uint8Array,
  options: { batchSize?: number } = {},
): Float32Array {
  const batchSize = options.batchSize ?? 256;
  const count = images.length / IMAGE_SIZE;
  const parts: Float32Array[] = [];
  for (let start = 0; start < count; start += batchSize) {
    const end = Math.min(start + batchSize, count);
    const pixels = normalizePixels(images.subarray(start * IMAGE_SIZE, end * IMAGE_SIZE));
    const output = tf.tidy(() =>
      model.predict(tf.tensor4d(pixels, [end - start, 28, 28, 1])) as tf.Tensor
    );
    parts.push(output.dataSync() as Float32Array);
    output.dispose();
  }
  const classes = parts.length === 0 ? 0 : parts[0].length / Math.min(batchSize, count);
  const out = new Float32Array(count * classes);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function weightsAreFinite(model: tf.LayersModel): boolean {
  const total = tf.tidy(() =>
    tf.addN(model.trainableWeights.map((w) => w.read().sum())).dataSync()[0]
  );
  return Number.isFinite(total);
}

function checkLabels(split: MnistSplit, classes: number, what: string): void {
  const bad = split.labels.findIndex((label) => label >= classes);
  if (bad >= 0) {
    throw new RangeError(
      `The ${what} labels hold ${split.labels[bad]} at index ${bad}; labels must be 0 to ` +
        `${classes - 1}. Fix the labels before training.`,
    );
  }
  if (split.labels.length !== split.count || split.images.length !== split.count * IMAGE_SIZE) {
    throw new RangeError(
      `The ${what} split says ${split.count} images but holds ${split.labels.length} labels and ` +
        `${split.images.length / IMAGE_SIZE} images.`,
    );
  }
}

function checkPositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`The ${name} must be a positive integer, got ${value}.`);
  }
}

/**
 * tfjs' optimizers keep their learning rate in a field that TypeScript marks protected, but it is
 * read at every step, so setting it is how a schedule changes the rate between epochs.
 */
interface WithLearningRate {
  learningRate: number;
}

function getLearningRate(model: tf.LayersModel): number {
  return (model.optimizer as unknown as WithLearningRate).learningRate;
}

function setLearningRate(model: tf.LayersModel, rate: number): void {
  if (!(rate > 0 && Number.isFinite(rate))) {
    throw new RangeError(`The learning rate must be a positive number, got ${rate}.`);
  }
  (model.optimizer as unknown as WithLearningRate).learningRate = rate;
}
