import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  checkLearningRate,
  compileModel,
  disposeModel,
  seedModel,
} from "../../lib/models/model.ts";
import { buildBaselineModel } from "../../lib/models/variants.ts";
import { assertDifferentArrays, assertSameArray } from "../fixtures.ts";

tf.enableProdMode(); // no "use tfjs-node" banner in the test output
await tf.setBackend("cpu");

/** A small model in tf.layers with every kind of layer seedModel treats. */
function small(): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 4, kernelSize: 3, activation: "relu" }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 6, kernelSize: 3, useBias: false }),
      tf.layers.batchNormalization(),
      tf.layers.dropout({ rate: 0.5 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 3, activation: "softmax" }),
    ],
  });
}

/** SHA-256 of all of a model's weights, as float32 bytes in weight order (first 8 bytes, hex). */
async function weightsHash(model: tf.LayersModel): Promise<string> {
  const arrays = model.getWeights().map((w) => new Uint8Array(w.dataSync().buffer.slice(0)));
  const bytes = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let offset = 0;
  for (const a of arrays) bytes.set(a, (offset += a.length) - a.length);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("seedModel() starts from the same weights for the same seed, others for another", () => {
  const first = (seed: number) => {
    const model = seedModel(small(), seed);
    const weights = model.getWeights().map((w) => w.dataSync().slice());
    model.dispose();
    return weights;
  };
  const [a, b] = [first(7), first(7)];
  assert.equal(a.length, b.length);
  a.forEach((w, i) => assertSameArray(w, b[i], { message: `weight ${i}` }));
  assertDifferentArrays(first(7)[0], first(8)[0], "another seed must start elsewhere");
  assertDifferentArrays(first(7)[2], first(8)[2], "every kernel is seeded, not only the first");
});

Deno.test("seedModel() draws Glorot uniform kernels with consecutive seeds, in layer order", () => {
  const model = seedModel(small(), 5);
  const expected = (seed: number, shape: number[]) =>
    tf.tidy(() => tf.initializers.glorotUniform({ seed }).apply(shape).dataSync());
  assertSameArray(model.getWeights()[0].dataSync(), expected(5, [3, 3, 1, 4]));
  assertSameArray(model.getWeights()[2].dataSync(), expected(6, [3, 3, 4, 6]));
  // The Dropout layer takes seed 7, so the output layer's kernel gets 8.
  assertSameArray(model.layers[6].getWeights()[0].dataSync(), expected(8, [11 * 11 * 6, 3]));
  model.dispose();
});

Deno.test("buildBaselineModel() gives the same weights for seed 42 as before tf.layers moved into the cell", async () => {
  // Recorded from the earlier layer-description builder (commit fc14a3a) for seed 42.
  const model = buildBaselineModel({ seed: 42 });
  assert.equal(await weightsHash(model), "b0dddbcc0977c3b7");
  disposeModel(model);
});

Deno.test("seedModel() rejects bad seeds", () => {
  assert.throws(() => seedModel(small(), 0.5), /seed must be a whole number of 0 or more, got 0.5/);
});

Deno.test("compileModel() uses Adam with Keras' settings and sparse cross-entropy", () => {
  const model = compileModel(small(), 0.01);
  const config = model.optimizer.getConfig();
  assert.deepEqual(
    [config.learningRate, config.beta1, config.beta2, config.epsilon],
    [0.01, 0.9, 0.999, 1e-7],
  );
  assert.equal(model.loss, "sparseCategoricalCrossentropy");
  disposeModel(model);
});

Deno.test("compileModel() rejects bad learning rates", () => {
  const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 2 })] });
  assert.throws(() => compileModel(model, 0), /learning rate must be a positive number, got 0/);
  assert.throws(() => compileModel(model, NaN), /learning rate must be a positive number, got NaN/);
  assert.throws(() => checkLearningRate(-1), /got -1/);
  model.dispose();
});

Deno.test("disposeModel() frees the model and its optimizer's moments", async () => {
  const before = tf.memory().numTensors;
  const model = compileModel(seedModel(small(), 2), 1e-3);
  const x = tf.zeros([4, 28, 28, 1]);
  const y = tf.tensor1d([0, 1, 2, 3].map((v) => v % 3));
  await model.trainOnBatch(x, y);
  tf.dispose([x, y]);
  disposeModel(model);
  assert.equal(tf.memory().numTensors, before);
});
