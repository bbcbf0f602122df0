/**
 * The named model variants of the "Going further" section: the tutorial's model and four ways to
 * improve it (a learning-rate schedule with early stopping, Dropout and Batch Normalization, data
 * augmentation, a deeper network). Each variant says how to build its model and how to train it;
 * {@linkcode runExperiment} in `experiment.ts` runs one end to end.
 *
 * Every layer with random initial weights gets its own seed, and Dropout draws its masks from a
 * seed that advances with each training step, so the same seed gives the same model and (with one
 * thread) the same training.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type AugmentOptions, createAugmentation, DEFAULT_AUGMENT } from "../data/augment.ts";
// Registers a BatchNormalization gradient without the full-size Tile that is slow on wasm.
import "../wasm/batch_norm_grad.ts";
import { buildSeedModel, compileModel } from "./model.ts";
import type { TrainOptions } from "../training/train.ts";

/** The names of the variants, in the order the notebook compares them. */
export const VARIANT_NAMES = ["seed", "tuned", "regularized", "augmented", "deep"] as const;

/** A variant's name. */
export type VariantName = typeof VARIANT_NAMES[number];

/** Options of a variant's `build`. */
export interface BuildOptions {
  /** Fixes the initial weights and the Dropout masks. */
  seed: number;
  /** The number of classes. Default 10. */
  classes?: number;
}

/** How a variant is trained. */
export interface VariantTraining {
  /** Epochs (the most, with early stopping). */
  epochs: number;
  /** Images per batch. */
  batchSize: number;
  /** The learning rate of 0-based `epoch` out of `epochs`; absent: Adam's rate, unchanged. */
  learningRateSchedule?: (epoch: number, epochs: number) => number;
  /** Stop when the validation loss has not improved for this many epochs (best weights kept). */
  earlyStoppingPatience?: number;
  /** Random rotations, shifts and zooms of the training images; absent: none. */
  augmentation?: Required<AugmentOptions>;
}

/** A named model and the way it is trained. */
export interface Variant {
  name: VariantName;
  /** A few words for `--help` and table columns. */
  summary: string;
  /** One or two sentences for the notebook. */
  description: string;
  /** Builds the model, compiled with Adam and sparse categorical cross-entropy. */
  build(options: BuildOptions): tf.LayersModel;
  training: VariantTraining;
}

/**
 * Exponential decay: `initial * rate^epoch`.
 *
 * @example
 * ```ts
 * import { exponentialDecay } from "./variants.ts";
 * console.assert(exponentialDecay(0.01, 0.5)(2) === 0.0025);
 * ```
 */
export function exponentialDecay(initial: number, rate: number): (epoch: number) => number {
  return (epoch) => initial * rate ** epoch;
}

/**
 * A one-cycle schedule at epoch granularity: a linear warm-up from `peak / 10` over the first
 * `warmup` epochs to `peak`, then a cosine decay to `peak / 100` at the last epoch. Warming up
 * keeps Adam's first, noisy steps small; ending low lets the weights settle.
 *
 * @example
 * ```ts
 * import { oneCycle } from "./variants.ts";
 * const schedule = oneCycle(0.004, 1);
 * console.assert(Math.abs(schedule(1, 10) - 0.004) < 1e-12 && schedule(9, 10) === 0.00004);
 * ```
 */
export function oneCycle(peak: number, warmup: number): (epoch: number, epochs: number) => number {
  return (epoch, epochs) => {
    if (epoch < warmup) return peak / 10 + ((peak - peak / 10) * epoch) / warmup;
    const span = Math.max(epochs - 1 - warmup, 1);
    const t = Math.min((epoch - warmup) / span, 1);
    const low = peak / 100;
    return t === 1 ? low : low + ((peak - low) * (1 + Math.cos(Math.PI * t))) / 2;
  };
}

/**
 * Makes a Dropout layer draw a new mask at every training step while staying reproducible.
 *
 * tfjs' Dropout passes its `seed` to `tf.dropout` on every call, so a fixed seed would drop the
 * same units at every step. The layer reads `this.seed` once per training forward pass (and never
 * when predicting), so a getter that counts up from `seed` gives each step its own, repeatable
 * mask. `getConfig` also reads it, which only changes the number saved in model.json.
 */
function advancingSeed(layer: tf.layers.Layer, seed: number): tf.layers.Layer {
  let calls = 0;
  Object.defineProperty(layer, "seed", {
    get: () => seed + 1_000_003 * calls++,
    configurable: true,
  });
  return layer;
}

