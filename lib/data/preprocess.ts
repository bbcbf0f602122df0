/**
 * Preprocessing as in the Keras tutorial: pixels scaled to [0, 1] ({@linkcode normalizePixels}),
 * images read as [n, 28, 28, 1] ({@linkcode reshapeImages}), and the validation split taken from
 * the END of the training set, as Keras' `validation_split` does. Training takes the result, a
 * {@linkcode PreparedSplit}.
 *
 * @module
 */
import { IMAGE_SHAPE, IMAGE_SIZE, type MnistSplit } from "./mnist.ts";

/**
 * A split as the network takes it: `count` images of 28x28x1 floats in [0, 1], row-major in one
 * Float32Array (image `i` at `i * 784`), read as a tensor of shape [count, 28, 28, 1], and their
 * labels. One array, not one tensor of the whole set: each training batch becomes a small tensor.
 */
export interface PreparedSplit {
  /** `count` x 28 x 28 x 1 floats in [0, 1]. */
  images: Float32Array;
  /** Labels, one per image. */
  labels: Uint8Array;
  /** The number of images. */
  count: number;
}

/** A split of bytes ({@linkcode MnistSplit}) or of floats ({@linkcode PreparedSplit}). */
export type AnySplit = MnistSplit | PreparedSplit;

/**
 * Scales bytes 0..255 to float32 0..1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { normalizePixels } from "./preprocess.ts";
 * assert.equal(normalizePixels(new Uint8Array([0, 255]))[1], 1);
 * ```
 */
export function normalizePixels(pixels: Uint8Array): Float32Array {
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = pixels[i] / 255;
  return out;
}

/**
 * Reads normalized pixels as images of [28, 28, 1], one per label: the tutorial's
 * `x.reshape(-1, 28, 28, 1)`. Nothing is copied (the floats are already in that order); the
 * sizes are checked.
 *
 * @throws {RangeError} when the pixels are not 784 per label, or not floats in [0, 1].
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { imagesShape, normalizePixels, reshapeImages } from "./preprocess.ts";
 * const x = reshapeImages(normalizePixels(new Uint8Array(2 * 784)), new Uint8Array([7, 1]));
 * assert.deepEqual(imagesShape(x), [2, 28, 28, 1]);
 * assert.throws(() => reshapeImages(new Float32Array(784), new Uint8Array(2)), /784 pixels per label/);
 * ```
 */
export function reshapeImages(pixels: Float32Array, labels: Uint8Array): PreparedSplit {
  if (!(pixels instanceof Float32Array)) {
    throw new RangeError(
      "The images to reshape must be normalized floats (a Float32Array): call " +
        "normalizePixels() on the bytes first.",
    );
  }
  if (pixels.length !== labels.length * IMAGE_SIZE) {
    throw new RangeError(
      `There are ${pixels.length} pixels for ${labels.length} labels; images must be ` +
        `784 pixels per label (28x28x1), so expected ${labels.length * IMAGE_SIZE}.`,
    );
  }
  return { images: pixels, labels, count: labels.length };
}

/**
 * Normalizes and reshapes a split of bytes in one step, for programs that do not show the steps.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { prepareSplit } from "./preprocess.ts";
 * const split = { images: new Uint8Array(784).fill(255), labels: new Uint8Array([3]), count: 1 };
 * assert.equal(prepareSplit(split).images[0], 1);
 * ```
 */
export function prepareSplit(split: MnistSplit): PreparedSplit {
  return reshapeImages(normalizePixels(split.images), split.labels.subarray(0, split.count));
}

/**
 * The shape of a split's images as the network takes them: [count, 28, 28, 1].
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { imagesShape } from "./preprocess.ts";
 * const split = { images: new Float32Array(3 * 784), labels: new Uint8Array(3), count: 3 };
 * assert.deepEqual(imagesShape(split), [3, 28, 28, 1]);
 * ```
 */
export function imagesShape(split: AnySplit): [number, number, number, number] {
  return [split.count, ...IMAGE_SHAPE];
}

/**
 * The shapes of named splits as the Keras tutorial prints them, one line each:
 * `x_train shape: (54000, 28, 28, 1)`, then the number of samples of each.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shapesText } from "./preprocess.ts";
 * const split = { images: new Float32Array(2 * 784), labels: new Uint8Array(2), count: 2 };
 * assert.equal(shapesText({ train: split }), "x_train shape: (2, 28, 28, 1)\n2 train samples");
 * ```
 */
export function shapesText(splits: Record<string, AnySplit>): string {
  const entries = Object.entries(splits);
  return [
    ...entries.map(([name, split]) => `x_${name} shape: (${imagesShape(split).join(", ")})`),
    ...entries.map(([name, split]) => `${split.count} ${name} samples`),
  ].join("\n");
}

