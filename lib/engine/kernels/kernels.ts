/**
 * Kernels that `@tensorflow/tfjs-backend-wasm` 4.22 lacks, gets wrong, or runs slowly in a
 * training step, built where possible on the backend's own XNNPACK kernels (which run on the
 * thread pool):
 *
 * - `Conv2D` and `Conv2DBackpropFilter` of the grey first layer (one input channel, 3x3, valid):
 *   our own kernels on a one-thread backend (`single_channel_conv.ts`).
 * - `Conv2DBackpropFilter` (missing in the package): on a one-thread backend, stride 1, our own
 *   WebAssembly kernels (Winograd, `winograd.ts`, for 3x3 filters; else `conv.ts`, 2x XNNPACK's
 *   speed for the seed CNN's second layer);
 *   otherwise, for small patches (KH*KW*Ci <= 32) an im2col + one GEMM, else a convolution of
 *   x^T with dy^T on XNNPACK.
 * - `Conv2DBackpropInput` (stock kernel is a naive single-threaded loop): a stride-1
 *   convolution of the zero-inserted dy with the rotated, channel-swapped filter; on a
 *   one-thread backend at stride 1, Winograd (`winograd.ts`) for 3x3 filters, else our direct
 *   kernel (`conv.ts`; a little faster than XNNPACK, no Reverse/Transpose).
 * - `Conv2D` and `FusedConv2D` (bias, ReLU or none): on a one-thread backend, 3x3 stride-1
 *   convolutions with channel counts {@linkcode winogradSupports} takes run Winograd F(2x2, 3x3)
 *   in our own WebAssembly (`winograd.ts`), bias and ReLU fused into its output transform;
 *   everything else goes to the stock XNNPACK kernels.
 * - `MaxPoolGrad` (stock kernel gives no gradient to all-negative/all-zero windows and sends
 *   ties to the last max): the gradient goes to the FIRST max in row-major window order, as
 *   the `cpu` backend does.
 * - `BatchMatMul` (stock kernel leaves XNNPACK for a naive loop when an operand is
 *   transposed), `Sum` over leading axes (stock kernel transposes first), `Identity` and
 *   same-dtype `Cast` (stock kernels copy), `GatherV2` on axis 0 and `Slice` (stock kernels
 *   copy element by element; these cut every batch in `fit` and `predict`).
 *
 * On a one-thread backend, the non-convolution part of a step runs in our own relaxed-SIMD
 * kernels on the backend's heap (`matmul.ts`, `channelwise.ts`, `pooling.ts`, `relu_grad.ts`): `BatchMatMul` in every transpose combination
 * without a Transpose, `Sum` and `Mean` over leading axes, `MaxPoolGrad` and `MaxPool` 2x2/2,
 * `Add`, `Multiply` and `Sub` of a per-channel vector, the small-patch filter gradient (im2col +
 * GEMM), and the ReLU gradient in one pass (`DenseReluGrad`, which the Relu gradient this module
 * registers runs there).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type BackendWasm, getThreadsCount } from "@tensorflow/tfjs-backend-wasm";
import { convolve, convolveSupports, filterGradient, filterGradientSupports } from "./conv.ts";
import {
  convolveSingleChannel,
  filterGradientSingleChannel,
  singleChannelSupports,
} from "./single_channel_conv.ts";
import {
  batchNorm,
  batchNormSupports,
  channelwise,
  channelwiseSupports,
  sumLeadingAxes,
  sumLeadingAxesSupports,
} from "./channelwise.ts";
import { matMul, matMulSupports } from "./matmul.ts";
import {
  biasReluMaxPool2x2,
  biasReluMaxPoolGrad2x2,
  maxPool2x2,
  maxPoolGrad2x2,
  maxPoolGrad2x2Supports,
} from "./pooling.ts";
import { reluGrad } from "./relu_grad.ts";
import { heapKernelsAvailable } from "./heap_module.ts";
import { fusedBatchNormGrad } from "./batch_norm_grad.ts";
import { meanGrad } from "./mean_grad.ts";
import { winogradConv2D, winogradFilterGradient, winogradSupports } from "./winograd.ts";
import {
  filterGradIm2col,
  filterGradViaConv2D,
  gatherRows,
  IM2COL_MAX_PATCH,
  inputGradViaConv2D,
  maxPoolGrad2x2Js,
  maxPoolGradFirstMax,
  rotateFilter,
  sliceRuns,
  zeroInsert,
} from "./fallbacks.ts";
import {
  assertChannelsLast,
  BACKEND,
  convInfo,
  dispose,
  input,
  type Pad,
  type Rounding,
  run,
  type WasmKernelArgs,
} from "./stock.ts";

/**
 * The filter gradient: the first layer's own kernel, Winograd, our direct kernel, or a fallback
 * (`fallbacks.ts`: im2col and one GEMM for small patches, else a convolution of x^T with dy^T).
 */
