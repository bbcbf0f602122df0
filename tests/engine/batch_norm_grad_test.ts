/**
 * lib/engine/kernels/batch_norm_grad.ts: the FusedBatchNorm gradient on the one-thread wasm
 * backend (as the replicas run it) against the cpu backend differentiating the same function in
 * elementary ops, for each of its five inputs, on the variants' shapes and seeded random shapes;
 * and through `tf.moments`, as `tf.layers.batchNormalization` trains.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { setupWasmBackend, shutdownWasmBackend } from "../../lib/engine/backend.ts";
import { heapKernelsAvailable } from "../../lib/engine/kernels/heap_module.ts";
import { createRandom } from "../../lib/random.ts";
import { assertCloseToCpu, randomArray } from "./against_cpu.ts";

tf.enableProdMode();
await setupWasmBackend({ threads: 1 });

const EPSILON = 1e-3;
const INPUTS = ["x", "mean", "variance", "scale", "offset"] as const;

/** Seeded values of one case: x and a weight w of `shape`, per-channel statistics and affine. */
function caseValues(shape: number[], seed: number) {
  const next = createRandom(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const c = shape.at(-1)!;
  return {
    // Off centre, as activations before Batch Normalization are.
    x: randomArray(n, next, (u) => 3 * u + 0.5),
    w: randomArray(n, next),
    mean: randomArray(c, next, (u) => u + 0.5),
    variance: randomArray(c, next, (u) => 0.5 + 2 * u),
    scale: randomArray(c, next, (u) => 2 * u - 0.5),
    offset: randomArray(c, next),
  };
}

type Values = ReturnType<typeof caseValues>;

/** The gradients of sum(w * batchNorm(...)) with respect to each input, on `backend`. */
function gradients(backend: "cpu" | "wasm", shape: number[], v: Values): Float32Array[] {
  tf.setBackend(backend);
  if (backend === "wasm") assert.ok(heapKernelsAvailable(tf.backend() as BackendWasm));
  const before = tf.memory().numTensors;
  const result = tf.tidy(() => {
    const w = tf.tensor(v.w, shape);
    const args = [
      tf.tensor(v.x, shape),
      tf.tensor1d(v.mean),
      tf.tensor1d(v.variance),
      tf.tensor1d(v.scale),
    ];
    const f = (x: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, s: tf.Tensor, o: tf.Tensor) =>
      backend === "wasm"
        ? tf.batchNorm(x, mean, variance, o, s, EPSILON).mul(w).sum()
        : x.sub(mean).div(variance.add(EPSILON).sqrt()).mul(s).add(o).mul(w).sum();
    const grads = tf.grads(f as (...t: tf.Tensor[]) => tf.Scalar)([...args, tf.tensor1d(v.offset)]);
    return grads.map((g) => g.dataSync() as Float32Array);
  });
  assert.equal(tf.memory().numTensors, before, `${backend} leaked tensors`);
  return result;
}

function check(shape: number[], seed: number): void {
  const v = caseValues(shape, seed);
  const got = gradients("wasm", shape, v);
  const want = gradients("cpu", shape, v);
  INPUTS.forEach((name, i) => {
    assertCloseToCpu(got[i], want[i], `d${name}, x ${JSON.stringify(shape)}, seed ${seed}`);
  });
}

Deno.test("the FusedBatchNorm gradient agrees with cpu on the variants' shapes, for each input", () => {
  // regularized's first and second convolutions and dense layer; deep's two 64-channel
  // convolutions and dense layer.
  for (
    const shape of [[128, 26, 26, 32], [128, 11, 11, 64], [128, 9, 9, 64], [128, 64], [128, 128]]
  ) {
    check(shape, shape.length * 7 + shape.at(-1)!);
  }
});

Deno.test("the FusedBatchNorm gradient agrees with cpu on seeded random shapes", () => {
  const next = createRandom(2026);
  const pick = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  for (let i = 0; i < 12; i++) {
    const shape = i % 3 === 0
      ? [pick(1, 9), pick(1, 40)]
      : [pick(1, 6), pick(1, 9), pick(1, 9), pick(1, 21)];
    check(shape, 100 + i);
  }
});

Deno.test("Batch Normalization trained through tf.moments: the input gradient agrees with cpu", () => {
  const shape = [64, 11, 11, 64];
  const next = createRandom(9);
  const x = randomArray(shape.reduce((a, b) => a * b, 1), next, (u) => 4 * u + 1);
  const w = randomArray(x.length, next);
  const scale = randomArray(64, next, (u) => u + 0.5);
  const run = (backend: "cpu" | "wasm") => {
    tf.setBackend(backend);
    return tf.tidy(() => {
      const wT = tf.tensor(w, shape);
      const s = tf.tensor1d(scale);
      const f = (input: tf.Tensor) => {
        const { mean, variance } = tf.moments(input, [0, 1, 2]);
        return backend === "wasm"
          ? tf.batchNorm(input, mean, variance, tf.zeros([64]), s, EPSILON).mul(wT).sum()
          : input.sub(mean).div(variance.add(EPSILON).sqrt()).mul(s).mul(wT).sum();
      };
      return tf.grad(f)(tf.tensor(x, shape)).dataSync() as Float32Array;
    });
  };
  assertCloseToCpu(run("wasm"), run("cpu"), "dx through moments");
});

Deno.test("the wasm thread pool shuts down so this file can exit", () => {
  shutdownWasmBackend();
});
