/**
 * The catalogue of model variants: the tutorial's CNN (`baseline`) and five ways to improve it (a
 * learning-rate schedule with early stopping, Dropout and Batch Normalization, data augmentation, a
 * deeper network, and that network trained about twice as long and scored with test-time
 * augmentation). Each variant is a small function that writes its model in `tf.layers`, as the
 * notebook's build cell does, with its training settings beside it as data; `runExperiment` in
 * `../training/experiment.ts` runs one end to end.
 *
 * {@linkcode variantFingerprint} hashes a variant's topology JSON (as `model.toJSON()` gives it)
 * and its training settings, so it changes whenever anything that changes its results does.
 *
 * Batch Normalization layers keep a moving mean and variance of their inputs while training, which
 * they use instead of the batch's statistics when predicting. Here they move 10% a step (momentum
 * 0.9, PyTorch's default) instead of tfjs' and Keras' 1% (0.99): the statistics then settle within
 * a few dozen steps, so a short run predicts as well as it trained, where 0.99 still remembered
 * its starting variance of 1 after hundreds of steps and the model answered at chance.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  type Augmentation,
  type AugmentOptions,
  createAugmentation,
  DEFAULT_AUGMENT,
} from "../data/augment.ts";
import { IMAGE_SHAPE } from "../data/mnist.ts";
import { compileModel, seedModel } from "./model.ts";
import type { TestTimeAugmentation } from "../training/test_time_augmentation.ts";

/** The names of the variants, in the order the notebook compares them. */
export const VARIANT_NAMES = [
  "baseline",
  "tuned",
  "regularized",
  "augmented",
  "deep",
  "deep_tta",
] as const;

/** A variant's name. */
export type VariantName = typeof VARIANT_NAMES[number];

/** How the learning rate changes from epoch to epoch. */
export type LearningRateSchedule =
  /** `initial * rate^epoch`. */
  | { kind: "exponential"; initial: number; rate: number }
  /**
   * A linear warm-up from `peak / 10` over the first `warmup` epochs to `peak`, then a cosine
   * decay to `peak / 100` at the last epoch. Warming up keeps Adam's first, noisy steps small;
   * ending low lets the weights settle.
   */
  | { kind: "oneCycle"; peak: number; warmup: number };

/** How a variant is trained. */
export interface VariantTraining {
  /** Epochs (the most, with early stopping). */
  epochs: number;
  /** Images per batch. */
  batchSize: number;
  /** Absent: Adam's rate, unchanged. */
  learningRateSchedule?: LearningRateSchedule;
  /** Stop when the validation loss has not improved for this many epochs (best weights kept). */
  earlyStoppingPatience?: number;
  /** Random rotations, shifts and zooms of the training images; absent: none. */
  augmentation?: Required<AugmentOptions>;
  /**
   * An exponential moving average of the weights, as Keras' `use_ema=True` with `ema_momentum`
   * (`trainModel`'s `ema`): the model ends with the averages; absent: none. For the notebook
   * (momentum 0.999): "An exponential moving average of the weights: training steps as usual, but
   * after every step each weight's running average moves a thousandth of the way towards it, and
   * the model keeps the averages, in effect the mean of the last thousand or so steps' weights, so
   * the noise of single steps cancels out, as a smaller learning rate would, without slowing the
   * training."
   */
  ema?: { momentum: number };
}

/** A named model and the way it is trained. */
export interface Variant {
  name: VariantName;
  /** A few words for `--help` and table columns. */
  summary: string;
  /** One or two sentences for the notebook. */
  description: string;
  /** Writes the model's layers, with `classes` outputs; `buildVariant` makes them a model. */
  layers: (classes: number) => tf.layers.Layer[];
  /** Adam's initial learning rate. */
  learningRate: number;
  training: VariantTraining;
  /** How the test images are varied when scoring; absent: each image once, as it is. */
  testTimeAugmentation?: TestTimeAugmentation;
}

