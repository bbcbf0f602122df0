/**
 * 3x3 stride-1 convolutions by Winograd's F(2x2, 3x3) in our own WebAssembly (`winograd.wat`,
 * relaxed SIMD), run on the tfjs wasm backend's heap (`heap_module.ts`): no copies in or out.
 * One thread only; `kernels.ts` uses it for `Conv2D`, `FusedConv2D` (bias and ReLU applied in
 * the output transform), `Conv2DBackpropInput` (the same convolution of dy with the filter
 * rotated by 180 degrees and its channels swapped, {@linkcode WinogradOptions.rotated}) and
 * `Conv2DBackpropFilter` ({@linkcode winogradFilterGradient}).
 *
 * Every 2x2 block of outputs is computed from a 4x4 input patch with 16 multiplications per
 * channel pair instead of 36. Per call:
 * - the filter transform G g G^T, in JavaScript, into 16 matrices [c, co] packed for the
 *   microkernel (a few thousand values: cheap next to the rest);
 * - then, for blocks of {@linkcode WINOGRAD_TILE_BLOCK} tiles at a time (so the block's
 *   transformed input and products stay in the core's cache): the input transform B^T d B with
 *   four channels per SIMD lane group (zero padding is read from a zero row, never copied), 16
 *   matrix products with a 6-tile x 8-channel relaxed-madd microkernel, and the output transform
 *   A^T m A, which writes only the outputs inside the image (11x11 is odd) and adds bias/ReLU.
 *
 * The filter gradient reuses the input transform, transforms dy's 2x2 blocks by A dY A^T, sums
 * their products over the tiles in 16 matrix products [c, tiles] x [tiles, co] (4 x 8
 * microkernel), and turns the result back by G^T dU G in JavaScript.
 *
 * For the tutorial's second layer at batch 128, one thread (CPU ms per call, `deno task
 * bench-conv`, measured with other jobs running): forward 7.3 against XNNPACK's 19, input
 * gradient 9.5 against our direct kernel's 25, filter gradient 9.6 against its 16.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { heapModule, heapOffset } from "./heap_module.ts";
import { WINOGRAD_WASM_BASE64 } from "./winograd_wasm.ts";

/** Tiles (2x2 output blocks) per block of the kernel's pipeline; a multiple of 6. */
export const WINOGRAD_TILE_BLOCK = 36;

/** How {@linkcode winogradConv2D} lays the convolution out. */
export interface WinogradOptions {
  /** Zero rows above the input (the rows below follow from `outHeight`). */
  padTop: number;
  /** Zero columns left of the input. */
  padLeft: number;
  /** Output height. */
  outHeight: number;
  /** Output width. */
  outWidth: number;
  /** A float32 [co] bias added to every output. */
  bias?: tf.TensorInfo;
  /** Apply max(0, .) after the bias. */
  relu?: boolean;
  /**
   * Then the 2x2 stride-2 "valid" max pool (prediction's conv + pool in one pass): the output is
   * [n, outHeight / 2, outWidth / 2, co], rounded down, bit for bit the pool of the convolution.
   */
  maxPool?: boolean;
  /**
   * Use the filter [3, 3, ci, co] rotated by 180 degrees with its channels swapped, as a filter
   * [3, 3, co, ci]: the input gradient of a convolution by that filter, applied to its dy.
   */
  rotated?: boolean;
}

/**
 * The layout both Winograd kernels take after their pointers: batch, input height and width,
 * input and output channels, output height and width, padding above and left, tiles per block.
 */
type WinogradGeometry = [
  n: number,
  h: number,
  w: number,
  c: number,
  co: number,
  oh: number,
  ow: number,
  padTop: number,
  padLeft: number,
  tb: number,
];

type WinogradConv = (
  x: number,
  u: number,
  out: number,
  bias: number,
  zero: number,
  v: number,
  m: number,
  ...geometryAndFlags: [...WinogradGeometry, flags: number]
) => void;

/**
 * Whether {@linkcode winogradConv2D} takes a convolution with `inChannels` input and
 * `outChannels` output channels (multiples of 4 and 8).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { winogradSupports } from "./winograd.ts";
 * assert.ok(winogradSupports(32, 64));
 * assert.ok(!winogradSupports(1, 32)); // the first layer stays on XNNPACK
 * ```
 */
export function winogradSupports(inChannels: number, outChannels: number): boolean {
  return inChannels > 0 && inChannels % 4 === 0 && outChannels > 0 && outChannels % 8 === 0;
}