function conv2DBackpropFilter({ inputs, backend, attrs }: WasmKernelArgs): tf.TensorInfo {
  const K = "Conv2DBackpropFilter";
  const x = input(inputs, "x", K);
  const dy = input(inputs, "dy", K);
  assertChannelsLast(K, attrs.dataFormat);
  const filterShape = attrs.filterShape as [number, number, number, number];
  const info = convInfo(x.shape, filterShape, attrs);
  const [kh, kw, ci, co] = filterShape;
  if (singleChannelSupports(info, backend)) return filterGradientSingleChannel(backend, x, dy);
  if (winogradTakes(backend, info) && x.dtype === "float32") {
    return winogradFilterGradient(backend, x, dy, {
      padTop: info.padInfo.top,
      padLeft: info.padInfo.left,
    });
  }
  if (ownConvolutions(info) && filterGradientSupports(ci, co)) {
    const p = info.padInfo;
    const out = backend.makeOutput(filterShape, "float32");
    // Views are taken after makeOutput: growing the heap detaches older views.
    filterGradient(
      backend.typedArrayFromHeap(x) as Float32Array,
      x.shape as [number, number, number, number],
      backend.typedArrayFromHeap(dy) as Float32Array,
      filterShape,
      [p.top, p.bottom, p.left, p.right],
      backend.typedArrayFromHeap(out) as Float32Array,
    );
    return out;
  }
  if (kh * kw * ci <= IM2COL_MAX_PATCH) return filterGradIm2col(backend, x, dy, info);
  return filterGradViaConv2D(backend, x, dy, info);
}

/**
 * The input gradient: a full correlation of the zero-inserted dy with the filter rotated by 180
 * degrees and its in/out channels swapped, padded by (KH'-1-padTop, ...) with KH' the dilated
 * filter height. Winograd or our direct kernel at stride 1, else on XNNPACK
 * (`inputGradViaConv2D`).
 */
function conv2DBackpropInput({ inputs, backend, attrs }: WasmKernelArgs): tf.TensorInfo {
  const K = "Conv2DBackpropInput";
  const dy = input(inputs, "dy", K);
  const filter = input(inputs, "filter", K);
  assertChannelsLast(K, attrs.dataFormat);
  const inShape = attrs.inputShape as [number, number, number, number];
  const info = convInfo(inShape, filter.shape, attrs);
  const sh = info.strideHeight, sw = info.strideWidth;
  const ekh = info.effectiveFilterHeight, ekw = info.effectiveFilterWidth;
  const p = info.padInfo;
  const dyz = sh === 1 && sw === 1 ? dy : zeroInsert(backend, dy, sh, sw);
  const top = ekh - 1 - p.top, left = ekw - 1 - p.left;
  const bottom = inShape[1] + ekh - 1 - dyz.shape[1] - top;
  const right = inShape[2] + ekw - 1 - dyz.shape[2] - left;
  const pads = [top, bottom, left, right];
  if (winogradTakes(backend, info, true) && pads.every((v) => v >= 0)) {
    return winogradConv2D(backend, dy, filter, {
      padTop: top,
      padLeft: left,
      outHeight: inShape[1],
      outWidth: inShape[2],
      rotated: true,
    });
  }
  if (ownConvolutions(info) && convolveSupports(inShape[3]) && pads.every((v) => v >= 0)) {
    return ownInputGradient(backend, dy, filter, inShape, pads);
  }
  return inputGradViaConv2D(backend, { dy, dyz, filter }, info, pads);
}

/**
 * dx as {@linkcode convolve} of dy (padded by `pads`) with the filter rotated by 180 degrees and
 * its channels swapped, for stride 1 and dilation 1.
 */
function ownInputGradient(
  backend: BackendWasm,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  inShape: [number, number, number, number],
  pads: number[],
): tf.TensorInfo {
  const [kh, kw, ci, co] = filter.shape;
  const rotated = rotateFilter(backend.typedArrayFromHeap(filter) as Float32Array, filter.shape);
  const out = backend.makeOutput(inShape, "float32");
  convolve(
    backend.typedArrayFromHeap(dy) as Float32Array,
    dy.shape as [number, number, number, number],
    rotated,
    [kh, kw, co, ci],
    pads as [number, number, number, number],
    backend.typedArrayFromHeap(out) as Float32Array,
  );
  return out;
}