/** Batch Normalization's momentum: see the module's documentation. */
export const BATCH_NORM_MOMENTUM = 0.9;

/** The tutorial's first layer, which `deep` keeps: Conv2D 32 3x3 relu on the grey image. */
function firstConvolution(): tf.layers.Layer {
  return tf.layers.conv2d({
    inputShape: [...IMAGE_SHAPE],
    filters: 32,
    kernelSize: 3,
    activation: "relu",
  });
}

/**
 * The tutorial's CNN: Conv2D 32 3x3 relu, MaxPool 2, Conv2D 64 3x3 relu, MaxPool 2, Flatten,
 * Dense 64 relu, Dense softmax (121,930 parameters with 10 classes).
 */
function tutorialCnn(classes: number): tf.layers.Layer[] {
  return [
    firstConvolution(),
    tf.layers.maxPooling2d({ poolSize: 2 }),
    tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: "relu" }),
    tf.layers.maxPooling2d({ poolSize: 2 }),
    tf.layers.flatten(),
    tf.layers.dense({ units: 64, activation: "relu" }),
    tf.layers.dense({ units: classes, activation: "softmax" }),
  ];
}

/**
 * `layer` (a convolution or dense layer without activation and bias, which Batch Normalization
 * makes redundant), then Batch Normalization, then ReLU.
 */
function normalized(layer: tf.layers.Layer): tf.layers.Layer[] {
  return [
    layer,
    tf.layers.batchNormalization({ momentum: BATCH_NORM_MOMENTUM }),
    tf.layers.activation({ activation: "relu" }),
  ];
}

/** A layer before Batch Normalization: no activation yet, no bias (BN's offset replaces it). */
const plain = { activation: "linear", useBias: false } as const;

/** Regularized's CNN: the tutorial's layers with Batch Normalization and Dropout. */
function regularizedCnn(classes: number): tf.layers.Layer[] {
  return [
    ...normalized(
      tf.layers.conv2d({ inputShape: [...IMAGE_SHAPE], filters: 32, kernelSize: 3, ...plain }),
    ),
    tf.layers.maxPooling2d({ poolSize: 2 }),
    tf.layers.dropout({ rate: 0.25 }),
    ...normalized(tf.layers.conv2d({ filters: 64, kernelSize: 3, ...plain })),
    tf.layers.maxPooling2d({ poolSize: 2 }),
    tf.layers.dropout({ rate: 0.25 }),
    tf.layers.flatten(),
    ...normalized(tf.layers.dense({ units: 64, ...plain })),
    tf.layers.dropout({ rate: 0.5 }),
    tf.layers.dense({ units: classes, activation: "softmax" }),
  ];
}

/** Deep's CNN: three convolutions, Batch Normalization after the 4x smaller later ones. */
function deepCnn(classes: number): tf.layers.Layer[] {
  return [
    // No Batch Normalization at 26x26: its moments and gradient there cost more than the
    // convolutions on wasm; the later, 4x smaller activations get it cheaply.
    firstConvolution(),
    tf.layers.maxPooling2d({ poolSize: 2 }),
    ...normalized(tf.layers.conv2d({ filters: 64, kernelSize: 3, ...plain })),
    ...normalized(tf.layers.conv2d({ filters: 64, kernelSize: 3, ...plain })),
    tf.layers.maxPooling2d({ poolSize: 2 }),
    tf.layers.dropout({ rate: 0.2 }),
    tf.layers.flatten(),
    ...normalized(tf.layers.dense({ units: 128, ...plain })),
    tf.layers.dropout({ rate: 0.3 }),
    tf.layers.dense({ units: classes, activation: "softmax" }),
  ];
}

/** Tuned's training: longer, a decaying rate, early stopping. */
const TUNED_TRAINING: VariantTraining = {
  epochs: 15,
  batchSize: 128,
  learningRateSchedule: { kind: "exponential", initial: 0.002, rate: 0.75 },
  earlyStoppingPatience: 3,
};

