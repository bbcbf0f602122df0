/**
 * What the kernel tests share: seeded inputs, running one kernel on a backend, and comparing with
 * the `cpu` backend's result to 1e-4 of the largest value.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";

/** `n` values `f(u)` of the seeded generator's uniforms u (default: uniform in [-1, 1)). */
export function randomArray(
  n: number,
  next: () => number,
  f = (u: number) => 2 * u - 1,
): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = f(next());
  return a;
}

/** |got - want| <= 1e-4 * max|want| (+ a tiny floor for all-zero references), element by element. */
export function assertCloseToCpu(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  what: string,
): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  const tol = 1e-4 * scale + 1e-6;
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol)) {
      assert.fail(`${what}: element ${i} is ${got[i]}, cpu says ${want[i]} (tolerance ${tol})`);
    }
  }
}

/** A kernel input: values and shape. */
export interface InputSpec {
  values: Float32Array;
  shape: number[];
}

/** Runs one kernel on `backend` and returns its output; checks that it leaves no tensor behind. */
export async function runKernelOn(
  backend: "cpu" | "wasm",
  kernel: string,
  inputs: Record<string, InputSpec>,
  attrs: tf.NamedAttrMap,
): Promise<{ values: Float32Array; shape: number[] }> {
  assert.ok(await tf.setBackend(backend), `setBackend(${backend}) failed`);
  const before = tf.memory().numTensors;
  const tensors: tf.NamedTensorMap = {};
  for (const [k, v] of Object.entries(inputs)) tensors[k] = tf.tensor(v.values, v.shape);
  const out = tf.engine().runKernel(kernel, tensors, attrs) as tf.Tensor;
  const values = out.dataSync() as Float32Array;
  const shape = out.shape;
  tf.dispose([out, ...Object.values(tensors)]);
  assert.equal(tf.memory().numTensors, before, `${kernel} on ${backend} leaked tensors`);
  return { values, shape };
}