/**
 * G g G^T for every (input, output) channel pair of a 3x3 filter, written into `u` as 16
 * matrices [co/8][c][8] (the layout the microkernel reads).
 */
function transformFilter(
  f: Float32Array,
  [fc, fco]: readonly number[],
  rotated: boolean,
  u: Float32Array,
): void {
  const c = rotated ? fco : fc, co = rotated ? fc : fco;
  const g = new Float64Array(9), q = new Float64Array(12);
  const plane = c * co;
  for (let i = 0; i < c; i++) {
    for (let o = 0; o < co; o++) {
      for (let r = 0; r < 3; r++) {
        for (let s = 0; s < 3; s++) {
          g[r * 3 + s] = rotated
            ? f[((2 - r) * 3 + (2 - s)) * plane + o * fco + i]
            : f[(r * 3 + s) * plane + i * co + o];
        }
      }
      // q = G g (4x3), G = [[1,0,0], [1/2,1/2,1/2], [1/2,-1/2,1/2], [0,0,1]]
      for (let s = 0; s < 3; s++) {
        const g0 = g[s], g1 = g[3 + s], g2 = g[6 + s];
        q[s] = g0;
        q[3 + s] = (g0 + g1 + g2) / 2;
        q[6 + s] = (g0 - g1 + g2) / 2;
        q[9 + s] = g2;
      }
      const at = (o >> 3) * c * 8 + i * 8 + (o & 7);
      for (let r = 0; r < 4; r++) {
        const q0 = q[3 * r], q1 = q[3 * r + 1], q2 = q[3 * r + 2];
        const k = 4 * r * plane + at;
        u[k] = q0;
        u[k + plane] = (q0 + q1 + q2) / 2;
        u[k + 2 * plane] = (q0 - q1 + q2) / 2;
        u[k + 3 * plane] = q2;
      }
    }
  }
}

/**
 * A stride-1 convolution of x [n, h, w, c] by the 3x3 filter [3, 3, c, co] (or, `rotated`, the
 * filter [3, 3, co, c] turned around), with x shifted by `padTop`/`padLeft` and zeros outside
 * it, into a new backend tensor [n, outHeight, outWidth, co]. One-thread wasm backend only
 * (see `heapKernelsAvailable`); channel counts as {@linkcode winogradSupports} says.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
 * import { setupWasmBackend, shutdownWasmBackend } from "../backend.ts";
 * import { winogradConv2D } from "./winograd.ts";
 * await setupWasmBackend({ threads: 1 });
 * const backend = tf.backend() as BackendWasm;
 * const x = tf.ones([1, 3, 3, 4]);
 * const filter = tf.ones([3, 3, 4, 8]);
 * // "same" padding: the centre sees 9 pixels x 4 channels, a corner 4 x 4.
 * const info = winogradConv2D(backend, x, filter, {
 *   padTop: 1, padLeft: 1, outHeight: 3, outWidth: 3,
 * });
 * const out = tf.engine().makeTensorFromTensorInfo(info);
 * const values = out.dataSync();
 * assert.equal(values[4 * 8], 36);
 * assert.equal(values[0], 16);
 * tf.dispose([x, filter, out]);
 * shutdownWasmBackend();
 * ```
 */
export function winogradConv2D(
  backend: BackendWasm,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  options: WinogradOptions,
): tf.TensorInfo {
  const { padTop, padLeft, outHeight: oh, outWidth: ow, bias, relu = false } = options;
  const { rotated = false, maxPool = false } = options;
  const [n, h, w, c] = x.shape;
  const [, , fc, fco] = filter.shape;
  const co = rotated ? fc : fco;
  checkConvolution(x, filter, options);
  const tb = WINOGRAD_TILE_BLOCK;
  const uSize = 16 * c * co, vSize = 16 * (tb * c + 16), mSize = 16 * (tb * co + 16);
  const outShape = maxPool ? [n, oh >> 1, ow >> 1, co] : [n, oh, ow, co];
  return withScratch(backend, outShape, uSize + c + vSize + mSize, (out, scratch) => {
    const s = backend.typedArrayFromHeap(scratch) as Float32Array;
    transformFilter(backend.typedArrayFromHeap(filter) as Float32Array, [fc, fco], rotated, s);
    s.fill(0, uSize, uSize + c);
    const at = heapOffset(backend, scratch);
    const conv = heapModule(WINOGRAD_WASM_BASE64, backend).winograd_conv as WinogradConv;
    conv(
      heapOffset(backend, x),
      at,
      heapOffset(backend, out),
      bias === undefined ? 0 : heapOffset(backend, bias),
      at + 4 * uSize,
      at + 4 * (uSize + c),
      at + 4 * (uSize + c + vSize),
      ...[n, h, w, c, co, oh, ow, padTop, padLeft, tb] satisfies WinogradGeometry,
      (bias === undefined ? 0 : 1) | (relu ? 2 : 0) | (maxPool ? 4 : 0),
    );
  });
}

