/**
 * The training loop of the tutorial's models: seeded shuffling, Keras-style epoch logs, validation
 * on held-out images, progress reports, early stopping, and guards against bad labels and
 * divergence. {@linkcode trainModel} is an epoch loop over small named steps, each exported and
 * tested on its own: {@linkcode epochOrder}, {@linkcode trainBatch}, {@linkcode checkDivergence}
 * and {@linkcode EarlyStopping}.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { IMAGE_SHAPE, IMAGE_SIZE } from "../data/mnist.ts";
import type { Augmentation } from "../data/augment.ts";
import { gatherBatch, type PreparedSplit } from "../data/preprocess.ts";
import { checkLearningRate } from "../models/model.ts";
import { checkSeed, createRandom, shuffledIndices } from "../random.ts";
import { evaluateModel, scoreProbabilities } from "./evaluate.ts";
import type { KernelProfile, KernelStats, Replicas } from "../engine/mod.ts";

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

/** Options of {@linkcode trainModel}. */
export interface TrainOptions {
  epochs: number;
  batchSize: number;
  /** Fixes the order of the images in every epoch (and the augmentation). */
  seed: number;
  /** Images to report validation loss and accuracy on after each epoch, prepared as `train`. */
  validation?: PreparedSplit;
  /** The learning rate of each 0-based epoch; default: the optimizer's own, unchanged. */
  learningRateSchedule?: (epoch: number) => number;
  /** Stop when the validation loss has not improved for `patience` epochs, keeping the best weights. */
  earlyStopping?: { patience: number };
  /** Applied to every training batch (not to validation). */
  augment?: Augmentation;
  /** The number of classes; labels must be below it. Default 10. */
  classes?: number;
  /**
   * Worker replicas for synchronous data-parallel training (`data_parallel.ts`), each on one
   * thread; 0 trains in this process. Default: the wasm backend's thread count when the model
   * allows replicas, else 0.
   */
  workers?: number;
  /**
   * Time every kernel of the training steps (keyed by kernel, or by kernel and input shapes);
   * the result's `kernelProfile` holds the times.
   */
  profileKernels?: { byShape?: boolean };
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
  /**
   * With `profileKernels`: self milliseconds and calls per kernel over all epochs, of one replica
   * (they work in lockstep) or of this process.
   */
  kernelProfile?: Map<string, KernelStats>;
}

/**
 * Trains a compiled model with sparse labels: every epoch visits the training images in an order
 * fixed by `seed` and the epoch, in batches of `batchSize` (the last one smaller), then scores the
 * validation images and decides whether to stop early. The images are trained on as given: floats
 * in [0, 1], prepared by `normalizePixels` and `reshapeImages` (or `prepareSplit`) from
 * `../data/preprocess.ts`.
 *
 * @throws {RangeError} before any step when a label is outside 0..classes-1, the images are not
 * prepared floats, or an option is bad.
 * @throws {Error} naming the epoch and batch when the loss or the weights become NaN or infinite.
 *
 * @example
 * ```ts ignore
 * import { buildBaselineModel } from "../models/variants.ts";
 * import { trainModel } from "./train.ts";
 * const result = await trainModel(buildBaselineModel({ seed: 42 }), prepareSplit(train), { epochs: 5, batchSize: 128, seed: 42 });
 * console.log(result.history.at(-1));
 * ```
 */
