/**
 * Writing plain arrays into a model's trainable weights: how the moving average of the weights,
 * kept by the replicas or in this process, gets into the model.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/**
 * Writes `values` (one array per trainable weight, in `model.trainableWeights`' order, each as
 * long as its weight) into the model's trainable weights.
 *
 * @throws {RangeError} naming both counts when `values` does not hold one array per weight.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { writeTrainableWeights } from "./model_weights.ts";
 * const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 1 })] });
 * writeTrainableWeights(model, [Float32Array.of(3, 4), Float32Array.of(5)]);
 * assert.deepEqual(model.getWeights().map((w) => [...w.dataSync()]), [[3, 4], [5]]);
 * assert.throws(() => writeTrainableWeights(model, [Float32Array.of(1, 2)]), /has 2 trainable weights but 1 arrays were given/);
 * model.dispose();
 * ```
 */
export function writeTrainableWeights(
  model: tf.LayersModel,
  values: readonly Float32Array[],
): void {
  const weights = model.trainableWeights;
  if (values.length !== weights.length) {
    throw new RangeError(
      `The model has ${weights.length} trainable weights but ${values.length} arrays were given.`,
    );
  }
  weights.forEach((weight, i) => {
    const value = tf.tensor(values[i], weight.read().shape);
    try {
      weight.write(value);
    } finally {
      value.dispose();
    }
  });
}