/**
 * Returns images `start..end-1` of a split, sharing its memory.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sliceSplit } from "./preprocess.ts";
 * const split = { images: new Uint8Array(3 * 784), labels: new Uint8Array([1, 2, 3]), count: 3 };
 * assert.equal(sliceSplit(split, 1, 3).labels[0], 2);
 * ```
 */
export function sliceSplit<S extends AnySplit>(split: S, start: number, end: number): S {
  return {
    images: split.images.subarray(start * IMAGE_SIZE, end * IMAGE_SIZE),
    labels: split.labels.subarray(start, end),
    count: end - start,
  } as S;
}

/** The training and validation parts of a training set. */
export interface ValidationSplit<S extends AnySplit = MnistSplit> {
  train: S;
  validation: S;
}

/**
 * How many of `count` images stay for training when `fraction` is held out for validation, as
 * Keras' `validation_split` counts them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { trainingCount } from "./preprocess.ts";
 * assert.equal(trainingCount(60_000, 0.1), 54_000);
 * assert.equal(trainingCount(10, 0.999), 0);
 * ```
 */
export function trainingCount(count: number, fraction: number): number {
  return Math.floor(count * (1 - fraction));
}

/**
 * Holds out the LAST `fraction` of the images for validation, as Keras' `validation_split` does
 * (it splits at `floor(count * (1 - fraction))`, before any shuffling).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { splitValidation } from "./preprocess.ts";
 * const split = { images: new Uint8Array(10 * 784), labels: new Uint8Array(10), count: 10 };
 * const { train, validation } = splitValidation(split, 0.1);
 * assert.equal(train.count, 9);
 * assert.equal(validation.count, 1);
 * ```
 */
export function splitValidation<S extends AnySplit>(
  split: S,
  fraction: number,
): ValidationSplit<S> {
  if (!(fraction >= 0 && fraction < 1)) {
    throw new RangeError(`The validation split must be in [0, 1), got ${fraction}.`);
  }
  const at = trainingCount(split.count, fraction);
  if (at === 0) {
    throw new RangeError(
      `A validation split of ${fraction} leaves no training image out of ${split.count}.`,
    );
  }
  return { train: sliceSplit(split, 0, at), validation: sliceSplit(split, at, split.count) };
}

/**
 * Keeps the first `count` images of a split (a quick run on a subset); `undefined` keeps all.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { takeFirst } from "./preprocess.ts";
 * const split = { images: new Uint8Array(10 * 784), labels: new Uint8Array(10), count: 10 };
 * assert.equal(takeFirst(split, 4).count, 4);
 * ```
 */
export function takeFirst<S extends AnySplit>(split: S, count: number | undefined): S {
  if (count === undefined || count >= split.count) return split;
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`The number of images to keep must be a positive integer, got ${count}.`);
  }
  return sliceSplit(split, 0, count);
}

/**
 * Copies the images and labels at `indices` of a prepared split into a batch: `count` x 784
 * floats and the labels as floats, ready for `tf.tensor4d` and `tf.tensor1d`. A copy, because
 * augmentation changes the batch in place.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gatherBatch } from "./preprocess.ts";
 * const split = { images: new Float32Array(3 * 784).fill(0.5), labels: new Uint8Array([4, 5, 6]), count: 3 };
 * const { pixels, labels } = gatherBatch(split, new Uint32Array([2, 0]));
 * assert.equal(labels[0], 6);
 * assert.equal(pixels.length, 2 * 784);
 * ```
 */
export function gatherBatch(
  split: PreparedSplit,
  indices: ArrayLike<number>,
): { pixels: Float32Array; labels: Float32Array } {
  const n = indices.length;
  const pixels = new Float32Array(n * IMAGE_SIZE);
  const labels = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const source = indices[i] * IMAGE_SIZE;
    pixels.set(split.images.subarray(source, source + IMAGE_SIZE), i * IMAGE_SIZE);
    labels[i] = split.labels[indices[i]];
  }
  return { pixels, labels };
}

/** The range of pixel values in an array, as the notebook shows it before and after scaling. */
export interface PixelStatistics {
  dtype: string;
  min: number;
  max: number;
  mean: number;
}

/**
 * The type, minimum, maximum and mean of pixel values, bytes or floats, in one pass.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pixelStatistics } from "./preprocess.ts";
 * assert.deepEqual(pixelStatistics(new Uint8Array([0, 255])), { dtype: "uint8", min: 0, max: 255, mean: 127.5 });
 * assert.equal(pixelStatistics(new Float32Array([0, 0.5, 1])).dtype, "float32");
 * ```
 */
export function pixelStatistics(values: Uint8Array | Float32Array): PixelStatistics {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  return {
    dtype: values instanceof Float32Array ? "float32" : "uint8",
    min,
    max,
    mean: Number((sum / Math.max(values.length, 1)).toFixed(4)),
  };
}