/** Throws, saying what is wrong, unless {@linkcode winogradConv2D} takes these arguments. */
function checkConvolution(x: tf.TensorInfo, filter: tf.TensorInfo, options: WinogradOptions): void {
  const { padTop, padLeft, outHeight: oh, outWidth: ow, bias } = options;
  const rotated = options.rotated ?? false;
  const c = x.shape[3];
  const [kh, kw, fc, fco] = filter.shape;
  const co = rotated ? fc : fco;
  if (kh !== 3 || kw !== 3 || (rotated ? fco : fc) !== c || !winogradSupports(c, co)) {
    throw new RangeError(
      `winogradConv2D needs a 3x3 filter whose input channels match x [${x.shape}] (a multiple ` +
        `of 4) and whose output channels are a multiple of 8; got [${filter.shape}]` +
        (rotated ? " (rotated)." : "."),
    );
  }
  if (x.dtype !== "float32" || filter.dtype !== "float32") {
    throw new TypeError("winogradConv2D takes float32 tensors; cast the input and filter.");
  }
  if (
    bias !== undefined && (bias.dtype !== "float32" || bias.shape.reduce((a, b) => a * b) !== co)
  ) {
    throw new RangeError(`The bias must hold ${co} float32 values, got [${bias.shape}].`);
  }
  if (![padTop, padLeft, oh, ow].every(Number.isInteger) || oh < 1 || ow < 1) {
    throw new RangeError(
      `winogradConv2D needs integer padding and a positive output size, got ` +
        `padTop ${padTop}, padLeft ${padLeft}, output ${oh}x${ow}.`,
    );
  }
}

/**
 * Makes the output tensor and a float32 scratch tensor of `scratchSize` values, runs `fill` on
 * them, and frees the scratch (and the output too when `fill` throws). `fill` takes its heap views
 * itself: growing the heap to make these tensors detaches older views.
 */
function withScratch(
  backend: BackendWasm,
  outShape: number[],
  scratchSize: number,
  fill: (out: tf.TensorInfo, scratch: tf.TensorInfo) => void,
): tf.TensorInfo {
  const out = backend.makeOutput(outShape, "float32");
  const scratch = backend.makeOutput([scratchSize], "float32");
  try {
    fill(out, scratch);
  } catch (e) {
    backend.disposeData(out.dataId);
    throw e;
  } finally {
    backend.disposeData(scratch.dataId);
  }
  return out;
}

/** Tiles per block of the filter gradient (its sums run over the tiles: longer is better). */
export const WINOGRAD_GRADIENT_TILE_BLOCK = 72;

/** How {@linkcode winogradFilterGradient} lays the convolution out. */
export interface WinogradGradientOptions {
  /** Zero rows above the input. */
  padTop: number;
  /** Zero columns left of the input. */
  padLeft: number;
}

type WinogradFilterGrad = (
  x: number,
  dy: number,
  du: number,
  zero: number,
  v: number,
  w: number,
  ...geometry: WinogradGeometry
) => void;