/** Adds layers with Keras-style names (`conv2d`, `conv2d_1`, ...) and consecutive seeds. */
class Builder {
  readonly model: tf.Sequential;
  private nextSeed: number;
  private readonly counts = new Map<string, number>();

  constructor(name: string, seed: number) {
    if (!Number.isInteger(seed)) throw new RangeError(`The seed must be an integer, got ${seed}.`);
    this.model = tf.sequential({ name });
    this.nextSeed = seed;
  }

  private name(kind: string): string {
    const n = this.counts.get(kind) ?? 0;
    this.counts.set(kind, n + 1);
    return n === 0 ? kind : `${kind}_${n}`;
  }

  private init() {
    return tf.initializers.glorotUniform({ seed: this.nextSeed++ });
  }

  private first(): { inputShape?: number[] } {
    return this.model.layers.length === 0 ? { inputShape: [28, 28, 1] } : {};
  }

  /** Conv 3x3 (or `kernelSize`), then ReLU, or BN then ReLU when `batchNorm` (no bias needed). */
  conv(filters: number, batchNorm: boolean, kernelSize = 3): this {
    this.model.add(tf.layers.conv2d({
      name: this.name("conv2d"),
      ...this.first(),
      filters,
      kernelSize,
      activation: batchNorm ? "linear" : "relu",
      useBias: !batchNorm,
      kernelInitializer: this.init(),
    }));
    if (batchNorm) this.batchNormRelu();
    return this;
  }

  dense(units: number, batchNorm: boolean): this {
    this.model.add(tf.layers.dense({
      name: this.name("dense"),
      units,
      activation: batchNorm ? "linear" : "relu",
      useBias: !batchNorm,
      kernelInitializer: this.init(),
    }));
    if (batchNorm) this.batchNormRelu();
    return this;
  }

  private batchNormRelu(): void {
    this.model.add(tf.layers.batchNormalization({ name: this.name("batch_normalization") }));
    this.model.add(tf.layers.activation({ name: this.name("activation"), activation: "relu" }));
  }

  pool(): this {
    this.model.add(tf.layers.maxPooling2d({ name: this.name("max_pooling2d"), poolSize: 2 }));
    return this;
  }

  flatten(): this {
    this.model.add(tf.layers.flatten({ name: this.name("flatten") }));
    return this;
  }

  dropout(rate: number): this {
    const layer = tf.layers.dropout({ name: this.name("dropout"), rate });
    this.model.add(advancingSeed(layer, this.nextSeed++));
    return this;
  }

  output(classes: number): tf.Sequential {
    this.model.add(tf.layers.dense({
      name: this.name("dense"),
      units: classes,
      activation: "softmax",
      kernelInitializer: this.init(),
    }));
    return this.model;
  }
}

/**
 * Disposes a model built by a variant together with its optimizer: `model.dispose()` leaves the
 * Adam moments alive because the optimizer was passed as an object, not a name.
 *
 * @example
 * ```ts
 * import { disposeModel, VARIANTS } from "./variants.ts";
 * disposeModel(VARIANTS.seed.build({ seed: 1 }));
 * ```
 */
export function disposeModel(model: tf.LayersModel): void {
  const optimizer = model.optimizer;
  model.dispose();
  optimizer?.dispose();
}

