/**
 * Winograd F(2x2, 3x3) (lib/engine/kernels/winograd.ts) against the `cpu` backend, to 1e-4 of the largest
 * value: directly, and through the kernels that use it on a one-thread backend (Conv2D,
 * FusedConv2D, Conv2DBackpropInput, Conv2DBackpropFilter) on the variants' layers and seeded random shapes (odd sizes,
 * batch 1-5, same/valid/explicit padding, and shapes that go to the stock kernels), then the
 * gradient of a whole model, leaks, and bad input.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { setupWasmBackend, shutdownWasmBackend } from "../../lib/engine/backend.ts";
import { setWinogradEnabled } from "../../lib/engine/kernels/kernels.ts";
import { winogradConv2D, winogradFilterGradient } from "../../lib/engine/kernels/winograd.ts";
import { createRandom } from "../../lib/random.ts";
import {
  assertCloseToCpu,
  checkConvolutionKernels,
  type InputSpec,
  randomInput,
  runKernelTidy,
} from "./against_cpu.ts";

tf.enableProdMode();
await setupWasmBackend({ threads: 1 });

Deno.test("winogradConv2D() agrees with cpu on the tutorial's second layer, forward and rotated", () => {
  const next = createRandom(11);
  const backend = tf.backend() as BackendWasm;
  const x = randomInput([3, 13, 13, 32], next), filter = randomInput([3, 3, 32, 64], next);
  const dy = randomInput([3, 11, 11, 64], next);
  const want = tf.tidy(() => {
    tf.setBackend("cpu");
    const w = tf.tensor4d(filter.values, [3, 3, 32, 64]);
    const forward = tf.conv2d(tf.tensor4d(x.values, [3, 13, 13, 32]), w, 1, "valid");
    // dx: the full convolution of dy with the filter turned around, channels swapped.
    const turned = tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
    const backward = tf.conv2d(tf.tensor4d(dy.values, [3, 11, 11, 64]), turned, 1, [
      [0, 0],
      [2, 2],
      [2, 2],
      [0, 0],
    ]);
    return [forward.dataSync(), backward.dataSync()];
  });
  tf.setBackend("wasm");
  tf.tidy(() => {
    const xt = tf.tensor(x.values, x.shape), ft = tf.tensor(filter.values, filter.shape);
    const dyt = tf.tensor(dy.values, dy.shape);
    const forward = tf.engine().makeTensorFromTensorInfo(
      winogradConv2D(backend, xt, ft, { padTop: 0, padLeft: 0, outHeight: 11, outWidth: 11 }),
    );
    assertCloseToCpu(forward.dataSync(), want[0], "forward");
    const backward = tf.engine().makeTensorFromTensorInfo(
      winogradConv2D(backend, dyt, ft, {
        padTop: 2,
        padLeft: 2,
        outHeight: 13,
        outWidth: 13,
        rotated: true,
      }),
    );
    assertCloseToCpu(backward.dataSync(), want[1], "input gradient");
  });
});

Deno.test("Winograd kernels agree with cpu on the variants' layers (batch 20 too)", () => {
  // baseline, tuned, regularized, augmented: conv 32 -> 64 on 13x13; deep: 64 -> 64 on 11x11.
  checkConvolutionKernels({ batch: 3, h: 13, w: 13, cin: 32, cout: 64, pad: "valid" }, 1, {
    fused: true,
  });
  // 720 tiles: 20 blocks of the forward pass, 10 of the filter gradient.
  checkConvolutionKernels({ batch: 20, h: 13, w: 13, cin: 32, cout: 64, pad: "valid" }, 2, {
    fused: true,
  });
  checkConvolutionKernels({ batch: 2, h: 11, w: 11, cin: 64, cout: 64, pad: "valid" }, 3, {
    fused: true,
  });
  // The first layer (1 input channel) goes to XNNPACK.
  checkConvolutionKernels({ batch: 2, h: 28, w: 28, cin: 1, cout: 32, pad: "valid" }, 4, {
    fused: true,
  });
});

Deno.test("Winograd kernels agree with cpu for same and explicit padding, batch 1, odd sizes", () => {
  checkConvolutionKernels({ batch: 1, h: 7, w: 9, cin: 8, cout: 8, pad: "same" }, 5, {
    fused: true,
  });
  checkConvolutionKernels({ batch: 5, h: 3, w: 3, cin: 4, cout: 16, pad: "valid" }, 6, {
    fused: true,
  }); // one output pixel
  checkConvolutionKernels({ batch: 2, h: 1, w: 4, cin: 12, cout: 8, pad: "same" }, 7, {
    fused: true,
  }); // one row
  checkConvolutionKernels(
    { batch: 2, h: 5, w: 10, cin: 16, cout: 24, pad: [[0, 0], [2, 1], [0, 2], [0, 0]] },
    8,
    { fused: true },
  );
});

Deno.test("Winograd kernels agree with cpu on 24 seeded random shapes, some for the stock kernels", () => {
  const next = createRandom(2027);
  const pick = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  for (let i = 0; i < 24; i++) {
    checkConvolutionKernels(
      {
        batch: pick(1, 5),
        h: pick(3, 16),
        w: pick(3, 16),
        // Multiples of 4 and 8 take Winograd; the others check the hand-back to the stock kernels.
        cin: next() < 0.75 ? 4 * pick(1, 10) : pick(1, 9),
        cout: next() < 0.75 ? 8 * pick(1, 5) : pick(1, 9),
        strides: next() < 0.85 ? [1, 1] : [2, pick(1, 2)],
        pad: next() < 0.5 ? "same" : "valid",
      },
      500 + i,
      { fused: true },
    );
  }
});

Deno.test("all four kernels run Winograd on one thread: their rounding differs from the old paths", () => {
  const next = createRandom(21);
  const x = randomInput([2, 13, 13, 32], next), filter = randomInput([3, 3, 32, 64], next);
  const bias = randomInput([64], next), dy = randomInput([2, 11, 11, 64], next);
  const common = { strides: [1, 1], pad: "valid", dataFormat: "NHWC", dilations: [1, 1] };
  for (
    const [kernel, inputs, attrs] of [
      ["Conv2D", { x, filter }, common],
      ["FusedConv2D", { x, filter, bias }, { ...common, activation: "relu" }],
      ["Conv2DBackpropInput", { dy, filter }, { ...common, inputShape: x.shape }],
      ["Conv2DBackpropFilter", { x, dy }, { ...common, filterShape: filter.shape }],
    ] as const
  ) {
    const winograd = runKernelTidy("wasm", kernel, inputs, attrs);
    assert.equal(setWinogradEnabled(false), true);
    let old: InputSpec;
    try {
      old = runKernelTidy("wasm", kernel, inputs, attrs);
    } finally {
      setWinogradEnabled(true);
    }
    assertCloseToCpu(winograd.values, old.values, `${kernel}: Winograd vs the old path`);
    assert.notDeepEqual(winograd.values, old.values, `${kernel}: the two paths are the same code`);
  }
});

/** The tutorial's layers, on `backend`, with the same weights on either backend. */
function tutorialGradients(backend: "cpu" | "wasm", seed: number): Float32Array[] {
  tf.setBackend(backend);
  return tf.tidy(() => {
    const next = createRandom(seed);
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({
          inputShape: [28, 28, 1],
          filters: 32,
          kernelSize: 3,
          activation: "relu",
        }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: "relu" }),
        tf.layers.conv2d({ filters: 32, kernelSize: 3, padding: "same", activation: "relu" }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 10 }),
      ],
    });
    // Biases too, so that no ReLU is dead everywhere and every path carries a gradient.
    model.setWeights(
      model.getWeights().map((w) => tf.tensor(randomInput(w.shape, next).values, w.shape)),
    );
    const x = tf.tensor(randomInput([3, 28, 28, 1], next).values, [3, 28, 28, 1]);
    const labels = tf.oneHot(tf.tensor1d([1, 7, 3], "int32"), 10);
    const loss = () =>
      tf.losses.softmaxCrossEntropy(labels, model.apply(x, { training: true }) as tf.Tensor);
    const { grads } = tf.variableGrads(loss as () => tf.Scalar);
    const prediction = model.predict(x) as tf.Tensor;
    const out = [
      ...model.trainableWeights.map((w) => grads[w.originalName].dataSync() as Float32Array),
      prediction.dataSync() as Float32Array,
    ];
    model.dispose();
    return out;
  });
}

