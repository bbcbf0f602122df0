/**
 * The ReLU gradient in one pass in our own WebAssembly (`relu_grad.wat`: relaxed SIMD), run in
 * place on a one-thread wasm backend's heap ({@linkcode heapModule}). `kernels.ts` registers the
 * Relu gradient that runs it there (`DenseReluGrad`).
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { RELU_GRAD_WASM_BASE64 } from "./relu_grad_wasm.ts";
import { heapModule, heapOffset } from "./heap_module.ts";

/** The functions `relu_grad.wat` exports. */
interface ReluGradExports {
  relu_grad(out: number, dy: number, x: number, n: number): void;
}

function reluGradModule(backend: BackendWasm): ReluGradExports {
  return heapModule(RELU_GRAD_WASM_BASE64, backend) as unknown as ReluGradExports;
}

function size(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

/**
 * The ReLU gradient `dy * step(x)` (step: 1 where x > 0, 0 elsewhere, NaN where x is NaN),
 * exactly as tfjs computes it, in one pass: a new float32 tensor shaped like `x` on `backend`.
 * Needs a one-thread backend and float32 `dy` and `x` of one shape.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
 * import { setupWasmBackend, shutdownWasmBackend } from "../backend.ts";
 * import { reluGrad } from "./relu_grad.ts";
 * await setupWasmBackend({ threads: 1 });
 * const backend = tf.backend() as BackendWasm;
 * const x = tf.tensor1d([2, -1, 0, 5, NaN]);
 * const dy = tf.tensor1d([10, 20, 30, 40, 50]);
 * const g = tf.engine().makeTensorFromTensorInfo(reluGrad(backend, dy, x));
 * assert.deepEqual([...g.dataSync()], [10, 0, 0, 40, NaN]);
 * tf.dispose([x, dy, g]);
 * shutdownWasmBackend();
 * ```
 */
export function reluGrad(backend: BackendWasm, dy: tf.TensorInfo, x: tf.TensorInfo): tf.TensorInfo {
  if (x.dtype !== "float32" || dy.dtype !== "float32" || x.shape.join() !== dy.shape.join()) {
    throw new Error(
      `reluGrad() needs float32 dy and x of one shape; got dy [${dy.shape}] (${dy.dtype}) ` +
        `and x [${x.shape}] (${x.dtype}).`,
    );
  }
  const out = backend.makeOutput(x.shape, "float32");
  reluGradModule(backend).relu_grad(
    heapOffset(backend, out),
    heapOffset(backend, dy),
    heapOffset(backend, x),
    size(x.shape),
  );
  return out;
}