export async function trainModel(
  model: tf.LayersModel,
  train: PreparedSplit,
  options: TrainOptions,
): Promise<TrainResult> {
  checkTrainOptions(model, train, options);
  const history: EpochLogs[] = [];
  const stopper = options.earlyStopping && new EarlyStopping(options.earlyStopping.patience);
  // One stream for the whole run, so that every epoch's augmentation differs.
  const random = createRandom((options.seed ^ 0x5bd1e995) >>> 0);
  let replicas: Replicas | undefined;
  let profile: KernelProfile | undefined;
  let kernelProfile: Map<string, KernelStats> | undefined;
  try {
    // Loaded only when needed: it loads the wasm backend, which would outrank the cpu backend of
    // a program that never asked for wasm.
    const parallel = options.workers !== undefined && options.workers > 0 ||
        options.workers === undefined && tf.getBackend() === "wasm"
      ? await import("../engine/mod.ts")
      : undefined;
    const workers = options.workers ?? parallel?.defaultWorkers(model) ?? 0;
    if (parallel && workers > 0) {
      replicas = await parallel.startOrFallBack(
        () =>
          parallel.startReplicas(model, {
            workers,
            batchCapacity: options.batchSize,
            profileKernels: options.profileKernels,
          }),
        { workers, explicit: options.workers !== undefined, work: "Training" },
      );
    }
    if (replicas === undefined && options.profileKernels) {
      const { startKernelProfile } = await import("../engine/mod.ts");
      profile = startKernelProfile(tf.getBackend(), options.profileKernels);
    }
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      const learningRate = options.learningRateSchedule?.(epoch) ?? getLearningRate(model);
      setLearningRate(model, learningRate);
      const context = { ...options, epoch, learningRate, random, replicas };
      const logs = await trainEpoch(model, train, context);
      // The replicas hold the trained weights: the model gets them for validation and callbacks.
      await replicas?.copyWeightsTo(model);
      if (options.validation && options.validation.count > 0) {
        const validation = options.validation;
        // The replicas hold the same weights: they predict the validation images in parallel.
        const { loss, accuracy } = replicas
          ? scoreProbabilities(
            await replicas.predict(validation.images, validation.count),
            validation,
          )
          : await evaluateModel(model, validation);
        logs.valLoss = loss;
        logs.valAccuracy = accuracy;
      }
      history.push(logs);
      await options.onEpochEnd?.(logs);
      if (stopper?.update(model, logs) === "stop") break;
    }
    stopper?.restoreBest(model, history.length);
    kernelProfile = options.profileKernels
      ? (replicas ? await replicas.kernelProfile() : profile?.stats)
      : undefined;
  } finally {
    profile?.stop();
    replicas?.close();
    stopper?.dispose();
  }
  const seconds = history.reduce((sum, logs) => sum + logs.seconds, 0);
  const result: TrainResult = {
    history,
    seconds,
    samplesPerSecond: (history.length * train.count) / Math.max(seconds, 1e-9),
    bestEpoch: stopper?.bestEpoch ?? history.length,
    stoppedEarly: stopper?.stopped ?? false,
    ...(kernelProfile ? { kernelProfile } : {}),
  };
  await options.onTrainEnd?.(result);
  return result;
}

/** What {@linkcode trainEpoch} needs beyond {@linkcode TrainOptions}. */
interface EpochContext extends TrainOptions {
  /** 0-based. */
  epoch: number;
  learningRate: number;
  random: () => number;
  /** Train on these replicas instead of in this process. */
  replicas?: Replicas;
}