/**
 * Whether our own convolution kernels take this convolution: stride 1, no dilation, positive
 * padding, and a backend on one thread (XNNPACK spreads its convolutions over the threads; ours
 * do not).
 */
function ownConvolutions(info: tf.backend_util.Conv2DInfo): boolean {
  const p = info.padInfo;
  return info.strideHeight === 1 && info.strideWidth === 1 && info.dilationHeight === 1 &&
    info.dilationWidth === 1 && p.top >= 0 && p.bottom >= 0 && p.left >= 0 && p.right >= 0 &&
    info.dataFormat === "channelsLast" && getThreadsCount() === 1;
}

let winogradEnabled = true;

/**
 * Turns the Winograd convolutions off (`false`: Conv2D, FusedConv2D and Conv2DBackpropInput
 * take their previous paths) or on again; returns the previous setting. For measuring one
 * against the other in one process, and as a way out should a problem show.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { setWinogradEnabled } from "./kernels.ts";
 * assert.equal(setWinogradEnabled(false), true);
 * assert.equal(setWinogradEnabled(true), false);
 * ```
 */
export function setWinogradEnabled(enabled: boolean): boolean {
  const previous = winogradEnabled;
  winogradEnabled = enabled;
  return previous;
}

/**
 * Whether {@linkcode winogradConv2D} takes this convolution on this backend, forward or (with
 * `inputGradient`, whose convolution swaps the channel counts) backward.
 */
function winogradTakes(
  backend: BackendWasm,
  info: tf.backend_util.Conv2DInfo,
  inputGradient = false,
): boolean {
  const [c, co] = inputGradient
    ? [info.outChannels, info.inChannels]
    : [info.inChannels, info.outChannels];
  return winogradEnabled && ownConvolutions(info) && info.filterHeight === 3 &&
    info.filterWidth === 3 && winogradSupports(c, co) && heapKernelsAvailable(backend);
}

/** The forward convolution's geometry from Conv2D's or FusedConv2D's inputs and attributes. */
function forwardInfo(
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  attrs: tf.NamedAttrMap,
): tf.backend_util.Conv2DInfo {
  const format = tf.backend_util.convertConv2DDataFormat(
    (attrs.dataFormat ?? "NHWC") as "NHWC" | "NCHW",
  );
  return tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs.strides as [number, number] | number,
    (attrs.dilations ?? 1) as [number, number] | number,
    attrs.pad as Pad,
    attrs.dimRoundingMode as Rounding,
    false,
    format,
  );
}

/**
 * Conv2D: the grey first layer on its own kernel and Winograd where {@linkcode winogradTakes}
 * says so (one thread), everything else on the stock XNNPACK kernel.
 */
function conv2D({ inputs, backend, attrs }: WasmKernelArgs): tf.TensorInfo {
  const x = input(inputs, "x", "Conv2D");
  const filter = input(inputs, "filter", "Conv2D");
  return ownForward(backend, x, filter, forwardInfo(x, filter, attrs)) ??
    stockCall("Conv2D", { inputs, backend, attrs });
}

/**
 * The forward convolution (plus `fused`'s bias and ReLU) on our own kernels: the grey first
 * layer's, or Winograd's; undefined when neither takes it.
 */
function ownForward(
  backend: BackendWasm,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  fused: { bias?: tf.TensorInfo; relu?: boolean } = {},
): tf.TensorInfo | undefined {
  if (x.dtype !== "float32") return undefined;
  if (info.dataFormat === "channelsLast" && singleChannelSupports(info, backend)) {
    return convolveSingleChannel(backend, x, filter, fused);
  }
  if (!winogradTakes(backend, info)) return undefined;
  return winogradConv2D(backend, x, filter, {
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    ...fused,
  });
}

/**
 * FusedConv2D (what `model.predict` and Batch Normalization's linear convolutions run):
 * our own kernels with the bias and a ReLU in their output (`ownForward`); other activations,
 * PReLU weights and broadcast biases go to the stock kernel.
 */
