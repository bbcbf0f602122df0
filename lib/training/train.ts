/**
 * Training that reads like tfjs' `model.fit`: {@linkcode trainModel} takes `epochs`, `batchSize`,
 * `validationData` or `validationSplit`, `shuffle` and `callbacks` (`onEpochEnd(epoch, logs)`,
 * `onBatchEnd(batch, logs)`, `onTrainEnd`, with logs keyed `loss`, `acc`, `val_loss`, `val_acc`),
 * and returns a `history` as `model.fit` does. What it adds: it trains on every core through the
 * worker replicas (`../engine/mod.ts`), gives the same result for the same seed (shuffling,
 * Dropout, augmentation), augments batches, follows a learning-rate schedule, stops early, guards
 * against bad labels and divergence, re-estimates Batch Normalization's statistics before
 * each validation (`batch_norm_statistics.ts`), and keeps a moving average of the weights when
 * asked (`ema`, as Keras' `use_ema`; `weight_average.ts`).
 *
 * Its steps are exported and tested on their own: {@linkcode epochOrder}, {@linkcode trainBatch},
 * {@linkcode checkDivergence} and {@linkcode EarlyStopping}.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { IMAGE_SHAPE, IMAGE_SIZE } from "../data/mnist.ts";
import type { Augmentation } from "../data/augment.ts";
import { gatherBatch, type PreparedSplit, splitValidation } from "../data/preprocess.ts";
import { checkLearningRate } from "../models/model.ts";
import { checkSeed, createRandom, shuffledIndices } from "../random.ts";
import { evaluateModel, scoreProbabilities } from "./evaluate.ts";
import { hasBatchNormalization, reestimateBatchNormalization } from "./batch_norm_statistics.ts";
import { inTutorialTerms } from "./engine_errors.ts";
import { checkEmaMomentum, type EmaOptions, WeightAverage } from "./weight_average.ts";
import type { KernelProfile, KernelStats, Replicas, StepProfile } from "../engine/mod.ts";

/** An epoch's logs, keyed as tfjs' `model.fit` keys them, plus the rate and the time. */
export interface EpochLogs {
  /** Mean training loss over the epoch's batches, weighted by batch size. */
  loss: number;
  /** Training accuracy over the epoch. */
  acc: number;
  /** Loss on the validation images after the epoch (absent without validation images). */
  val_loss?: number;
  /** Accuracy on the validation images after the epoch. */
  val_acc?: number;
  /**
   * With `ema`: the validation loss of the trained weights themselves, the ones the optimizer
   * steps, not averaged (`val_loss` scores the averages).
   */
  val_loss_raw?: number;
  /** With `ema`: the validation accuracy of the trained weights, not averaged. */
  val_acc_raw?: number;
  /** The learning rate used in the epoch. */
  lr: number;
  /** Wall time of the epoch's training steps (validation excluded). */
  seconds: number;
}

/** A batch's logs, as tfjs' `onBatchEnd` gets them; `loss` and `acc` are the epoch's so far. */
export interface BatchLogs {
  /** 0-based, within the epoch. */
  batch: number;
  /** Images in the batch. */
  size: number;
  loss: number;
  acc: number;
}

/** What the run is, as tfjs' `callback.setParams` gets it. */
export interface TrainParams {
  epochs: number;
  /** Batches per epoch. */
  steps: number;
  /** Training images per epoch. */
  samples: number;
  batchSize: number;
}

/** How training ended, as `onTrainEnd` gets it. */
export interface TrainEndLogs {
  /** Epochs run. */
  epochs: number;
  /** The epoch (1-based) whose weights the model holds. */
  best_epoch: number;
  /** 1 when early stopping ended the run, else 0. */
  stopped_early: number;
}

/** Callbacks with tfjs' names and arguments; every one may be async. */
export interface TrainCallbacks {
  setParams?: (params: TrainParams) => void;
  /**
   * The model being trained, as tfjs' `callback.setModel`. At `onEpochEnd` it holds the epoch's
   * weights (with `ema`, their averages) and Batch Normalization statistics re-estimated for
   * them, so a callback can score it on other images
   * (`evaluateModel`) without touching the training: the replicas keep their own copy.
   */
  setModel?: (model: tf.LayersModel) => void;
  onTrainBegin?: () => void | Promise<void>;
  /** `epoch` is 0-based, as in tfjs. */
  onEpochBegin?: (epoch: number) => void | Promise<void>;
  onBatchEnd?: (batch: number, logs: BatchLogs) => void | Promise<void>;
  onEpochEnd?: (epoch: number, logs: EpochLogs) => void | Promise<void>;
  /** Called once when training ends, early or not (not when it fails). */
  onTrainEnd?: (logs: TrainEndLogs) => void | Promise<void>;
}

