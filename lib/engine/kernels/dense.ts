/**
 * The non-convolution kernels of a training step in our own WebAssembly (`dense.wat`: relaxed
 * SIMD), run in place on a one-thread wasm backend's heap ({@linkcode heapModule}): matrix
 * products in every transpose combination without a Transpose ({@linkcode matMul}), sums over
 * leading axes for the bias gradients ({@linkcode sumLeadingAxes}) and the 2x2 stride-2 max-pool
 * gradient ({@linkcode maxPoolGrad2x2}). `kernels.ts` routes the `BatchMatMul`, `Sum` and
 * `MaxPoolGrad` kernels here on one-thread backends; threaded backends keep their paths.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { DENSE_WASM_BASE64 } from "./dense_wasm.ts";
import { heapModule, heapOffset } from "./heap_module.ts";

interface DenseExports {
  pack_b(src: number, dst: number, k: number, n: number, sk: number, sj: number): void;
  gemm(
    a: number,
    b: number,
    c: number,
    m: number,
    n: number,
    k: number,
    si: number,
    sk: number,
    sp: number,
    sr: number,
    tmp: number,
    acc: number,
  ): void;
  im2col(
    x: number,
    out: number,
    n: number,
    h: number,
    w: number,
    c: number,
    kh: number,
    kw: number,
    oh: number,
    ow: number,
    pt: number,
    pl: number,
  ): void;
  max_pool_2x2(
    y: number,
    x: number,
    batch: number,
    h: number,
    w: number,
    c: number,
    oh: number,
    ow: number,
  ): void;
  relu_grad(out: number, dy: number, x: number, n: number): void;
  channel_op(out: number, x: number, v: number, rows: number, cols: number, op: number): void;
  sum_rows(
    x: number,
    out: number,
    rows: number,
    cols: number,
    part: number,
    total: number,
    div: number,
  ): void;
  max_pool_grad_2x2(
    dx: number,
    x: number,
    y: number,
    dy: number,
    batch: number,
    h: number,
    w: number,
    c: number,
    oh: number,
    ow: number,
  ): void;
}

/** Rows of B per GEMM call: 256 rows of a packed panel are 8 KB. */
const K_BLOCK = 256;

function dense(backend: BackendWasm): DenseExports {
  return heapModule(DENSE_WASM_BASE64, backend) as unknown as DenseExports;
}