function fusedConv2D({ inputs, backend, attrs }: WasmKernelArgs): tf.TensorInfo {
  const x = input(inputs, "x", "FusedConv2D");
  const filter = input(inputs, "filter", "FusedConv2D");
  const bias = inputs.bias ?? undefined;
  const activation = (attrs.activation ?? "linear") as string;
  const info = forwardInfo(x, filter, attrs);
  const plainBias = bias === undefined ||
    (bias.dtype === "float32" && bias.shape.length === 1 && bias.shape[0] === info.outChannels);
  const fusable = plainBias && (activation === "linear" || activation === "relu") &&
    !inputs.preluActivationWeights;
  return (fusable
    ? ownForward(backend, x, filter, info, { bias, relu: activation === "relu" })
    : undefined) ?? stockCall("FusedConv2D", { inputs, backend, attrs });
}

/**
 * MaxPoolGrad with the `cpu` backend's semantics: each window's gradient goes to its FIRST
 * maximum in row-major window order, so all-negative and all-zero windows get their gradient
 * too (the stock kernel starts its search at the smallest positive float) and ties go to the
 * first max (the stock kernel picks the last). Padding cells never win.
 *
 * The forward output y holds each window's exact max, so the first max is the first cell equal
 * to y: the scan stops there, about 2.5 reads per 2x2 window instead of a full max search.
 * Windows whose max is -Infinity or NaN get no gradient, as on cpu.
 */