/** The history, as tfjs' `model.fit` returns it in `history.history`: one entry per epoch. */
export interface TrainHistory {
  loss: number[];
  acc: number[];
  val_loss?: number[];
  val_acc?: number[];
  /** With `ema` and validation images: the trained weights' scores, not averaged. */
  val_loss_raw?: number[];
  val_acc_raw?: number[];
  lr: number[];
  seconds: number[];
}

/** Options of {@linkcode trainModel}: `model.fit`'s names, and what it adds. */
export interface TrainOptions {
  epochs: number;
  batchSize: number;
  /** Fixes the order of the images in every epoch (and the augmentation). */
  seed: number;
  /** Images to report validation loss and accuracy on after each epoch, prepared as `train`. */
  validationData?: PreparedSplit;
  /** Or: hold out this last fraction of `train` for validation, as Keras does. */
  validationSplit?: number;
  /** Visit the images in a new, seeded order every epoch. Default true, as in `model.fit`. */
  shuffle?: boolean;
  callbacks?: TrainCallbacks | TrainCallbacks[];
  /** The learning rate of each 0-based epoch; default: the optimizer's own, unchanged. */
  learningRateSchedule?: (epoch: number) => number;
  /** Stop when the validation loss has not improved for `patience` epochs, keeping the best weights. */
  earlyStopping?: { patience: number };
  /**
   * Keep an exponential moving average of the trainable weights, as Keras' optimizers do with
   * `use_ema=True, ema_momentum=momentum` (and `ema_overwrite_frequency=None`): after every
   * optimizer step, `average = momentum * average + (1 - momentum) * weights`, momentum 0 at the
   * run's first step (Keras' rule), on the replicas or in this process alike. Training steps on
   * the weights themselves; after each epoch the model holds the averages, with Batch
   * Normalization's statistics re-estimated for them, and that is what `val_loss` and `val_acc`
   * score, what callbacks see, what early stopping watches and keeps (the best epoch's averages),
   * and what the model holds at the end. `val_loss_raw` and `val_acc_raw` score the weights
   * themselves, for comparison. A later call trains on from the averages and starts a new one.
   */
  ema?: EmaOptions;
  /** Applied to every training batch (not to validation). */
  augment?: Augmentation;
  /** The number of classes; labels must be below it. Default 10. */
  classes?: number;
  /**
   * Worker replicas for synchronous data-parallel training (the engine's `startReplicas`), each on one
   * thread; 0 trains in this process. Default: the wasm backend's thread count when the model
   * allows replicas, else 0.
   */
  workers?: number;
  /**
   * Time every kernel of the training steps (keyed by kernel, or by kernel and input shapes);
   * the result's `kernelProfile` holds the times.
   */
  profileKernels?: { byShape?: boolean };
}

/** The outcome of {@linkcode trainModel}, shaped as tfjs' `History`. */
export interface TrainResult {
  /** The 0-based epochs run. */
  epoch: number[];
  history: TrainHistory;
  /** Wall time of all training steps (validation excluded). */
  seconds: number;
  samplesPerSecond: number;
  /** The epoch (1-based) whose weights the model holds at the end (the best one with early stopping). */
  bestEpoch: number;
  stoppedEarly: boolean;
  /** The replica workers the steps ran on; 0 in this process (absent in records made before). */
  workers?: number;
  /**
   * With `profileKernels`: self milliseconds and calls per kernel over all epochs, of one replica
   * (they work in lockstep) or of this process.
   */
  kernelProfile?: Map<string, KernelStats>;
  /** With `profileKernels` on replicas: where a step's wall time went (the engine's `StepProfile`). */
  stepProfile?: StepProfile;
}