/** The variants by name. */
export const VARIANTS: Readonly<Record<VariantName, Variant>> = {
  baseline: {
    name: "baseline",
    summary: "the tutorial's CNN, Adam 1e-3",
    description: "The tutorial's CNN (121,930 parameters): 5 epochs of Adam at 1e-3.",
    layers: tutorialCnn,
    learningRate: 0.001,
    training: { epochs: 5, batchSize: 128 },
  },
  tuned: {
    name: "tuned",
    summary: "baseline CNN, decaying rate, early stopping",
    description: "The same CNN, up to 15 epochs, Adam from 2e-3 decaying 25% per epoch, " +
      "early stopping on validation loss (patience 3, best weights kept).",
    layers: tutorialCnn,
    learningRate: 0.002,
    training: TUNED_TRAINING,
  },
  regularized: {
    name: "regularized",
    summary: "+ Batch Normalization and Dropout",
    description: "The same layers plus Batch Normalization after each convolution and the " +
      "hidden dense layer, and Dropout (0.25 after pooling, 0.5 before the output); tuned's schedule.",
    layers: regularizedCnn,
    learningRate: 0.002,
    training: TUNED_TRAINING,
  },
  augmented: {
    name: "augmented",
    summary: "baseline CNN on rotated/shifted/zoomed images",
    description: "The tutorial's CNN trained on images rotated (±10°), shifted (±2 px) and " +
      "zoomed (±10%) at random every batch; tuned's schedule and early stopping.",
    layers: tutorialCnn,
    learningRate: 0.002,
    training: { ...TUNED_TRAINING, augmentation: { ...DEFAULT_AUGMENT } },
  },
  deep: {
    name: "deep",
    summary: "3 conv layers, BN, Dropout, augmentation, one-cycle",
    description:
      "Conv32-Pool, then 2x Conv64 with Batch Normalization and a Pool, Dense 128 with " +
      "Batch Normalization, Dropout 0.2 and 0.3, augmentation as augmented's, and a one-cycle " +
      "schedule (peak 4e-3) over 8 epochs.",
    layers: deepCnn,
    learningRate: 0.004,
    training: {
      // 8 epochs at about twice the baseline's cost per image: 217-251 s of training on 2 idle
      // cores (2026-12-07); the one-cycle schedule gets the accuracy there in few epochs.
      epochs: 8,
      batchSize: 128,
      learningRateSchedule: { kind: "oneCycle", peak: 0.004, warmup: 1 },
      augmentation: { ...DEFAULT_AUGMENT },
    },
  },
  deep_tta: {
    name: "deep_tta",
    summary: "deep for 17 epochs, + test-time shifts",
    description: "Deep's network and augmentation with the one-cycle schedule over 17 epochs, " +
      "scored with test-time augmentation: each test image is also shown shifted by up to 2 px " +
      "(1 or 2 px left, right, up or down, and 1 px diagonally), and the 13 answers are " +
      "averaged (counted in its time).",
    layers: deepCnn,
    learningRate: 0.004,
    training: {
      // As many epochs as fit in 10 minutes with the scoring: deep trained at 23-37 s an epoch on
      // 2 idle cores (2026-12-07 and -08), so 17 take about 7-9.5 minutes and the 13 views'
      // scoring (about 18 s) fits; 18 would not safely.
      epochs: 17,
      batchSize: 128,
      learningRateSchedule: { kind: "oneCycle", peak: 0.004, warmup: 1 },
      augmentation: { ...DEFAULT_AUGMENT },
    },
    // Chosen on the validation images. The five 16-epoch runs recorded on 2026-12-07 scored
    // 99.61% on them unshifted, 99.65% with the four straight shifts and 99.68% with the
    // diagonals too; adding ±8° rotations or ±10% zooms did not help (99.66%). The five 17-epoch
    // runs recorded on 2026-12-08 (commit a8c382f) scored, over their 6,000 validation images
    // each: 99.61% unshifted, 99.66% on the 3x3 grid of one-pixel shifts, 99.68% on every shift
    // of up to 2 pixels across plus down (13 views: 7 images gained and 3 lost of 30,000, the
    // log loss the same), 99.67% on the whole 5x5 grid (25 views). Scoring 13 views takes about
    // 18 s, inside the 10 minutes.
    testTimeAugmentation: { shiftPixels: 2 },
  },
};

