/**
 * The first convolution of the tutorial's CNNs, a 3x3 stride-1 "valid" convolution of the grey
 * image (one channel) into a multiple of 4 channels, forward and filter gradient, in our own
 * WebAssembly (`single_channel_conv.wat`) running in place on the backend's heap. For 128 images
 * into 32 channels, on one thread (`deno task bench --threads 1 --profile`, PROFILE_SHAPES=1, a
 * loaded machine): the forward pass took 2.6 ms where XNNPACK took 4.9 ms, and the filter
 * gradient 2.8 ms where the im2col, transpose and matrix product before it took 11.4 ms.
 *
 * Only for one-thread backends (see `heap_module.ts`); `kernels.ts` sends the other cases to
 * the stock kernels.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { heapKernelsAvailable, heapModule, heapOffset } from "./heap_module.ts";
import { SINGLE_CHANNEL_CONV_WASM_BASE64 } from "./single_channel_conv_wasm.ts";

interface SingleChannelExports {
  forward3x3(
    x: number,
    f: number,
    out: number,
    n: number,
    h: number,
    w: number,
    co: number,
    bias: number,
    hasBias: number,
    relu: number,
  ): void;
  filterGradient3x3(
    x: number,
    dy: number,
    dw: number,
    n: number,
    h: number,
    w: number,
    co: number,
  ): void;
}

function kernels(backend: BackendWasm): SingleChannelExports {
  return heapModule(SINGLE_CHANNEL_CONV_WASM_BASE64, backend) as unknown as SingleChannelExports;
}

/**
 * Whether {@linkcode convolveSingleChannel} and {@linkcode filterGradientSingleChannel} take this
 * convolution on this backend: one input channel, a 3x3 filter into a multiple of 4 channels,
 * stride 1, no dilation, no padding, channels last, and a one-thread backend.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
 * import { setupWasmBackend, shutdownWasmBackend } from "../backend.ts";
 * import { singleChannelSupports } from "./single_channel_conv.ts";
 * await setupWasmBackend({ threads: 1 });
 * const info = tf.backend_util.computeConv2DInfo([8, 28, 28, 1], [3, 3, 1, 32], 1, 1, "valid");
 * assert.ok(singleChannelSupports(info, tf.backend() as BackendWasm));
 * const same = tf.backend_util.computeConv2DInfo([8, 28, 28, 1], [3, 3, 1, 32], 1, 1, "same");
 * assert.ok(!singleChannelSupports(same, tf.backend() as BackendWasm));
 * shutdownWasmBackend();
 * ```
 */
export function singleChannelSupports(
  info: tf.backend_util.Conv2DInfo,
  backend: BackendWasm,
): boolean {
  const p = info.padInfo;
  return info.inChannels === 1 && info.filterHeight === 3 && info.filterWidth === 3 &&
    info.outChannels % 4 === 0 && info.strideHeight === 1 && info.strideWidth === 1 &&
    info.dilationHeight === 1 && info.dilationWidth === 1 && p.top === 0 && p.bottom === 0 &&
    p.left === 0 && p.right === 0 && info.dataFormat === "channelsLast" &&
    info.inHeight >= 3 && info.inWidth >= 3 && heapKernelsAvailable(backend);
}

/** What {@linkcode convolveSingleChannel} adds after the convolution (FusedConv2D's). */
export interface FusedOutput {
  /** Added to every pixel, one value per output channel ([co]). */
  bias?: tf.TensorInfo;
  /** max(0, .) after the bias. */
  relu?: boolean;
}

/**
 * out [n, h-2, w-2, co] = the valid 3x3 convolution of x [n, h, w, 1] with filter [3, 3, 1, co]
 * (co a multiple of 4), plus `bias` and then ReLU when asked, as a new tensor on the backend.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
 * import { setupWasmBackend, shutdownWasmBackend } from "../backend.ts";
 * import { convolveSingleChannel } from "./single_channel_conv.ts";
 * await setupWasmBackend({ threads: 1 });
 * const backend = tf.backend() as BackendWasm;
 * const x = tf.ones([1, 3, 3, 1]);
 * const filter = tf.fill([3, 3, 1, 4], 2);
 * const out = convolveSingleChannel(backend, x, filter); // [1, 1, 1, 4]: 9 pixels x 2
 * assert.deepEqual([...backend.readSync(out.dataId) as Float32Array], [18, 18, 18, 18]);
 * backend.disposeData(out.dataId);
 * tf.dispose([x, filter]);
 * shutdownWasmBackend();
 * ```
 */
export function convolveSingleChannel(
  backend: BackendWasm,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  fused: FusedOutput = {},
): tf.TensorInfo {
  const [n, h, w] = x.shape;
  const co = filter.shape[3];
  if (fused.bias !== undefined && (fused.bias.shape.length !== 1 || fused.bias.shape[0] !== co)) {
    throw new RangeError(
      `The bias must hold one value per channel, [${co}]; got [${fused.bias.shape}].`,
    );
  }
  const out = backend.makeOutput([n, h - 2, w - 2, co], "float32");
  kernels(backend).forward3x3(
    heapOffset(backend, x),
    heapOffset(backend, filter),
    heapOffset(backend, out),
    n,
    h,
    w,
    co,
    fused.bias === undefined ? 0 : heapOffset(backend, fused.bias),
    fused.bias === undefined ? 0 : 1,
    fused.relu ? 1 : 0,
  );
  return out;
}

/**
 * dW [3, 3, 1, co] of the valid 3x3 convolution of x [n, h, w, 1], given dy [n, h-2, w-2, co]
 * (co a multiple of 4), as a new tensor on the backend.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
 * import { setupWasmBackend, shutdownWasmBackend } from "../backend.ts";
 * import { filterGradientSingleChannel } from "./single_channel_conv.ts";
 * await setupWasmBackend({ threads: 1 });
 * const backend = tf.backend() as BackendWasm;
 * const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
 * const dy = tf.ones([1, 1, 1, 4]);
 * const dw = filterGradientSingleChannel(backend, x, dy); // each tap sees its one pixel
 * const values = backend.readSync(dw.dataId) as Float32Array;
 * assert.deepEqual([...values.subarray(0, 8)], [1, 1, 1, 1, 2, 2, 2, 2]);
 * backend.disposeData(dw.dataId);
 * tf.dispose([x, dy]);
 * shutdownWasmBackend();
 * ```
 */
export function filterGradientSingleChannel(
  backend: BackendWasm,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
): tf.TensorInfo {
  const [n, h, w] = x.shape;
  const co = dy.shape[3];
  const dw = backend.makeOutput([3, 3, 1, co], "float32");
  kernels(backend).filterGradient3x3(
    heapOffset(backend, x),
    heapOffset(backend, dy),
    heapOffset(backend, dw),
    n,
    h,
    w,
    co,
  );
  return dw;
}
