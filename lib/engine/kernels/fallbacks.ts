/**
 * The algorithms our kernels fall back to for the shapes and backends our WebAssembly does not
 * take, in TypeScript over stock XNNPACK kernels or plain loops on the heap: filter gradients by
 * im2col and one GEMM or by a convolution of the transposed operands, input gradients by a
 * convolution of the zero-inserted gradient, the first-max `MaxPoolGrad`, and block copies for
 * `GatherV2` and `Slice`. `kernels.ts` decides when each runs.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { im2col, im2colSupports, matMul } from "./matmul.ts";
import { heapKernelsAvailable } from "./heap_module.ts";
import { dispose, run } from "./stock.ts";

/**
 * Cuts `x` ([N,H,W,C]) by `cut` rows/cols ([top, bottom, left, right], all >= 0), returning `x`
 * itself when nothing is cut.
 */
export function crop(backend: BackendWasm, x: tf.TensorInfo, cut: number[]): tf.TensorInfo {
  if (cut.every((c) => c === 0)) return x;
  const [n, h, w, c] = x.shape;
  return run("Slice", backend, { x }, {
    begin: [0, cut[0], cut[2], 0],
    size: [n, h - cut[0] - cut[1], w - cut[2] - cut[3], c],
  });
}

/** Largest KH*KW*Ci for which {@link filterGradIm2col} is used. */
export const IM2COL_MAX_PATCH = 32;

/**
 * dW as one GEMM: patches P [M = N*OH*OW, KH*KW*Ci] (im2col of x, made by an XNNPACK Conv2D
 * with an identity filter and the forward conv's strides/padding/dilations), then
 * dW = (dy^T [Co, M] . P [M, KH*KW*Ci])^T, which reshapes to [KH,KW,Ci,Co].
 *
 * Used for small patches (the first layer: 3x3x1): the convolution form below would hand
 * XNNPACK dy^T as a filter of N*OH*OW*Co values, and repacking that filter every step costs
 * 18 of its 20 ms for the seed CNN; here only P (3.6x smaller than dy there) is packed.
 */
export function filterGradIm2col(
  backend: BackendWasm,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = info;
  const k = kh * kw * ci;
  if (heapKernelsAvailable(backend) && im2colSupports(info) && x.dtype === "float32") {
    // Our own patches and GEMM, which reads P^T in place: dW = P^T dy, with no transposes.
    const p2 = im2col(backend, x, info); // [M, k]
    const dy2 = run("Reshape", backend, { x: dy }, { shape: [p2.shape[0], co] });
    const g = matMul(backend, p2, dy2, { transposeA: true });
    dispose(backend, dy2, p2);
    const out = run("Reshape", backend, { x: g }, { shape: [kh, kw, ci, co] });
    dispose(backend, g);
    return out;
  }
  const eye = backend.makeOutput([kh, kw, ci, k], "float32");
  const eyeV = backend.typedArrayFromHeap(eye) as Float32Array;
  eyeV.fill(0);
  for (let e = 0; e < k; e++) eyeV[e * k + e] = 1; // filter cell (kh,kw,ci) -> channel e
  const p = info.padInfo;
  const patches = run("Conv2D", backend, { x, filter: eye }, {
    strides: [info.strideHeight, info.strideWidth],
    dilations: [info.dilationHeight, info.dilationWidth],
    pad: [[0, 0], [p.top, p.bottom], [p.left, p.right], [0, 0]],
    dataFormat: "NHWC",
  }); // [N,OH,OW,k]
  dispose(backend, eye);
  const m = patches.shape[0] * patches.shape[1] * patches.shape[2];
  const p2 = run("Reshape", backend, { x: patches }, { shape: [m, k] });
  dispose(backend, patches);
  // XNNPACK's fully-connected op packs its right operand on every call: make that the small P
  // [M,k] and transpose dy instead (dW^T = dy^T P; 7 ms vs 22 ms for P^T dy at the seed CNN).
  const dy2 = run("Reshape", backend, { x: dy }, { shape: [m, co] });
  const dyT = run("Transpose", backend, { x: dy2 }, { perm: [1, 0] }); // [co, M]
  dispose(backend, dy2);
  const noT = { transposeA: false, transposeB: false };
  const gT = run("BatchMatMul", backend, { a: dyT, b: p2 }, noT); // [co, k]
  dispose(backend, dyT, p2);
  const g = run("Transpose", backend, { x: gT }, { perm: [1, 0] }); // [k, co]
  dispose(backend, gT);
  const out = run("Reshape", backend, { x: g }, { shape: [kh, kw, ci, co] });
  dispose(backend, g);
  return out;
}

