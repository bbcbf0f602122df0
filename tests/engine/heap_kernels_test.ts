/**
 * Our own heap kernels (lib/engine/kernels/matmul.ts, channelwise.ts, pooling.ts) as the
 * one-thread wasm backend runs them through BatchMatMul, Sum and MaxPoolGrad, against the `cpu` backend: seeded random shapes, every
 * transpose combination, broadcast batches, odd sizes, the variants' layer shapes, exact
 * first-max tie semantics, and no leaked tensors.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { setupWasmBackend, shutdownWasmBackend } from "../../lib/engine/backend.ts";
import { heapKernelsAvailable } from "../../lib/engine/kernels/heap_module.ts";
import { channelwise, sumLeadingAxes } from "../../lib/engine/kernels/channelwise.ts";
import { matMul } from "../../lib/engine/kernels/matmul.ts";
import { maxPoolGrad2x2 } from "../../lib/engine/kernels/pooling.ts";
import { createRandom } from "../../lib/random.ts";
import { assertCloseToCpu, type InputSpec, randomArray, runKernelOn } from "./against_cpu.ts";

tf.enableProdMode();
await setupWasmBackend({ threads: 1 });

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Runs one kernel on `backend` (the wasm one on one thread, where our kernels run). */
async function runKernel(
  backend: "cpu" | "wasm",
  kernel: string,
  inputs: Record<string, InputSpec>,
  attrs: tf.NamedAttrMap,
): Promise<{ values: Float32Array; shape: number[] }> {
  const result = await runKernelOn(backend, kernel, inputs, attrs);
  if (backend === "wasm") {
    assert.ok(heapKernelsAvailable(tf.backend() as BackendWasm), "the backend has one thread");
  }
  return result;
}

/** Element for element equal (NaN equals NaN); names the first element that is not. */
function assertSame(got: Float32Array, want: Float32Array, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    if (!(got[i] === want[i] || (Number.isNaN(got[i]) && Number.isNaN(want[i])))) {
      assert.fail(`${what}: element ${i} is ${got[i]}, cpu says ${want[i]}`);
    }
  }
}

async function checkMatMul(
  aShape: number[],
  bShape: number[],
  attrs: { transposeA: boolean; transposeB: boolean },
  next: () => number,
): Promise<void> {
  const a = { values: randomArray(size(aShape), next), shape: aShape };
  const b = { values: randomArray(size(bShape), next), shape: bShape };
  const what = `BatchMatMul [${aShape}] x [${bShape}] ${JSON.stringify(attrs)}`;
  const want = await runKernel("cpu", "BatchMatMul", { a, b }, attrs);
  const got = await runKernel("wasm", "BatchMatMul", { a, b }, attrs);
  assert.deepEqual(got.shape, want.shape, what);
  assertCloseToCpu(got.values, want.values, what);
}

function shapesFor(m: number, k: number, n: number, tA: boolean, tB: boolean) {
  return { a: tA ? [k, m] : [m, k], b: tB ? [n, k] : [k, n] };
}

Deno.test("BatchMatMul agrees with cpu for every transpose combination on 24 seeded random shapes", async () => {
  const next = createRandom(1_000);
  const dim = (max: number) => 1 + Math.floor(next() * max);
  for (let i = 0; i < 24; i++) {
    // Every fourth case sums over more rows than one GEMM call takes (K_BLOCK).
    const [m, k, n] = [dim(19), i % 4 === 3 ? 256 + dim(400) : dim(40), dim(27)];
    const batch = i % 3 === 0 ? dim(3) : 1;
    const tA = (i & 1) === 1, tB = (i & 2) === 2;
    const s = shapesFor(m, k, n, tA, tB);
    await checkMatMul([batch, ...s.a], [batch, ...s.b], { transposeA: tA, transposeB: tB }, next);
  }
});

Deno.test("BatchMatMul broadcasts a batch of 1 and takes rank-2 and rank-4 operands", async () => {
  const next = createRandom(1_100);
  const f = { transposeA: false, transposeB: false };
  await checkMatMul([3, 5, 9], [1, 9, 16], f, next);
  await checkMatMul([1, 9, 5], [4, 7, 9], { transposeA: true, transposeB: true }, next);
  await checkMatMul([6, 13], [13, 11], f, next);
  await checkMatMul([2, 3, 4, 6], [2, 3, 6, 8], { transposeA: false, transposeB: false }, next);
  await checkMatMul([2, 3, 6, 4], [2, 3, 5, 6], { transposeA: true, transposeB: true }, next);
});