function maxPoolGrad({ inputs, backend, attrs }: WasmKernelArgs): tf.TensorInfo {
  const K = "MaxPoolGrad";
  const dy = input(inputs, "dy", K);
  const x = input(inputs, "input", K);
  const y = input(inputs, "output", K);
  const info = poolInfo(x, attrs);
  const { batchSize, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const sh = info.strideHeight, sw = info.strideWidth;
  const fh = info.effectiveFilterHeight, fw = info.effectiveFilterWidth;
  const pt = info.padInfo.top, pl = info.padInfo.left;
  const windowsInside = 2 * OH <= H && 2 * OW <= W; // "same" padding may add a bottom row
  const twoByTwo = fh === 2 && fw === 2 && sh === 2 && sw === 2 && pt === 0 && pl === 0 &&
    windowsInside;
  if (
    twoByTwo && 2 * OH === H - (H % 2) && 2 * OW === W - (W % 2) && heapKernelsAvailable(backend) &&
    maxPoolGrad2x2Supports({ batch: batchSize, inHeight: H, inWidth: W, channels: C }) &&
    [x, y, dy].every((t) => t.dtype === "float32")
  ) {
    return maxPoolGrad2x2(backend, dy, x, y);
  }
  const out = backend.makeOutput(x.shape, "float32");
  // Views are taken after makeOutput: growing the heap detaches older views.
  const dx = backend.typedArrayFromHeap(out) as Float32Array;
  const xv = backend.typedArrayFromHeap(x) as Float32Array;
  const yv = backend.typedArrayFromHeap(y) as Float32Array;
  const dyv = backend.typedArrayFromHeap(dy) as Float32Array;
  if (twoByTwo) {
    maxPoolGrad2x2Js(dx, xv, yv, dyv, batchSize, H, W, C, OH, OW);
    return out;
  }
  maxPoolGradFirstMax({ dx, x: xv, y: yv, dy: dyv }, info);
  return out;
}

/**
 * BatchMatMul: the stock kernel runs XNNPACK only without transposes and a naive loop
 * otherwise (12 ms vs 0.9 ms for the seed CNN's dense-layer gradients). Transposed operands
 * are materialized first (a fraction of a millisecond), then the fast path runs.
 */
function batchMatMul({ inputs, backend, attrs }: WasmKernelArgs): tf.TensorInfo {
  const K = "BatchMatMul";
  let a = input(inputs, "a", K);
  let b = input(inputs, "b", K);
  const transposes = {
    transposeA: Boolean(attrs.transposeA),
    transposeB: Boolean(attrs.transposeB),
  };
  if (heapKernelsAvailable(backend) && matMulSupports(a, b, transposes)) {
    return matMul(backend, a, b, transposes);
  }
  const stock = stockKernels.get(K);
  if (stock === undefined) {
    throw new Error("The stock wasm BatchMatMul is missing; reinstall the package.");
  }
  const swapLast = (t: tf.TensorInfo) => {
    const perm = t.shape.map((_, i) => i);
    const n = perm.length;
    [perm[n - 2], perm[n - 1]] = [perm[n - 1], perm[n - 2]];
    return run("Transpose", backend, { x: t }, { perm });
  };
  const temps: tf.TensorInfo[] = [];
  if (attrs.transposeA && a.dtype === "float32") temps.push(a = swapLast(a));
  if (attrs.transposeB && b.dtype === "float32") temps.push(b = swapLast(b));
  const out = stock.kernelFunc({
    inputs: { a, b },
    backend,
    attrs: {
      ...attrs,
      transposeA: Boolean(attrs.transposeA) && a === inputs.a,
      transposeB: Boolean(attrs.transposeB) && b === inputs.b,
    },
  }) as tf.TensorInfo;
  dispose(backend, ...temps);
  return out;
}

/** Identity shares the input's memory (as the cpu backend does) instead of copying it. */
function identity({ inputs, backend }: WasmKernelArgs): tf.TensorInfo {
  const x = input(inputs, "x", "Identity");
  if (x.dtype === "string") return stockCall("Identity", { inputs, backend, attrs: {} });
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** Cast to the same dtype shares memory (tfjs casts float32 to float32 in every fit step). */
function cast({ inputs, backend, attrs }: WasmKernelArgs): tf.TensorInfo {
  const x = input(inputs, "x", "Cast");
  if (x.dtype !== attrs.dtype || x.dtype === "string") {
    return stockCall("Cast", { inputs, backend, attrs });
  }
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/**
 * When a reduction's `axis` attribute names the first axes of `x` (0, 1, ..., count-1, not all of
 * them), their count and the reduction's output shape (with `keepDims`); else undefined.
 */
function leadingAxes(
  x: tf.TensorInfo,
  attrs: tf.NamedAttrMap,
): { count: number; outShape: number[] } | undefined {
  const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape).sort((p, q) =>
    p - q
  );
  const count = axes.length;
  if (count === 0 || count >= x.shape.length || !axes.every((v, i) => v === i)) return undefined;
  const outShape = attrs.keepDims
    ? x.shape.map((d, i) => (i < count ? 1 : d))
    : x.shape.slice(count);
  return { count, outShape };
}

/**
 * Sum over the leading axes of a float32 tensor (the bias gradients: [N,H,W,C] -> [C]) as one
 * pass over memory with float64 accumulators. The stock kernel first transposes the reduced
 * axes to the end, which costs 3x as much. Other reductions go to the stock kernel.
 */
function sum({ inputs, backend, attrs }: WasmKernelArgs): tf.TensorInfo {
  const x = input(inputs, "x", "Sum");
  const leading = leadingAxes(x, attrs);
  if (!leading || x.dtype !== "float32") return stockCall("Sum", { inputs, backend, attrs });
  const { count, outShape } = leading;
  const inner = tf.util.sizeFromShape(x.shape.slice(count));
  const outer = tf.util.sizeFromShape(x.shape.slice(0, count));
  if (heapKernelsAvailable(backend) && sumLeadingAxesSupports(x, count)) {
    return sumLeadingAxes(backend, x, count, outShape);
  }
  const out = backend.makeOutput(outShape, "float32");
  const xv = backend.typedArrayFromHeap(x) as Float32Array;
  const acc = new Float64Array(inner);
  for (let o = 0, base = 0; o < outer; o++, base += inner) {
    for (let i = 0; i < inner; i++) acc[i] += xv[base + i];
  }
  (backend.typedArrayFromHeap(out) as Float32Array).set(acc);
  return out;
}

/**
 * Mean over the leading axes of a float32 tensor on a one-thread backend (Batch
 * Normalization's moments: [N,H,W,C] -> [C]) in our own kernel, one pass; the stock kernel
 * transposes first (1.2 ms against 0.1 ms for [64,11,11,64]). Other means go to the stock kernel.
 */
function mean({ inputs, backend, attrs }: WasmKernelArgs): tf.TensorInfo {
  const x = input(inputs, "x", "Mean");
  const leading = leadingAxes(x, attrs);
  if (leading && heapKernelsAvailable(backend) && sumLeadingAxesSupports(x, leading.count)) {
    return sumLeadingAxes(backend, x, leading.count, leading.outShape, { mean: true });
  }
  return stockCall("Mean", { inputs, backend, attrs });
}

/**
 * GatherV2 along axis 0 (how `fit` cuts each shuffled batch out of the training tensor) as one
 * block copy per index; the stock kernel copies element by element (3.7 ms for a 128-image
 * batch vs 0.1 ms). Other axes, batchDims and out-of-range indices go to the stock kernel,
 * which also reports the out-of-range index.
 */
function gatherV2({ inputs, backend, attrs }: WasmKernelArgs): tf.TensorInfo {
  const x = input(inputs, "x", "GatherV2");
  const indices = input(inputs, "indices", "GatherV2");
  const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
  if (axis !== 0 || Number(attrs.batchDims ?? 0) !== 0 || x.dtype === "string") {
    return stockCall("GatherV2", { inputs, backend, attrs });
  }
  const idx = backend.typedArrayFromHeap(indices);
  const rows = x.shape[0];
  for (let i = 0; i < idx.length; i++) {
    if (!(idx[i] >= 0 && idx[i] < rows)) return stockCall("GatherV2", { inputs, backend, attrs });
  }
  return gatherRows(backend, x, indices);
}

/**
 * Slice as block copies of contiguous runs (trailing whole dimensions are merged into one run).
 * The stock kernel copies element by element: 5 ms to cut a 128-image batch out of the test
 * set, a quarter of `predict`'s time at one thread.
 */
function slice({ inputs, backend, attrs }: WasmKernelArgs): tf.TensorInfo {
  const x = input(inputs, "x", "Slice");
  const [begin, size] = tf.slice_util.parseSliceParams(
    x,
    attrs.begin as number | number[],
    attrs.size as number | number[],
  );
  const rank = x.shape.length;
  if (x.dtype === "string" || rank === 0 || size.some((d) => d === 0)) {
    return stockCall("Slice", { inputs, backend, attrs });
  }
  return sliceRuns(backend, x, begin, size);
}

/** A pooling kernel's geometry, from its input and attributes. */
function poolInfo(x: tf.TensorInfo, attrs: tf.NamedAttrMap): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterSize as [number, number] | number,
    attrs.strides as [number, number] | number,
    1,
    attrs.pad as Pad,
    attrs.dimRoundingMode as Rounding,
  );
}