/**
 * dW[kh,kw,ci,co] = sum_{n,oh,ow} xpad[n, oh*s + kh*d, ow*s + kw*d, ci] * dy[n,oh,ow,co].
 * Read as a convolution of x^T [ci,H,W,n] (batch = ci, channels = n) with the filter
 * dy^T [OH,OW,n,co]: the forward conv's stride s becomes this conv's dilation and its
 * dilation d becomes this conv's stride; the output [ci, >=KH, >=KW, co] is cut to KHxKW.
 */
export function filterGradViaConv2D(
  backend: BackendWasm,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = info;
  const p = info.padInfo;
  const xT = run("Transpose", backend, { x }, { perm: [3, 1, 2, 0] }); // [ci,H,W,n]
  const dyT = run("Transpose", backend, { x: dy }, { perm: [1, 2, 0, 3] }); // [OH,OW,n,co]
  const c = run("Conv2D", backend, { x: xT, filter: dyT }, {
    strides: [info.dilationHeight, info.dilationWidth],
    dilations: [info.strideHeight, info.strideWidth],
    pad: [[0, 0], [p.top, p.bottom], [p.left, p.right], [0, 0]],
    dataFormat: "NHWC",
  });
  dispose(backend, xT, dyT);
  const cut = crop(backend, c, [0, c.shape[1] - kh, 0, c.shape[2] - kw]);
  if (cut !== c) dispose(backend, c);
  if (ci === 1) {
    // [1,kh,kw,co] and [kh,kw,1,co] have the same memory layout: no transpose needed.
    const out = run("Reshape", backend, { x: cut }, { shape: [kh, kw, ci, co] });
    dispose(backend, cut);
    return out;
  }
  const out = run("Transpose", backend, { x: cut }, { perm: [1, 2, 0, 3] }); // [kh,kw,ci,co]
  dispose(backend, cut);
  return out;
}

/**
 * Inserts (s-1) zeros after every row/column of dy ([N,OH,OW,C] -> [N,OH*sh,OW*sw,C]), so a
 * strided conv's input gradient becomes a stride-1 convolution XNNPACK can run.
 */
export function zeroInsert(
  backend: BackendWasm,
  dy: tf.TensorInfo,
  sh: number,
  sw: number,
): tf.TensorInfo {
  const [n, oh, ow, c] = dy.shape;
  const out = backend.makeOutput([n, oh * sh, ow * sw, c], "float32");
  // Views are taken after makeOutput: growing the heap detaches older views.
  const dst = backend.typedArrayFromHeap(out) as Float32Array;
  const src = backend.typedArrayFromHeap(dy) as Float32Array;
  dst.fill(0);
  const rowOut = ow * sw * c;
  for (let b = 0; b < n; b++) {
    for (let r = 0; r < oh; r++) {
      const srcRow = (b * oh + r) * ow * c;
      const dstRow = (b * oh * sh + r * sh) * rowOut;
      if (sw === 1) {
        dst.set(src.subarray(srcRow, srcRow + ow * c), dstRow);
        continue;
      }
      for (let col = 0; col < ow; col++) {
        const s0 = srcRow + col * c;
        dst.set(src.subarray(s0, s0 + c), dstRow + col * sw * c);
      }
    }
  }
  return out;
}

/**
 * dx = full correlation of the zero-inserted dy (`dyz`, `dy` itself at stride 1) with the filter
 * rotated by 180 degrees and its in/out channels swapped, on XNNPACK: conv2d(dyz,
 * reverse(W,[0,1]).transpose([0,1,3,2]), stride 1, dilation d, `pads`). Negative pads become crops
 * of dyz. Frees dyz when it is not dy.
 */
