/**
 * lib/engine/kernels/mean_grad.ts: the Mean gradient, registered by the wasm backend's setup, on
 * the one-thread wasm backend (as the replicas run it) and on cpu, against the gradient written
 * out in plain arithmetic: every element gets the weight of the mean it went into, divided by the
 * number of elements averaged. On the shapes Batch Normalization averages in the variants, over
 * every axis and with keepDims, and on seeded random shapes and axes.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { setupWasmBackend, shutdownWasmBackend } from "../../lib/engine/backend.ts";
import { meanGrad } from "../../lib/engine/kernels/mean_grad.ts";
import { createRandom } from "../../lib/random.ts";
import { assertCloseToCpu, randomArray } from "./against_cpu.ts";

tf.enableProdMode();
await setupWasmBackend({ threads: 1 });

/** The gradient of sum(w * mean(x, axis, keepDims)) with respect to x, element by element. */
function expectedGradient(shape: number[], axes: number[], w: Float32Array): Float32Array {
  const size = shape.reduce((a, b) => a * b, 1);
  const count = axes.reduce((n, a) => n * shape[a], 1);
  const out = new Float32Array(size);
  const index = new Array(shape.length).fill(0);
  for (let i = 0; i < size; i++) {
    // The position of element i's mean in the reduced tensor: the kept axes' indices, row-major.
    let j = 0;
    for (let a = 0; a < shape.length; a++) if (!axes.includes(a)) j = j * shape[a] + index[a];
    out[i] = w[j] / count;
    for (let a = shape.length - 1; a >= 0 && ++index[a] === shape[a]; a--) index[a] = 0;
  }
  return out;
}

function check(
  backend: "cpu" | "wasm",
  shape: number[],
  axis: number | number[] | undefined,
  keepDims: boolean,
  seed: number,
): void {
  tf.setBackend(backend);
  const next = createRandom(seed);
  const axes = axis === undefined
    ? shape.map((_, i) => i)
    : (Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + shape.length : a));
  const x = randomArray(shape.reduce((a, b) => a * b, 1), next);
  const w = randomArray(shape.filter((_, a) => !axes.includes(a)).reduce((a, b) => a * b, 1), next);
  const before = tf.memory().numTensors;
  const got = tf.tidy(() => {
    const meanShape = tf.mean(tf.zeros(shape), axis, keepDims).shape;
    const weights = tf.tensor(w, meanShape);
    const f = (input: tf.Tensor) => tf.mean(input, axis, keepDims).mul(weights).sum();
    return tf.grad(f)(tf.tensor(x, shape)).dataSync() as Float32Array;
  });
  assert.equal(tf.memory().numTensors, before, `${backend} leaked tensors`);
  const what = `${backend}, x ${JSON.stringify(shape)}, axis ${JSON.stringify(axis)}, ` +
    `keepDims ${keepDims}`;
  assertCloseToCpu(got, expectedGradient(shape, axes, w), what);
}

Deno.test("setting up the wasm backend makes this the Mean gradient", () => {
  assert.equal(tf.getGradient("Mean")?.gradFunc, meanGrad.gradFunc);
});

Deno.test("the Mean gradient on the variants' shapes, as tf.moments and the loss take them", () => {
  for (const backend of ["wasm", "cpu"] as const) {
    for (const shape of [[128, 26, 26, 32], [128, 11, 11, 64], [128, 9, 9, 64]]) {
      check(backend, shape, [0, 1, 2], false, shape[1]);
      check(backend, shape, [0, 1, 2], true, shape[1] + 1);
    }
    check(backend, [128, 128], [0], false, 3);
    check(backend, [128], undefined, false, 4);
  }
});

Deno.test("the Mean gradient on seeded random shapes and axes", () => {
  const next = createRandom(2026);
  const pick = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  for (let i = 0; i < 16; i++) {
    const shape = Array.from({ length: pick(1, 4) }, () => pick(1, 7));
    const axes = shape.map((_, a) => a).filter(() => next() < 0.5);
    // Negative axes as tfjs allows them, a single axis as a number, and the whole tensor.
    const axis = axes.length === 0 ? undefined : axes.length === 1 ? axes[0] - shape.length : axes;
    check(i % 2 === 0 ? "wasm" : "cpu", shape, axis, i % 3 === 0, 300 + i);
  }
});

Deno.test("the wasm thread pool shuts down so this file can exit", () => {
  shutdownWasmBackend();
});
