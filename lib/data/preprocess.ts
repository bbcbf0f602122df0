/**
 * Preprocessing as in the Keras tutorial: pixels scaled to [0, 1], images shaped 28x28x1, and the
 * validation split taken from the END of the training set, as Keras' `validation_split` does.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { IMAGE_SHAPE, IMAGE_SIZE, type MnistSplit } from "./mnist.ts";

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
 * Turns a split's images into a float32 tensor [count, 28, 28, 1] with values in [0, 1]: the
 * normalize and reshape steps of the tutorial. The caller disposes it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { imagesToTensor } from "./preprocess.ts";
 * const x = imagesToTensor(new Uint8Array(2 * 784));
 * assert.equal(x.shape.join(), "2,28,28,1");
 * x.dispose();
 * ```
 */
export function imagesToTensor(images: Uint8Array): tf.Tensor4D {
  if (images.length % IMAGE_SIZE !== 0) {
    throw new RangeError(
      `Images must be whole 28x28 images, got ${images.length} bytes (not a multiple of 784).`,
    );
  }
  return tf.tensor4d(normalizePixels(images), [images.length / IMAGE_SIZE, ...IMAGE_SHAPE]);
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
export function sliceSplit(split: MnistSplit, start: number, end: number): MnistSplit {
  return {
    images: split.images.subarray(start * IMAGE_SIZE, end * IMAGE_SIZE),
    labels: split.labels.subarray(start, end),
    count: end - start,
  };
}

/** The training and validation parts of a training set. */
export interface ValidationSplit {
  train: MnistSplit;
  validation: MnistSplit;
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
export function splitValidation(split: MnistSplit, fraction: number): ValidationSplit {
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
export function takeFirst(split: MnistSplit, count: number | undefined): MnistSplit {
  if (count === undefined || count >= split.count) return split;
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`The number of images to keep must be a positive integer, got ${count}.`);
  }
  return sliceSplit(split, 0, count);
}

/**
 * Copies the images and labels at `indices` into a batch: `count` x 784 floats in [0, 1] and the
 * labels as floats, ready for `tf.tensor4d` and `tf.tensor1d`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gatherBatch } from "./preprocess.ts";
 * const split = { images: new Uint8Array(3 * 784), labels: new Uint8Array([4, 5, 6]), count: 3 };
 * const { labels } = gatherBatch(split, new Uint32Array([2, 0]));
 * assert.equal(labels[0], 6);
 * ```
 */
export function gatherBatch(
  split: MnistSplit,
  indices: ArrayLike<number>,
): { pixels: Float32Array; labels: Float32Array } {
  const n = indices.length;
  const pixels = new Float32Array(n * IMAGE_SIZE);
  const labels = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const source = indices[i] * IMAGE_SIZE;
    const target = i * IMAGE_SIZE;
    for (let p = 0; p < IMAGE_SIZE; p++) pixels[target + p] = split.images[source + p] / 255;
    labels[i] = split.labels[indices[i]];
  }
  return { pixels, labels };
}

/** Shape, type and value range of a batch of images as the network sees them. */
export interface ImagesSummary {
  shape: string;
  dtype: string;
  min: number;
  max: number;
  mean: number;
}

/**
 * Normalizes and reshapes `images` as the training loop does, and reports what came out.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { summarizeImages } from "./preprocess.ts";
 * const summary = summarizeImages(new Uint8Array(784).fill(255));
 * assert.equal(summary.shape, "[1, 28, 28, 1]");
 * assert.equal(summary.max, 1);
 * ```
 */
export function summarizeImages(images: Uint8Array): ImagesSummary {
  const x = imagesToTensor(images);
  try {
    const [min, max, mean] = tf.tidy(() =>
      [x.min(), x.max(), x.mean()].map((t) => t.dataSync()[0])
    );
    return {
      shape: `[${x.shape.join(", ")}]`,
      dtype: x.dtype,
      min,
      max,
      mean: Number(mean.toFixed(4)),
    };
  } finally {
    x.dispose();
  }
}
