import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { buildModel, compileModel, disposeModel, type ModelSpec } from "../../lib/models/model.ts";
import { assertDifferentArrays, assertSameArray } from "../fixtures.ts";

tf.enableProdMode(); // no "use tfjs-node" banner in the test output
await tf.setBackend("cpu");

const SMALL: ModelSpec = {
  name: "small",
  layers: [
    { kind: "conv", filters: 4 },
    { kind: "pool" },
    { kind: "conv", filters: 6, batchNorm: true },
    { kind: "dropout", rate: 0.5 },
    { kind: "flatten" },
    { kind: "dense", units: 5, batchNorm: true },
  ],
  learningRate: 0.01,
};

Deno.test("buildModel() turns a description into layers with Keras' names and a softmax output", () => {
  const model = buildModel(SMALL, { seed: 1, classes: 3 });
  assert.deepEqual(model.layers.map((l) => l.name), [
    "conv2d",
    "max_pooling2d",
    "conv2d_1",
    "batch_normalization",
    "activation",
    "dropout",
    "flatten",
    "dense",
    "batch_normalization_1",
    "activation_1",
    "dense_1",
  ]);
  assert.deepEqual(model.inputs[0].shape, [null, 28, 28, 1]);
  assert.deepEqual(model.outputs[0].shape, [null, 3]);
  const conv = model.layers[2].getConfig();
  assert.equal(conv.useBias, false, "Batch Normalization makes the bias redundant");
  assert.equal(conv.activation, "linear");
  assert.equal(model.layers[0].getConfig().activation, "relu");
  assert.equal(model.layers.at(-1)!.getConfig().activation, "softmax");
  disposeModel(model);
});

Deno.test("buildModel() starts from the same weights for the same seed, others for another", () => {
  const first = (seed: number) => {
    const model = buildModel(SMALL, { seed });
    const weights = model.getWeights().map((w) => w.dataSync().slice());
    disposeModel(model);
    return weights;
  };
  const [a, b] = [first(7), first(7)];
  assert.equal(a.length, b.length);
  a.forEach((w, i) => assertSameArray(w, b[i], { message: `weight ${i}` }));
  assertDifferentArrays(first(7)[0], first(8)[0], "another seed must start elsewhere");
});

Deno.test("compileModel() uses Adam with Keras' settings and sparse cross-entropy", () => {
  const model = buildModel(SMALL, { seed: 1 });
  const config = model.optimizer.getConfig();
  assert.deepEqual(
    [config.learningRate, config.beta1, config.beta2, config.epsilon],
    [0.01, 0.9, 0.999, 1e-7],
  );
  assert.equal(model.loss, "sparseCategoricalCrossentropy");
  disposeModel(model);
});

Deno.test("compileModel() and buildModel() reject bad learning rates and seeds", () => {
  const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 2 })] });
  assert.throws(() => compileModel(model, 0), /learning rate must be a positive number, got 0/);
  assert.throws(() => compileModel(model, NaN), /learning rate must be a positive number, got NaN/);
  assert.throws(
    () => buildModel(SMALL, { seed: 0.5 }),
    /seed must be a whole number of 0 or more, got 0.5/,
  );
  assert.throws(() => buildModel({ ...SMALL, learningRate: -1 }, { seed: 1 }), /got -1/);
  model.dispose();
});

Deno.test("disposeModel() frees the model and its optimizer's moments", async () => {
  const before = tf.memory().numTensors;
  const model = buildModel(SMALL, { seed: 2 });
  const x = tf.zeros([4, 28, 28, 1]);
  const y = tf.tensor1d([0, 1, 2, 3]);
  await model.trainOnBatch(x, y);
  tf.dispose([x, y]);
  disposeModel(model);
  assert.equal(tf.memory().numTensors, before);
});