export function inputGradViaConv2D(
  backend: BackendWasm,
  { dy, dyz, filter }: { dy: tf.TensorInfo; dyz: tf.TensorInfo; filter: tf.TensorInfo },
  info: tf.backend_util.Conv2DInfo,
  pads: readonly number[],
): tf.TensorInfo {
  const dyc = crop(backend, dyz, pads.map((v) => Math.max(0, -v)));
  const [pt, pb, pl, pr] = pads.map((v) => Math.max(0, v));
  const rev = run("Reverse", backend, { x: filter }, { dims: [0, 1] });
  const wRot = run("Transpose", backend, { x: rev }, { perm: [0, 1, 3, 2] }); // [kh,kw,co,ci]
  dispose(backend, rev);
  const out = run("Conv2D", backend, { x: dyc, filter: wRot }, {
    strides: [1, 1],
    dilations: [info.dilationHeight, info.dilationWidth],
    pad: [[0, 0], [pt, pb], [pl, pr], [0, 0]],
    dataFormat: "NHWC",
  });
  dispose(backend, wRot);
  if (dyc !== dyz) dispose(backend, dyc);
  if (dyz !== dy) dispose(backend, dyz);
  return out;
}

/**
 * A [kh,kw,ci,co] filter rotated by 180 degrees with its channels swapped: [kh,kw,co,ci], the
 * filter whose convolution with dy is the input gradient.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rotateFilter } from "./fallbacks.ts";
 * // 1x2 taps, 1 input and 2 output channels: the taps swap places, the channels turn around.
 * const rotated = rotateFilter(Float32Array.of(1, 2, 3, 4), [1, 2, 1, 2]);
 * assert.deepEqual([...rotated], [3, 4, 1, 2]);
 * ```
 */
export function rotateFilter(w: Float32Array, shape: readonly number[]): Float32Array {
  const [kh, kw, ci, co] = shape;
  const rotated = new Float32Array(w.length); // [kh,kw,co,ci]
  for (let r = 0; r < kh; r++) {
    for (let c = 0; c < kw; c++) {
      const src = ((kh - 1 - r) * kw + (kw - 1 - c)) * ci * co;
      const dst = (r * kw + c) * co * ci;
      for (let i = 0; i < ci; i++) {
        for (let o = 0; o < co; o++) rotated[dst + o * ci + i] = w[src + i * co + o];
      }
    }
  }
  return rotated;
}

/** The heap views `MaxPoolGrad` reads and writes. */
export interface PoolGradViews {
  dx: Float32Array;
  x: Float32Array;
  y: Float32Array;
  dy: Float32Array;
}

/**
 * MaxPoolGrad for any window, stride, dilation and padding, with the `cpu` backend's semantics:
 * each window's gradient goes to the first cell equal to its maximum `y` in row-major window
 * order; windows whose max is -Infinity get none. Padding cells never win.
 */
