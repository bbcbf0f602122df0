import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  checkEmaMomentum,
  WeightAverage,
  writeTrainable,
} from "../../lib/training/weight_average.ts";
import { setupWasmBackend, shutdownWasmBackend } from "../../lib/engine/mod.ts";
import { assertSameArray } from "../fixtures.ts";

await setupWasmBackend({ threads: 1 });

/** Dense 3 -> 1 with a bias: two trainable weights, 4 values. */
function smallModel(): tf.Sequential {
  return tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 1 })] });
}

function valuesOf(model: tf.LayersModel): number[][] {
  return model.getWeights().map((w) => [...w.dataSync()]);
}

Deno.test("WeightAverage keeps Keras' average: the first step's weights, then momentum * average + (1 - momentum) * weights", () => {
  const model = smallModel();
  const average = new WeightAverage({ momentum: 0.75 });
  const steps = [[4, 8, -4, 1], [0, 0, 4, 5], [8, 16, 0, -3]];
  for (const [a, b, c, bias] of steps) {
    writeTrainable(model, [Float32Array.of(a, b, c), Float32Array.of(bias)]);
    average.update(model);
  }
  // By hand: [4, 8, -4, 1]; then 0.75 of it and 0.25 of [0, 0, 4, 5]: [3, 6, -2, 2]; then
  // 0.75 of that and 0.25 of [8, 16, 0, -3]: [4.25, 8.5, -1.5, 0.75].
  const tensors = tf.memory().numTensors;
  average.holdAverages(model);
  assert.deepEqual(valuesOf(model), [[4.25, 8.5, -1.5], [0.75]]);
  assert.equal(average.steps, 3);
  // Holding them twice keeps the trained weights, not the averages, to go back to.
  average.holdAverages(model);
  average.restoreTrained(model);
  assert.deepEqual(valuesOf(model), [[8, 16, 0], [-3]]);
  average.restoreTrained(model); // nothing held: nothing changes
  assert.deepEqual(valuesOf(model), [[8, 16, 0], [-3]]);
  assert.equal(tf.memory().numTensors, tensors);
  average.holdAverages(model);
  average.dispose();
  assert.equal(tf.memory().numTensors, tensors, "the copy of the trained weights is freed");
  assert.deepEqual(valuesOf(model), [[4.25, 8.5, -1.5], [0.75]], "the model keeps the averages");
  model.dispose();
});

Deno.test("WeightAverage with momentum 0 holds the last step's weights exactly", () => {
  const model = smallModel();
  const average = new WeightAverage({ momentum: 0 });
  const last = [Float32Array.of(0.1, -1e-7, 3e30), Float32Array.of(0.7)];
  for (const values of [[Float32Array.of(5, 6, 7), Float32Array.of(8)], last]) {
    writeTrainable(model, values);
    average.update(model);
  }
  writeTrainable(model, [Float32Array.of(9, 9, 9), Float32Array.of(9)]);
  average.holdAverages(model);
  model.getWeights().forEach((w, i) => assertSameArray(w.dataSync(), last[i]));
  average.dispose();
  model.dispose();
});

Deno.test("WeightAverage does nothing before the first step", () => {
  const model = smallModel();
  const before = valuesOf(model);
  const average = new WeightAverage({ momentum: 0.9 });
  average.holdAverages(model);
  assert.deepEqual(valuesOf(model), before);
  average.dispose();
  model.dispose();
});

Deno.test("WeightAverage keeps increments that float32 would round away", () => {
  // At momentum 0.9999, a weight 5e-4 above an average of 1 moves it 5e-8 a step: less than half
  // of float32's spacing at 1 (1.2e-7), so a float32 average would never move.
  const model = tf.sequential({
    layers: [tf.layers.dense({ inputShape: [1], units: 1, useBias: false })],
  });
  const average = new WeightAverage({ momentum: 0.9999 });
  writeTrainable(model, [Float32Array.of(1)]);
  average.update(model);
  writeTrainable(model, [Float32Array.of(1.0005)]);
  const steps = 5_000;
  for (let i = 0; i < steps; i++) average.update(model);
  average.holdAverages(model);
  const held = model.getWeights()[0].dataSync()[0];
  const weight = Math.fround(1.0005);
  const expected = weight + (1 - weight) * 0.9999 ** steps;
  assert.ok(Math.abs(held - expected) < 2e-7, `${held} vs ${expected}`);
  assert.ok(held > 1.0001, `${held}: the average did not move`);
  average.dispose();
  model.dispose();
});

Deno.test("checkEmaMomentum() refuses a momentum below 0, of 1 or more, or not a number, with a sentence", () => {
  for (const good of [0, 0.5, 0.99, 0.9999]) assert.equal(checkEmaMomentum(good), good);
  for (const bad of [-0.1, 1, 1.5, NaN, Infinity, "0.9", undefined]) {
    assert.throws(
      () => checkEmaMomentum(bad as number),
      (error: Error) =>
        error instanceof RangeError &&
        error.message.startsWith(
          `The moving average's momentum (ema.momentum) must be at least 0 and below 1, got ${bad}:`,
        ) && error.message.includes("Keras' default is 0.99"),
    );
    assert.throws(() => new WeightAverage({ momentum: bad as number }), RangeError);
  }
});

Deno.test("writeTrainable() refuses a list of the wrong length, naming both", () => {
  const model = smallModel();
  assert.throws(
    () => writeTrainable(model, [Float32Array.of(1, 2, 3)]),
    /The model has 2 trainable weights but 1 averages were given\./,
  );
  model.dispose();
});

Deno.test("the wasm thread pool shuts down so this file can exit", () => {
  shutdownWasmBackend();
});