/** One pass over the training images in the epoch's order; returns its logs without validation. */
async function trainEpoch(
  model: tf.LayersModel,
  train: PreparedSplit,
  context: EpochContext,
): Promise<EpochLogs> {
  const { epoch, epochs, batchSize } = context;
  const order = epochOrder(train.count, { seed: context.seed, epoch });
  const batches = Math.ceil(train.count / batchSize);
  let lossSum = 0;
  let correctSum = 0;
  let seen = 0;
  const start = performance.now();
  for (let batch = 0; batch < batches; batch++) {
    const indices = order.subarray(
      batch * batchSize,
      Math.min((batch + 1) * batchSize, train.count),
    );
    const { pixels, labels } = gatherBatch(train, indices);
    context.augment?.(pixels, indices.length, context.random);
    const { loss, accuracy, finite } = context.replicas
      ? await context.replicas.trainOnBatch(pixels, labels, indices.length, context.learningRate)
      : await trainBatch(model, { pixels, labels });
    checkDivergence(model, loss, `epoch ${epoch + 1}, batch ${batch + 1}`, finite);
    lossSum += loss * indices.length;
    correctSum += accuracy * indices.length;
    seen += indices.length;
    if (context.onBatchEnd) {
      const rate = seen / Math.max((performance.now() - start) / 1000, 1e-9);
      const remaining = (epochs - epoch - 1) * train.count + (train.count - seen);
      await context.onBatchEnd({
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
  const seconds = (performance.now() - start) / 1000;
  return {
    epoch: epoch + 1,
    loss: lossSum / seen,
    accuracy: correctSum / seen,
    learningRate: context.learningRate,
    seconds,
    samplesPerSecond: seen / seconds,
  };
}

/**
 * The order in which epoch `epoch` (0-based) visits `count` training images: a new order every
 * epoch, the same one for the same seed and epoch.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { epochOrder } from "./train.ts";
 * assert.deepEqual(epochOrder(100, { seed: 1, epoch: 0 }), epochOrder(100, { seed: 1, epoch: 0 }));
 * assert.notDeepEqual(epochOrder(100, { seed: 1, epoch: 0 }), epochOrder(100, { seed: 1, epoch: 1 }));
 * ```
 */
export function epochOrder(count: number, options: { seed: number; epoch: number }): Uint32Array {
  return shuffledIndices(count, options.seed * 1000 + options.epoch);
}

/** A batch as the training step takes it: images scaled to [0, 1] and their labels. */
export interface Batch {
  /** `labels.length` images of 28x28 floats, row-major. */
  pixels: Float32Array;
  labels: Float32Array | Uint8Array;
}

/** The memory the wasm backend can give a training step (its heap stops at 2 GB). */
const HEAP_BYTES = 2 ** 31;

/**
 * What one image costs while training, in bytes: every layer's output, kept for the backward pass,
 * and room for its gradient and the convolutions' scratch buffers (4x the forward activations,
 * from measurements: the tutorial's CNN trained a batch of 4,096 and failed at 8,192).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { disposeModel } from "../models/model.ts";
 * import { buildBaselineModel } from "../models/variants.ts";
 * import { trainingBytesPerImage } from "./train.ts";
 * const model = buildBaselineModel({ seed: 1 });
 * // 784 input + 21,632 + 5,408 + 7,744 + 1,600 + 1,600 + 64 + 10 floats, times 4 bytes, times 4.
 * assert.equal(trainingBytesPerImage(model), 38_842 * 16);
 * disposeModel(model);
 * ```
 */
export function trainingBytesPerImage(model: tf.LayersModel): number {
  const size = (shape: readonly (number | null)[]) =>
    shape.slice(1).reduce<number>((product, d) => product * (d ?? 1), 1);
  let floats = size(model.inputs[0].shape);
  for (const layer of model.layers) {
    const shape = layer.outputShape;
    floats += Array.isArray(shape[0])
      ? (shape as (number | null)[][]).reduce((sum, s) => sum + size(s), 0)
      : size(shape as (number | null)[]);
  }
  return floats * 4 * 4;
}

/**
 * The largest batch that trains `model` within the WebAssembly heap.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { disposeModel } from "../models/model.ts";
 * import { buildBaselineModel } from "../models/variants.ts";
 * import { maxBatchSize } from "./train.ts";
 * const model = buildBaselineModel({ seed: 1 });
 * assert.ok(maxBatchSize(model) >= 128 && maxBatchSize(model) < 8192);
 * disposeModel(model);
 * ```
 */
export function maxBatchSize(model: tf.LayersModel): number {
  return Math.floor(HEAP_BYTES / trainingBytesPerImage(model));
}

/**
 * One optimizer step on one batch; returns the batch's loss and accuracy (before the step, as
 * Keras reports them). The batch's tensors are freed whatever happens. A WebAssembly heap that
 * runs out anyway becomes a sentence that says what to lower.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { disposeModel } from "../models/model.ts";
 * import { buildBaselineModel } from "../models/variants.ts";
 * import { trainBatch } from "./train.ts";
 * const model = buildBaselineModel({ seed: 1 });
 * const step = await trainBatch(model, { pixels: new Float32Array(2 * 784), labels: new Uint8Array([3, 4]) });
 * assert.ok(Number.isFinite(step.loss) && step.accuracy >= 0 && step.accuracy <= 1);
 * disposeModel(model);
 * ```
 */
export async function trainBatch(
  model: tf.LayersModel,
  batch: Batch,
): Promise<{ loss: number; accuracy: number; finite?: boolean }> {
  const count = batch.labels.length;
  const x = tf.tensor4d(batch.pixels, [count, ...IMAGE_SHAPE]);
  const y = tf.tensor1d(
    batch.labels instanceof Float32Array ? batch.labels : Float32Array.from(batch.labels),
  );
  try {
    const values = await model.trainOnBatch(x, y);
    const [loss, accuracy] = Array.isArray(values) ? values : [values, NaN];
    return { loss, accuracy };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // The engine is loaded on demand: it loads the wasm backend (see trainModel).
    const { isOutOfMemory } = await import("../engine/mod.ts");
    if (isOutOfMemory(message)) {
      throw new Error(
        `The WebAssembly heap ran out of memory in a training step on ${count} images ` +
          `(${message}): lower BATCH_SIZE (--batch-size), for example to 128.`,
        { cause: error },
      );
    }
    throw error;
  } finally {
    x.dispose();
    y.dispose();
  }
}

/**
 * Stops training when it has diverged: the loss or the weights are NaN or infinite. The wasm
 * backend's clip and relu turn NaN into numbers, so a diverged model can still report a finite
 * loss: the weights are checked too (one sum, a fraction of a millisecond).
 *
 * `weightsFinite`, when given, is what the replicas found for their weights (the model's own are
 * only updated at the end of each epoch then).
 *
 * @throws {Error} naming `where` (the epoch and batch) and saying what to do.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { disposeModel } from "../models/model.ts";
 * import { buildBaselineModel } from "../models/variants.ts";
 * import { checkDivergence } from "./train.ts";
 * const model = buildBaselineModel({ seed: 1 });
 * checkDivergence(model, 2.3, "epoch 1, batch 1");
 * assert.throws(() => checkDivergence(model, NaN, "epoch 1, batch 2"), /diverged: the loss became NaN at epoch 1, batch 2/);
 * disposeModel(model);
 * ```
 */
export function checkDivergence(
  model: tf.LayersModel,
  loss: number,
  where: string,
  weightsFinite?: boolean,
): void {
  const diverged = !Number.isFinite(loss)
    ? `the loss became ${loss}`
    : !(weightsFinite ?? weightsAreFinite(model))
    ? "the weights became NaN or infinite"
    : undefined;
  if (diverged) {
    throw new Error(
      `Training diverged: ${diverged} at ${where}. ` +
        "Lower the learning rate or check the input data for NaN values.",
    );
  }
}

function weightsAreFinite(model: tf.LayersModel): boolean {
  const total = tf.tidy(() =>
    tf.addN(model.trainableWeights.map((w) => w.read().sum())).dataSync()[0]
  );
  return Number.isFinite(total);
}

/**
 * Early stopping on the validation loss, as Keras' `EarlyStopping(restore_best_weights=True)`:
 * it keeps a copy of the best epoch's weights and says "stop" once `patience` epochs have passed
 * without a lower validation loss. Call {@linkcode EarlyStopping.dispose} at the end.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { disposeModel } from "../models/model.ts";
 * import { buildBaselineModel } from "../models/variants.ts";
 * import { EarlyStopping } from "./train.ts";
 * const model = buildBaselineModel({ seed: 1 });
 * const stopper = new EarlyStopping(2);
 * const losses = [0.5, 0.4, 0.45, 0.41];
 * const decisions = losses.map((valLoss, i) => stopper.update(model, { epoch: i + 1, valLoss }));
 * assert.deepEqual(decisions, ["continue", "continue", "continue", "stop"]);
 * assert.equal(stopper.bestEpoch, 2);
 * stopper.dispose();
 * disposeModel(model);
 * ```
 */
export class EarlyStopping {
  /** The epoch (1-based) with the lowest validation loss so far. */
  bestEpoch: number | undefined;
  /** Whether {@linkcode EarlyStopping.update} has said "stop". */
  stopped = false;
  private bestLoss = Infinity;
  private bestWeights: tf.Tensor[] = [];

  constructor(readonly patience: number) {
    if (!Number.isInteger(patience) || patience < 1) {
      throw new RangeError(
        `The early-stopping patience must be a whole number of at least 1, got ${patience}.`,
      );
    }
  }

  /** Records an epoch's result; "stop" when the validation loss has not improved for long enough. */
  update(model: tf.LayersModel, logs: Pick<EpochLogs, "epoch" | "valLoss">): "stop" | "continue" {
    if (logs.valLoss === undefined) return "continue";
    if (logs.valLoss < this.bestLoss) {
      tf.dispose(this.bestWeights);
      this.bestWeights = model.getWeights().map((w) => w.clone());
      this.bestLoss = logs.valLoss;
      this.bestEpoch = logs.epoch;
      return "continue";
    }
    if (this.bestEpoch !== undefined && logs.epoch - this.bestEpoch >= this.patience) {
      this.stopped = true;
      return "stop";
    }
    return "continue";
  }

  /** Puts the best epoch's weights back, unless the model holds them already. */
  restoreBest(model: tf.LayersModel, lastEpoch: number): void {
    if (this.bestEpoch !== undefined && this.bestEpoch !== lastEpoch) {
      model.setWeights(this.bestWeights);
    }
  }

  /** Frees the copy of the best weights. */
  dispose(): void {
    tf.dispose(this.bestWeights);
    this.bestWeights = [];
  }
}

function checkTrainOptions(
  model: tf.LayersModel,
  train: PreparedSplit,
  options: TrainOptions,
): void {
  checkPositiveInteger("epochs", options.epochs);
  checkPositiveInteger("batch size", options.batchSize);
  checkSeed(options.seed);
  if (train.count === 0) throw new RangeError("There are no training images to train on.");
  if (options.batchSize > train.count) {
    throw new RangeError(
      `The batch size ${options.batchSize} is larger than the ${train.count} training images: ` +
        `lower BATCH_SIZE (--batch-size) to at most ${train.count}.`,
    );
  }
  const largest = maxBatchSize(model);
  if (options.batchSize > largest) {
    const gigabytes = (options.batchSize * trainingBytesPerImage(model) / 2 ** 30).toFixed(1);
    throw new RangeError(
      `A batch of ${options.batchSize} images needs about ${gigabytes} GB to train this model, ` +
        `more than the ${HEAP_BYTES / 2 ** 30} GB WebAssembly heap holds: lower BATCH_SIZE ` +
        `(--batch-size) to at most ${largest}.`,
    );
  }
  const classes = options.classes ?? 10;
  checkLabels(train, classes, "training");
  if (options.validation) checkLabels(options.validation, classes, "validation");
}

function checkLabels(split: PreparedSplit, classes: number, what: string): void {
  // JavaScript callers (a notebook cell) can pass the bytes of an MnistSplit.
  const images: unknown = split.images;
  if (!(images instanceof Float32Array)) {
    const kind = images instanceof Object ? images.constructor.name : typeof images;
    throw new RangeError(
      `The ${what} images are ${kind}, not ` +
        "the normalized floats training takes: prepare them with normalizePixels() and " +
        "reshapeImages() (or prepareSplit()) from lib/data/preprocess.ts.",
    );
  }
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
  (model.optimizer as unknown as WithLearningRate).learningRate = checkLearningRate(rate);
}
