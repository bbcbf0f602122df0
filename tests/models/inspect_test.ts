import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { convolutionFilters, featureMaps } from "../../lib/models/inspect.ts";

tf.enableProdMode();
await tf.setBackend("cpu");

/** conv(2 filters) -> pool -> conv(3 filters), with weights set by hand. */
function twoLayerModel(): tf.Sequential {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 2, kernelSize: 3, activation: "relu" }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 3, kernelSize: 3, activation: "relu" }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 10 }),
    ],
  });
  // Filter 0 copies the centre pixel; filter 1 is the centre pixel times -1 (all ReLU'd away).
  const kernel = new Float32Array(3 * 3 * 1 * 2);
  kernel[4 * 2 + 0] = 1;
  kernel[4 * 2 + 1] = -1;
  const [, bias] = model.layers[0].getWeights();
  model.layers[0].setWeights([tf.tensor4d(kernel, [3, 3, 1, 2]), tf.zerosLike(bias)]);
  return model;
}

Deno.test("convolutionFilters() returns each filter's weights as a row-major image", () => {
  const model = twoLayerModel();
  const filters = convolutionFilters(model);
  assert.equal(filters.layer, model.layers[0].name);
  assert.deepEqual([filters.weights.length, filters.height, filters.width], [2, 3, 3]);
  assert.deepEqual([...filters.weights[0]], [0, 0, 0, 0, 1, 0, 0, 0, 0]);
  assert.deepEqual([...filters.weights[1]], [0, 0, 0, 0, -1, 0, 0, 0, 0]);
  // The second layer has 2 input channels; filter f's first-channel weights are returned.
  const second = convolutionFilters(model, { index: 1 });
  const kernel = model.layers[2].getWeights()[0].arraySync() as number[][][][];
  assert.equal(second.weights.length, 3);
  assert.equal(second.weights[2][5], kernel[1][2][0][2]);
  model.dispose();
});

Deno.test("convolutionFilters() names the layers there are when asked for a missing one", () => {
  const model = twoLayerModel();
  assert.throws(() => convolutionFilters(model, { index: 2 }), /has 2 convolution layers/);
  model.dispose();
  const dense = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 2 })] });
  assert.throws(() => convolutionFilters(dense), /has no Conv2D layer/);
  dense.dispose();
});

Deno.test("featureMaps() gives each convolution's maps, channel by channel, leaking no tensor", () => {
  const model = twoLayerModel();
  const image = Float32Array.from({ length: 784 }, (_, i) => (i % 28) / 27); // a left-right ramp
  const before = tf.memory().numTensors;
  const layers = featureMaps(model, image);
  assert.equal(tf.memory().numTensors, before, "every intermediate tensor is disposed");
  assert.deepEqual(layers.map((l) => [l.layer, l.maps.length, l.height, l.width]), [
    [model.layers[0].name, 2, 26, 26],
    [model.layers[2].name, 3, 11, 11],
  ]);
  // Filter 0 copies the centre pixel: map (r, c) is image pixel (r + 1, c + 1).
  const first = layers[0].maps[0];
  for (const [r, c] of [[0, 0], [5, 17], [25, 25]]) {
    assert.ok(Math.abs(first[r * 26 + c] - image[(r + 1) * 28 + c + 1]) < 1e-6, `at ${r},${c}`);
  }
  assert.ok(layers[0].maps[1].every((v) => v === 0), "the negated copy is all ReLU'd away");
  // The second layer's maps are what the model itself computes.
  const expected = tf.tidy(() => {
    const x = tf.tensor4d(image, [1, 28, 28, 1]);
    const y = model.layers[2].apply(model.layers[1].apply(model.layers[0].apply(x))) as tf.Tensor;
    return y.transpose([0, 3, 1, 2]).dataSync();
  });
  assert.deepEqual([...layers[1].maps[2]], [...expected.slice(2 * 121, 3 * 121)]);
  model.dispose();
});

Deno.test("featureMaps() rejects an image that is not 28x28", () => {
  const model = twoLayerModel();
  assert.throws(
    () => featureMaps(model, new Float32Array(100)),
    /28x28 image \(784 pixels\), got 100/,
  );
  model.dispose();
});

Deno.test("featureMaps() shows the network as it predicts: Dropout off, the same maps every call", () => {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 2, kernelSize: 3, activation: "relu" }),
      tf.layers.dropout({ rate: 0.5 }),
      tf.layers.conv2d({ filters: 2, kernelSize: 3, activation: "relu" }),
    ],
  });
  const image = Float32Array.from({ length: 784 }, (_, i) => (i % 29) / 28);
  const [a, b] = [featureMaps(model, image), featureMaps(model, image)];
  const expected = tf.tidy(() =>
    (model.predict(tf.tensor4d(image, [1, 28, 28, 1])) as tf.Tensor).transpose([0, 3, 1, 2])
      .dataSync()
  );
  assert.deepEqual(a[1].maps.map((m) => [...m]), b[1].maps.map((m) => [...m]));
  const got = Float32Array.from(a[1].maps.flatMap((m) => [...m]));
  got.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-5, `value ${i}: ${v}`));
  model.dispose();
});