/**
 * Whether `name` names a variant (own names only, never inherited keys such as `constructor`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isVariantName } from "./variants.ts";
 * assert.ok(isVariantName("deep"));
 * assert.ok(!isVariantName("huge") && !isVariantName("constructor"));
 * ```
 */
export function isVariantName(name: string): name is VariantName {
  return (VARIANT_NAMES as readonly string[]).includes(name);
}

/**
 * Looks a variant up by name.
 *
 * @throws {RangeError} naming the known variants when `name` is not one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getVariant } from "./variants.ts";
 * assert.equal(getVariant("tuned").training.earlyStoppingPatience, 3);
 * assert.throws(() => getVariant("seed"), /now called baseline/);
 * ```
 */
export function getVariant(name: string): Variant {
  if (isVariantName(name)) return VARIANTS[name];
  // Earlier releases called the tutorial's model "seed", which reads like the random seed.
  const renamed = name === "seed"
    ? ` (the tutorial's model, once called "seed", is now called baseline)`
    : "";
  throw new RangeError(
    `There is no model variant "${name}"${renamed}. Choose one of: ${VARIANT_NAMES.join(", ")}.`,
  );
}

/** Options of {@linkcode buildVariant}. */
export interface BuildOptions {
  /** Fixes the initial weights and the Dropout masks: the same seed builds the same model. */
  seed: number;
  /** The number of classes. Default 10. */
  classes?: number;
}

/**
 * Builds a variant's model, seeds it (`seedModel`) and compiles it with Adam at the variant's
 * learning rate and sparse categorical cross-entropy.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { disposeModel } from "./model.ts";
 * import { buildVariant } from "./variants.ts";
 * const model = buildVariant("baseline", { seed: 1 });
 * assert.equal(model.countParams(), 121_930);
 * disposeModel(model);
 * ```
 */
export function buildVariant(variant: VariantName | Variant, options: BuildOptions): tf.Sequential {
  const v = typeof variant === "string" ? getVariant(variant) : variant;
  const model = tf.sequential({ name: `${v.name}_cnn`, layers: v.layers(options.classes ?? 10) });
  return compileModel(seedModel(model, options.seed), v.learningRate);
}

/**
 * Builds the tutorial's CNN: Conv2D 32 3x3 relu, MaxPool 2, Conv2D 64 3x3 relu, MaxPool 2,
 * Flatten, Dense 64 relu, Dense 10 softmax (121,930 parameters), compiled with Adam at 1e-3 and
 * sparse categorical cross-entropy, reporting accuracy.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { disposeModel } from "./model.ts";
 * import { buildBaselineModel } from "./variants.ts";
 * const model = buildBaselineModel({ seed: 42 });
 * assert.deepEqual(model.outputs[0].shape, [null, 10]);
 * disposeModel(model);
 * ```
 */
export function buildBaselineModel(options: BuildOptions): tf.Sequential {
  return buildVariant("baseline", options);
}

/**
 * The learning rate of 0-based `epoch` out of `epochs` under `schedule`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { learningRateAt } from "./variants.ts";
 * assert.equal(learningRateAt({ kind: "exponential", initial: 0.01, rate: 0.5 }, 2, 5), 0.0025);
 * assert.equal(learningRateAt({ kind: "oneCycle", peak: 0.004, warmup: 1 }, 9, 10), 0.00004);
 * ```
 */