function size(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

/** Options of {@linkcode matMul}. */
export interface MatMulOptions {
  /** Multiply by the transpose of `a`'s last two axes. */
  transposeA?: boolean;
  /** Multiply by the transpose of `b`'s last two axes. */
  transposeB?: boolean;
}

/**
 * Whether {@linkcode matMul} takes these operands: float32, rank 2 or more, matching inner
 * dimensions, batch sizes equal or one of them 1, and nothing empty.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { matMulSupports } from "./dense.ts";
 * const f = (shape: number[]) => ({ shape, dtype: "float32" as const });
 * assert.ok(matMulSupports(f([2, 64, 1600]), f([1, 64, 64]), { transposeA: true }));
 * assert.ok(!matMulSupports(f([2, 3, 4]), f([3, 4, 5]), {}));
 * ```
 */
export function matMulSupports(
  a: Pick<tf.TensorInfo, "shape" | "dtype">,
  b: Pick<tf.TensorInfo, "shape" | "dtype">,
  options: MatMulOptions,
): boolean {
  if (a.dtype !== "float32" || b.dtype !== "float32") return false;
  if (a.shape.length < 2 || b.shape.length < 2) return false;
  const g = geometry(a.shape, b.shape, options);
  if (g.kA !== g.kB || g.m === 0 || g.n === 0 || g.kA === 0) return false;
  return g.batchA === g.batchB || g.batchA === 1 || g.batchB === 1;
}

function geometry(aShape: readonly number[], bShape: readonly number[], o: MatMulOptions) {
  const ra = aShape.length, rb = bShape.length;
  const m = o.transposeA ? aShape[ra - 1] : aShape[ra - 2];
  const kA = o.transposeA ? aShape[ra - 2] : aShape[ra - 1];
  const kB = o.transposeB ? bShape[rb - 1] : bShape[rb - 2];
  const n = o.transposeB ? bShape[rb - 2] : bShape[rb - 1];
  const outerA = aShape.slice(0, -2), outerB = bShape.slice(0, -2);
  return { m, n, kA, kB, batchA: size(outerA), batchB: size(outerB), outerA, outerB };
}

/**
 * `a . b` over the last two axes, batched over the leading ones (`BatchMatMul`'s semantics:
 * a batch of 1 broadcasts), with either operand transposed in place of a Transpose kernel:
 * B is packed into panels of 8 columns when it is transposed or its width is not a multiple
 * of 8, and tiles of 4x8 outputs are accumulated with relaxed-SIMD multiply-adds. The result is
 * a new float32 tensor on `backend`. Needs a one-thread backend and operands that
 * {@linkcode matMulSupports}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
 * import { setupWasmBackend, shutdownWasmBackend } from "../backend.ts";
 * import { matMul } from "./dense.ts";
 * await setupWasmBackend({ threads: 1 });
 * const backend = tf.backend() as BackendWasm;
 * const a = tf.tensor2d([[1, 2], [3, 4], [5, 6]]); // [3,2], used as a^T: [2,3]
 * const b = tf.tensor2d([[1, 0, 2]]); // [1,3], used as b^T: [3,1]
 * const info = matMul(backend, a, b, { transposeA: true, transposeB: true });
 * const c = tf.engine().makeTensorFromTensorInfo(info);
 * assert.deepEqual(c.shape, [2, 1]);
 * assert.deepEqual([...c.dataSync()], [11, 14]);
 * tf.dispose([a, b, c]);
 * shutdownWasmBackend();
 * ```
 */
export function matMul(
  backend: BackendWasm,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  options: MatMulOptions,
): tf.TensorInfo {
  if (!matMulSupports(a, b, options)) {
    throw new Error(
      `matMul() cannot multiply [${a.shape}] (${a.dtype}) by [${b.shape}] (${b.dtype}) with ` +
        `${JSON.stringify(options)}; check matMulSupports() first and use tf.matMul otherwise.`,
    );
  }
  const { m, n, kA: k, batchA, batchB, outerA, outerB } = geometry(a.shape, b.shape, options);
  const batch = Math.max(batchA, batchB);
  const outer = batchA >= batchB ? outerA : outerB;
  const out = backend.makeOutput([...outer, m, n], "float32");
  const direct = !options.transposeB && n % 8 === 0;
  const panels = Math.ceil(n / 8);
  const packedFloats = direct ? 0 : panels * 8 * k;
  const scratch = backend.makeOutput([8 + packedFloats], "float32");
  const aAt = heapOffset(backend, a), bAt = heapOffset(backend, b), cAt = heapOffset(backend, out);
  const tmp = heapOffset(backend, scratch), packed = tmp + 32;
  const wasm = dense(backend);
  const si = options.transposeA ? 4 : 4 * k, sk = options.transposeA ? 4 * m : 4;
  const aStep = batchA === 1 ? 0 : 4 * m * k, bStep = batchB === 1 ? 0 : 4 * k * n;
  let packedFrom = -1;
  for (let i = 0; i < batch; i++) {
    const aPtr = aAt + i * aStep, bPtr = bAt + i * bStep, cPtr = cAt + i * 4 * m * n;
    if (!direct && bPtr !== packedFrom) {
      if (options.transposeB) wasm.pack_b(bPtr, packed, k, n, 4, 4 * k);
      else wasm.pack_b(bPtr, packed, k, n, 4 * n, 4);
      packedFrom = bPtr;
    }
    const [b0, sp, sr] = direct ? [bPtr, 32, 4 * n] : [packed, 32 * k, 32];
    // Long sums (a filter gradient over every pixel of the batch) go in slices of K_BLOCK rows
    // of B, so each slice stays in cache while every tile of the output reads it.
    for (let k0 = 0; k0 < k; k0 += K_BLOCK) {
      const kc = Math.min(K_BLOCK, k - k0);
      wasm.gemm(aPtr + k0 * sk, b0 + k0 * sr, cPtr, m, n, kc, si, sk, sp, sr, tmp, k0 > 0 ? 1 : 0);
    }
  }
  backend.disposeData(scratch.dataId);
  return out;
}

/**
 * Whether {@linkcode im2col} takes this convolution: stride 1, no dilation, padding >= 0,
 * float32 NHWC input, at least one output pixel.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { im2colSupports } from "./dense.ts";
 * const info = (strides: number) =>
 *   tf.backend_util.computeConv2DInfo([64, 28, 28, 1], [3, 3, 1, 32], strides, 1, "valid");
 * assert.ok(im2colSupports(info(1)));
 * assert.ok(!im2colSupports(info(2)));
 * ```
 */
export function im2colSupports(info: tf.backend_util.Conv2DInfo): boolean {
  const p = info.padInfo;
  return info.strideHeight === 1 && info.strideWidth === 1 && info.dilationHeight === 1 &&
    info.dilationWidth === 1 && p.top >= 0 && p.left >= 0 && info.dataFormat === "channelsLast" &&
    info.batchSize > 0 && info.outHeight > 0 && info.outWidth > 0 && info.inChannels > 0;
}

/**
 * The patches of the convolution `info` over `x` ([N,H,W,C] float32) as a new tensor
 * [N*OH*OW, KH*KW*C]: row (n, oh, ow) holds the input cells under the filter at that output
 * pixel, zeros where the filter hangs over the padding. A filter gradient is then one matrix
 * product, patches^T . dy. Needs a one-thread backend and a convolution that
 * {@linkcode im2colSupports}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
 * import { setupWasmBackend, shutdownWasmBackend } from "../backend.ts";
 * import { im2col } from "./dense.ts";
 * await setupWasmBackend({ threads: 1 });
 * const backend = tf.backend() as BackendWasm;
 * const x = tf.tensor4d([1, 2, 3, 4, 5, 6], [1, 2, 3, 1]);
 * const info = tf.backend_util.computeConv2DInfo([1, 2, 3, 1], [2, 2, 1, 1], 1, 1, "valid");
 * const p = tf.engine().makeTensorFromTensorInfo(im2col(backend, x, info));
 * assert.deepEqual(p.arraySync(), [[1, 2, 4, 5], [2, 3, 5, 6]]);
 * tf.dispose([x, p]);
 * shutdownWasmBackend();
 * ```
 */
export function im2col(
  backend: BackendWasm,
  x: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c } = info;
  if (
    !im2colSupports(info) || x.dtype !== "float32" || x.shape.join() !== [n, h, w, c].join()
  ) {
    throw new Error(
      `im2col() takes float32 x [${[n, h, w, c]}] and a stride-1 undilated convolution with ` +
        `padding >= 0; got x [${x.shape}] (${x.dtype}). Check im2colSupports() first.`,
    );
  }
  const { filterHeight: kh, filterWidth: kw, outHeight: oh, outWidth: ow } = info;
  const out = backend.makeOutput([n * oh * ow, kh * kw * c], "float32");
  dense(backend).im2col(
    heapOffset(backend, x),
    heapOffset(backend, out),
    n,
    h,
    w,
    c,
    kh,
    kw,
    oh,
    ow,
    info.padInfo.top,
    info.padInfo.left,
  );
  return out;
}