/** The attributes of a 2x2, stride-2 pool whose windows all lie inside the image. */
function isPool2x2(x: tf.TensorInfo, attrs: tf.NamedAttrMap): boolean {
  if (x.shape.length !== 4) return false;
  const info = poolInfo(x, attrs);
  return info.filterHeight === 2 && info.filterWidth === 2 && info.strideHeight === 2 &&
    info.strideWidth === 2 && info.padInfo.top === 0 && info.padInfo.left === 0 &&
    info.outHeight === Math.floor(info.inHeight / 2) &&
    info.outWidth === Math.floor(info.inWidth / 2);
}

/**
 * MaxPool 2x2 stride 2 on a one-thread backend: our own kernel, the `cpu` backend's result
 * (XNNPACK's takes 2.5x as long on the seed CNN's first pool). Other pools go to the stock
 * kernel.
 */
function maxPool({ inputs, backend, attrs }: WasmKernelArgs): tf.TensorInfo {
  const x = input(inputs, "x", "MaxPool");
  const [batch, inHeight, inWidth, channels] = x.shape;
  if (
    heapKernelsAvailable(backend) && x.dtype === "float32" && isPool2x2(x, attrs) &&
    maxPoolGrad2x2Supports({ batch, inHeight, inWidth, channels })
  ) {
    return maxPool2x2(backend, x);
  }
  return stockCall("MaxPool", { inputs, backend, attrs });
}

/**
 * Add, Multiply and Sub of a per-channel vector ([C] or [1,1,1,C]) and NHWC data on a
 * one-thread backend: our own kernel, one pass (XNNPACK's broadcast is 3x slower for C = 32, 2x
 * for 64). Everything else goes to the stock kernel.
 */
function channelKernel(
  name: "Add" | "Multiply" | "Sub",
): (args: WasmKernelArgs) => tf.TensorInfo {
  return ({ inputs, backend, attrs }) => {
    const a = input(inputs, "a", name);
    const b = input(inputs, "b", name);
    if (heapKernelsAvailable(backend)) {
      if (channelwiseSupports(a, b)) {
        const op = name === "Add" ? "add" : name === "Multiply" ? "multiply" : "subtract";
        return channelwise(backend, op, a, b);
      }
      if (channelwiseSupports(b, a)) {
        const op = name === "Add" ? "add" : name === "Multiply" ? "multiply" : "subtractFrom";
        return channelwise(backend, op, b, a);
      }
    }
    return stockCall(name, { inputs, backend, attrs });
  };
}

/**
 * Batch Normalization with per-channel statistics (every `tf.layers.batchNormalization` over
 * NHWC, training and predicting) on a one-thread backend: our SIMD pass, bit for bit the stock
 * kernel, which goes element by element with four wrapping indices. Anything else goes to it.
 */