export function learningRateAt(
  schedule: LearningRateSchedule,
  epoch: number,
  epochs: number,
): number {
  switch (schedule.kind) {
    case "exponential":
      return schedule.initial * schedule.rate ** epoch;
    case "oneCycle": {
      const { peak, warmup } = schedule;
      if (epoch < warmup) return peak / 10 + ((peak - peak / 10) * epoch) / warmup;
      const span = Math.max(epochs - 1 - warmup, 1);
      const t = Math.min((epoch - warmup) / span, 1);
      const low = peak / 100;
      return t === 1 ? low : low + ((peak - low) * (1 + Math.cos(Math.PI * t))) / 2;
    }
  }
}

/** The options of `trainModel` that a variant fixes. */
export interface VariantTrainOptions {
  learningRateSchedule?: (epoch: number) => number;
  earlyStopping?: { patience: number };
  augment?: Augmentation;
  ema?: { momentum: number };
}

/**
 * The options of `trainModel` that a variant fixes: its schedule (stretched over `epochs`), early
 * stopping, augmentation and moving average of the weights.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getVariant, variantTrainOptions } from "./variants.ts";
 * const options = variantTrainOptions(getVariant("deep"), 10);
 * assert.ok(options.augment !== undefined && options.learningRateSchedule !== undefined);
 * const averaged = { ...getVariant("deep"), training: { epochs: 8, batchSize: 128, ema: { momentum: 0.999 } } };
 * assert.deepEqual(variantTrainOptions(averaged, 8).ema, { momentum: 0.999 });
 * ```
 */
export function variantTrainOptions(
  variant: Variant,
  epochs: number,
): VariantTrainOptions {
  const { learningRateSchedule, earlyStoppingPatience, augmentation, ema } = variant.training;
  return {
    learningRateSchedule: learningRateSchedule &&
      ((epoch) => learningRateAt(learningRateSchedule, epoch, epochs)),
    earlyStopping: earlyStoppingPatience === undefined
      ? undefined
      : { patience: earlyStoppingPatience },
    augment: augmentation && createAugmentation(augmentation),
    ema: ema && { ...ema },
  };
}

/**
 * A short hash of everything in a variant's definition that changes its results (the model's
 * topology JSON without layer names, learning rate, schedule, early stopping, augmentation, moving
 * average of the weights), so that a result kept from an earlier run is only reused for the very
 * same definition.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { VARIANTS, variantFingerprint } from "./variants.ts";
 * const base = await variantFingerprint(VARIANTS.baseline);
 * assert.equal(base, await variantFingerprint({ ...VARIANTS.baseline }));
 * assert.notEqual(base, await variantFingerprint({ ...VARIANTS.baseline, learningRate: 0.002 }));
 * const averaged = { ...VARIANTS.baseline.training, ema: { momentum: 0.999 } };
 * assert.notEqual(base, await variantFingerprint({ ...VARIANTS.baseline, training: averaged }));
 * ```
 */
export async function variantFingerprint(variant: Variant): Promise<string> {
  const { name: _name, summary: _summary, description: _description, layers, ...training } =
    variant;
  // The layers as the model's topology JSON lists them, read before any weight exists (no tensor,
  // no backend needed). tfjs numbers the names it gives (`conv2d_Conv2D3`) by how many came
  // before: names are left out.
  const topology = layers(10).map((layer) => ({
    className: layer.getClassName(),
    config: withoutNames(layer.getConfig()),
  }));
  const definition = { layers: topology, ...training };
  const bytes = new TextEncoder().encode(canonicalJson(definition));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest.subarray(0, 6), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** `value` without its `name` keys, at any depth. */
function withoutNames(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNames);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value).filter(([k]) => k !== "name").map(([k, v]) => [k, withoutNames(v)]),
  );
}

/** JSON with object keys sorted, so that the same data always gives the same text. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) =>
      a < b ? -1 : 1
    );
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
