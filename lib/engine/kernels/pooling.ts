/**
 * The 2x2, stride-2 max pool and its gradient in our own WebAssembly (`pooling.wat`: relaxed
 * SIMD), run in place on a one-thread wasm backend's heap ({@linkcode heapModule}), with the `cpu`
 * backend's results. `kernels.ts` routes `MaxPool` and `MaxPoolGrad` here on one-thread backends.
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