/**
 * Trains a compiled model with sparse labels, as `model.fit(x, y, options)` would: every epoch
 * visits the training images in an order fixed by `seed` and the epoch, in batches of `batchSize`
 * (the last one smaller), then scores the validation images and decides whether to stop early.
 * The images are floats in [0, 1], prepared by `normalizePixels` and `reshapeImages` (or
 * `prepareSplit`) from `../data/preprocess.ts`.
 *
 * @throws {RangeError} before any step when a label is outside 0..classes-1, the images are not
 * prepared floats, or an option is bad.
 * @throws {Error} naming the epoch and batch when the loss or the weights become NaN or infinite.
 *
 * @example
 * ```ts ignore
 * import { buildBaselineModel } from "../models/variants.ts";
 * import { trainModel } from "./train.ts";
 * const result = await trainModel(buildBaselineModel({ seed: 42 }), prepareSplit(train), {
 *   epochs: 5, batchSize: 128, seed: 42, validationSplit: 0.1,
 *   callbacks: { onEpochEnd: (epoch, logs) => console.log(epoch, logs.val_acc) },
 * });
 * console.log(result.history.val_acc);
 * ```
 *
 * @example With a moving average of the weights (`ema`), the model ends with the averages:
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { trainModel } from "./train.ts";
 * const model = tf.sequential({
 *   layers: [
 *     tf.layers.flatten({ inputShape: [28, 28, 1] }),
 *     tf.layers.dense({ units: 10, activation: "softmax" }),
 *   ],
 * });
 * model.compile({ optimizer: tf.train.sgd(0.5), loss: "sparseCategoricalCrossentropy" });
 * const count = 40;
 * const images = Float32Array.from({ length: count * 784 }, (_, i) => (i % 13) / 13);
 * const data = { images, labels: Uint8Array.from({ length: count }, (_, i) => i % 10), count };
 * const biases: tf.TypedArray[] = []; // after each step (this process's model takes every step)
 * const result = await trainModel(model, data, {
 *   epochs: 1, batchSize: 20, seed: 1, workers: 0, validationData: data, ema: { momentum: 0.9 },
 *   callbacks: { onBatchEnd: () => void biases.push(model.getWeights()[1].dataSync().slice()) },
 * });
 * // 2 steps: the first step's weights, then 0.9 of them and 0.1 of the second step's.
 * const bias = model.getWeights()[1].dataSync();
 * bias.forEach((b, i) => assert.ok(Math.abs(b - (0.9 * biases[0][i] + 0.1 * biases[1][i])) < 1e-6));
 * assert.ok(result.history.val_loss_raw![0] !== result.history.val_loss![0]);
 * model.dispose();
 * ```
 */
export async function trainModel(
  model: tf.LayersModel,
  data: PreparedSplit,
  options: TrainOptions,
): Promise<TrainResult> {
  const { train, validation } = fitSplits(data, options);
  checkTrainOptions(model, train, { ...options, validationData: validation });
  const callbacks = [options.callbacks ?? []].flat();
  const steps = Math.ceil(train.count / options.batchSize);
  const params = {
    epochs: options.epochs,
    steps,
    samples: train.count,
    batchSize: options.batchSize,
  };
  callbacks.forEach((c) => {
    c.setParams?.(params);
    c.setModel?.(model);
  });
  const run = await startRun(model, options);
  const history: TrainHistory = { loss: [], acc: [], lr: [], seconds: [] };
  try {
    for (const c of callbacks) await c.onTrainBegin?.();
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      for (const c of callbacks) await c.onEpochBegin?.(epoch);
      const logs = await fitEpoch(model, train, validation, {
        ...options,
        ...run,
        epoch,
        callbacks,
      });
      for (const [key, value] of Object.entries(logs)) {
        (history[key as keyof TrainHistory] ??= []).push(value);
      }
      for (const c of callbacks) await c.onEpochEnd?.(epoch, logs);
      if (run.stopper?.update(model, { epoch: epoch + 1, valLoss: logs.val_loss }) === "stop") {
        break;
      }
    }
    run.stopper?.restoreBest(model, history.loss.length);
    run.kernelProfile = options.profileKernels
      ? (run.replicas ? await run.replicas.kernelProfile() : run.profile?.stats)
      : undefined;
    if (options.profileKernels) run.stepProfile = await run.replicas?.stepProfile();
  } catch (error) {
    throw await inTutorialTerms(error);
  } finally {
    run.close();
  }
  const result = trainResult(history, train.count, run);
  const end = {
    epochs: result.epoch.length,
    best_epoch: result.bestEpoch,
    stopped_early: +result.stoppedEarly,
  };
  for (const c of callbacks) await c.onTrainEnd?.(end);
  return result;
}