Deno.test("BatchMatMul agrees with cpu at the variants' dense-layer shapes, batches 64 and 128", async () => {
  const next = createRandom(1_200);
  // Forward, input gradient and weight gradient of Dense(in -> out) over a batch; the first
  // layer's filter gradient (im2col patches^T . dy) too.
  const layers: [number, number][] = [[1600, 64], [64, 10], [1024, 128], [128, 10]]; // baseline, deep
  for (const batch of [64, 128]) {
    for (const [inUnits, outUnits] of layers) {
      const no = { transposeA: false, transposeB: false };
      await checkMatMul([batch, inUnits], [inUnits, outUnits], no, next);
      await checkMatMul([batch, outUnits], [inUnits, outUnits], { ...no, transposeB: true }, next);
      await checkMatMul([batch, inUnits], [batch, outUnits], { ...no, transposeA: true }, next);
    }
    const rows = batch * 26 * 26;
    await checkMatMul([rows, 9], [rows, 32], { transposeA: true, transposeB: false }, next);
  }
});

Deno.test("Sum and Mean over leading axes agree with cpu on bias-gradient shapes and seeded random ones", async () => {
  const next = createRandom(1_300);
  const shapes = [[64, 26, 26, 32], [128, 11, 11, 64], [64, 9, 9, 64], [64, 64], [128, 128], [
    3,
    5,
    4,
  ]];
  for (let i = 0; i < 8; i++) {
    shapes.push([
      1 + Math.floor(next() * 90),
      1 + Math.floor(next() * 5),
      4 * (1 + Math.floor(next() * 9)),
    ]);
  }
  for (const shape of shapes) {
    // Values around 1, not around 0: a float32 running sum over 43,264 rows would drift.
    const x = { values: randomArray(size(shape), next, (u) => 1 + u), shape };
    for (const axis of [shape.length === 2 ? [0] : [0, 1], [...shape.keys()].slice(0, -1)]) {
      for (const keepDims of [false, true]) {
        const what = `[${shape}] axis ${axis} keepDims ${keepDims}`;
        for (const kernel of ["Sum", "Mean"]) {
          const want = await runKernel("cpu", kernel, { x }, { axis, keepDims });
          const got = await runKernel("wasm", kernel, { x }, { axis, keepDims });
          assert.deepEqual(got.shape, want.shape, `${kernel} ${what}`);
          assertCloseToCpu(got.values, want.values, `${kernel} ${what}`);
        }
      }
    }
  }
});

Deno.test("Conv2DBackpropFilter with small patches (im2col + GEMM) agrees with cpu", async () => {
  const next = createRandom(1_350);
  const cases: { x: number[]; f: number[]; strides: number; pad: tf.NamedAttrMap["pad"] }[] = [
    // single_channel_conv.ts takes the variants' grey first layers; these are ours:
    { x: [8, 20, 20, 2], f: [3, 3, 2, 16], strides: 1, pad: "valid" }, // 2,592 rows: GEMM slices
    { x: [3, 9, 7, 2], f: [3, 3, 2, 5], strides: 1, pad: "same" },
    { x: [2, 7, 6, 1], f: [3, 3, 1, 4], strides: 1, pad: "same" },
    { x: [2, 6, 8, 3], f: [2, 3, 3, 4], strides: 1, pad: [[0, 0], [2, 0], [1, 1], [0, 0]] },
    { x: [2, 9, 9, 1], f: [3, 3, 1, 8], strides: 2, pad: "valid" }, // stride 2: XNNPACK's patches
  ];
  for (const c of cases) {
    const attrs = { strides: c.strides, pad: c.pad, dataFormat: "NHWC", filterShape: c.f };
    const outShape = tf.backend_util.computeConv2DInfo(
      c.x as [number, number, number, number],
      c.f as [number, number, number, number],
      c.strides,
      1,
      c.pad as "valid",
    ).outShape;
    const x = { values: randomArray(size(c.x), next), shape: c.x };
    const dy = { values: randomArray(size(outShape), next), shape: outShape };
    const what = `Conv2DBackpropFilter ${JSON.stringify(c)}`;
    const want = await runKernel("cpu", "Conv2DBackpropFilter", { x, dy }, attrs);
    const got = await runKernel("wasm", "Conv2DBackpropFilter", { x, dy }, attrs);
    assert.deepEqual(got.shape, want.shape, what);
    assertCloseToCpu(got.values, want.values, what);
  }
});

