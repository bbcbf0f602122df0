/**
 * Per-channel kernels in our own WebAssembly (`channelwise.wat`: relaxed SIMD), run in place on a
 * one-thread wasm backend's heap ({@linkcode heapModule}): sums and means over leading axes, for
 * bias gradients and Batch Normalization's moments ({@linkcode sumLeadingAxes}), a
 * per-channel vector added, multiplied or subtracted along NHWC data ({@linkcode channelwise}),
 * and Batch Normalization with per-channel statistics ({@linkcode batchNorm}). `kernels.ts`
 * routes `Sum`, `Mean`, `Add`, `Multiply`, `Sub` and `FusedBatchNorm` here on one-thread
 * backends.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { CHANNELWISE_WASM_BASE64 } from "./channelwise_wasm.ts";
import { backendMemory, heapModule, heapOffset } from "./heap_module.ts";

/** The functions `channelwise.wat` exports. */
interface ChannelwiseExports {
  sum_rows(
    x: number,
    out: number,
    rows: number,
    cols: number,
    part: number,
    total: number,
    div: number,
  ): void;
  channel_op(out: number, x: number, v: number, rows: number, cols: number, op: number): void;
  batch_norm(
    out: number,
    x: number,
    mean: number,
    scale: number,
    offset: number,
    norm: number,
    rows: number,
    cols: number,
  ): void;
}

function channelwiseModule(backend: BackendWasm): ChannelwiseExports {
  return heapModule(CHANNELWISE_WASM_BASE64, backend) as unknown as ChannelwiseExports;
}

function size(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

/**
 * Whether {@linkcode sumLeadingAxes} takes `x` summed over its first `axes` axes: float32, a
 * trailing size that is a multiple of 4, nothing empty.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sumLeadingAxesSupports } from "./channelwise.ts";
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
 * import { sumLeadingAxes } from "./channelwise.ts";
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
  channelwiseModule(backend).sum_rows(
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
 * import { channelwiseSupports } from "./channelwise.ts";
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
 * import { channelwise } from "./channelwise.ts";
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
  channelwiseModule(backend).channel_op(
    heapOffset(backend, out),
    heapOffset(backend, x),
    heapOffset(backend, v),
    size(x.shape) / cols,
    cols,
    CHANNEL_OPS[op],
  );
  return out;
}

/** The per-channel tensors of {@linkcode batchNorm}. */
export interface BatchNormParameters {
  mean: tf.TensorInfo;
  variance: tf.TensorInfo;
  offset: tf.TensorInfo;
  scale: tf.TensorInfo;
}

/**
 * Whether {@linkcode batchNorm} takes `x` with these statistics: {@linkcode channelwiseSupports}
 * for each of the four (per-channel vectors along `x`'s last axis, a multiple of 4).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { batchNormSupports } from "./channelwise.ts";
 * const f = (shape: number[]) => ({ shape, dtype: "float32" as const });
 * const c = f([64]);
 * assert.ok(batchNormSupports(f([128, 11, 11, 64]), [c, c, c, c]));
 * assert.ok(!batchNormSupports(f([128, 11, 11, 64]), [c, c, c, f([1])]));
 * ```
 */
export function batchNormSupports(
  x: Pick<tf.TensorInfo, "shape" | "dtype">,
  parameters: readonly Pick<tf.TensorInfo, "shape" | "dtype">[],
): boolean {
  return parameters.every((p) => channelwiseSupports(x, p));
}

/**
 * Batch Normalization with per-channel statistics, `offset + (x - mean) * scale /
 * sqrt(variance + epsilon)` along `x`'s last axis, as a new float32 tensor on `backend`: one SIMD
 * pass, bit for bit what tfjs' own wasm `FusedBatchNorm` computes one element at a time (the
 * same operations in the same order and precision: `(x - mean) * scale` in float32, the division
 * and the offset in float64). Needs a one-thread backend and operands that
 * {@linkcode batchNormSupports}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
 * import { setupWasmBackend, shutdownWasmBackend } from "../backend.ts";
 * import { batchNorm } from "./channelwise.ts";
 * await setupWasmBackend({ threads: 1 });
 * const backend = tf.backend() as BackendWasm;
 * const x = tf.tensor2d([[1, 2, 3, 4], [5, 6, 7, 8]]);
 * const mean = tf.tensor1d([1, 2, 3, 4]), variance = tf.tensor1d([4, 4, 1, 1]);
 * const offset = tf.tensor1d([0, 0, 1, 1]), scale = tf.tensor1d([1, 2, 1, 2]);
 * const y = tf.engine().makeTensorFromTensorInfo(
 *   batchNorm(backend, x, { mean, variance, offset, scale }, 0),
 * );
 * assert.deepEqual([...y.dataSync()], [0, 0, 1, 1, 2, 4, 5, 9]);
 * tf.dispose([x, mean, variance, offset, scale, y]);
 * shutdownWasmBackend();
 * ```
 */
export function batchNorm(
  backend: BackendWasm,
  x: tf.TensorInfo,
  parameters: BatchNormParameters,
  varianceEpsilon: number,
): tf.TensorInfo {
  const { mean, variance, offset, scale } = parameters;
  if (!batchNormSupports(x, [mean, variance, offset, scale])) {
    throw new Error(
      `batchNorm() cannot normalize [${x.shape}] (${x.dtype}) with statistics of shapes ` +
        `[${mean.shape}], [${variance.shape}], [${offset.shape}], [${scale.shape}]; check ` +
        "batchNormSupports() first and use tf.batchNorm otherwise.",
    );
  }
  const cols = x.shape[x.shape.length - 1];
  const out = backend.makeOutput(x.shape, "float32");
  const scratch = backend.makeOutput([2 * cols], "float32"); // cols doubles
  // After both allocations, which may grow the heap and detach earlier views of it. As the stock
  // kernel: the sum and its square root rounded to float32, kept as a double.
  const v = backend.typedArrayFromHeap(variance) as Float32Array;
  const norm = heapOffset(backend, scratch);
  const n = new Float64Array(backendMemory(backend).buffer, norm, cols);
  const epsilon = Math.fround(varianceEpsilon);
  for (let j = 0; j < cols; j++) n[j] = Math.fround(Math.sqrt(Math.fround(v[j] + epsilon)));
  channelwiseModule(backend).batch_norm(
    heapOffset(backend, out),
    heapOffset(backend, x),
    heapOffset(backend, mean),
    heapOffset(backend, scale),
    heapOffset(backend, offset),
    norm,
    size(x.shape) / cols,
    cols,
  );
  backend.disposeData(scratch.dataId);
  return out;
}
