/**
 * The gradient kernels of lib/engine/kernels/kernels.ts against the `cpu` backend's kernels, on seeded
 * random shapes (strides 1-3, same/valid/explicit padding, batch 1, odd channel counts) and
 * on the max-pool windows the stock wasm kernel gets wrong (all-negative, all-zero, ties).
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { setupWasmBackend, shutdownWasmBackend } from "../../lib/engine/backend.ts";
import { createRandom } from "../../lib/random.ts";
import { assertCloseToCpu, randomArray, runKernelOn } from "./against_cpu.ts";

tf.enableProdMode();
// Threads on (the default): the kernels must agree with cpu when XNNPACK splits the work.
const info = await setupWasmBackend();

/** Deterministic generator so every run checks the same cases. */
const rng = createRandom;

interface ConvCase {
  batch: number;
  h: number;
  w: number;
  cin: number;
  cout: number;
  kh: number;
  kw: number;
  strides: [number, number];
  pad: "same" | "valid" | [[number, number], [number, number], [number, number], [number, number]];
}

function convOutShape(c: ConvCase): number[] {
  const info = tf.backend_util.computeConv2DInfo(
    [c.batch, c.h, c.w, c.cin],
    [c.kh, c.kw, c.cin, c.cout],
    c.strides,
    1,
    c.pad,
  );
  return info.outShape;
}

/** Checks both conv gradient kernels on one case; returns nothing, throws on mismatch. */
async function checkConvGrads(c: ConvCase, seed: number): Promise<void> {
  const next = rng(seed);
  const xShape = [c.batch, c.h, c.w, c.cin];
  const wShape = [c.kh, c.kw, c.cin, c.cout];
  const dyShape = convOutShape(c);
  const x = { values: randomArray(xShape.reduce((a, b) => a * b), next), shape: xShape };
  const w = { values: randomArray(wShape.reduce((a, b) => a * b), next), shape: wShape };
  const dy = { values: randomArray(dyShape.reduce((a, b) => a * b), next), shape: dyShape };
  const label = JSON.stringify(c);
  const fAttrs = { strides: c.strides, pad: c.pad, dataFormat: "NHWC", filterShape: wShape };
  const fWant = await runKernelOn("cpu", "Conv2DBackpropFilter", { x, dy }, fAttrs);
  const fGot = await runKernelOn("wasm", "Conv2DBackpropFilter", { x, dy }, fAttrs);
  assert.deepEqual(fGot.shape, fWant.shape, `${label}: dW shape`);
  assertCloseToCpu(fGot.values, fWant.values, `${label} dW`);
  const iAttrs = { strides: c.strides, pad: c.pad, dataFormat: "NHWC", inputShape: xShape };
  const iWant = await runKernelOn("cpu", "Conv2DBackpropInput", { dy, filter: w }, iAttrs);
  const iGot = await runKernelOn("wasm", "Conv2DBackpropInput", { dy, filter: w }, iAttrs);
  assert.deepEqual(iGot.shape, iWant.shape, `${label}: dx shape`);
  assertCloseToCpu(iGot.values, iWant.values, `${label} dx`);
}

const base: ConvCase = {
  batch: 3,
  h: 9,
  w: 8,
  cin: 3,
  cout: 5,
  kh: 3,
  kw: 3,
  strides: [1, 1],
  pad: "valid",
};

Deno.test("Conv2DBackpropFilter and Conv2DBackpropInput agree with cpu for stride 1", async () => {
  await checkConvGrads({ ...base }, 1);
  await checkConvGrads({ ...base, pad: "same" }, 2);
  // The seed CNN's two layers (batch 4 to keep the cpu reference quick).
  await checkConvGrads({ ...base, batch: 4, h: 28, w: 28, cin: 1, cout: 32 }, 3);
  await checkConvGrads({ ...base, batch: 4, h: 13, w: 13, cin: 32, cout: 64 }, 4);
});

