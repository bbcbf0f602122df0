/**
 * The fused bias, ReLU and 2x2 max pool (lib/engine/kernels/pooling.ts, routed by kernels.ts as
 * `BiasReluMaxPool` and `BiasReluMaxPoolGrad`) and the training plan that runs them
 * (lib/engine/train_plan.ts): on the one-thread wasm backend, as the replicas run them, the values
 * and gradients are bit for bit those of Add, Relu and MaxPool one after the other under tfjs'
 * tape, on the variants' shapes, on seeded random ones with odd sizes, and with NaN, infinities,
 * signed zeros and ties; a model trained through the plan gets the gradients `model.apply` gets.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { setupWasmBackend, shutdownWasmBackend } from "../../lib/engine/backend.ts";
import { biasReluMaxPool2x2, biasReluMaxPoolGrad2x2 } from "../../lib/engine/kernels/pooling.ts";
import { biasReluMaxPool, trainPlan } from "../../lib/engine/train_plan.ts";
import { buildVariant } from "../../lib/models/variants.ts";
import { disposeModel } from "../../lib/models/model.ts";
import { createRandom } from "../../lib/random.ts";
import { assertBitForBit, randomArray } from "./against_cpu.ts";

tf.enableProdMode();
await setupWasmBackend({ threads: 1 });
const backend = tf.backend() as BackendWasm;

/** {@linkcode assertBitForBit} against the unfused ops. */
function assertSame(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assertBitForBit(got, want, what, "the unfused ops");
}

/**
 * Seeded x around zero, as a convolution's output is, with a bias that lands some values exactly
 * on zero; with `special`, NaN, infinities, signed zeros and tied windows are sprinkled in.
 */
function caseTensors(shape: number[], seed: number, special: boolean) {
  const next = createRandom(seed);
  const c = shape.at(-1)!;
  const n = shape.reduce((a, b) => a * b, 1);
  const bias = randomArray(c, next, (u) => Math.round(8 * u - 4) / 4);
  const x = randomArray(n, next, (u) => Math.round(16 * u - 8) / 4);
  if (special) {
    const odd = [NaN, Infinity, -Infinity, 0, -0, NaN];
    const bits = new Uint32Array(x.buffer);
    for (let i = 0; i < n; i++) {
      const u = next();
      const k = Math.floor(next() * odd.length);
      if (u < 0.05) x[i] = odd[k];
      else if (u < 0.1) x[i] = -bias[i % c]; // v = +0 or -0 exactly
      // A NaN with its sign bit set, which the stock Relu turns into 0 and keeps otherwise.
      if (u < 0.05 && k === odd.length - 1) bits[i] = 0xffc00000;
    }
  }
  const dy = randomArray(
    (n / shape[1] / shape[2]) * Math.floor(shape[1] / 2) * Math.floor(shape[2] / 2),
    next,
    (u) => (special && u < 0.05 ? [NaN, -0, 0][Math.floor(u * 60)] : 2 * u - 1),
  );
  const pooled = [shape[0], Math.floor(shape[1] / 2), Math.floor(shape[2] / 2), c];
  return { x: tf.tensor(x, shape), bias: tf.tensor1d(bias), dy: tf.tensor(dy, pooled) };
}

type Case = ReturnType<typeof caseTensors>;

/** The layers' ops one after the other, as tfjs-layers runs a Conv2D's bias and ReLU, then the pool. */
const unfused = (x: tf.Tensor, bias: tf.Tensor) =>
  tf.maxPool(tf.relu(tf.add(x, bias)) as tf.Tensor4D, 2, 2, "valid");

function values(info: tf.TensorInfo): Float32Array {
  const t = tf.engine().makeTensorFromTensorInfo(info);
  const v = t.dataSync() as Float32Array;
  t.dispose();
  return v;
}

function check(shape: number[], seed: number, special: boolean): void {
  const before = tf.memory().numTensors;
  const t: Case = caseTensors(shape, seed, special);
  const what = `x [${shape}]${special ? " with special values" : ""}`;
  const want = tf.tidy(() => unfused(t.x, t.bias).dataSync());
  assertSame(values(biasReluMaxPool2x2(backend, t.x, t.bias)), want, `forward, ${what}`);
  const [wantDx, wantDb] = tf.tidy(() =>
    tf.grads((x, b) => unfused(x, b))([t.x, t.bias], t.dy).map((g) => g.dataSync())
  );
  assertSame(
    values(biasReluMaxPoolGrad2x2(backend, t.dy, t.x, t.bias)),
    wantDx,
    `gradient, ${what}`,
  );
  const [gotY, gotDx, gotDb] = tf.tidy(() => {
    const y = biasReluMaxPool(t.x as tf.Tensor4D, t.bias).dataSync();
    const [dx, db] = tf.grads((x, b) => biasReluMaxPool(x as tf.Tensor4D, b as tf.Tensor1D))([
      t.x,
      t.bias,
    ], t.dy);
    return [y, dx.dataSync(), db.dataSync()];
  });
  assertSame(gotY, want, `biasReluMaxPool, ${what}`);
  assertSame(gotDx, wantDx, `biasReluMaxPool's x gradient, ${what}`);
  assertSame(gotDb, wantDb, `biasReluMaxPool's bias gradient, ${what}`);
  tf.dispose(Object.values(t));
  assert.equal(tf.memory().numTensors, before, "tensors leaked");
}

Deno.test("bias, ReLU and max pool fused equal the three ops bit for bit on the variants' shapes", () => {
  // The tutorial's two convolutions and deep's first, at a replica's share of a batch.
  for (const [i, shape] of [[64, 26, 26, 32], [64, 11, 11, 64], [7, 26, 26, 32]].entries()) {
    check(shape, 10 + i, false);
  }
});