/**
 * Whether {@linkcode sumLeadingAxes} takes `x` summed over its first `axes` axes: float32, a
 * trailing size that is a multiple of 4, nothing empty.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sumLeadingAxesSupports } from "./dense.ts";
 * assert.ok(sumLeadingAxesSupports({ shape: [64, 26, 26, 32], dtype: "float32" }, 3));
 * assert.ok(!sumLeadingAxesSupports({ shape: [64, 10], dtype: "float32" }, 1));
 * ```
 */
export function sumLeadingAxesSupports(
  x: Pick<tf.TensorInfo, "shape" | "dtype">,
  axes: number,
): boolean {
  if (x.dtype !== "float32" || axes < 1 || axes >= x.shape.length) return false;
  const rows = size(x.shape.slice(0, axes)), cols = size(x.shape.slice(axes));
  return rows > 0 && cols > 0 && cols % 4 === 0;
}

/** Options of {@linkcode sumLeadingAxes}. */
export interface SumLeadingAxesOptions {
  /** Divide the sums by the number of values summed: a mean (Batch Normalization's moments). */
  mean?: boolean;
}

/**
 * The sum of `x` over its first `axes` axes (a bias gradient: [N,H,W,C] over 3 axes gives [C]),
 * or with `mean` their mean, as a new float32 tensor of shape `outShape` on `backend`: one SIMD
 * pass over `x`, blocks of 64 rows summed in float32 and the blocks in float64. Needs a
 * one-thread backend and a shape that {@linkcode sumLeadingAxesSupports}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
 * import { setupWasmBackend, shutdownWasmBackend } from "../backend.ts";
 * import { sumLeadingAxes } from "./dense.ts";
 * await setupWasmBackend({ threads: 1 });
 * const backend = tf.backend() as BackendWasm;
 * const x = tf.tensor3d([[[1, 2, 3, 4]], [[10, 20, 30, 40]]]); // [2,1,4]
 * const s = tf.engine().makeTensorFromTensorInfo(sumLeadingAxes(backend, x, 2, [4]));
 * assert.deepEqual([...s.dataSync()], [11, 22, 33, 44]);
 * const m = tf.engine().makeTensorFromTensorInfo(sumLeadingAxes(backend, x, 2, [4], { mean: true }));
 * assert.deepEqual([...m.dataSync()], [5.5, 11, 16.5, 22]);
 * tf.dispose([x, s, m]);
 * shutdownWasmBackend();
 * ```
 */