Deno.test("Conv2DBackpropFilter and Conv2DBackpropInput agree with cpu for stride 2 same padding", async () => {
  await checkConvGrads({ ...base, strides: [2, 2], pad: "same" }, 5);
  await checkConvGrads({ ...base, h: 10, w: 7, strides: [2, 2], pad: "same", kh: 4, kw: 2 }, 6);
  await checkConvGrads({ ...base, strides: [2, 2], pad: "valid" }, 7);
});

Deno.test("Conv2DBackpropFilter and Conv2DBackpropInput agree with cpu for stride 3 and mixed strides", async () => {
  await checkConvGrads({ ...base, h: 11, w: 10, strides: [3, 3], pad: "same" }, 8);
  await checkConvGrads({ ...base, h: 11, w: 10, strides: [3, 3], pad: "valid", kh: 2, kw: 5 }, 9);
  await checkConvGrads({ ...base, h: 12, w: 9, strides: [1, 3], pad: "same" }, 10);
  await checkConvGrads({ ...base, h: 12, w: 9, strides: [2, 1], pad: "valid", kh: 1, kw: 1 }, 11);
});

Deno.test("Conv2DBackpropFilter and Conv2DBackpropInput agree with cpu for batch 1, odd channels, explicit padding", async () => {
  await checkConvGrads({ ...base, batch: 1, cin: 7, cout: 1 }, 12);
  await checkConvGrads({ ...base, batch: 1, cin: 1, cout: 9, pad: "same", strides: [2, 2] }, 13);
  await checkConvGrads({
    ...base,
    cin: 5,
    cout: 3,
    pad: [[0, 0], [2, 1], [0, 3], [0, 0]],
    strides: [2, 2],
  }, 14);
  await checkConvGrads({ ...base, h: 4, w: 5, kh: 4, kw: 5, cin: 3, cout: 3 }, 15);
  // Padding wider than the kernel on one side only: the input gradient crops dy there.
  await checkConvGrads({ ...base, cin: 2, cout: 3, pad: [[0, 0], [4, 0], [1, 0], [0, 0]] }, 16);
  await checkConvGrads({ ...base, cin: 2, cout: 3, pad: [[0, 0], [0, 1], [4, 0], [0, 0]] }, 17);
});

Deno.test("Conv2DBackpropFilter and Conv2DBackpropInput agree with cpu on 12 seeded random shapes", async () => {
  const next = rng(2024);
  const pick = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  for (let i = 0; i < 12; i++) {
    const kh = pick(1, 4), kw = pick(1, 4);
    const c: ConvCase = {
      batch: pick(1, 4),
      h: pick(kh, 12),
      w: pick(kw, 12),
      cin: pick(1, 9),
      cout: pick(1, 9),
      kh,
      kw,
      strides: [pick(1, 3), pick(1, 3)],
      pad: next() < 0.5 ? "same" : "valid",
    };
    await checkConvGrads(c, 100 + i);
  }
});

/** Inserts (d-1) zeros between filter taps: a dilated conv equals a conv with that filter. */
function dilateFilter(
  w: Float32Array,
  shape: number[],
  d: number,
): { values: Float32Array; shape: number[] } {
  const [kh, kw, ci, co] = shape;
  const eh = (kh - 1) * d + 1, ew = (kw - 1) * d + 1;
  const out = new Float32Array(eh * ew * ci * co);
  for (let r = 0; r < kh; r++) {
    for (let c = 0; c < kw; c++) {
      const src = (r * kw + c) * ci * co;
      out.set(w.subarray(src, src + ci * co), (r * d * ew + c * d) * ci * co);
    }
  }
  return { values: out, shape: [eh, ew, ci, co] };
}

