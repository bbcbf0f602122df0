import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { buildBaselineModel } from "../../lib/models/variants.ts";
import { saveModel } from "../../lib/models/model_files.ts";
import { toDigitImage } from "../../lib/data/digit_image.ts";
import {
  checkDigitModel,
  loadDigitModel,
  predictDigit,
  predictPixels,
  rankClasses,
} from "../../lib/models/predict_digit.ts";

Deno.test("predictDigit() preprocesses, predicts and ranks, leaving no tensor behind", async () => {
  await tf.setBackend("cpu");
  const model = buildBaselineModel({ seed: 5 });
  const before = tf.memory().numTensors;
  const data = new Uint8Array(50 * 50).fill(250);
  for (let y = 5; y < 45; y++) data.fill(5, y * 50 + 20, y * 50 + 26);
  const image = { width: 50, height: 50, channels: 1 as const, data };
  const prediction = predictDigit(model, image, ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]);
  assert.ok(prediction);
  assert.deepEqual(prediction.digit, toDigitImage(image));
  const direct = tf.tidy(() =>
    (model.predict(tf.tensor4d(prediction.digit.pixels, [1, 28, 28, 1])) as tf.Tensor).dataSync()
  );
  assert.deepEqual(prediction.probabilities, direct);
  assert.equal(prediction.ranking[0].probability, Math.max(...direct));
  assert.equal(prediction.ranking[0].name, "abcdefghij"[prediction.ranking[0].index]);
  assert.equal(tf.memory().numTensors, before);
  assert.equal(predictDigit(model, { ...image, data: new Uint8Array(2500).fill(250) }), undefined);
  assert.throws(() => predictPixels(model, new Float32Array(100)), /784 pixels \(28x28\), got 100/);
  model.dispose();
});

Deno.test("rankClasses() orders by probability, ties by class", () => {
  const ranking = rankClasses(new Float32Array([0.25, 0.5, 0.25]), ["x", "y", "z"]);
  assert.deepEqual(ranking.map((c) => c.index), [1, 0, 2]);
});

Deno.test("loadDigitModel() refuses a missing folder and a model for other images", async () => {
  await tf.setBackend("cpu");
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      loadDigitModel(`${dir}/none`),
      /No model folder at .*none: train one first/,
    );
    const other = tf.sequential({ layers: [tf.layers.dense({ inputShape: [784], units: 10 })] });
    await saveModel(other, `${dir}/flat`);
    assert.throws(
      () => checkDigitModel(other, "flat"),
      /flat holds a model for inputs of shape \[784\]/,
    );
    other.dispose();
    const before = tf.memory().numTensors;
    await assert.rejects(
      loadDigitModel(`${dir}/flat`),
      /model\.json holds a model for inputs of shape \[784\]/,
    );
    assert.equal(tf.memory().numTensors, before, "the refused model is disposed");
    const good = buildBaselineModel({ seed: 1 });
    await saveModel(good, `${dir}/good`);
    good.dispose();
    const loaded = await loadDigitModel(`${dir}/good`);
    assert.deepEqual(loaded.inputs[0].shape, [null, 28, 28, 1]);
    loaded.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