/** The training and validation images: `validationData`, or the last `validationSplit` of `data`. */
function fitSplits(
  data: PreparedSplit,
  options: TrainOptions,
): { train: PreparedSplit; validation?: PreparedSplit } {
  if (options.validationSplit === undefined) {
    return { train: data, validation: options.validationData };
  }
  if (options.validationData !== undefined) {
    throw new RangeError(
      "Both validationData and validationSplit were given: pass one (validationSplit holds out " +
        "the last fraction of the training images).",
    );
  }
  return splitValidation(data, options.validationSplit);
}

/** What a run keeps from its start to its end. */
interface Run {
  replicas?: Replicas;
  profile?: KernelProfile;
  stopper?: EarlyStopping;
  /** With `ema` in this process: the moving average of the weights. */
  average?: WeightAverage;
  kernelProfile?: Map<string, KernelStats>;
  stepProfile?: StepProfile;
  /** One stream for the whole run, so that every epoch's augmentation differs. */
  random: () => number;
  close(): void;
}

/** Starts the replicas (or the kernel profile in this process) and the early stopping. */
async function startRun(model: tf.LayersModel, options: TrainOptions): Promise<Run> {
  // Loaded only when needed: it loads the wasm backend, which would outrank the cpu backend of
  // a program that never asked for wasm.
  const parallel = options.workers !== undefined && options.workers > 0 ||
      options.workers === undefined && tf.getBackend() === "wasm"
    ? await import("../engine/mod.ts")
    : undefined;
  const workers = options.workers ?? parallel?.defaultWorkers(model) ?? 0;
  const replicas = parallel && workers > 0
    ? await parallel.startOrFallBack(
      () =>
        parallel.startReplicas(model, {
          workers,
          batchCapacity: options.batchSize,
          profileKernels: options.profileKernels,
          ema: options.ema,
        }),
      { workers, explicit: options.workers !== undefined, work: "Training" },
    )
    : undefined;
  let profile: KernelProfile | undefined;
  if (replicas === undefined && options.profileKernels) {
    const { startKernelProfile } = await import("../engine/mod.ts");
    profile = startKernelProfile(tf.getBackend(), options.profileKernels);
  }
  const stopper = options.earlyStopping && new EarlyStopping(options.earlyStopping.patience);
  // The replicas keep their own average, beside their weights.
  const average = options.ema && replicas === undefined
    ? new WeightAverage(options.ema)
    : undefined;
  return {
    replicas,
    profile,
    stopper,
    average,
    random: createRandom((options.seed ^ 0x5bd1e995) >>> 0),
    close() {
      profile?.stop();
      replicas?.close();
      stopper?.dispose();
      average?.dispose();
    },
  };
}

function trainResult(history: TrainHistory, samples: number, run: Run): TrainResult {
  const epochs = history.loss.length;
  const seconds = history.seconds.reduce((sum, s) => sum + s, 0);
  return {
    epoch: Array.from({ length: epochs }, (_, i) => i),
    history,
    seconds,
    samplesPerSecond: (epochs * samples) / Math.max(seconds, 1e-9),
    bestEpoch: run.stopper?.bestEpoch ?? epochs,
    stoppedEarly: run.stopper?.stopped ?? false,
    workers: run.replicas?.workers ?? 0,
    ...(run.kernelProfile ? { kernelProfile: run.kernelProfile } : {}),
    ...(run.stepProfile ? { stepProfile: run.stepProfile } : {}),
  };
}

/** What {@linkcode fitEpoch} needs beyond {@linkcode TrainOptions}. */
interface EpochContext extends TrainOptions {
  /** 0-based. */
  epoch: number;
  random: () => number;
  /** Train on these replicas instead of in this process. */
  replicas?: Replicas;
  /** With `ema` in this process: the moving average of the weights. */
  average?: WeightAverage;
  callbacks: TrainCallbacks[];
}

/** Images the Batch Normalization statistics are re-estimated on: plenty for 64 channels. */
const STATISTICS_IMAGES = 512;

/**
 * One epoch: its learning rate, its steps, then the weights back into `model` (from the
 * replicas), and with `ema` the trained weights scored before the model takes the averages; then
 * the Batch Normalization statistics re-estimated and the validation scores of what it holds.
 */
