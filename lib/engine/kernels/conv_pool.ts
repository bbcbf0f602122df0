/**
 * Prediction's first block in one pass: the grey first layer's 3x3 "valid" convolution, its bias
 * and ReLU, and the 2x2 max pool after it (`conv_pool.wat`). The convolution's output, 4 times
 * the pooled size, is never written: each pooled value comes from its window's 4 outputs held in
 * registers, computed exactly as `single_channel_conv.wat` computes them, so the result is that
 * of `FusedConv2D` then `MaxPool` on a one-thread backend, bit for bit.
 *
 * Later 3x3 "valid" convolutions whose channels Winograd takes run their pool in Winograd's
 * output transform the same way (`winograd.wat`, flag 4), bit for bit the Winograd convolution
 * (what `FusedConv2D` runs on one thread) then the pool.
 *
 * They run as the kernel {@linkcode CONV_MAX_POOL}, registered for `wasm` by
 * {@linkcode convMaxPool} on first use; `predict_plan.ts` calls it for prediction.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { heapKernelsAvailable, heapModule, heapOffset } from "./heap_module.ts";
import { CONV_POOL_WASM_BASE64 } from "./conv_pool_wasm.ts";
import { winogradConv2D, winogradSupports } from "./winograd.ts";

interface ConvPoolExports {
  forward3x3MaxPool(
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
}

/** The kernel's name in tfjs' registry (for the `wasm` backend only). */
export const CONV_MAX_POOL = "SingleChannelConv2DMaxPool";

/**
 * Whether {@linkcode convMaxPool} takes a convolution of `inputShape` ([h, w, c] per image) by a
 * filter of `filterShape` on the active backend: a 3x3 filter from one input channel into a
 * multiple of 4, or between channel counts Winograd takes (`winogradSupports`), an image of at
 * least 4x4, and a one-thread wasm backend. (The layers'
 * strides, padding, dilation and pooling are the caller's to check.)
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { setupWasmBackend, shutdownWasmBackend } from "../backend.ts";
 * import { convMaxPoolSupports } from "./conv_pool.ts";
 * await setupWasmBackend({ threads: 1 });
 * assert.ok(convMaxPoolSupports([28, 28, 1], [3, 3, 1, 32]));
 * assert.ok(!convMaxPoolSupports([28, 28, 3], [3, 3, 3, 32]));
 * shutdownWasmBackend();
 * ```
 */
export function convMaxPoolSupports(
  inputShape: readonly number[],
  filterShape: readonly number[],
): boolean {
  const [h, w, c] = inputShape;
  const [fh, fw, fc, co] = filterShape;
  const channels = c === 1 ? co % 4 === 0 : winogradSupports(c, co);
  return tf.getBackend() === "wasm" && fc === c && fh === 3 && fw === 3 && channels &&
    h >= 4 && w >= 4 && heapKernelsAvailable(tf.backend() as BackendWasm);
}

function kernel({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const wasm = backend as BackendWasm;
  const { x, filter, bias } = inputs as {
    x: tf.TensorInfo;
    filter: tf.TensorInfo;
    bias?: tf.TensorInfo;
  };
  const [n, h, w, c] = x.shape;
  const co = filter.shape[3];
  const relu = (attrs as { relu?: boolean } | undefined)?.relu ?? false;
  if (c !== 1) {
    return winogradConv2D(wasm, x, filter, {
      padTop: 0,
      padLeft: 0,
      outHeight: h - 2,
      outWidth: w - 2,
      bias,
      relu,
      maxPool: true,
    });
  }
  const out = wasm.makeOutput([n, (h - 2) >> 1, (w - 2) >> 1, co], "float32");
  const exports = heapModule(CONV_POOL_WASM_BASE64, wasm) as unknown as ConvPoolExports;
  exports.forward3x3MaxPool(
    heapOffset(wasm, x),
    heapOffset(wasm, filter),
    heapOffset(wasm, out),
    n,
    h,
    w,
    co,
    bias === undefined ? 0 : heapOffset(wasm, bias),
    bias === undefined ? 0 : 1,
    relu ? 1 : 0,
  );
  return out;
}

/**
 * The 2x2 stride-2 "valid" max pool of the valid 3x3 convolution of x [n, h, w, c] with
 * filter [3, 3, c, co], plus `bias` [co] and then ReLU when asked: [n, (h-2)/2, (w-2)/2, co]
 * (rounded down), where {@linkcode convMaxPoolSupports} holds.
 *
 * @throws RangeError naming the shapes when the filter, bias or input do not fit.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { setupWasmBackend, shutdownWasmBackend } from "../backend.ts";
 * import { convMaxPool } from "./conv_pool.ts";
 * await setupWasmBackend({ threads: 1 });
 * const x = tf.tensor4d([...Array(16).keys()], [1, 4, 4, 1]);
 * const filter = tf.fill([3, 3, 1, 4], 1);
 * const out = convMaxPool(x, filter, { relu: true }); // the largest of the 4 sums of 9 pixels
 * assert.deepEqual(out.shape, [1, 1, 1, 4]);
 * assert.deepEqual([...out.dataSync()], [90, 90, 90, 90]);
 * tf.dispose([x, filter, out]);
 * shutdownWasmBackend();
 * ```
 */
export function convMaxPool(
  x: tf.Tensor,
  filter: tf.Tensor,
  options: { bias?: tf.Tensor; relu?: boolean } = {},
): tf.Tensor4D {
  const { bias, relu = false } = options;
  const co = filter.shape[3] ?? 0;
  if (x.rank !== 4 || !convMaxPoolSupports(x.shape.slice(1), filter.shape)) {
    throw new RangeError(
      `convMaxPool() takes x [n, h, w, c] (h, w at least 4) and a filter [3, 3, c, co] (c 1 and ` +
        `co a multiple of 4, or c a multiple of 4 and co of 8) on a one-thread wasm backend; ` +
        `got x [${x.shape}], filter [${filter.shape}].`,
    );
  }
  if (bias !== undefined && (bias.rank !== 1 || bias.shape[0] !== co)) {
    throw new RangeError(`The bias must hold one value per channel, [${co}]; got [${bias.shape}].`);
  }
  if (tf.getKernel(CONV_MAX_POOL, "wasm") === undefined) {
    tf.registerKernel({ kernelName: CONV_MAX_POOL, backendName: "wasm", kernelFunc: kernel });
  }
  const inputs: tf.NamedTensorMap = bias === undefined ? { x, filter } : { x, filter, bias };
  return tf.engine().runKernel(CONV_MAX_POOL, inputs, { relu }) as tf.Tensor4D;
}