export function sumLeadingAxes(
  backend: BackendWasm,
  x: tf.TensorInfo,
  axes: number,
  outShape: readonly number[],
  options: SumLeadingAxesOptions = {},
): tf.TensorInfo {
  if (!sumLeadingAxesSupports(x, axes)) {
    throw new Error(
      `sumLeadingAxes() cannot sum [${x.shape}] (${x.dtype}) over its first ${axes} axes; ` +
        "check sumLeadingAxesSupports() first and use tf.sum otherwise.",
    );
  }
  const rows = size(x.shape.slice(0, axes)), cols = size(x.shape.slice(axes));
  if (size(outShape) !== cols) {
    throw new Error(`sumLeadingAxes(): the output shape [${outShape}] must hold ${cols} values.`);
  }
  const out = backend.makeOutput([...outShape], "float32");
  const scratch = backend.makeOutput([3 * cols], "float32"); // cols floats, then cols doubles
  const part = heapOffset(backend, scratch);
  dense(backend).sum_rows(
    heapOffset(backend, x),
    heapOffset(backend, out),
    rows,
    cols,
    part,
    part + 4 * cols,
    options.mean ? rows : 1,
  );
  backend.disposeData(scratch.dataId);
  return out;
}

/** The geometry of a 2x2, stride-2, unpadded NHWC max pool. */
export interface MaxPool2x2Shape {
  batch: number;
  inHeight: number;
  inWidth: number;
  channels: number;
}

/**
 * Whether {@linkcode maxPoolGrad2x2} takes this pool: at least one window, channels a
 * multiple of 4.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maxPoolGrad2x2Supports } from "./dense.ts";
 * assert.ok(maxPoolGrad2x2Supports({ batch: 64, inHeight: 11, inWidth: 11, channels: 64 }));
 * assert.ok(!maxPoolGrad2x2Supports({ batch: 64, inHeight: 11, inWidth: 11, channels: 3 }));
 * ```
 */
export function maxPoolGrad2x2Supports(s: MaxPool2x2Shape): boolean {
  return s.batch > 0 && s.inHeight >= 2 && s.inWidth >= 2 && s.channels > 0 &&
    s.channels % 4 === 0;
}

/**
 * The input gradient of a 2x2, stride-2, unpadded max pool (NHWC float32), with the `cpu`
 * backend's semantics: each window's `dy` goes to its FIRST cell equal to the window's max `y`
 * in row-major window order; windows whose max is -Infinity (or NaN) give none; a last row or
 * column no window covers gets zeros. Returns a new tensor shaped like `x` on `backend`; needs
 * a one-thread backend and a pool that {@linkcode maxPoolGrad2x2Supports}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
 * import { setupWasmBackend, shutdownWasmBackend } from "../backend.ts";
 * import { maxPoolGrad2x2 } from "./dense.ts";
 * await setupWasmBackend({ threads: 1 });
 * const backend = tf.backend() as BackendWasm;
 * // One window per channel; channel 0 ties at its first two cells, channel 1 is all -1.
 * const x = tf.tensor4d([5, -1, 5, -1, 2, -1, 1, -1, 0, 0, 0, 0, 0, 0, 0, 0], [1, 2, 2, 4]);
 * const y = tf.tensor4d([5, -1, 0, 0], [1, 1, 1, 4]);
 * const dy = tf.tensor4d([7, 3, 0, 0], [1, 1, 1, 4]);
 * const dx = tf.engine().makeTensorFromTensorInfo(maxPoolGrad2x2(backend, dy, x, y));
 * assert.deepEqual([...dx.dataSync()].slice(0, 8), [7, 3, 0, 0, 0, 0, 0, 0]);
 * tf.dispose([x, y, dy, dx]);
 * shutdownWasmBackend();
 * ```
 */
