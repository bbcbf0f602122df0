import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { buildSeedModel, compileModel } from "../../lib/models/model.ts";

tf.enableProdMode(); // no "use tfjs-node" banner in the test output
await tf.setBackend("cpu");

Deno.test("buildSeedModel() builds the tutorial's layers with 121,930 parameters", () => {
  const model = buildSeedModel();
  assert.deepEqual(model.layers.map((l) => l.getClassName()), [
    "Conv2D",
    "MaxPooling2D",
    "Conv2D",
    "MaxPooling2D",
    "Flatten",
    "Dense",
    "Dense",
  ]);
  assert.equal(model.countParams(), 121_930);
  assert.deepEqual(model.outputs[0].shape, [null, 10]);
  model.dispose();
});

Deno.test("buildSeedModel() starts from the same weights for the same seed, others for another", () => {
  const first = (seed: number) => {
    const model = buildSeedModel({ seed });
    const weights = model.getWeights().map((w) => w.dataSync().slice());
    model.dispose();
    return weights;
  };
  assert.deepEqual(first(7), first(7));
  assert.notDeepEqual(first(7)[0], first(8)[0]);
});

Deno.test("buildSeedModel() gives as many outputs as classes", () => {
  const model = buildSeedModel({ classes: 3 });
  assert.deepEqual(model.outputs[0].shape, [null, 3]);
  model.dispose();
});

Deno.test("compileModel() and buildSeedModel() reject bad learning rates and seeds", () => {
  const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 2 })] });
  assert.throws(() => compileModel(model, 0), /learning rate must be a positive number, got 0/);
  assert.throws(() => buildSeedModel({ seed: 0.5 }), /seed must be an integer, got 0.5/);
  model.dispose();
});