function fusedBatchNorm({ inputs, backend, attrs }: WasmKernelArgs): tf.TensorInfo {
  const x = input(inputs, "x", "FusedBatchNorm");
  const { mean, variance, offset, scale } = inputs as Partial<Record<string, tf.TensorInfo>>;
  if (
    heapKernelsAvailable(backend) && mean && variance && offset && scale &&
    batchNormSupports(x, [mean, variance, offset, scale])
  ) {
    return batchNorm(backend, x, { mean, variance, offset, scale }, Number(attrs.varianceEpsilon));
  }
  return stockCall("FusedBatchNorm", { inputs, backend, attrs });
}

/** The kernel our ReLU gradient runs on a one-thread wasm backend: dy * step(x) in one pass. */
const RELU_GRAD = "DenseReluGrad";

function reluGradKernel({ inputs, backend }: WasmKernelArgs): tf.TensorInfo {
  return reluGrad(backend, input(inputs, "dy", RELU_GRAD), input(inputs, "x", RELU_GRAD));
}

/**
 * The gradient of Relu: tfjs' own (dy * step(x): a Step, a Cast and a Multiply) except on a
 * one-thread wasm backend, where {@link RELU_GRAD} computes the same values in one pass.
 */
const reluGradient: tf.GradConfig = {
  kernelName: "Relu",
  inputsToSave: ["x"],
  gradFunc: (dy, saved) => {
    const [x] = saved;
    const g = dy as tf.Tensor;
    return {
      x: () => {
        const backend = tf.backend();
        if (
          tf.getBackend() === BACKEND && heapKernelsAvailable(backend as BackendWasm) &&
          g.dtype === "float32" && x.dtype === "float32" && tf.util.arraysEqual(g.shape, x.shape)
        ) {
          return tf.engine().runKernel(RELU_GRAD, { dy: g, x }) as tf.Tensor;
        }
        return tf.mul(g, tf.cast(tf.step(x), "float32"));
      },
    };
  },
};

/**
 * Our kernels with no stock counterpart: a per-channel bias, ReLU and 2x2 max pool in one pass
 * (inputs `x`, `bias`), and its gradient with respect to `x` (inputs `dy`, `x`, `bias`), which
 * `../train_plan.ts` runs in place of Add, Relu and MaxPool and their gradients.
 */
export const BIAS_RELU_MAX_POOL = "BiasReluMaxPool";
/** See {@linkcode BIAS_RELU_MAX_POOL}. */
export const BIAS_RELU_MAX_POOL_GRAD = "BiasReluMaxPoolGrad";

function biasReluMaxPoolKernel({ inputs, backend }: WasmKernelArgs): tf.TensorInfo {
  const x = input(inputs, "x", BIAS_RELU_MAX_POOL);
  return biasReluMaxPool2x2(backend, x, input(inputs, "bias", BIAS_RELU_MAX_POOL));
}

function biasReluMaxPoolGradKernel({ inputs, backend }: WasmKernelArgs): tf.TensorInfo {
  const name = BIAS_RELU_MAX_POOL_GRAD;
  return biasReluMaxPoolGrad2x2(
    backend,
    input(inputs, "dy", name),
    input(inputs, "x", name),
    input(inputs, "bias", name),
  );
}

/** Stock wasm kernels replaced by this module, kept so the replacements can delegate. */
const stockKernels = new Map<string, tf.KernelConfig>();

function stockCall(name: string, args: WasmKernelArgs): tf.TensorInfo {
  const stock = stockKernels.get(name);
  if (stock === undefined) {
    throw new Error(`The stock wasm ${name} is missing; reinstall the package.`);
  }
  return stock.kernelFunc(args) as tf.TensorInfo;
}

/**
 * The kernels {@link registerWasmTrainingKernels} installs for the `wasm` backend.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { wasmTrainingKernels } from "./kernels.ts";
 * assert.ok(wasmTrainingKernels.some((k) => k.kernelName === "Conv2DBackpropFilter"));
 * ```
 */