export function maxPoolGrad2x2(
  backend: BackendWasm,
  dy: tf.TensorInfo,
  x: tf.TensorInfo,
  y: tf.TensorInfo,
): tf.TensorInfo {
  const [batch, inHeight, inWidth, channels] = x.shape;
  const oh = Math.floor(inHeight / 2), ow = Math.floor(inWidth / 2);
  const shape = { batch, inHeight, inWidth, channels };
  const want = [batch, oh, ow, channels];
  if (
    x.shape.length !== 4 || !maxPoolGrad2x2Supports(shape) ||
    [y, dy].some((t) => t.shape.join() !== want.join() || t.dtype !== "float32") ||
    x.dtype !== "float32"
  ) {
    throw new Error(
      `maxPoolGrad2x2() needs float32 x [n,h,w,c] with c a multiple of 4 and y, dy of shape ` +
        `[${want}]; got x [${x.shape}], y [${y.shape}], dy [${dy.shape}].`,
    );
  }
  const out = backend.makeOutput(x.shape, "float32");
  dense(backend).max_pool_grad_2x2(
    heapOffset(backend, out),
    heapOffset(backend, x),
    heapOffset(backend, y),
    heapOffset(backend, dy),
    batch,
    inHeight,
    inWidth,
    channels,
    oh,
    ow,
  );
  return out;
}

/**
 * A 2x2, stride-2, unpadded max pool of `x` (NHWC float32) as the `cpu` backend computes it:
 * each window's max in row-major order from -Infinity, a cell replacing it only when greater
 * (NaN cells are skipped, the first of equal cells is kept). Returns a new tensor
 * [N, floor(H/2), floor(W/2), C] on `backend`; needs a one-thread backend and a pool that
 * {@linkcode maxPoolGrad2x2Supports}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
 * import { setupWasmBackend, shutdownWasmBackend } from "../backend.ts";
 * import { maxPool2x2 } from "./dense.ts";
 * await setupWasmBackend({ threads: 1 });
 * const backend = tf.backend() as BackendWasm;
 * const x = tf.tensor4d([1, -5, 0, NaN, 2, -3, 0, NaN, 3, -4, 0, NaN, 0, -2, 0, NaN], [1, 2, 2, 4]);
 * const y = tf.engine().makeTensorFromTensorInfo(maxPool2x2(backend, x));
 * assert.deepEqual([...y.dataSync()], [3, -2, 0, -Infinity]);
 * tf.dispose([x, y]);
 * shutdownWasmBackend();
 * ```
 */
export function maxPool2x2(backend: BackendWasm, x: tf.TensorInfo): tf.TensorInfo {
  const [batch, inHeight, inWidth, channels] = x.shape;
  if (
    x.shape.length !== 4 || x.dtype !== "float32" ||
    !maxPoolGrad2x2Supports({ batch, inHeight, inWidth, channels })
  ) {
    throw new Error(
      `maxPool2x2() needs float32 x [n,h,w,c] with h, w >= 2 and c a multiple of 4; got ` +
        `[${x.shape}] (${x.dtype}).`,
    );
  }
  const oh = Math.floor(inHeight / 2), ow = Math.floor(inWidth / 2);
  const out = backend.makeOutput([batch, oh, ow, channels], "float32");
  dense(backend).max_pool_2x2(
    heapOffset(backend, out),
    heapOffset(backend, x),
    batch,
    inHeight,
    inWidth,
    channels,
    oh,
    ow,
  );
  return out;
}

/**
 * The ReLU gradient `dy * step(x)` (step: 1 where x > 0, 0 elsewhere, NaN where x is NaN),
 * exactly as tfjs computes it, in one pass: a new float32 tensor shaped like `x` on `backend`.
 * Needs a one-thread backend and float32 `dy` and `x` of one shape.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
 * import { setupWasmBackend, shutdownWasmBackend } from "../backend.ts";
 * import { reluGrad } from "./dense.ts";
 * await setupWasmBackend({ threads: 1 });
 * const backend = tf.backend() as BackendWasm;
 * const x = tf.tensor1d([2, -1, 0, 5, NaN]);
 * const dy = tf.tensor1d([10, 20, 30, 40, 50]);
 * const g = tf.engine().makeTensorFromTensorInfo(reluGrad(backend, dy, x));
 * assert.deepEqual([...g.dataSync()], [10, 0, 0, 40, NaN]);
 * tf.dispose([x, dy, g]);
 * shutdownWasmBackend();
 * ```
 */
