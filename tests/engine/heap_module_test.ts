/**
 * Kernel modules on the backend's heap (lib/engine/kernels/heap_module.ts): they read and write tensors in
 * place, see the heap after it grows, and refuse a threaded backend with a sentence.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { setupWasmBackend, shutdownWasmBackend } from "../../lib/engine/backend.ts";
import {
  backendMemory,
  heapKernelsAvailable,
  heapModule,
  heapOffset,
} from "../../lib/engine/kernels/heap_module.ts";
import { buildWasmModule } from "../../programs/build_wasm.ts";

/** A module that doubles `n` floats at byte offset `at`, in place. */
async function doubler(): Promise<string> {
  const text = await buildWasmModule(
    "doubler",
    `(module (import "env" "memory" (memory 1))
      (func (export "double") (param $at i32) (param $n i32)
        (block $done (loop $l
          (br_if $done (i32.eqz (local.get $n)))
          (f32.store (local.get $at) (f32.mul (f32.load (local.get $at)) (f32.const 2)))
          (local.set $at (i32.add (local.get $at) (i32.const 4)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $l)))))`,
  );
  return text.match(/"([^"]+)"/g)!.map((s) => s.slice(1, -1)).join("");
}

Deno.test("heapModule() works on tensors in place, also after the heap grew", async () => {
  await setupWasmBackend({ threads: 1 });
  try {
    const backend = tf.backend() as BackendWasm;
    assert.ok(heapKernelsAvailable(backend));
    const base64 = await doubler();
    const double = heapModule(base64, backend).double as (at: number, n: number) => void;
    assert.equal(heapModule(base64, backend).double, double, "the instance is cached");
    const t = tf.tensor1d([1, -2, 3.5]);
    double(heapOffset(backend, t), 3);
    assert.deepEqual([...t.dataSync()], [2, -4, 7]);
    const before = backendMemory(backend).buffer.byteLength;
    const big = tf.zeros([64 * 1024 * 1024]); // 256 MB: the heap must grow
    assert.ok(backendMemory(backend).buffer.byteLength > before);
    const u = tf.tensor1d([0.25]);
    double(heapOffset(backend, u), 1);
    assert.deepEqual([...u.dataSync()], [0.5]);
    tf.dispose([t, u, big]);
  } finally {
    shutdownWasmBackend();
  }
});

Deno.test({
  name: "heapModule() refuses a threaded backend with a sentence",
  ignore: navigator.hardwareConcurrency < 2, // one core: no threaded backend to refuse
}, async () => {
  const base64 = await doubler();
  await setupWasmBackend({ threads: 2 });
  try {
    const backend = tf.backend() as BackendWasm;
    assert.equal(heapKernelsAvailable(backend), false);
    assert.throws(() => heapModule(base64, backend), /one-thread wasm backend only/);
  } finally {
    shutdownWasmBackend();
  }
});

Deno.test("heapOffset() names a tensor that is not on the backend", async () => {
  await setupWasmBackend({ threads: 1 });
  try {
    const backend = tf.backend() as BackendWasm;
    assert.throws(
      () => heapOffset(backend, { dataId: {}, shape: [2, 3], dtype: "float32" }),
      /The tensor \[2,3\] does not live on this wasm backend/,
    );
  } finally {
    shutdownWasmBackend();
  }
});