Deno.test("Conv2DBackpropFilter and Conv2DBackpropInput support dilation 2 (checked against cpu on the zero-inserted filter)", async () => {
  // The cpu kernels ignore a dilations attribute (tfjs refuses gradients of dilated convs), so
  // the reference is the equivalent undilated conv whose filter has zeros between the taps.
  const next = rng(77);
  // ci 3: 3x2x3 patches take the im2col path of the filter gradient; ci 6 the convolution path.
  for (const [pad, ci] of [["valid", 3], ["same", 3], ["same", 6], ["valid", 6]] as const) {
    const d = 2, kh = 3, kw = 2, co = 4;
    const xShape = [2, 10, 9, ci];
    const w = randomArray(kh * kw * ci * co, next);
    const wd = dilateFilter(w, [kh, kw, ci, co], d);
    const outShape = tf.backend_util.computeConv2DInfo(
      xShape as [number, number, number, number],
      wd.shape as [number, number, number, number],
      1,
      1,
      pad,
    ).outShape;
    const x = { values: randomArray(xShape.reduce((a, b) => a * b), next), shape: xShape };
    const dy = { values: randomArray(outShape.reduce((a, b) => a * b), next), shape: outShape };
    const common = { strides: [1, 1], pad, dataFormat: "NHWC" };
    const fWant = await runKernelOn("cpu", "Conv2DBackpropFilter", { x, dy }, {
      ...common,
      filterShape: wd.shape,
    });
    const fGot = await runKernelOn("wasm", "Conv2DBackpropFilter", { x, dy }, {
      ...common,
      filterShape: [kh, kw, ci, co],
      dilations: [d, d],
    });
    // Keep the taps of the dilated reference filter.
    const taps = new Float32Array(kh * kw * ci * co);
    const ew = wd.shape[1];
    for (let r = 0; r < kh; r++) {
      for (let c = 0; c < kw; c++) {
        const src = (r * d * ew + c * d) * ci * co;
        taps.set(fWant.values.subarray(src, src + ci * co), (r * kw + c) * ci * co);
      }
    }
    assertCloseToCpu(fGot.values, taps, `dilated dW ${pad} ci ${ci}`);
    const iWant = await runKernelOn("cpu", "Conv2DBackpropInput", { dy, filter: wd }, {
      ...common,
      inputShape: xShape,
    });
    const iGot = await runKernelOn("wasm", "Conv2DBackpropInput", {
      dy,
      filter: { values: w, shape: [kh, kw, ci, co] },
    }, { ...common, inputShape: xShape, dilations: [d, d] });
    assertCloseToCpu(iGot.values, iWant.values, `dilated dx ${pad} ci ${ci}`);
  }
});

interface PoolCase {
  shape: [number, number, number, number];
  filterSize: [number, number];
  strides: [number, number];
  pad: "same" | "valid";
}

async function checkMaxPoolGrad(c: PoolCase, xValues: Float32Array, seed: number): Promise<void> {
  const next = rng(seed);
  const x = { values: xValues, shape: c.shape };
  const attrs = { filterSize: c.filterSize, strides: c.strides, pad: c.pad };
  const y = await runKernelOn("cpu", "MaxPool", { x }, attrs);
  const dy = { values: randomArray(y.values.length, next), shape: y.shape };
  const inputs = { dy, input: x, output: y };
  const want = await runKernelOn("cpu", "MaxPoolGrad", inputs, attrs);
  const got = await runKernelOn("wasm", "MaxPoolGrad", inputs, attrs);
  assertCloseToCpu(got.values, want.values, `MaxPoolGrad ${JSON.stringify(c)}`);
}

const size = (s: number[]) => s.reduce((a, b) => a * b);

Deno.test("MaxPoolGrad agrees with cpu on random inputs (2x2/2 valid, 3x3/2 same, 3x3/1 overlapping)", async () => {
  const cases: PoolCase[] = [
    { shape: [3, 8, 8, 5], filterSize: [2, 2], strides: [2, 2], pad: "valid" },
    { shape: [2, 9, 7, 3], filterSize: [3, 3], strides: [2, 2], pad: "same" },
    { shape: [1, 6, 6, 7], filterSize: [3, 3], strides: [1, 1], pad: "same" },
    { shape: [2, 7, 9, 1], filterSize: [2, 3], strides: [3, 2], pad: "valid" },
    { shape: [4, 26, 26, 32], filterSize: [2, 2], strides: [2, 2], pad: "valid" },
    { shape: [2, 11, 9, 3], filterSize: [2, 2], strides: [2, 2], pad: "valid" },
    { shape: [2, 7, 7, 4], filterSize: [2, 2], strides: [2, 2], pad: "same" },
  ];
  let seed = 300;
  for (const c of cases) {
    await checkMaxPoolGrad(c, randomArray(size(c.shape), rng(seed++)), seed++);
  }
});