async function fitEpoch(
  model: tf.LayersModel,
  train: PreparedSplit,
  validation: PreparedSplit | undefined,
  context: EpochContext,
): Promise<EpochLogs> {
  const lr = context.learningRateSchedule?.(context.epoch) ?? getLearningRate(model);
  setLearningRate(model, lr);
  // In this process the model held the averages since the last epoch: train on from the weights.
  context.average?.restoreTrained(model);
  const logs = await trainEpoch(model, train, { ...context, lr });
  // The replicas hold the trained weights: the model gets them for validation and callbacks.
  await context.replicas?.copyWeightsTo(model);
  if (context.ema) {
    const raw = validation && validation.count > 0
      ? await settleAndScore(model, train, validation, context)
      : undefined;
    if (raw) [logs.val_loss_raw, logs.val_acc_raw] = [raw.loss, raw.accuracy];
    if (context.average) context.average.holdAverages(model);
    else await context.replicas?.copyAverageTo(model);
  }
  const scores = await settleAndScore(model, train, validation, context);
  if (scores) [logs.val_loss, logs.val_acc] = [scores.loss, scores.accuracy];
  return logs;
}

/**
 * Re-estimates the Batch Normalization statistics for the weights `model` holds, then scores the
 * validation images (undefined without any).
 */
async function settleAndScore(
  model: tf.LayersModel,
  train: PreparedSplit,
  validation: PreparedSplit | undefined,
  context: EpochContext,
): Promise<{ loss: number; accuracy: number } | undefined> {
  const normalized = hasBatchNormalization(model);
  if (normalized) {
    const order = epochOrder(train.count, { seed: context.seed, epoch: context.epoch + 1 });
    const sample = order.subarray(0, Math.min(STATISTICS_IMAGES, train.count));
    reestimateBatchNormalization(model, gatherBatch(train, sample).pixels, sample.length);
  }
  if (!validation || validation.count === 0) return undefined;
  // The replicas predict in parallel with the model's weights, unless the statistics changed
  // here or the model holds the averages, which the replicas do not.
  return context.replicas && !normalized && !context.ema
    ? scoreProbabilities(
      await context.replicas.predict(validation.images, validation.count),
      validation,
    )
    : await evaluateModel(model, validation, { workers: 0 });
}

/** One pass over the training images in the epoch's order; returns its logs without validation. */
async function trainEpoch(
  model: tf.LayersModel,
  train: PreparedSplit,
  context: EpochContext & { lr: number },
): Promise<EpochLogs> {
  const { epoch, batchSize } = context;
  const order = context.shuffle === false
    ? Uint32Array.from({ length: train.count }, (_, i) => i)
    : epochOrder(train.count, { seed: context.seed, epoch });
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
      ? await context.replicas.trainOnBatch(pixels, labels, indices.length, context.lr)
      : await trainBatch(model, { pixels, labels });
    checkDivergence(model, loss, `epoch ${epoch + 1}, batch ${batch + 1}`, finite);
    context.average?.update(model);
    lossSum += loss * indices.length;
    correctSum += accuracy * indices.length;
    seen += indices.length;
    const logs = { batch, size: indices.length, loss: lossSum / seen, acc: correctSum / seen };
    for (const c of context.callbacks) await c.onBatchEnd?.(batch, logs);
  }
  const seconds = (performance.now() - start) / 1000;
  return { loss: lossSum / seen, acc: correctSum / seen, lr: context.lr, seconds };
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
  update(model: tf.LayersModel, logs: { epoch: number; valLoss?: number }): "stop" | "continue" {
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
  if (options.ema !== undefined) checkEmaMomentum(options.ema.momentum);
  if (train.count === 0) throw new RangeError("There are no training images to train on.");
  if (options.earlyStopping && !(options.validationData && options.validationData.count > 0)) {
    // Without a validation loss to watch, early stopping would silently never stop.
    throw new RangeError(
      "Early stopping watches the validation loss, but there are no validation images: give a " +
        "validation split above 0 (VALIDATION_SPLIT, --validation-split) or leave early stopping out.",
    );
  }
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
  if (options.validationData) checkLabels(options.validationData, classes, "validation");
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
  /** SGD and Momentum step with a -rate scalar made once: this method makes it anew. */
  setLearningRate?: (rate: number) => void;
}

function getLearningRate(model: tf.LayersModel): number {
  return (model.optimizer as unknown as WithLearningRate).learningRate;
}

function setLearningRate(model: tf.LayersModel, rate: number): void {
  const optimizer = model.optimizer as unknown as WithLearningRate;
  if (optimizer.setLearningRate) optimizer.setLearningRate(checkLearningRate(rate));
  else optimizer.learningRate = checkLearningRate(rate);
}
