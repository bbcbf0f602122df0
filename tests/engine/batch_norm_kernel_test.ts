/**
 * lib/engine/kernels/channelwise.ts' batchNorm, routed for `FusedBatchNorm` by kernels.ts: on the
 * one-thread wasm backend, as the replicas run it, bit for bit tfjs' own wasm kernel (kept aside
 * before our kernels replace it) on the variants' shapes and on seeded random ones, and the stock
 * kernel still taking what ours does not.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { setupWasmBackend, shutdownWasmBackend } from "../../lib/engine/backend.ts";
import { batchNorm } from "../../lib/engine/kernels/channelwise.ts";
import { createRandom } from "../../lib/random.ts";
import { assertBitForBit, assertCloseToCpu, randomArray } from "./against_cpu.ts";

// tfjs' own kernel, before setupWasmBackend puts ours in its place (its setup still runs).
const stock = tf.getKernel("FusedBatchNorm", "wasm");
assert.ok(stock !== undefined, "the wasm backend registers FusedBatchNorm");

tf.enableProdMode();
await setupWasmBackend({ threads: 1 });
const backend = tf.backend() as BackendWasm;

const EPSILON = 1e-3;

/** Seeded x, off centre as activations are, and per-channel statistics and affine. */
function caseTensors(shape: number[], seed: number) {
  const next = createRandom(seed);
  const c = shape.at(-1)!;
  const n = shape.reduce((a, b) => a * b, 1);
  return {
    x: tf.tensor(randomArray(n, next, (u) => 6 * u - 1), shape),
    mean: tf.tensor1d(randomArray(c, next, (u) => 2 * u)),
    variance: tf.tensor1d(randomArray(c, next, (u) => 3 * u ** 2)),
    offset: tf.tensor1d(randomArray(c, next)),
    scale: tf.tensor1d(randomArray(c, next, (u) => 2 * u - 0.5)),
  };
}

type Case = ReturnType<typeof caseTensors>;

function stockValues(t: Case): Float32Array {
  const info = stock!.kernelFunc({
    inputs: t,
    backend,
    attrs: { varianceEpsilon: EPSILON },
  }) as tf.TensorInfo;
  const out = tf.engine().makeTensorFromTensorInfo(info);
  const values = out.dataSync() as Float32Array;
  out.dispose();
  return values;
}

/** {@linkcode assertBitForBit} against tfjs' own kernel. */
function assertSame(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assertBitForBit(got, want, what, "tfjs' own kernel");
}

function check(shape: number[], seed: number): void {
  const before = tf.memory().numTensors;
  const t = caseTensors(shape, seed);
  const want = stockValues(t);
  const direct = tf.engine().makeTensorFromTensorInfo(batchNorm(backend, t.x, t, EPSILON));
  assertSame(direct.dataSync() as Float32Array, want, `batchNorm(), x [${shape}]`);
  const routed = tf.batchNorm(t.x, t.mean, t.variance, t.offset, t.scale, EPSILON);
  assertSame(routed.dataSync() as Float32Array, want, `tf.batchNorm, x [${shape}]`);
  tf.dispose([direct, routed, ...Object.values(t)]);
  assert.equal(tf.memory().numTensors, before, "tensors leaked");
}

Deno.test("FusedBatchNorm is ours on a one-thread backend", () => {
  assert.notEqual(tf.getKernel("FusedBatchNorm", "wasm")?.kernelFunc, stock.kernelFunc);
});

Deno.test("Batch Normalization equals tfjs' own kernel bit for bit on the variants' shapes", () => {
  // regularized's normalized convolutions and dense layer, deep's, at training and scoring sizes.
  const shapes = [[128, 26, 26, 32], [128, 11, 11, 64], [128, 9, 9, 64], [1024, 9, 9, 64]];
  for (const shape of [...shapes, [128, 64], [128, 128], [64, 128]]) check(shape, shape[0] + 7);
});

Deno.test("Batch Normalization equals tfjs' own kernel bit for bit on seeded random shapes", () => {
  const next = createRandom(2026);
  const pick = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  for (let i = 0; i < 12; i++) {
    const c = 4 * pick(1, 20);
    check(i % 3 === 0 ? [pick(1, 9), c] : [pick(1, 5), pick(1, 9), pick(1, 9), c], 50 + i);
  }
});

Deno.test("Batch Normalization ours does not take still runs: odd channels, no scale", async () => {
  for (const [shape, scaled] of [[[6, 3, 3, 5], true], [[6, 3, 3, 8], false]] as const) {
    const t = caseTensors([...shape], 9);
    const scale = scaled ? t.scale : undefined;
    const got = tf.batchNorm(t.x, t.mean, t.variance, t.offset, scale, EPSILON).dataSync();
    assert.ok(await tf.setBackend("cpu"));
    const onCpu = tf.tidy(() => {
      const [x, m, v, o, s] = [t.x, t.mean, t.variance, t.offset, t.scale].map((a) =>
        tf.tensor(a.dataSync(), a.shape)
      );
      return tf.batchNorm(x, m, v, o, scaled ? s : undefined, EPSILON).dataSync();
    });
    assert.ok(await tf.setBackend("wasm"));
    assertCloseToCpu(got as Float32Array, onCpu as Float32Array, `x [${shape}], scaled ${scaled}`);
    tf.dispose(Object.values(t));
  }
});

Deno.test("the wasm thread pool shuts down so this file can exit", () => {
  shutdownWasmBackend();
});
