/**
 * Re-estimating Batch Normalization's moving statistics from training images.
 *
 * A Batch Normalization layer normalizes by the batch's mean and variance while training, but a
 * model that predicts one image has no batch: it uses moving averages kept while training. Those
 * lag behind weights that change fast (a short run), and they were taken with Dropout dropping
 * units, which predicting does not. Measuring them again, once, on a few hundred training images
 * with the final weights and without Dropout, makes predicting score what training mode scores.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { IMAGE_SHAPE } from "../data/mnist.ts";

/** The fields of tfjs' BatchNormalization and Dropout layers that the re-estimation sets. */
interface Settable {
  momentum?: number;
  rate?: number;
}

/**
 * Whether `model` has Batch Normalization layers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { hasBatchNormalization } from "./batch_norm_statistics.ts";
 * const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 1 })] });
 * assert.equal(hasBatchNormalization(model), false);
 * model.dispose();
 * ```
 */
export function hasBatchNormalization(model: tf.LayersModel): boolean {
  return model.layers.some((layer) => layer.getClassName() === "BatchNormalization");
}

/**
 * Sets every Batch Normalization layer's moving mean and variance to the mean and variance of its
 * inputs over `count` images (28x28 floats, row-major), as one batch, with Dropout off. Nothing
 * else changes: the layers' momentum and the Dropout rates are put back, whatever happens.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { reestimateBatchNormalization } from "./batch_norm_statistics.ts";
 * const model = tf.sequential({
 *   layers: [tf.layers.flatten({ inputShape: [28, 28, 1] }), tf.layers.batchNormalization()],
 * });
 * const pixels = Float32Array.from({ length: 2 * 784 }, (_, i) => (i < 784 ? 1 : 3));
 * reestimateBatchNormalization(model, pixels, 2);
 * const [mean, variance] = model.layers[1].getWeights().slice(2).map((w) => w.dataSync()[0]);
 * assert.deepEqual([mean, variance], [2, 1]);
 * model.dispose();
 * ```
 */
export function reestimateBatchNormalization(
  model: tf.LayersModel,
  pixels: Float32Array,
  count: number,
): void {
  const norms = model.layers.filter((l) => l.getClassName() === "BatchNormalization");
  const dropouts = model.layers.filter((l) => l.getClassName().includes("Dropout"));
  const settable = (layer: tf.layers.Layer) => layer as unknown as Settable;
  const momenta = norms.map((layer) => settable(layer).momentum);
  const rates = dropouts.map((layer) => settable(layer).rate);
  try {
    // Momentum 0 makes the moving averages the batch's own statistics; rate 0 turns Dropout off.
    norms.forEach((layer) => settable(layer).momentum = 0);
    dropouts.forEach((layer) => settable(layer).rate = 0);
    tf.tidy(() => {
      model.apply(tf.tensor4d(pixels, [count, ...IMAGE_SHAPE]), { training: true });
    });
  } finally {
    norms.forEach((layer, i) => settable(layer).momentum = momenta[i]);
    dropouts.forEach((layer, i) => settable(layer).rate = rates[i]);
  }
}
