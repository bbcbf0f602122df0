// The saliency map: gradient times input, checked against finite differences on a real model,
// no tensors left behind, and a clear error for a wrong image or target.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { buildBaselineModel } from "../../lib/models/variants.ts";
import { saliencyMap } from "../../lib/models/saliency.ts";

/** An image with a few strokes of ink. */
function strokes(): Float32Array {
  const image = new Float32Array(784);
  for (let r = 4; r < 24; r++) image[r * 28 + 14] = 1;
  for (let c = 6; c < 22; c++) image[6 * 28 + c] = 0.8;
  return image;
}

Deno.test("saliencyMap() is the gradient of the answer's log-probability times the ink", async () => {
  await tf.setBackend("cpu");
  // Smooth activations, so that finite differences are a fair check (ReLU and max pooling have
  // kinks that a finite step can cross).
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [28, 28, 1],
        filters: 4,
        kernelSize: 5,
        strides: 2,
        activation: "tanh",
        kernelInitializer: tf.initializers.randomNormal({ seed: 3 }),
      }),
      tf.layers.flatten(),
      tf.layers.dense({
        units: 10,
        activation: "softmax",
        kernelInitializer: tf.initializers.randomNormal({ seed: 4, stddev: 0.3 }),
      }),
    ],
  });
  const image = strokes();
  const before = tf.memory().numTensors;
  const { target, probabilities, map } = saliencyMap(model, image);
  assert.equal(tf.memory().numTensors, before, "no tensor left behind");
  assert.equal(target, probabilities.indexOf(Math.max(...probabilities)), "the answer by default");
  const logP = (x: Float32Array) =>
    tf.tidy(() =>
      Math.log((model.predict(tf.tensor4d(x, [1, 28, 28, 1])) as tf.Tensor).dataSync()[target])
    );
  // Central differences at a few inked pixels and one blank one.
  for (const pixel of [4 * 28 + 14, 14 * 28 + 14, 6 * 28 + 10, 20 * 28 + 3]) {
    const step = 1e-2;
    const up = image.slice(), down = image.slice();
    up[pixel] += step;
    down[pixel] -= step;
    const expected = (logP(up) - logP(down)) / (2 * step) * image[pixel];
    assert.ok(
      Math.abs(map[pixel] - expected) < 2e-3 + 0.05 * Math.abs(expected),
      `pixel ${pixel}: ${map[pixel]} against ${expected}`,
    );
  }
  assert.equal(map[20 * 28 + 3], 0, "blank paper has no ink to push with");
  const other = saliencyMap(model, image, { target: (target + 1) % 10 });
  assert.equal(other.target, (target + 1) % 10);
  assert.notDeepEqual(other.map, map, "another class, another map");
  model.dispose();
});

Deno.test("saliencyMap() names a wrong image size or target", async () => {
  await tf.setBackend("cpu");
  const model = buildBaselineModel({ seed: 3 });
  const before = tf.memory().numTensors;
  assert.throws(
    () => saliencyMap(model, new Float32Array(100)),
    /one 28x28 image \(784 pixels\), got 100 values/,
  );
  assert.throws(() => saliencyMap(model, strokes(), { target: 10 }), /a class from 0 to 9, got 10/);
  assert.equal(tf.memory().numTensors, before, "nothing left behind by the failed calls");
  model.dispose();
});
