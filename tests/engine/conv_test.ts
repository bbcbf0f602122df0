/**
 * Our own WebAssembly convolutions (lib/engine/kernels/conv.ts, used by Conv2DBackpropInput and
 * Conv2DBackpropFilter on a one-thread backend; Conv2D is checked alongside, 3x3 filters going to
 * Winograd, which tests/engine/winograd_test.ts checks in depth) against
 * the `cpu` backend, to 1e-4 of the largest
 * value: the seed CNN's and the variants' layers, then seeded random shapes with odd sizes,
 * batch sizes 1-5, same/valid/explicit padding, and strides the kernels hand back to XNNPACK.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { getThreadsCount } from "@tensorflow/tfjs-backend-wasm";
import { setupWasmBackend, shutdownWasmBackend } from "../../lib/engine/backend.ts";
import { convolve, filterGradient } from "../../lib/engine/kernels/conv.ts";
import { createRandom } from "../../lib/random.ts";
import { checkConvolutionKernels } from "./against_cpu.ts";

tf.enableProdMode();
await setupWasmBackend({ threads: 1 });

Deno.test("the backend under test runs one thread, where our convolutions are used", () => {
  assert.equal(getThreadsCount(), 1);
});

Deno.test("convolutions agree with cpu on the seed CNN's and the variants' layers", () => {
  // Seed and regularized: conv 32 -> 64 on 13x13 (the second layer); deep: 64 -> 64 on 11x11.
  checkConvolutionKernels(
    { batch: 3, h: 13, w: 13, cin: 32, cout: 64, k: [3, 3], pad: "valid" },
    1,
  );
  checkConvolutionKernels(
    { batch: 2, h: 11, w: 11, cin: 64, cout: 64, k: [3, 3], pad: "valid" },
    2,
  );
  // The first layer (1 input channel) stays on XNNPACK; checked all the same.
  checkConvolutionKernels({ batch: 2, h: 28, w: 28, cin: 1, cout: 32, k: [3, 3], pad: "valid" }, 3);
});

Deno.test("convolutions agree with cpu for same and explicit padding, batch 1, odd sizes", () => {
  checkConvolutionKernels({ batch: 1, h: 7, w: 9, cin: 8, cout: 8, k: [3, 3], pad: "same" }, 4);
  checkConvolutionKernels({ batch: 5, h: 6, w: 5, cin: 12, cout: 16, k: [2, 4], pad: "same" }, 5);
  checkConvolutionKernels({
    batch: 2,
    h: 5,
    w: 10,
    cin: 16,
    cout: 24,
    k: [3, 2],
    pad: [[0, 0], [2, 1], [0, 3], [0, 0]],
  }, 6);
  // A filter as large as the image: one output pixel.
  checkConvolutionKernels({ batch: 2, h: 4, w: 5, cin: 8, cout: 8, k: [4, 5], pad: "valid" }, 7);
});

Deno.test("convolutions agree with cpu on 16 seeded random shapes, strides 1-2", () => {
  const next = createRandom(2026);
  const pick = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  for (let i = 0; i < 16; i++) {
    const k: [number, number] = [pick(1, 4), pick(1, 4)];
    checkConvolutionKernels({
      batch: pick(1, 5),
      h: pick(k[0], 12),
      w: pick(k[1], 12),
      // Multiples of 4 and 8 take our kernels; the others check the hand-back to XNNPACK.
      cin: next() < 0.75 ? 4 * pick(1, 5) : pick(1, 9),
      cout: next() < 0.75 ? 8 * pick(1, 3) : pick(1, 9),
      k,
      strides: next() < 0.8 ? [1, 1] : [pick(1, 2), pick(1, 2)],
      pad: next() < 0.5 ? "same" : "valid",
    }, 300 + i);
  }
});

Deno.test("convolve() and filterGradient() reject shapes they do not take, with the shape", () => {
  const x = new Float32Array(2 * 3 * 3 * 4);
  assert.throws(
    () => convolve(x, [2, 3, 3, 4], new Float32Array(36 * 6), [3, 3, 4, 6], [0, 0, 0, 0]),
    /co a multiple of 8, got \[3,3,4,6\]/,
  );
  assert.throws(
    () => convolve(x, [2, 3, 3, 4], new Float32Array(4 * 8 * 25), [5, 5, 4, 8], [0, 0, 0, 0]),
    /larger than the padded image 3x3/,
  );
  assert.throws(
    () => filterGradient(x, [2, 3, 3, 4], new Float32Array(3), [3, 3, 4, 8], [0, 0, 0, 0]),
    /dy must hold \[2, 1, 1, 8\] = 16 floats, got 3/,
  );
});

Deno.test("the wasm backend shuts down so this file can exit", () => {
  shutdownWasmBackend();
});