export const wasmTrainingKernels: readonly tf.KernelConfig[] = [
  { kernelName: "Conv2D", backendName: BACKEND, kernelFunc: asKernelFunc(conv2D) },
  { kernelName: "FusedConv2D", backendName: BACKEND, kernelFunc: asKernelFunc(fusedConv2D) },
  {
    kernelName: "Conv2DBackpropFilter",
    backendName: BACKEND,
    kernelFunc: asKernelFunc(conv2DBackpropFilter),
  },
  {
    kernelName: "Conv2DBackpropInput",
    backendName: BACKEND,
    kernelFunc: asKernelFunc(conv2DBackpropInput),
  },
  { kernelName: "MaxPoolGrad", backendName: BACKEND, kernelFunc: asKernelFunc(maxPoolGrad) },
  { kernelName: "BatchMatMul", backendName: BACKEND, kernelFunc: asKernelFunc(batchMatMul) },
  { kernelName: "Identity", backendName: BACKEND, kernelFunc: asKernelFunc(identity) },
  { kernelName: "Cast", backendName: BACKEND, kernelFunc: asKernelFunc(cast) },
  { kernelName: "Sum", backendName: BACKEND, kernelFunc: asKernelFunc(sum) },
  { kernelName: "Mean", backendName: BACKEND, kernelFunc: asKernelFunc(mean) },
  { kernelName: "GatherV2", backendName: BACKEND, kernelFunc: asKernelFunc(gatherV2) },
  { kernelName: "Slice", backendName: BACKEND, kernelFunc: asKernelFunc(slice) },
  { kernelName: "MaxPool", backendName: BACKEND, kernelFunc: asKernelFunc(maxPool) },
  { kernelName: "Add", backendName: BACKEND, kernelFunc: asKernelFunc(channelKernel("Add")) },
  {
    kernelName: "Multiply",
    backendName: BACKEND,
    kernelFunc: asKernelFunc(channelKernel("Multiply")),
  },
  { kernelName: "Sub", backendName: BACKEND, kernelFunc: asKernelFunc(channelKernel("Sub")) },
  { kernelName: "FusedBatchNorm", backendName: BACKEND, kernelFunc: asKernelFunc(fusedBatchNorm) },
  { kernelName: RELU_GRAD, backendName: BACKEND, kernelFunc: asKernelFunc(reluGradKernel) },
  {
    kernelName: BIAS_RELU_MAX_POOL,
    backendName: BACKEND,
    kernelFunc: asKernelFunc(biasReluMaxPoolKernel),
  },
  {
    kernelName: BIAS_RELU_MAX_POOL_GRAD,
    backendName: BACKEND,
    kernelFunc: asKernelFunc(biasReluMaxPoolGradKernel),
  },
];

const ours = new Set<tf.KernelFunc>(wasmTrainingKernels.map((k) => k.kernelFunc));

/** tfjs types a kernel's backend as `{}`; on the wasm backend it is a BackendWasm. */
function asKernelFunc(f: (args: WasmKernelArgs) => tf.TensorInfo): tf.KernelFunc {
  return ({ inputs, backend, attrs }) =>
    f({ inputs, backend: backend as BackendWasm, attrs: attrs ?? {} });
}

/**
 * Registers the training kernels for the `wasm` backend, replacing stock ones of the same
 * name, the Relu gradient (tfjs' own formula, computed in one pass by `DenseReluGrad` on a
 * one-thread wasm backend), the BatchNormalization gradient without its full-size Tile
 * (`batch_norm_grad.ts`) and the Mean gradient without its JavaScript fill (`mean_grad.ts`).
 * Idempotent: kernels already installed by this module are left alone.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import "@tensorflow/tfjs-backend-wasm";
 * import { registerWasmTrainingKernels } from "./kernels.ts";
 * import { meanGrad } from "./mean_grad.ts";
 * registerWasmTrainingKernels();
 * assert.ok(tf.getKernel("Conv2DBackpropFilter", "wasm") !== undefined);
 * assert.ok(tf.getKernel("DenseReluGrad", "wasm") !== undefined);
 * assert.ok(tf.getGradient("FusedBatchNorm") !== undefined);
 * assert.equal(tf.getGradient("Mean")?.gradFunc, meanGrad.gradFunc);
 * ```
 */
export function registerWasmTrainingKernels(): void {
  tf.registerGradient(reluGradient);
  tf.registerGradient(fusedBatchNormGrad);
  tf.registerGradient(meanGrad);
  for (const config of wasmTrainingKernels) {
    const existing = tf.getKernel(config.kernelName, config.backendName);
    if (existing?.kernelFunc === config.kernelFunc) continue;
    if (existing !== undefined) {
      if (!ours.has(existing.kernelFunc)) stockKernels.set(config.kernelName, existing);
      tf.unregisterKernel(config.kernelName, config.backendName);
    }
    // Keep the stock kernel's setupFunc: stock kernels we delegate to rely on it having run.
    const stock = stockKernels.get(config.kernelName);
    tf.registerKernel({ ...config, setupFunc: stock?.setupFunc, disposeFunc: stock?.disposeFunc });
  }
}
