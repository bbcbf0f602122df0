/**
 * Batch Normalization variants after a short run (issue 25): their moving statistics must have
 * settled, so that predicting (on the moving statistics) scores about what training mode (on the
 * batch's own statistics) scores on the same images, on the replicas and in this process.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { loadMnist } from "../../lib/data/mnist.ts";
import { prepareSplit, sliceSplit } from "../../lib/data/preprocess.ts";
import { disposeModel } from "../../lib/models/model.ts";
import { buildVariant } from "../../lib/models/variants.ts";
import { reestimateBatchNormalization } from "../../lib/training/batch_norm_statistics.ts";
import { evaluateModel } from "../../lib/training/evaluate.ts";
import { trainModel } from "../../lib/training/train.ts";
import { setupWasmBackend, shutdownWasmBackend } from "../../lib/engine/mod.ts";

await setupWasmBackend();
const mnist = await loadMnist({ downloadUrls: [] });
const train = prepareSplit(sliceSplit(mnist.train, 0, 800));
const test = prepareSplit(sliceSplit(mnist.test, 0, 500));

/**
 * Accuracy on `test` with every Batch Normalization layer on the batch's statistics (training
 * mode) and every other layer predicting (no Dropout), as the model computes while it trains.
 */
function batchStatisticsAccuracy(model: tf.LayersModel): number {
  return tf.tidy(() => {
    let x: tf.Tensor = tf.tensor4d(test.images, [test.count, 28, 28, 1]);
    for (const layer of model.layers) {
      const training = layer.getClassName() === "BatchNormalization";
      x = layer.apply(x, { training }) as tf.Tensor;
    }
    const predicted = x.argMax(-1).dataSync();
    return predicted.filter((p, i) => p === test.labels[i]).length / test.count;
  });
}

for (const name of ["regularized", "deep"] as const) {
  for (const workers of [0, 2]) {
    const where = workers === 0 ? "in this process" : "on 2 replicas";
    Deno.test(`${name}, 800 images for one epoch ${where}, predicts as well as it trains`, async () => {
      const before = tf.memory().numTensors;
      const model = buildVariant(name, { seed: 3 });
      // 50 steps: Keras' momentum 0.99 would keep 60% of the starting variance of 1 after them.
      await trainModel(model, train, { epochs: 1, batchSize: 16, seed: 3, workers });
      const trainingMode = batchStatisticsAccuracy(model);
      const { accuracy } = await evaluateModel(model, test, { workers });
      assert.ok(trainingMode > 0.6, `training mode scores ${trainingMode}: the run did not learn`);
      assert.ok(
        accuracy > trainingMode - 0.04,
        `${name} predicts ${accuracy} of the test images, training mode ${trainingMode}`,
      );
      disposeModel(model);
      assert.equal(tf.memory().numTensors, before);
    });
  }
}

Deno.test("reestimateBatchNormalization() measures the inputs as predicting sees them: Dropout off, then put back", () => {
  // Dropout before Batch Normalization, as in regularized and deep: with Dropout on, the measured
  // variance would take in the dropped and doubled units, which predicting never shows.
  const model = tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [28, 28, 1] }),
      tf.layers.dropout({ rate: 0.5, seed: 1 }),
      tf.layers.batchNormalization({ momentum: 0.9 }),
    ],
  });
  const count = 8;
  const pixels = Float32Array.from({ length: count * 784 }, (_, i) => ((i * 7919) % 101) / 100);
  reestimateBatchNormalization(model, pixels, count);
  const [mean, variance] = model.layers[2].getWeights().slice(2).map((w) => w.dataSync());
  for (const feature of [0, 300, 783]) {
    const values = Array.from({ length: count }, (_, n) => pixels[n * 784 + feature]);
    const m = values.reduce((a, b) => a + b) / count;
    const v = values.reduce((a, b) => a + (b - m) ** 2, 0) / count;
    assert.ok(Math.abs(mean[feature] - m) < 1e-5, `mean of ${feature}: ${mean[feature]}, not ${m}`);
    assert.ok(
      Math.abs(variance[feature] - v) < 1e-5,
      `variance of ${feature}: ${variance[feature]}, not ${v}`,
    );
  }
  const settings = model.layers.map((l) => l.getConfig());
  assert.equal(settings[1].rate, 0.5, "Dropout's rate put back");
  assert.equal(settings[2].momentum, 0.9, "the momentum put back");
  model.dispose();
});

Deno.test("shut the wasm thread pool down so the test file exits", () => {
  shutdownWasmBackend();
});