async function checkMaxPoolGrad(shape: number[], xValues: Float32Array, seed: number) {
  const next = createRandom(seed);
  const x = { values: xValues, shape };
  const attrs = { filterSize: [2, 2], strides: [2, 2], pad: "valid" };
  const y = await runKernel("cpu", "MaxPool", { x }, attrs);
  const dy = { values: randomArray(y.values.length, next), shape: y.shape };
  const inputs = { dy, input: x, output: y };
  const want = await runKernel("cpu", "MaxPoolGrad", inputs, attrs);
  const got = await runKernel("wasm", "MaxPoolGrad", inputs, attrs);
  // Exactly: each gradient is one dy value moved, never summed.
  assertSame(got.values, want.values, `MaxPoolGrad [${shape}]`);
}

Deno.test("MaxPoolGrad 2x2/2 equals cpu exactly on the variants' shapes and odd sizes", async () => {
  const shapes = [[8, 26, 26, 32], [8, 11, 11, 64], [8, 9, 9, 64], [3, 7, 9, 4], [2, 2, 3, 8], [
    1,
    5,
    2,
    12,
  ]];
  let seed = 1_400;
  for (const shape of shapes) {
    await checkMaxPoolGrad(shape, randomArray(size(shape), createRandom(seed++)), seed++);
  }
});

Deno.test("MaxPoolGrad 2x2/2 sends ties to the first max and covers all-negative and all-zero windows", async () => {
  const shape = [4, 10, 9, 16];
  // Values from {0, 1, 2}: most windows hold ties, in every position.
  await checkMaxPoolGrad(
    shape,
    randomArray(size(shape), createRandom(1_500), (u) => Math.floor(u * 3)),
    1_501,
  );
  await checkMaxPoolGrad(
    shape,
    randomArray(size(shape), createRandom(1_502), (u) => -1 - u),
    1_503,
  );
  await checkMaxPoolGrad(shape, new Float32Array(size(shape)), 1_504);
  // Windows of -Infinity only get no gradient, as on cpu.
  const inf = new Float32Array(size(shape)).fill(-Infinity);
  for (let i = 0; i < inf.length; i += 7) inf[i] = i % 3;
  await checkMaxPoolGrad(shape, inf, 1_505);
});

Deno.test("MaxPool 2x2/2 equals cpu exactly, with ties, NaN, -Infinity and odd sizes", async () => {
  const next = createRandom(1_600);
  const attrs = { filterSize: [2, 2], strides: [2, 2], pad: "valid" };
  const shapes = [[8, 26, 26, 32], [8, 11, 11, 64], [8, 9, 9, 64], [3, 7, 9, 4], [2, 2, 3, 8]];
  for (const shape of shapes) {
    const values = randomArray(size(shape), next, (u) => Math.floor(u * 5) - 2);
    for (let i = 0; i < values.length; i += 13) values[i] = NaN;
    for (let i = 5; i < values.length; i += 17) values[i] = -Infinity;
    const x = { values, shape };
    const want = await runKernel("cpu", "MaxPool", { x }, attrs);
    const got = await runKernel("wasm", "MaxPool", { x }, attrs);
    assert.deepEqual(got.shape, want.shape, `MaxPool [${shape}]`);
    assertSame(got.values, want.values, `MaxPool [${shape}]`);
  }
  // A 3x3 pool is not ours: the stock kernel still runs it.
  const x = { values: randomArray(2 * 7 * 7 * 4, next), shape: [2, 7, 7, 4] };
  const other = { filterSize: [3, 3], strides: [2, 2], pad: "valid" };
  const want = await runKernel("cpu", "MaxPool", { x }, other);
  assertCloseToCpu(
    (await runKernel("wasm", "MaxPool", { x }, other)).values,
    want.values,
    "MaxPool 3x3",
  );
});