Deno.test("a model's gradients and predictions on wasm agree with cpu, without leaks", () => {
  const want = tutorialGradients("cpu", 31);
  tutorialGradients("wasm", 31); // warm-up: kernels and weights set up once
  tf.setBackend("wasm");
  const backend = tf.backend() as BackendWasm;
  const tensors = tf.memory().numTensors, dataIds = backend.numDataIds();
  const got = tutorialGradients("wasm", 31);
  tf.setBackend("wasm");
  assert.equal(tf.memory().numTensors, tensors, "tensors left behind");
  assert.equal(backend.numDataIds(), dataIds, "backend buffers (scratch) left behind");
  assert.equal(got.length, want.length);
  got.forEach((g, i) => assertCloseToCpu(g, want[i], `gradient/prediction ${i}`));
});

Deno.test("winogradConv2D() and winogradFilterGradient() reject shapes they do not take, naming them", () => {
  tf.setBackend("wasm");
  const backend = tf.backend() as BackendWasm;
  tf.tidy(() => {
    const x = tf.zeros([1, 5, 5, 4]);
    const options = { padTop: 0, padLeft: 0, outHeight: 3, outWidth: 3 };
    assert.throws(
      () => winogradConv2D(backend, x, tf.zeros([3, 3, 4, 6]), options),
      /whose output channels are a multiple of 8; got \[3,3,4,6\]/,
    );
    assert.throws(
      () => winogradConv2D(backend, x, tf.zeros([5, 5, 4, 8]), options),
      /needs a 3x3 filter whose input channels match x \[1,5,5,4\]/,
    );
    assert.throws(
      () => winogradFilterGradient(backend, x, tf.zeros([1, 3, 3, 12]), { padTop: 0, padLeft: 0 }),
      /co of 8; got x \[1,5,5,4\] and dy \[1,3,3,12\]/,
    );
    assert.throws(
      () => winogradConv2D(backend, x, tf.zeros([3, 3, 4, 8]), { ...options, bias: tf.zeros([4]) }),
      /The bias must hold 8 float32 values, got \[4\]/,
    );
  });
});

Deno.test("the wasm backend shuts down so this file can exit", () => {
  shutdownWasmBackend();
});
