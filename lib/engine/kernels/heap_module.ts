/**
 * Runs our own WebAssembly kernels directly on the tfjs wasm backend's heap: a kernel module
 * imports the backend's memory as `env.memory`, so it reads its inputs and writes its outputs
 * where the tensors already are, with no copy in or out. Pointers are the tensors' byte offsets
 * ({@linkcode heapOffset}); scratch space is allocated as backend tensors
 * (`backend.makeOutput`), so the backend's allocator stays the only one.
 *
 * Only for a one-thread backend: the threaded binary's heap is shared memory, which a module
 * must declare as such to import.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

/** The Emscripten module fields that hold the heap, in either build. */
interface EmscriptenHeap {
  wasmMemory?: WebAssembly.Memory;
  asm?: { memory?: WebAssembly.Memory };
}

const instances = new WeakMap<WebAssembly.Memory, Map<string, WebAssembly.Exports>>();
const modules = new Map<string, WebAssembly.Module>();

/** The backend's heap as a `WebAssembly.Memory`. */
export function backendMemory(backend: BackendWasm): WebAssembly.Memory {
  const wasm = backend.wasm as unknown as EmscriptenHeap;
  const memory = wasm.wasmMemory ?? wasm.asm?.memory;
  if (memory === undefined) {
    throw new Error(
      "The tfjs wasm backend does not expose its memory; heap kernels need " +
        "@tensorflow/tfjs-backend-wasm 4.22.",
    );
  }
  return memory;
}

/** Whether heap kernels can run on this backend (its heap is not shared memory). */
export function heapKernelsAvailable(backend: BackendWasm): boolean {
  return !(backendMemory(backend).buffer instanceof SharedArrayBuffer);
}

/**
 * The exports of the kernel module `base64` (a `*_WASM_BASE64` from `deno task build-wasm`),
 * instantiated on `backend`'s heap: the module must import `(memory 1)` as `env.memory`.
 * Instances are cached per heap and module.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
 * import { heapModule, heapOffset } from "./heap_module.ts";
 * import { setupWasmBackend, shutdownWasmBackend } from "../backend.ts";
 * await setupWasmBackend({ threads: 1 });
 * // (module (import "env" "memory" (memory 1))
 * //   (func (export "first") (param i32) (result f32) (f32.load (local.get 0))))
 * const wasm = "AGFzbQEAAAABBgFgAX8BfQIPAQNlbnYGbWVtb3J5AgABAwIBAAcJAQVmaXJzdAAACgkBBwAgACoCAAs=";
 * const backend = tf.backend() as BackendWasm;
 * const t = tf.tensor1d([2.5, 7]);
 * const first = heapModule(wasm, backend).first as (at: number) => number;
 * assert.equal(first(heapOffset(backend, t)), 2.5);
 * t.dispose();
 * shutdownWasmBackend();
 * ```
 */
export function heapModule(base64: string, backend: BackendWasm): WebAssembly.Exports {
  const memory = backendMemory(backend);
  if (memory.buffer instanceof SharedArrayBuffer) {
    throw new Error(
      "Heap kernels run on a one-thread wasm backend only; this one is threaded. " +
        "Check heapKernelsAvailable() first.",
    );
  }
  let forHeap = instances.get(memory);
  if (forHeap === undefined) instances.set(memory, forHeap = new Map());
  let exports = forHeap.get(base64);
  if (exports === undefined) {
    let module = modules.get(base64);
    if (module === undefined) {
      module = new WebAssembly.Module(Uint8Array.from(atob(base64), (ch) => ch.charCodeAt(0)));
      modules.set(base64, module);
    }
    exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
    forHeap.set(base64, exports);
  }
  return exports;
}

/** The byte offset of a tensor's data on the backend's heap. */
export function heapOffset(backend: BackendWasm, t: tf.TensorInfo | tf.Tensor): number {
  if (!backend.dataIdMap.has(t.dataId)) {
    throw new Error(`The tensor [${t.shape}] does not live on this wasm backend.`);
  }
  return backend.dataIdMap.get(t.dataId)!.memoryOffset;
}

/**
 * Whether an error message says the WebAssembly heap ran out (tfjs' wasm backend reports it as a
 * memory access out of bounds or an Emscripten abort, V8 as a failed buffer allocation).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isOutOfMemory } from "./heap_module.ts";
 * assert.ok(isOutOfMemory("RuntimeError: memory access out of bounds"));
 * assert.ok(!isOutOfMemory("labels must be 0 to 9"));
 * ```
 */
export function isOutOfMemory(message: string): boolean {
  return /memory access out of bounds|Aborted\(|out of memory|Array buffer allocation/i.test(
    message,
  );
}