export function maxPoolGradFirstMax(
  { dx, x: xv, y: yv, dy: dyv }: PoolGradViews,
  info: tf.backend_util.Conv2DInfo,
): void {
  const { batchSize, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const sh = info.strideHeight, sw = info.strideWidth;
  const fh = info.effectiveFilterHeight, fw = info.effectiveFilterWidth;
  const dh = info.dilationHeight, dw = info.dilationWidth;
  const pt = info.padInfo.top, pl = info.padInfo.left;
  dx.fill(0);
  for (let b = 0; b < batchSize; b++) {
    for (let yr = 0; yr < OH; yr++) {
      const r0 = yr * sh - pt;
      const rBegin = Math.max(r0, r0 + Math.ceil(-r0 / dh) * dh), rEnd = Math.min(H, r0 + fh);
      for (let yc = 0; yc < OW; yc++) {
        const c0 = yc * sw - pl;
        const cBegin = Math.max(c0, c0 + Math.ceil(-c0 / dw) * dw), cEnd = Math.min(W, c0 + fw);
        const yBase = ((b * OH + yr) * OW + yc) * C;
        for (let d = 0; d < C; d++) {
          const target = yv[yBase + d];
          if (target === -Infinity) continue;
          search: for (let r = rBegin; r < rEnd; r += dh) {
            for (let c = cBegin; c < cEnd; c += dw) {
              const i = ((b * H + r) * W + c) * C + d;
              if (xv[i] === target) {
                dx[i] += dyv[yBase + d];
                break search;
              }
            }
          }
        }
      }
    }
  }
}

/**
 * The seed CNN's case (2x2 windows, stride 2, no padding). Windows do not overlap, so every
 * covered cell is written exactly once (no zero-fill pass), and the first-max choice is made
 * with integer masks instead of branches: on post-ReLU data the branches are unpredictable,
 * and this version runs 2x faster than the branchy one.
 */
export function maxPoolGrad2x2Js(
  dx: Float32Array,
  x: Float32Array,
  y: Float32Array,
  dy: Float32Array,
  batch: number,
  H: number,
  W: number,
  C: number,
  OH: number,
  OW: number,
): void {
  // Odd sizes leave the last row/column out of every window: those cells need zeros.
  if (2 * OH !== H || 2 * OW !== W) dx.fill(0);
  const rowStride = W * C;
  for (let b = 0; b < batch; b++) {
    for (let yr = 0; yr < OH; yr++) {
      const row0 = (b * H + 2 * yr) * rowStride;
      let o = ((b * OH + yr) * OW) * C;
      for (let yc = 0; yc < OW; yc++) {
        const p00 = row0 + 2 * yc * C, p01 = p00 + C, p10 = p00 + rowStride, p11 = p10 + C;
        for (let d = 0; d < C; d++, o++) {
          const t = y[o];
          // An all -Infinity window has no max on cpu: no gradient.
          const g = t === -Infinity ? 0 : dy[o];
          const na = +(x[p00 + d] !== t);
          const nb = +(x[p01 + d] !== t);
          const nc = +(x[p10 + d] !== t);
          const hitD = +(x[p11 + d] === t);
          dx[p00 + d] = g * (1 - na);
          dx[p01 + d] = g * (na & (1 - nb));
          dx[p10 + d] = g * (na & nb & (1 - nc));
          dx[p11 + d] = g * (na & nb & nc & hitD);
        }
      }
    }
  }
}

/**
 * GatherV2 along axis 0 with in-range indices, as one block copy per index (the stock kernel
 * copies element by element).
 */
export function gatherRows(
  backend: BackendWasm,
  x: tf.TensorInfo,
  indices: tf.TensorInfo,
): tf.TensorInfo {
  const row = tf.util.sizeFromShape(x.shape.slice(1));
  const out = backend.makeOutput([...indices.shape, ...x.shape.slice(1)], x.dtype);
  // Views are taken after makeOutput: growing the heap detaches older views.
  const dst = backend.typedArrayFromHeap(out);
  const src = backend.typedArrayFromHeap(x);
  const ids = backend.typedArrayFromHeap(indices);
  for (let i = 0; i < ids.length; i++) {
    const r = ids[i] * row;
    dst.set(src.subarray(r, r + row), i * row);
  }
  return out;
}

/**
 * Slice of a non-empty `size` at `begin` as block copies of contiguous runs (trailing whole
 * dimensions are merged into one run).
 */
export function sliceRuns(
  backend: BackendWasm,
  x: tf.TensorInfo,
  begin: readonly number[],
  size: readonly number[],
): tf.TensorInfo {
  const rank = x.shape.length;
  const strides = tf.util.computeStrides(x.shape); // rank-1 entries; the last stride is 1
  const stride = (d: number) => (d === rank - 1 ? 1 : strides[d]);
  let k = rank - 1;
  let run = 1;
  while (k > 0 && begin[k] === 0 && size[k] === x.shape[k]) run *= x.shape[k--];
  run *= size[k];
  const out = backend.makeOutput([...size], x.dtype);
  // Views are taken after makeOutput: growing the heap detaches older views.
  const dst = backend.typedArrayFromHeap(out);
  const src = backend.typedArrayFromHeap(x);
  const index = new Array<number>(k).fill(0); // odometer over dims 0..k-1
  const runs = tf.util.sizeFromShape(size.slice(0, k));
  for (let r = 0, o = 0; r < runs; r++, o += run) {
    let from = begin[k] * stride(k);
    for (let d = 0; d < k; d++) from += (begin[d] + index[d]) * stride(d);
    dst.set(src.subarray(from, from + run), o);
    for (let d = k - 1; d >= 0 && ++index[d] === size[d]; d--) index[d] = 0;
  }
  return out;
}
