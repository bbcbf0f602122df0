/**
 * The convolution kernels a replica runs (a one-thread backend, where our own kernels take over)
 * against the `cpu` backend for the layer options a reader's model may use: 3x3 and 5x5 filters,
 * strides 1 and 2, padding same and valid, dilation 1 and 2, one or three input channels, and every
 * activation FusedConv2D takes. A case our kernels do not handle must reach tfjs' own kernel, not
 * give other numbers.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { setupWasmBackend } from "../../lib/engine/backend.ts";
import { createRandom } from "../../lib/random.ts";
import { assertCloseToCpu, type InputSpec, randomInput, runKernelTidy } from "./against_cpu.ts";

tf.enableProdMode();
await setupWasmBackend({ threads: 1 });

const ACTIVATIONS = ["linear", "relu", "elu", "relu6", "sigmoid", "leakyrelu", "prelu"];

interface OptionCase {
  cin: number;
  k: number;
  stride: number;
  pad: "same" | "valid";
  dilation: number;
}

function cases(): OptionCase[] {
  const all: OptionCase[] = [];
  for (const cin of [1, 3]) {
    for (const k of [3, 5]) {
      for (const stride of [1, 2]) {
        for (const pad of ["same", "valid"] as const) {
          // tfjs takes no stride above 1 together with a dilation above 1.
          for (const dilation of stride === 1 ? [1, 2] : [1]) {
            all.push({ cin, k, stride, pad, dilation });
          }
        }
      }
    }
  }
  return all;
}

function compare(kernel: string, inputs: Record<string, InputSpec>, attrs: tf.NamedAttrMap) {
  const want = runKernelTidy("cpu", kernel, inputs, attrs);
  const got = runKernelTidy("wasm", kernel, inputs, attrs);
  const label = `${kernel} ${JSON.stringify(attrs)}`;
  assert.deepEqual(got.shape, want.shape, `${label}: shape`);
  assertCloseToCpu(got.values, want.values, label);
}

Deno.test("Conv2D and FusedConv2D with every activation agree with cpu on one thread, for 5x5 filters, strides, padding same and dilation", () => {
  const before = tf.memory().numTensors;
  for (const [i, c] of cases().entries()) {
    const next = createRandom(100 + i);
    const cout = 4;
    const x = randomInput([2, 11, 11, c.cin], next);
    const filter = randomInput([c.k, c.k, c.cin, cout], next);
    const bias = randomInput([cout], next);
    const alpha = randomInput([cout], next);
    const attrs = {
      strides: [c.stride, c.stride],
      pad: c.pad,
      dataFormat: "NHWC",
      dilations: [c.dilation, c.dilation],
    };
    compare("Conv2D", { x, filter }, attrs);
    for (const activation of ACTIVATIONS) {
      const inputs: Record<string, InputSpec> = { x, filter, bias };
      if (activation === "prelu") inputs.preluActivationWeights = alpha;
      compare("FusedConv2D", inputs, { ...attrs, activation, leakyreluAlpha: 0.2 });
    }
    compare("FusedConv2D", { x, filter }, { ...attrs, activation: "relu" });
  }
  tf.setBackend("wasm");
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("Conv2DBackpropInput and Conv2DBackpropFilter agree with cpu on one thread, for 5x5 filters, strides and padding same", () => {
  for (const [i, c] of cases().filter((c) => c.dilation === 1).entries()) {
    const next = createRandom(200 + i);
    const cout = 4;
    const xShape = [2, 11, 11, c.cin], wShape = [c.k, c.k, c.cin, cout];
    const { outShape } = tf.backend_util.computeConv2DInfo(
      xShape as [number, number, number, number],
      wShape as [number, number, number, number],
      c.stride,
      1,
      c.pad,
    );
    const x = randomInput(xShape, next), filter = randomInput(wShape, next);
    const dy = randomInput(outShape, next);
    const attrs = {
      strides: [c.stride, c.stride],
      pad: c.pad,
      dataFormat: "NHWC",
      dilations: [1, 1],
    };
    compare("Conv2DBackpropInput", { dy, filter }, { ...attrs, inputShape: xShape });
    compare("Conv2DBackpropFilter", { x, dy }, { ...attrs, filterShape: wShape });
  }
  tf.setBackend("wasm");
});