Deno.test("bias, ReLU and max pool fused equal the three ops on odd and small shapes", () => {
  const shapes = [[3, 7, 5, 8], [2, 2, 2, 4], [1, 5, 2, 12], [2, 3, 9, 4], [4, 13, 13, 16]];
  for (const [i, shape] of shapes.entries()) check(shape, 20 + i, false);
});

Deno.test("bias, ReLU and max pool fused equal the three ops with NaN, infinities, signed zeros and ties", () => {
  const shapes = [[3, 7, 5, 8], [2, 6, 6, 4], [8, 11, 11, 64]];
  for (const [i, shape] of shapes.entries()) check(shape, 30 + i, true);
});

Deno.test("the fused kernels refuse what they do not take, saying what they need", () => {
  const x = tf.zeros([1, 4, 4, 3]);
  const bias = tf.zeros([3]);
  assert.throws(() => biasReluMaxPool2x2(backend, x, bias), /c a multiple of 4.*got x \[1,4,4,3\]/);
  const x4 = tf.zeros([1, 4, 4, 4]);
  assert.throws(() => biasReluMaxPool2x2(backend, x4, bias), /bias \[c\]; got .*bias \[3\]/);
  const b4 = tf.zeros([4]);
  const dy = tf.zeros([1, 1, 1, 4]);
  assert.throws(() => biasReluMaxPoolGrad2x2(backend, dy, x4, b4), /pooled shape \[1,2,2,4\]/);
  tf.dispose([x, bias, x4, b4, dy]);
});

/** Every trainable weight's gradient of the summed, weighted output, run by `forward`. */
function gradientsOf(
  model: tf.LayersModel,
  forward: (x: tf.Tensor) => tf.Tensor,
  x: tf.Tensor,
  w: tf.Tensor,
): Float32Array[] {
  return tf.tidy(() => {
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(forward(x), w)) as tf.Scalar);
    return model.trainableWeights.map((v) => grads[v.name].dataSync() as Float32Array);
  });
}

for (const [variant, fused] of [["baseline", 2], ["deep", 1]] as const) {
  Deno.test(`${variant}'s training plan fuses ${fused} pool(s) and gets model.apply's gradients bit for bit`, () => {
    const model = buildVariant(variant, { seed: 3 });
    const plan = trainPlan(model);
    assert.equal(plan.fused, fused);
    const next = createRandom(4);
    const x = tf.tensor(randomArray(16 * 784, next, (u) => u), [16, 28, 28, 1]);
    const w = tf.tensor(randomArray(16 * 10, next), [16, 10]);
    const before = tf.memory().numTensors;
    // Dropout draws its masks from the same seeded sequence on each run: build again for each.
    const ours = gradientsOf(model, plan.run, x, w);
    const after = tf.memory().numTensors;
    const theirsModel = buildVariant(variant, { seed: 3 });
    const theirs = gradientsOf(
      theirsModel,
      (t) => theirsModel.apply(t, { training: true }) as tf.Tensor,
      x,
      w,
    );
    assert.equal(after, before, "the plan leaked tensors");
    model.trainableWeights.forEach((v, i) => assertSame(ours[i], theirs[i], v.name));
    tf.dispose([x, w]);
    disposeModel(model);
    disposeModel(theirsModel);
  });
}

Deno.test("the training plan keeps a convolution's padding and strides", () => {
  const next = createRandom(6);
  const x = tf.tensor(randomArray(4 * 12 * 12 * 3, next), [4, 12, 12, 3]);
  const w = tf.tensor(randomArray(4 * 5, next), [4, 5]);
  const layers = () => [
    tf.layers.conv2d({
      inputShape: [12, 12, 3],
      filters: 8,
      kernelSize: 3,
      padding: "same",
      activation: "relu",
      kernelInitializer: tf.initializers.glorotUniform({ seed: 7 }),
      biasInitializer: tf.initializers.randomUniform({ minval: -0.3, maxval: 0.3, seed: 8 }),
    }),
    tf.layers.maxPooling2d({ poolSize: 2 }),
    tf.layers.conv2d({
      filters: 4,
      kernelSize: 3,
      strides: 2,
      activation: "relu",
      kernelInitializer: tf.initializers.glorotUniform({ seed: 9 }),
      biasInitializer: tf.initializers.randomUniform({ minval: -0.3, maxval: 0.3, seed: 10 }),
    }),
    tf.layers.maxPooling2d({ poolSize: 2 }),
    tf.layers.flatten(),
    tf.layers.dense({ units: 5, kernelInitializer: tf.initializers.glorotUniform({ seed: 11 }) }),
  ];
  const model = tf.sequential({ layers: layers() });
  const plan = trainPlan(model);
  assert.equal(plan.fused, 2);
  const ours = gradientsOf(model, plan.run, x, w);
  const theirs = gradientsOf(model, (t) => model.apply(t, { training: true }) as tf.Tensor, x, w);
  model.trainableWeights.forEach((v, i) => assertSame(ours[i], theirs[i], v.name));
  tf.dispose([x, w]);
  model.dispose();
});

Deno.test("the training plan runs the model as it is where nothing fuses", () => {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, activation: "tanh" }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 6, kernelSize: 2, activation: "relu" }),
      tf.layers.maxPooling2d({ poolSize: 1 }),
      tf.layers.flatten(),
    ],
  });
  assert.equal(trainPlan(model).fused, 0, "tanh, 6 channels and a 1x1 pool do not fuse");
  model.dispose();
});

Deno.test("shut the wasm thread pool down so the test file exits", () => {
  shutdownWasmBackend();
});
