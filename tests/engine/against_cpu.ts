/**
 * What the kernel tests share: seeded inputs, running one kernel on a backend, comparing bit for
 * bit with another kernel, and comparing with the `cpu` backend's result to 1e-4 of the largest
 * value.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { createRandom } from "../../lib/random.ts";

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

/**
 * got equals want element by element bit for bit, signed zeros told apart (`Object.is`; NaN
 * equals NaN whatever its payload); a failure names the element and what `reference` gives.
 */
export function assertBitForBit(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  what: string,
  reference: string,
): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) {
      assert.fail(`${what}: element ${i} is ${got[i]}, ${reference} gives ${want[i]}`);
    }
  }
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

/** A seeded input of `shape`, uniform in [-1, 1). */
export function randomInput(shape: number[], next: () => number): InputSpec {
  return { values: randomArray(shape.reduce((a, b) => a * b, 1), next), shape };
}

/** Runs one kernel on `backend` inside `tf.tidy` and returns its output values and shape. */
export function runKernelTidy(
  backend: "cpu" | "wasm",
  kernel: string,
  inputs: Record<string, InputSpec>,
  attrs: tf.NamedAttrMap,
): InputSpec {
  tf.setBackend(backend);
  return tf.tidy(() => {
    const tensors: tf.NamedTensorMap = {};
    for (const [k, v] of Object.entries(inputs)) tensors[k] = tf.tensor(v.values, v.shape);
    const out = tf.engine().runKernel(kernel, tensors, attrs) as tf.Tensor;
    return { values: out.dataSync() as Float32Array, shape: out.shape };
  });
}

/** Padding as `tf.conv2d` takes it. */
export type ConvPad = "same" | "valid" | [
  [number, number],
  [number, number],
  [number, number],
  [number, number],
];

/** A convolution to check: NHWC input, a `k` filter (default 3x3), strides, padding. */
export interface ConvCase {
  batch: number;
  h: number;
  w: number;
  cin: number;
  cout: number;
  k?: [number, number];
  strides?: [number, number];
  pad: ConvPad;
}

/**
 * Conv2D, its input gradient and its filter gradient on wasm against cpu, on seeded inputs; with
 * `fused`, also FusedConv2D with a bias and ReLU, and linear without a bias.
 */
export function checkConvolutionKernels(
  c: ConvCase,
  seed: number,
  options: { fused?: boolean } = {},
): void {
  const next = createRandom(seed);
  const strides = c.strides ?? [1, 1];
  const [kh, kw] = c.k ?? [3, 3];
  const xShape = [c.batch, c.h, c.w, c.cin];
  const wShape = [kh, kw, c.cin, c.cout];
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    wShape as [number, number, number, number],
    strides,
    1,
    c.pad,
  );
  const x = randomInput(xShape, next), filter = randomInput(wShape, next);
  const bias = options.fused ? randomInput([c.cout], next) : undefined;
  const dy = randomInput(info.outShape, next);
  const common = { strides, pad: c.pad, dataFormat: "NHWC", dilations: [1, 1] };
  const label = JSON.stringify(c);
  const kernels: [string, Record<string, InputSpec>, tf.NamedAttrMap][] = [
    ["Conv2D", { x, filter }, common],
    ["Conv2DBackpropInput", { dy, filter }, { ...common, inputShape: xShape }],
    ["Conv2DBackpropFilter", { x, dy }, { ...common, filterShape: wShape }],
  ];
  if (bias) {
    kernels.splice(
      1,
      0,
      ["FusedConv2D", { x, filter, bias }, { ...common, activation: "relu" }],
      ["FusedConv2D", { x, filter }, { ...common, activation: "linear" }],
    );
  }
  for (const [kernel, inputs, attrs] of kernels) {
    const want = runKernelTidy("cpu", kernel, inputs, attrs);
    const got = runKernelTidy("wasm", kernel, inputs, attrs);
    assert.deepEqual(got.shape, want.shape, `${label} ${kernel}: shape`);
    assertCloseToCpu(got.values, want.values, `${label} ${kernel} ${JSON.stringify(attrs)}`);
  }
}
