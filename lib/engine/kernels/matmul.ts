/**
 * Matrix products in our own WebAssembly (`matmul.wat`: relaxed SIMD), run in place on a
 * one-thread wasm backend's heap ({@linkcode heapModule}): products in every transpose combination
 * without a Transpose ({@linkcode matMul}), and the im2col patches of a stride-1 convolution
 * ({@linkcode im2col}), which make its filter gradient one product. `kernels.ts` routes
 * `BatchMatMul` here on one-thread backends, `fallbacks.ts` its small-patch filter gradients.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { MATMUL_WASM_BASE64 } from "./matmul_wasm.ts";
import { heapModule, heapOffset } from "./heap_module.ts";

/** The functions `matmul.wat` exports. */
interface MatmulExports {
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
}

function matmulModule(backend: BackendWasm): MatmulExports {
  return heapModule(MATMUL_WASM_BASE64, backend) as unknown as MatmulExports;
}

function size(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

/** Rows of B per GEMM call: 256 rows of a packed panel are 8 KB. */
const K_BLOCK = 256;

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
 * import { matMulSupports } from "./matmul.ts";
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
 * import { matMul } from "./matmul.ts";
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
  const wasm = matmulModule(backend);
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
 * import { im2colSupports } from "./matmul.ts";
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
 * import { im2col } from "./matmul.ts";
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
  matmulModule(backend).im2col(
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
