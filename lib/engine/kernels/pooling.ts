/**
 * The 2x2, stride-2 max pool and its gradient in our own WebAssembly (`pooling.wat`: relaxed
 * SIMD), run in place on a one-thread wasm backend's heap ({@linkcode heapModule}), with the `cpu`
 * backend's results. `kernels.ts` routes `MaxPool` and `MaxPoolGrad` here on one-thread backends.
 * The same pool after a per-channel bias and ReLU, and its gradient, each in one pass
 * ({@linkcode biasReluMaxPool2x2}, {@linkcode biasReluMaxPoolGrad2x2}), give what the kernels
 * one after the other give, bit for bit; `../train_plan.ts` trains with them.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { POOLING_WASM_BASE64 } from "./pooling_wasm.ts";
import { heapModule, heapOffset } from "./heap_module.ts";

/** The layout both pooling kernels take after their pointers: batch, h, w, c, output h and w. */
type PoolGeometry = [batch: number, h: number, w: number, c: number, oh: number, ow: number];

/** The functions `pooling.wat` exports. */
interface PoolingExports {
  max_pool_2x2(y: number, x: number, ...geometry: PoolGeometry): void;
  max_pool_grad_2x2(dx: number, x: number, y: number, dy: number, ...geometry: PoolGeometry): void;
  bias_relu_max_pool_2x2(y: number, x: number, bias: number, ...geometry: PoolGeometry): void;
  bias_relu_max_pool_grad_2x2(
    dx: number,
    x: number,
    bias: number,
    dy: number,
    ...geometry: PoolGeometry
  ): void;
}