Deno.test("Add, Multiply and Sub of a per-channel vector equal cpu exactly; other shapes still broadcast", async () => {
  const next = createRandom(1_700);
  const cases = [
    [[64, 26, 26, 32], [32]],
    [[8, 11, 11, 64], [64]],
    [[8, 9, 9, 64], [1, 1, 1, 64]],
    [[5, 12], [12]],
    [[3, 4], [1, 4]],
    // not ours: the stock kernels run these
    [[4], [4]],
    [[6, 10], [10]],
    [[3, 1], [1, 8]],
    [[2, 3, 8], [3, 8]],
  ];
  for (const kernel of ["Add", "Multiply", "Sub"]) {
    for (const [xShape, vShape] of cases) {
      const x = { values: randomArray(size(xShape), next), shape: xShape };
      const v = { values: randomArray(size(vShape), next), shape: vShape };
      for (const [a, b] of [[x, v], [v, x]]) {
        const what = `${kernel} [${a.shape}] and [${b.shape}]`;
        const want = await runKernel("cpu", kernel, { a, b }, {});
        const got = await runKernel("wasm", kernel, { a, b }, {});
        assert.deepEqual(got.shape, want.shape, what);
        assertSame(got.values, want.values, what);
      }
    }
  }
});

/** The gradient of sum(relu(x) * w) on `backend`, and the kernels it ran. */
async function reluGradient(backend: "cpu" | "wasm", x: InputSpec, w: InputSpec) {
  assert.ok(await tf.setBackend(backend));
  const before = tf.memory().numTensors;
  const xt = tf.tensor(x.values, x.shape), wt = tf.tensor(w.values, w.shape);
  let values: Float32Array = new Float32Array();
  const profile = await tf.profile(() => {
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.relu(v), wt)))(xt);
    values = g.dataSync() as Float32Array;
    g.dispose();
  });
  tf.dispose([xt, wt]);
  assert.equal(tf.memory().numTensors, before, `the ReLU gradient on ${backend} leaked tensors`);
  return { values, kernels: profile.kernelNames };
}

Deno.test("the ReLU gradient runs in one pass on one thread and equals cpu's dy * step(x)", async () => {
  const next = createRandom(1_800);
  for (const shape of [[8, 26, 26, 32], [3, 5, 7], [13]]) {
    const xs = randomArray(size(shape), next, (u) => Math.floor(u * 5) - 2); // many zeros
    for (let i = 0; i < xs.length; i += 11) xs[i] = NaN;
    const x = { values: xs, shape };
    const w = { values: randomArray(size(shape), next), shape };
    const want = await reluGradient("cpu", x, w);
    const got = await reluGradient("wasm", x, w);
    assertSame(got.values, want.values, `ReLU gradient [${shape}]`);
    assert.ok(got.kernels.includes("DenseReluGrad"), `wasm ran ${got.kernels}`);
    assert.ok(!got.kernels.includes("Step"), `wasm ran ${got.kernels}`);
    assert.ok(want.kernels.includes("Step"), "cpu keeps tfjs' own gradient");
  }
});

Deno.test("the heap kernels refuse what they do not support, with a sentence", () => {
  const backend = tf.backend() as BackendWasm;
  const a = tf.tensor2d([[1, 2, 3]]);
  const b = tf.tensor2d([[1, 2]]);
  assert.throws(
    () => matMul(backend, a, b, {}),
    /matMul\(\) cannot multiply \[1,3\] \(float32\) by \[1,2\].*check matMulSupports\(\) first/,
  );
  const v = tf.tensor1d([1, 2, 3, 4]);
  assert.throws(
    () => channelwise(backend, "add", a, v),
    /channelwise\(\) cannot add \[4\] \(float32\) along the last axis of \[1,3\]/,
  );
  assert.throws(
    () => sumLeadingAxes(backend, a, 1, [3]),
    /sumLeadingAxes\(\) cannot sum \[1,3\] \(float32\) over its first 1 axes/,
  );
  const x = tf.zeros([1, 4, 4, 3]);
  const y = tf.zeros([1, 2, 2, 3]);
  assert.throws(
    () => maxPoolGrad2x2(backend, y, x, y),
    /maxPoolGrad2x2\(\) needs float32 x \[n,h,w,c\] with c a multiple of 4/,
  );
  tf.dispose([a, b, v, x, y]);
});

globalThis.addEventListener("unload", () => shutdownWasmBackend());