export function reluGrad(backend: BackendWasm, dy: tf.TensorInfo, x: tf.TensorInfo): tf.TensorInfo {
  if (x.dtype !== "float32" || dy.dtype !== "float32" || x.shape.join() !== dy.shape.join()) {
    throw new Error(
      `reluGrad() needs float32 dy and x of one shape; got dy [${dy.shape}] (${dy.dtype}) ` +
        `and x [${x.shape}] (${x.dtype}).`,
    );
  }
  const out = backend.makeOutput(x.shape, "float32");
  dense(backend).relu_grad(
    heapOffset(backend, out),
    heapOffset(backend, dy),
    heapOffset(backend, x),
    size(x.shape),
  );
  return out;
}

/** What {@linkcode channelwise} computes: x + v, x * v, x - v or v - x. */
export type ChannelOp = "add" | "multiply" | "subtract" | "subtractFrom";

const CHANNEL_OPS: Record<ChannelOp, number> = {
  add: 0,
  multiply: 1,
  subtract: 2,
  subtractFrom: 3,
};

/**
 * Whether {@linkcode channelwise} takes `x` and the per-channel `v`: float32, `x` of rank 2 or
 * more, `v` of shape [C] or [1, ..., 1, C] (no longer than `x`'s) with C `x`'s last axis, a
 * multiple of 4.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { channelwiseSupports } from "./dense.ts";
 * const f = (shape: number[]) => ({ shape, dtype: "float32" as const });
 * assert.ok(channelwiseSupports(f([64, 26, 26, 32]), f([32])));
 * assert.ok(channelwiseSupports(f([64, 11, 11, 64]), f([1, 1, 1, 64])));
 * assert.ok(!channelwiseSupports(f([64, 10]), f([10])));
 * assert.ok(!channelwiseSupports(f([64]), f([64])));
 * ```
 */
export function channelwiseSupports(
  x: Pick<tf.TensorInfo, "shape" | "dtype">,
  v: Pick<tf.TensorInfo, "shape" | "dtype">,
): boolean {
  const rx = x.shape.length, rv = v.shape.length;
  const c = x.shape[rx - 1];
  return x.dtype === "float32" && v.dtype === "float32" && rx >= 2 && rv >= 1 && rv <= rx &&
    v.shape[rv - 1] === c && v.shape.slice(0, -1).every((d) => d === 1) && c % 4 === 0 &&
    size(x.shape) > 0;
}

/**
 * `x` combined with a per-channel vector `v` along its last axis, as broadcasting would:
 * `x + v` (a bias), `x * v` (a scale), `x - v` or `v - x`, as a new float32 tensor shaped like
 * `x` on `backend`. Needs a one-thread backend and operands that {@linkcode channelwiseSupports}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
 * import { setupWasmBackend, shutdownWasmBackend } from "../backend.ts";
 * import { channelwise } from "./dense.ts";
 * await setupWasmBackend({ threads: 1 });
 * const backend = tf.backend() as BackendWasm;
 * const x = tf.tensor2d([[1, 2, 3, 4], [5, 6, 7, 8]]);
 * const b = tf.tensor1d([10, 20, 30, 40]);
 * const y = tf.engine().makeTensorFromTensorInfo(channelwise(backend, "add", x, b));
 * assert.deepEqual([...y.dataSync()], [11, 22, 33, 44, 15, 26, 37, 48]);
 * const z = tf.engine().makeTensorFromTensorInfo(channelwise(backend, "subtractFrom", x, b));
 * assert.deepEqual([...z.dataSync()], [9, 18, 27, 36, 5, 14, 23, 32]);
 * tf.dispose([x, b, y, z]);
 * shutdownWasmBackend();
 * ```
 */
export function channelwise(
  backend: BackendWasm,
  op: ChannelOp,
  x: tf.TensorInfo,
  v: tf.TensorInfo,
): tf.TensorInfo {
  if (!channelwiseSupports(x, v) || !(op in CHANNEL_OPS)) {
    throw new Error(
      `channelwise() cannot ${op} [${v.shape}] (${v.dtype}) along the last axis of ` +
        `[${x.shape}] (${x.dtype}); check channelwiseSupports() first and use tfjs' ops otherwise.`,
    );
  }
  const cols = x.shape[x.shape.length - 1];
  const out = backend.makeOutput(x.shape, "float32");
  dense(backend).channel_op(
    heapOffset(backend, out),
    heapOffset(backend, x),
    heapOffset(backend, v),
    size(x.shape) / cols,
    cols,
    CHANNEL_OPS[op],
  );
  return out;
}
