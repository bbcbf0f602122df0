/**
 * The training engine: the tfjs WebAssembly backend started for training in Deno (threads, SIMD,
 * our own kernels and gradients), synchronous data-parallel replicas on worker threads with
 * one-pass optimizers over flat arrays, and a per-kernel profiler. Modules outside `lib/engine/` import
 * it only through this file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { setupWasmBackend, shutdownWasmBackend } from "./mod.ts";
 * const info = await setupWasmBackend({ threads: 1 });
 * assert.equal(tf.getBackend(), "wasm");
 * assert.equal(info.threads, 1);
 * shutdownWasmBackend();
 * ```
 *
 * @module
 */
export {
  logicalCores,
  setupWasmBackend,
  shutdownWasmBackend,
  type WasmBackendInfo,
  type WasmBackendOptions,
  WebWorker,
} from "./backend.ts";
export {
  defaultPredictors,
  defaultWorkers,
  type PredictOptions,
  type ReplicaOptions,
  Replicas,
  type ReplicaStep,
  replicaUnsupportedReason,
  startOrFallBack,
  startPredictors,
  startReplicas,
  type StepProfile,
} from "./data_parallel.ts";
export { EngineError, type EngineOption } from "./errors.ts";
export { type KernelProfile, type KernelStats, startKernelProfile } from "./kernel_profile.ts";
export { isOutOfMemory } from "./kernels/heap_module.ts";
export { setWinogradEnabled } from "./kernels/kernels.ts";