function poolingModule(backend: BackendWasm): PoolingExports {
  return heapModule(POOLING_WASM_BASE64, backend) as unknown as PoolingExports;
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
 * import { maxPoolGrad2x2Supports } from "./pooling.ts";
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
 * import { maxPoolGrad2x2 } from "./pooling.ts";
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
  poolingModule(backend).max_pool_grad_2x2(
    heapOffset(backend, out),
    heapOffset(backend, x),
    heapOffset(backend, y),
    heapOffset(backend, dy),
    ...[batch, inHeight, inWidth, channels, oh, ow] satisfies PoolGeometry,
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
 * import { maxPool2x2 } from "./pooling.ts";
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
  poolingModule(backend).max_pool_2x2(
    heapOffset(backend, out),
    heapOffset(backend, x),
    ...[batch, inHeight, inWidth, channels, oh, ow] satisfies PoolGeometry,
  );
  return out;
}

/** Checks a bias-ReLU-pool's x and bias; returns the pool's geometry. */
function biasPoolGeometry(what: string, x: tf.TensorInfo, bias: tf.TensorInfo): PoolGeometry {
  const [batch, inHeight, inWidth, channels] = x.shape;
  if (
    x.shape.length !== 4 || x.dtype !== "float32" || bias.dtype !== "float32" ||
    !maxPoolGrad2x2Supports({ batch, inHeight, inWidth, channels }) ||
    bias.shape.join() !== `${channels}`
  ) {
    throw new Error(
      `${what}() needs float32 x [n,h,w,c] with h, w >= 2 and c a multiple of 4, and a float32 ` +
        `bias [c]; got x [${x.shape}] (${x.dtype}), bias [${bias.shape}] (${bias.dtype}).`,
    );
  }
  return [batch, inHeight, inWidth, channels, Math.floor(inHeight / 2), Math.floor(inWidth / 2)];
}

/**
 * `maxPool2x2(relu(x + bias))` for NHWC float32 `x` and a per-channel `bias`, in one pass, bit for
 * bit the per-channel Add, the stock Relu (the larger of the bits and 0 as signed integers: a set
 * sign bit gives +0) and {@linkcode maxPool2x2} one after the other. Returns a new tensor [N, floor(H/2), floor(W/2), C]
 * on `backend`; needs a one-thread backend, C a multiple of 4, H and W at least 2.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
 * import { setupWasmBackend, shutdownWasmBackend } from "../backend.ts";
 * import { biasReluMaxPool2x2 } from "./pooling.ts";
 * await setupWasmBackend({ threads: 1 });
 * const backend = tf.backend() as BackendWasm;
 * // One window per channel; the bias is added before the ReLU and the max.
 * const x = tf.tensor4d([1, -5, 0, 3, 2, -3, 0, 1, 3, -4, 0, 2, 0, -2, 0, 0], [1, 2, 2, 4]);
 * const bias = tf.tensor1d([1, 1, -1, 0]);
 * const y = tf.engine().makeTensorFromTensorInfo(biasReluMaxPool2x2(backend, x, bias));
 * assert.deepEqual([...y.dataSync()], [4, 0, 0, 3]);
 * tf.dispose([x, bias, y]);
 * shutdownWasmBackend();
 * ```
 */
export function biasReluMaxPool2x2(
  backend: BackendWasm,
  x: tf.TensorInfo,
  bias: tf.TensorInfo,
): tf.TensorInfo {
  const geometry = biasPoolGeometry("biasReluMaxPool2x2", x, bias);
  const out = backend.makeOutput([geometry[0], geometry[4], geometry[5], geometry[3]], "float32");
  poolingModule(backend).bias_relu_max_pool_2x2(
    heapOffset(backend, out),
    heapOffset(backend, x),
    heapOffset(backend, bias),
    ...geometry,
  );
  return out;
}

/**
 * The gradient of {@linkcode biasReluMaxPool2x2} with respect to `x`, given the forward's `x` and
 * `bias` and the pooled gradient `dy`, in one pass, bit for bit {@linkcode maxPoolGrad2x2} then
 * the ReLU gradient (`dy * step(x + bias)`): each window's `dy` goes to its first cell holding
 * the window's max after the ReLU. The bias' gradient is its sum over every axis but the last.
 * Returns a new tensor shaped like `x` on `backend`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
 * import { setupWasmBackend, shutdownWasmBackend } from "../backend.ts";
 * import { biasReluMaxPoolGrad2x2 } from "./pooling.ts";
 * await setupWasmBackend({ threads: 1 });
 * const backend = tf.backend() as BackendWasm;
 * // Channel 0's max is its third cell; channel 1 is all below zero after the bias: no gradient.
 * const x = tf.tensor4d([1, -5, 0, 0, 2, -3, 0, 0, 3, -4, 0, 0, 0, -2, 0, 0], [1, 2, 2, 4]);
 * const bias = tf.tensor1d([0, 1, 0, 0]);
 * const dy = tf.tensor4d([7, 5, 0, 0], [1, 1, 1, 4]);
 * const dx = tf.engine().makeTensorFromTensorInfo(biasReluMaxPoolGrad2x2(backend, dy, x, bias));
 * assert.deepEqual([...dx.dataSync()].filter((_, i) => i % 4 < 2), [0, 0, 0, 0, 7, 0, 0, 0]);
 * tf.dispose([x, bias, dy, dx]);
 * shutdownWasmBackend();
 * ```
 */
export function biasReluMaxPoolGrad2x2(
  backend: BackendWasm,
  dy: tf.TensorInfo,
  x: tf.TensorInfo,
  bias: tf.TensorInfo,
): tf.TensorInfo {
  const geometry = biasPoolGeometry("biasReluMaxPoolGrad2x2", x, bias);
  const want = [geometry[0], geometry[4], geometry[5], geometry[3]];
  if (dy.shape.join() !== want.join() || dy.dtype !== "float32") {
    throw new Error(
      `biasReluMaxPoolGrad2x2() needs a float32 dy of the pooled shape [${want}]; got ` +
        `[${dy.shape}] (${dy.dtype}).`,
    );
  }
  const out = backend.makeOutput(x.shape, "float32");
  poolingModule(backend).bias_relu_max_pool_grad_2x2(
    heapOffset(backend, out),
    heapOffset(backend, x),
    heapOffset(backend, bias),
    heapOffset(backend, dy),
    ...geometry,
  );
  return out;
}