/**
 * The filter gradient [3, 3, c, co] of the stride-1 convolution of x [n, h, w, c] (shifted by
 * `padTop`/`padLeft`, zeros outside it) that gave dy [n, oh, ow, co], by the same F(2x2, 3x3)
 * transforms: per tile, the input's B^T d B and dy's A dY A^T, their products summed over all
 * tiles in 16 matrix products [c, tiles] x [tiles, co], then G^T dU G. One-thread wasm backend
 * only; channel counts as {@linkcode winogradSupports} says.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
 * import { setupWasmBackend, shutdownWasmBackend } from "../backend.ts";
 * import { winogradFilterGradient } from "./winograd.ts";
 * await setupWasmBackend({ threads: 1 });
 * const backend = tf.backend() as BackendWasm;
 * // A 3x3 image of ones, "valid": one output pixel; dW[r,s,i,o] = x[r,s,i] * dy[o] = 2.
 * const x = tf.ones([1, 3, 3, 4]);
 * const dy = tf.fill([1, 1, 1, 8], 2);
 * const info = winogradFilterGradient(backend, x, dy, { padTop: 0, padLeft: 0 });
 * const dw = tf.engine().makeTensorFromTensorInfo(info);
 * assert.deepEqual(dw.shape, [3, 3, 4, 8]);
 * assert.ok(dw.dataSync().every((v) => Math.abs(v - 2) < 1e-6));
 * tf.dispose([x, dy, dw]);
 * shutdownWasmBackend();
 * ```
 */
export function winogradFilterGradient(
  backend: BackendWasm,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  options: WinogradGradientOptions,
): tf.TensorInfo {
  const { padTop, padLeft } = options;
  const [n, h, w, c] = x.shape;
  const [dn, oh, ow, co] = dy.shape;
  if (x.shape.length !== 4 || dy.shape.length !== 4 || dn !== n || !winogradSupports(c, co)) {
    throw new RangeError(
      `winogradFilterGradient needs x [n, h, w, c] and dy [n, oh, ow, co] with c a multiple of ` +
        `4 and co of 8; got x [${x.shape}] and dy [${dy.shape}].`,
    );
  }
  if (x.dtype !== "float32" || dy.dtype !== "float32") {
    throw new TypeError("winogradFilterGradient takes float32 tensors; cast x and dy.");
  }
  if (![padTop, padLeft].every(Number.isInteger)) {
    throw new RangeError(`The padding must be whole numbers, got ${padTop} and ${padLeft}.`);
  }
  const tb = WINOGRAD_GRADIENT_TILE_BLOCK;
  const duSize = 16 * c * co, zSize = Math.max(c, co);
  const vSize = 16 * (tb * c + 16), wSize = 16 * (tb * co + 16);
  return withScratch(backend, [3, 3, c, co], duSize + zSize + vSize + wSize, (out, scratch) => {
    (backend.typedArrayFromHeap(scratch) as Float32Array).fill(0, duSize, duSize + zSize);
    const at = heapOffset(backend, scratch);
    const grad = heapModule(WINOGRAD_WASM_BASE64, backend)
      .winograd_filter_grad as WinogradFilterGrad;
    grad(
      heapOffset(backend, x),
      heapOffset(backend, dy),
      at,
      at + 4 * duSize,
      at + 4 * (duSize + zSize),
      at + 4 * (duSize + zSize + vSize),
      ...[n, h, w, c, co, oh, ow, padTop, padLeft, tb] satisfies WinogradGeometry,
    );
    // Views are taken again after the kernel: instantiating it may have grown the heap.
    const s = backend.typedArrayFromHeap(scratch) as Float32Array;
    untransformGradient(s, c * co, backend.typedArrayFromHeap(out) as Float32Array);
  });
}

/**
 * dW = G^T dU G for each of the `plane` channel pairs: du holds 16 planes (k = 4a + b), dw gets
 * 9 (3r + s). G = [[1,0,0], [1/2,1/2,1/2], [1/2,-1/2,1/2], [0,0,1]].
 */
function untransformGradient(du: Float32Array, plane: number, dw: Float32Array): void {
  const q = new Float64Array(12); // q[a'][b] = (G^T dU)[a'][b], a' = 0..2
  for (let e = 0; e < plane; e++) {
    for (let b = 0; b < 4; b++) {
      const d0 = du[b * plane + e], d1 = du[(4 + b) * plane + e];
      const d2 = du[(8 + b) * plane + e], d3 = du[(12 + b) * plane + e];
      q[b] = d0 + (d1 + d2) / 2;
      q[4 + b] = (d1 - d2) / 2;
      q[8 + b] = (d1 + d2) / 2 + d3;
    }
    for (let r = 0; r < 3; r++) {
      const q0 = q[4 * r], q1 = q[4 * r + 1], q2 = q[4 * r + 2], q3 = q[4 * r + 3];
      dw[(3 * r) * plane + e] = q0 + (q1 + q2) / 2;
      dw[(3 * r + 1) * plane + e] = (q1 - q2) / 2;
      dw[(3 * r + 2) * plane + e] = (q1 + q2) / 2 + q3;
    }
  }
}
