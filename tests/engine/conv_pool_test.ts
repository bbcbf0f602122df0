import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { setupWasmBackend } from "../../lib/engine/backend.ts";
import { convMaxPool } from "../../lib/engine/kernels/conv_pool.ts";
import { predictPlan } from "../../lib/engine/predict_plan.ts";
import { buildVariant, VARIANT_NAMES } from "../../lib/models/variants.ts";
import { disposeModel } from "../../lib/models/model.ts";
import { createRandom } from "../../lib/random.ts";
import { assertCloseToCpu, randomArray } from "./against_cpu.ts";

await setupWasmBackend({ threads: 1 });

interface Case {
  n: number;
  h: number;
  w: number;
  c: number;
  co: number;
  bias: boolean;
  relu: boolean;
}

/** The two layers' result on `backend`: conv2d (+ bias, + ReLU), then the 2x2 max pool. */
async function layersOn(
  backend: "cpu" | "wasm",
  x: Float32Array,
  f: Float32Array,
  b: Float32Array,
  c: Case,
): Promise<Float32Array> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const conv = tf.fused.conv2d({
      x: tf.tensor4d(x, [c.n, c.h, c.w, c.c]),
      filter: tf.tensor4d(f, [3, 3, c.c, c.co]),
      strides: 1,
      pad: "valid",
      bias: c.bias ? tf.tensor1d(b) : undefined,
      activation: c.relu ? "relu" : "linear",
    });
    return tf.maxPool(conv, 2, 2, "valid").dataSync() as Float32Array;
  });
}

async function fusedOn(x: Float32Array, f: Float32Array, b: Float32Array, c: Case) {
  await tf.setBackend("wasm");
  return tf.tidy(() =>
    convMaxPool(tf.tensor4d(x, [c.n, c.h, c.w, c.c]), tf.tensor4d(f, [3, 3, c.c, c.co]), {
      bias: c.bias ? tf.tensor1d(b) : undefined,
      relu: c.relu,
    }).dataSync() as Float32Array
  );
}

Deno.test("convMaxPool() agrees with the cpu backend to 1e-4 and with wasm's two kernels exactly, grey or Winograd", async () => {
  const next = createRandom(24);
  const cases: Case[] = [
    // the variants' first and second blocks
    { n: 3, h: 28, w: 28, c: 1, co: 32, bias: true, relu: true },
    { n: 3, h: 13, w: 13, c: 32, co: 64, bias: true, relu: true },
    { n: 2, h: 11, w: 11, c: 64, co: 64, bias: false, relu: false },
    { n: 1, h: 4, w: 4, c: 1, co: 4, bias: false, relu: false },
  ];
  for (let i = 0; i < 16; i++) {
    const grey = i % 2 === 0;
    cases.push({
      n: 1 + Math.floor(next() * 4),
      h: 4 + Math.floor(next() * 27),
      w: 4 + Math.floor(next() * 27),
      c: grey ? 1 : 4 * (1 + Math.floor(next() * 8)),
      co: grey ? 4 * (1 + Math.floor(next() * 16)) : 8 * (1 + Math.floor(next() * 8)),
      bias: next() < 0.7,
      relu: next() < 0.7,
    });
  }
  const tensors = tf.memory().numTensors;
  for (const c of cases) {
    const x = randomArray(c.n * c.h * c.w * c.c, next);
    const f = randomArray(9 * c.c * c.co, next);
    const b = randomArray(c.co, next);
    const ours = await fusedOn(x, f, b, c);
    assertCloseToCpu(ours, await layersOn("cpu", x, f, b, c), JSON.stringify(c));
    assert.deepEqual(ours, await layersOn("wasm", x, f, b, c), JSON.stringify(c));
  }
  assert.equal(tf.memory().numTensors, tensors);
});

Deno.test("convMaxPool() refuses shapes it does not take, naming them", () => {
  tf.tidy(() => {
    assert.throws(
      () => convMaxPool(tf.zeros([1, 8, 8, 3]), tf.zeros([3, 3, 3, 8])),
      /takes x \[n, h, w, c\].*got x \[1,8,8,3\], filter \[3,3,3,8\]/,
    );
    assert.throws(
      () => convMaxPool(tf.zeros([1, 8, 8, 1]), tf.zeros([3, 3, 1, 8]), { bias: tf.zeros([4]) }),
      /one value per channel, \[8\]; got \[4\]/,
    );
  });
});

Deno.test("predictPlan() predicts every variant exactly as model.predict does on one thread", async () => {
  await tf.setBackend("wasm");
  const next = createRandom(5);
  const x = tf.tensor4d(randomArray(7 * 784, next, (u) => u), [7, 28, 28, 1]);
  const tensors = tf.memory().numTensors;
  for (const name of VARIANT_NAMES) {
    const model = buildVariant(name, { seed: 11 });
    // Seeded small weights (biases start at 0; large ones would saturate the softmax to exact
    // 0s and 1s, hiding differences); moving variances stay positive.
    const weights = model.weights.map((w) =>
      tf.tensor(
        randomArray(w.read().size, next, (u) =>
          w.name.includes("variance") ? 0.5 + u : 0.2 * u - 0.1),
        w.read().shape,
      )
    );
    model.setWeights(weights);
    tf.dispose(weights);
    const plan = predictPlan(model);
    const ours = tf.tidy(() => plan.run(x).dataSync());
    const theirs = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
    assert.deepEqual(ours, theirs, name);
    // Every convolution followed by a pool is fused: both of baseline's, the grey one of deep's.
    const pools = model.layers.filter((l, i) =>
      l.getClassName() === "Conv2D" && model.layers[i + 1]?.getClassName() === "MaxPooling2D"
    );
    assert.equal(plan.fused, pools.length, name);
    disposeModel(model);
  }
  assert.equal(tf.memory().numTensors, tensors);
  x.dispose();
});

Deno.test("predictPlan() leaves a model that is not a chain of layers to model.predict", () => {
  const input = tf.input({ shape: [4] });
  const a = tf.layers.dense({ units: 3 }).apply(input) as tf.SymbolicTensor;
  const b = tf.layers.dense({ units: 3 }).apply(input) as tf.SymbolicTensor;
  const sum = tf.layers.add().apply([a, b]) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: sum });
  const plan = predictPlan(model);
  assert.equal(plan.fused, 0);
  const x = tf.ones([2, 4]);
  assert.deepEqual(
    tf.tidy(() => plan.run(x).dataSync()),
    tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync()),
  );
  tf.dispose(x);
  model.dispose();
});
