/**
 * Gradient kernels that `@tensorflow/tfjs-backend-wasm` 4.22 lacks or gets wrong, built on the
 * backend's own XNNPACK `Conv2D` (which runs on the thread pool):
 *
 * - `Conv2DBackpropFilter` (missing in the package): a convolution of x^T with dy^T.
 * - `Conv2DBackpropInput` (stock kernel is a naive single-threaded loop): a stride-1
 *   convolution of the zero-inserted dy with the rotated, channel-swapped filter.
 * - `MaxPoolGrad` (stock kernel gives no gradient to all-negative/all-zero windows and sends
 *   ties to the last max): the gradient goes to the FIRST max in row-major window order, as
 *   the `cpu` backend does.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

/** Arguments tfjs hands a kernel function on the wasm backend. */
interface WasmKernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: BackendWasm;
  attrs: tf.NamedAttrMap;
}

const BACKEND = "wasm";

/** Calls a stock wasm kernel (looked up at call time: the backend may have been re-created). */
function run(
  name: string,
  backend: BackendWasm,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap = {},
): tf.TensorInfo {
  const config = tf.getKernel(name, BACKEND);
  if (config === undefined) {
    throw new Error(
      `The wasm kernel ${name} is not registered. Import @tensorflow/tfjs-backend-wasm.`,
    );
  }
  return config.kernelFunc({ inputs, backend, attrs }) as tf.TensorInfo;
}

function dispose(backend: BackendWasm, ...infos: tf.TensorInfo[]): void {
  for (const t of infos) backend.disposeData(t.dataId);
}

function input(inputs: tf.NamedTensorInfoMap, name: string, kernel: string): tf.TensorInfo {
  const t = inputs[name];
  if (t === undefined) throw new Error(`${kernel} needs input "${name}"; pass it to runKernel.`);
  return t;
}

/** `dataFormat` must be NHWC: the wasm backend's Conv2D only supports channelsLast. */
function assertChannelsLast(kernel: string, dataFormat: tf.Attribute | undefined): void {
  const fmt = tf.backend_util.convertConv2DDataFormat((dataFormat ?? "NHWC") as "NHWC" | "NCHW");
  if (fmt !== "channelsLast") {
    throw new Error(
      `wasm ${kernel} supports dataFormat "NHWC" only (the wasm Conv2D does too); ` +
        "transpose the data to channels-last.",
    );
  }
}

type Pad = "valid" | "same" | number | tf.backend_util.ExplicitPadding;
type Rounding = "floor" | "round" | "ceil" | undefined;

/**
 * Cuts `x` ([N,H,W,C]) by `cut` rows/cols ([top, bottom, left, right], all >= 0), returning `x`
 * itself when nothing is cut.
 */
function crop(backend: BackendWasm, x: tf.TensorInfo, cut: number[]): tf.TensorInfo {
  if (cut.every((c) => c === 0)) return x;
  const [n, h, w, c] = x.shape;
  return run("Slice", backend, { x }, {
    begin: [0, cut[0], cut[2], 0],
    size: [n, h - cut[0] - cut[1], w - cut[2] - cut[3], c],
  });
}

/**
 * dW[kh,kw,ci,co] = sum_{n,oh,ow} xpad[n, oh*s + kh*d, ow*s + kw*d, ci] * dy[n,oh,ow,co].
 * Read as a convolution of x^T [ci,H,W,n] (batch = ci, channels = n) with the filter
 * dy^T [OH,OW,n,co]: the forward conv's stride s becomes this conv's dilation and its
 * dilation d becomes this conv's stride; the output [ci, >=KH, >=KW, co] is cut to KHxKW.
 */