Deno.test("MaxPoolGrad gives the gradient to all-negative and all-zero windows", async () => {
  // The stock wasm kernel starts its search at the smallest positive float: these windows
  // got no gradient at all.
  const c: PoolCase = { shape: [2, 6, 6, 3], filterSize: [2, 2], strides: [2, 2], pad: "valid" };
  await checkMaxPoolGrad(c, randomArray(size(c.shape), rng(400), (u) => -1 - u), 401);
  await checkMaxPoolGrad(c, new Float32Array(size(c.shape)), 402);
  const same: PoolCase = { shape: [1, 5, 5, 2], filterSize: [3, 3], strides: [2, 2], pad: "same" };
  await checkMaxPoolGrad(same, randomArray(size(same.shape), rng(403), (u) => -u), 404);
});

Deno.test("MaxPoolGrad sends ties to the first maximum in row-major window order", async () => {
  // Values from {0, 1, 2}: most windows hold ties; the stock kernel picked the last one.
  const cases: PoolCase[] = [
    { shape: [2, 8, 8, 3], filterSize: [2, 2], strides: [2, 2], pad: "valid" },
    { shape: [1, 7, 7, 5], filterSize: [3, 3], strides: [1, 1], pad: "same" },
    { shape: [2, 9, 8, 1], filterSize: [3, 2], strides: [2, 3], pad: "same" },
  ];
  let seed = 500;
  for (const c of cases) {
    await checkMaxPoolGrad(
      c,
      randomArray(size(c.shape), rng(seed++), (u) => Math.floor(u * 3)),
      seed++,
    );
  }
});

Deno.test("BatchMatMul agrees with cpu for every transpose combination and batch sizes 1 and 3", async () => {
  const next = rng(600);
  for (const batch of [1, 3]) {
    for (const transposeA of [false, true]) {
      for (const transposeB of [false, true]) {
        const [m, k, n] = [5, 7, 3];
        const aShape = [batch, ...(transposeA ? [k, m] : [m, k])];
        const bShape = [batch, ...(transposeB ? [n, k] : [k, n])];
        const a = { values: randomArray(size(aShape), next), shape: aShape };
        const b = { values: randomArray(size(bShape), next), shape: bShape };
        const attrs = { transposeA, transposeB };
        const want = await runKernelOn("cpu", "BatchMatMul", { a, b }, attrs);
        const got = await runKernelOn("wasm", "BatchMatMul", { a, b }, attrs);
        assert.deepEqual(got.shape, want.shape);
        assertCloseToCpu(
          got.values,
          want.values,
          `BatchMatMul ${JSON.stringify({ batch, ...attrs })}`,
        );
      }
    }
  }
  // The seed CNN's dense-layer gradients.
  const a = { values: randomArray(128 * 1600, next), shape: [128, 1600] };
  const b = { values: randomArray(128 * 64, next), shape: [128, 64] };
  const attrs = { transposeA: true, transposeB: false };
  const want = await runKernelOn("cpu", "BatchMatMul", { a, b }, attrs);
  const got = await runKernelOn("wasm", "BatchMatMul", { a, b }, attrs);
  assertCloseToCpu(got.values, want.values, "BatchMatMul a^T b [1600,128]x[128,64]");
});

Deno.test("Sum agrees with cpu over leading axes (fast path) and other axes (stock)", async () => {
  const next = rng(700);
  const x = { values: randomArray(4 * 5 * 6 * 7, next), shape: [4, 5, 6, 7] };
  const axes: (number | number[])[] = [[0, 1, 2], [0], [1, 0], [0, 1, 2, 3], [1, 3], -1, [2]];
  for (const axis of axes) {
    for (const keepDims of [false, true]) {
      const want = await runKernelOn("cpu", "Sum", { x }, { axis, keepDims });
      const got = await runKernelOn("wasm", "Sum", { x }, { axis, keepDims });
      assert.deepEqual(got.shape, want.shape, `Sum axis ${axis} keepDims ${keepDims}`);
      assertCloseToCpu(got.values, want.values, `Sum axis ${axis} keepDims ${keepDims}`);
    }
  }
});