/** The variants by name. */
export const VARIANTS: Readonly<Record<VariantName, Variant>> = {
  seed: {
    name: "seed",
    summary: "the tutorial's CNN, Adam 1e-3",
    description: "The tutorial's CNN (121,930 parameters): 5 epochs of Adam at 1e-3.",
    build: ({ seed, classes }) => buildSeedModel({ seed, classes, learningRate: 0.001 }),
    training: { epochs: 5, batchSize: 128 },
  },
  tuned: {
    name: "tuned",
    summary: "seed CNN, decaying rate, early stopping",
    description: "The same CNN, up to 15 epochs, Adam from 2e-3 decaying 25% per epoch, " +
      "early stopping on validation loss (patience 3, best weights kept).",
    build: ({ seed, classes }) => buildSeedModel({ seed, classes, learningRate: 0.002 }),
    training: {
      epochs: 15,
      batchSize: 128,
      learningRateSchedule: exponentialDecay(0.002, 0.75),
      earlyStoppingPatience: 3,
    },
  },
  regularized: {
    name: "regularized",
    summary: "+ Batch Normalization and Dropout",
    description: "The same layers plus Batch Normalization after each convolution and the " +
      "hidden dense layer, and Dropout (0.25 after pooling, 0.5 before the output); tuned's schedule.",
    build: ({ seed, classes }) => {
      const b = new Builder("regularized_cnn", seed);
      b.conv(32, true).pool().dropout(0.25);
      b.conv(64, true).pool().dropout(0.25);
      b.flatten().dense(64, true).dropout(0.5);
      return compiled(b.output(classes ?? 10), 0.002);
    },
    training: {
      epochs: 15,
      batchSize: 128,
      learningRateSchedule: exponentialDecay(0.002, 0.75),
      earlyStoppingPatience: 3,
    },
  },
  augmented: {
    name: "augmented",
    summary: "seed CNN on rotated/shifted/zoomed images",
    description: "The tutorial's CNN trained on images rotated (±10°), shifted (±2 px) and " +
      "zoomed (±10%) at random every batch; tuned's schedule and early stopping.",
    build: ({ seed, classes }) => buildSeedModel({ seed, classes, learningRate: 0.002 }),
    training: {
      epochs: 15,
      batchSize: 128,
      learningRateSchedule: exponentialDecay(0.002, 0.75),
      earlyStoppingPatience: 3,
      augmentation: { ...DEFAULT_AUGMENT },
    },
  },
  deep: {
    name: "deep",
    summary: "3 conv layers, BN, Dropout, augmentation, one-cycle",
    description:
      "Conv32-Pool, then 2x Conv64 with Batch Normalization and a Pool, Dense 128 with " +
      "Batch Normalization, Dropout 0.2 and 0.3, augmentation as augmented's, and a one-cycle " +
      "schedule (peak 4e-3) over 8 epochs.",
    build: ({ seed, classes }) => {
      const b = new Builder("deep_cnn", seed);
      // No Batch Normalization at 26x26: its moments and gradient there cost more than the
      // convolutions on wasm; the later, 4x smaller activations get it cheaply.
      b.conv(32, false).pool();
      b.conv(64, true).conv(64, true).pool().dropout(0.2);
      b.flatten().dense(128, true).dropout(0.3);
      return compiled(b.output(classes ?? 10), 0.004);
    },
    training: {
      // 8 epochs: at ~2x the seed model's cost per image, the most that fits ~15 minutes on
      // 2 idle cores; the one-cycle schedule gets the accuracy there in few epochs.
      epochs: 8,
      batchSize: 128,
      learningRateSchedule: oneCycle(0.004, 1),
      augmentation: { ...DEFAULT_AUGMENT },
    },
  },
};

function compiled(model: tf.Sequential, learningRate: number): tf.Sequential {
  compileModel(model, learningRate);
  return model;
}

/**
 * Looks a variant up by name.
 *
 * @throws {RangeError} naming the known variants when `name` is not one.
 *
 * @example
 * ```ts
 * import { getVariant } from "./variants.ts";
 * console.assert(getVariant("tuned").training.earlyStoppingPatience === 3);
 * ```
 */
export function getVariant(name: string): Variant {
  if (!isVariantName(name)) {
    throw new RangeError(
      `There is no model variant "${name}". Choose one of: ${VARIANT_NAMES.join(", ")}.`,
    );
  }
  return VARIANTS[name];
}

/**
 * Whether `name` names a variant.
 *
 * @example
 * ```ts
 * import { isVariantName } from "./variants.ts";
 * console.assert(isVariantName("deep") && !isVariantName("huge"));
 * ```
 */
export function isVariantName(name: string): name is VariantName {
  return (VARIANT_NAMES as readonly string[]).includes(name);
}

/**
 * The options of {@linkcode trainModel} that a variant fixes: its schedule (stretched over
 * `epochs`), early stopping and augmentation.
 *
 * @example
 * ```ts
 * import { getVariant, variantTrainOptions } from "./variants.ts";
 * const options = variantTrainOptions(getVariant("deep"), 10);
 * console.assert(options.augment !== undefined && options.learningRateSchedule !== undefined);
 * ```
 */
export function variantTrainOptions(
  variant: Variant,
  epochs: number,
): Pick<TrainOptions, "learningRateSchedule" | "earlyStopping" | "augment"> {
  const { learningRateSchedule, earlyStoppingPatience, augmentation } = variant.training;
  return {
    learningRateSchedule: learningRateSchedule && ((epoch) => learningRateSchedule(epoch, epochs)),
    earlyStopping: earlyStoppingPatience === undefined
      ? undefined
      : { patience: earlyStoppingPatience },
    augment: augmentation && createAugmentation(augmentation),
  };
}