function conv2DBackpropFilter({ inputs, backend, attrs }: WasmKernelArgs): tf.TensorInfo {
  const K = "Conv2DBackpropFilter";
  const x = input(inputs, "x", K);
  const dy = input(inputs, "dy", K);
  assertChannelsLast(K, attrs.dataFormat);
  const filterShape = attrs.filterShape as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    attrs.strides as [number, number] | number,
    (attrs.dilations ?? 1) as [number, number] | number,
    attrs.pad as Pad,
    attrs.dimRoundingMode as Rounding,
  );
  const [kh, kw, ci, co] = filterShape;
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
function zeroInsert(
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
 * dx = full correlation of the zero-inserted dy with the filter rotated by 180 degrees and its
 * in/out channels swapped: conv2d(zeroInsert(dy), reverse(W,[0,1]).transpose([0,1,3,2]),
 * stride 1, dilation d, pad (KH'-1-padTop, ...)) with KH' the dilated filter height. Pads
 * that come out negative become crops of the zero-inserted dy.
 */
function conv2DBackpropInput({ inputs, backend, attrs }: WasmKernelArgs): tf.TensorInfo {
  const K = "Conv2DBackpropInput";
  const dy = input(inputs, "dy", K);
  const filter = input(inputs, "filter", K);
  assertChannelsLast(K, attrs.dataFormat);
  const inShape = attrs.inputShape as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(
    inShape,
    filter.shape as [number, number, number, number],
    attrs.strides as [number, number] | number,
    (attrs.dilations ?? 1) as [number, number] | number,
    attrs.pad as Pad,
    attrs.dimRoundingMode as Rounding,
  );
  const sh = info.strideHeight, sw = info.strideWidth;
  const ekh = info.effectiveFilterHeight, ekw = info.effectiveFilterWidth;
  const p = info.padInfo;
  const dyz = sh === 1 && sw === 1 ? dy : zeroInsert(backend, dy, sh, sw);
  const top = ekh - 1 - p.top, left = ekw - 1 - p.left;
  const bottom = inShape[1] + ekh - 1 - dyz.shape[1] - top;
  const right = inShape[2] + ekw - 1 - dyz.shape[2] - left;
  const pads = [top, bottom, left, right];
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
 * MaxPoolGrad with the `cpu` backend's semantics: each window's gradient goes to its FIRST
 * maximum in row-major window order (strict `>` from -Infinity, so all-negative and all-zero
 * windows get their gradient too). Padding cells never win.
 */
function maxPoolGrad({ inputs, backend, attrs }: WasmKernelArgs): tf.TensorInfo {
  const K = "MaxPoolGrad";
  const dy = input(inputs, "dy", K);
  const x = input(inputs, "input", K);
  const info = tf.backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterSize as [number, number] | number,
    attrs.strides as [number, number] | number,
    1,
    attrs.pad as Pad,
    attrs.dimRoundingMode as Rounding,
  );
  const {
    batchSize,
    inHeight: H,
    inWidth: W,
    inChannels: C,
    outHeight: OH,
    outWidth: OW,
    strideHeight: sh,
    strideWidth: sw,
    effectiveFilterHeight: fh,
    effectiveFilterWidth: fw,
    dilationHeight: dh,
    dilationWidth: dw,
  } = info;
  const pt = info.padInfo.top, pl = info.padInfo.left;
  const out = backend.makeOutput(x.shape, "float32");
  // Views are taken after makeOutput: growing the heap detaches older views.
  const dx = backend.typedArrayFromHeap(out) as Float32Array;
  const xv = backend.typedArrayFromHeap(x) as Float32Array;
  const dyv = backend.typedArrayFromHeap(dy) as Float32Array;
  dx.fill(0);
  const best = new Float32Array(C);
  const pos = new Int32Array(C);
  for (let b = 0; b < batchSize; b++) {
    for (let yr = 0; yr < OH; yr++) {
      const r0 = yr * sh - pt;
      for (let yc = 0; yc < OW; yc++) {
        const c0 = yc * sw - pl;
        best.fill(-Infinity);
        pos.fill(-1);
        for (let r = r0; r < r0 + fh; r += dh) {
          if (r < 0 || r >= H) continue;
          for (let c = c0; c < c0 + fw; c += dw) {
            if (c < 0 || c >= W) continue;
            const base = ((b * H + r) * W + c) * C;
            for (let d = 0; d < C; d++) {
              const v = xv[base + d];
              if (v > best[d]) {
                best[d] = v;
                pos[d] = base + d;
              }
            }
          }
        }
        const yBase = ((b * OH + yr) * OW + yc) * C;
        for (let d = 0; d < C; d++) {
          // NaN windows never win a `>` comparison; the cpu backend drops their gradient too.
          if (pos[d] >= 0) dx[pos[d]] += dyv[yBase + d];
        }
      }
    }
  }
  return out;
}

/** The kernels {@link registerWasmTrainingKernels} installs, by name. */
export const wasmTrainingKernels: readonly tf.KernelConfig[] = [
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
];

/** tfjs types a kernel's backend as `{}`; on the wasm backend it is a BackendWasm. */
function asKernelFunc(f: (args: WasmKernelArgs) => tf.TensorInfo): tf.KernelFunc {
  return ({ inputs, backend, attrs }) =>
    f({ inputs, backend: backend as BackendWasm, attrs: attrs ?? {} });
}

/**
 * Registers the training kernels for the `wasm` backend, replacing stock ones of the same
 * name. Idempotent: kernels already installed by this module are left alone.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import "@tensorflow/tfjs-backend-wasm";
 * import { registerWasmTrainingKernels } from "./lib/wasm_kernels.ts";
 * registerWasmTrainingKernels();
 * await tf.setBackend("wasm");
 * ```
 */
export function registerWasmTrainingKernels(): void {
  for (const config of wasmTrainingKernels) {
    const existing = tf.getKernel(config.kernelName, config.backendName);
    if (existing?.kernelFunc === config.kernelFunc) continue;
    if (existing !== undefined) tf.unregisterKernel(config.kernelName, config.backendName);
    tf.registerKernel(config);
  }
}