Deno.test("GatherV2, Identity and Cast agree with cpu", async () => {
  const next = rng(800);
  const x = { values: randomArray(10 * 3 * 4, next), shape: [10, 3, 4] };
  const indices = { values: new Float32Array([9, 0, 3, 3, 7]), shape: [5] };
  for (
    const [axis, ids] of [[0, indices], [1, {
      values: new Float32Array([2, 0]),
      shape: [2],
    }]] as const
  ) {
    // Indices must be int32 tensors: build them by hand.
    const outs: Float32Array[] = [];
    for (const backend of ["cpu", "wasm"] as const) {
      assert.ok(await tf.setBackend(backend));
      const xt = tf.tensor(x.values, x.shape);
      const it = tf.tensor(ids.values, [...ids.shape], "int32");
      const out = tf.gather(xt, it, axis);
      outs.push(out.dataSync() as Float32Array);
      tf.dispose([xt, it, out]);
    }
    assertCloseToCpu(outs[1], outs[0], `GatherV2 axis ${axis}`);
  }
  assert.ok(await tf.setBackend("wasm"));
  const xt = tf.tensor(x.values, x.shape);
  assert.throws(() => tf.gather(xt, tf.tensor1d([10], "int32")), /not in \[0, 9\]/);
  const id = tf.engine().runKernel("Identity", { x: xt }) as tf.Tensor;
  const same = tf.cast(xt, "float32");
  const toInt = tf.cast(tf.mul(xt, 10), "int32");
  xt.dispose(); // the shared buffers must outlive the input tensor
  assertCloseToCpu(id.dataSync() as Float32Array, x.values, "Identity");
  assertCloseToCpu(same.dataSync() as Float32Array, x.values, "Cast float32 -> float32");
  assert.deepEqual(
    Array.from(toInt.dataSync()),
    Array.from(x.values, (v) => Math.trunc(Math.fround(v * 10)) + 0),
  );
  tf.dispose([id, same, toInt]);
});

Deno.test("Slice agrees with cpu on contiguous and strided cuts of ranks 1 to 5", async () => {
  const next = rng(900);
  const cases: [number[], number[], number[]][] = [
    [[10000 / 100, 7, 7, 1], [13, 0, 0, 0], [40, 7, 7, 1]], // a batch: one block copy
    [[4, 5, 6, 7], [1, 2, 3, 4], [2, 3, 2, 3]],
    [[4, 5, 6, 7], [0, 0, 0, 2], [-1, -1, -1, 5]],
    [[4, 5, 6], [2, 0, 0], [1, 5, 6]],
    [[9], [3], [4]],
    [[3, 4], [1, 1], [2, -1]],
    [[2, 3, 2, 3, 2], [1, 0, 1, 1, 0], [1, 3, 1, 2, 2]],
  ];
  for (const [shape, begin, sliceSize] of cases) {
    const x = { values: randomArray(size(shape), next), shape };
    const attrs = { begin, size: sliceSize };
    const want = await runKernelOn("cpu", "Slice", { x }, attrs);
    const got = await runKernelOn("wasm", "Slice", { x }, attrs);
    assert.deepEqual(got.shape, want.shape, `Slice ${JSON.stringify({ shape, ...attrs })}`);
    assertCloseToCpu(got.values, want.values, `Slice ${JSON.stringify({ shape, ...attrs })}`);
  }
});

Deno.test("the setup under test uses the threaded binary", () => {
  assert.equal(info.backend, "wasm");
  assert.equal(info.simd, true);
  assert.ok(info.threads >= 1);
});

// Stop the worker threads once every test of this file has run; the workers do not keep the
// process alive anyway (see lib/engine/backend.ts), this just releases them early.
globalThis.addEventListener("unload", () => shutdownWasmBackend());
