/**
 * The grey first layer's own kernels (lib/engine/kernels/single_channel_conv.ts) against the `cpu` backend,
 * through tfjs' autodiff as a training step uses them: the forward convolution and the filter
 * gradient of seeded random shapes, to 1e-4 of the largest value, and the cases they must leave
 * to XNNPACK.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { setupWasmBackend } from "../../lib/engine/backend.ts";
import { singleChannelSupports } from "../../lib/engine/kernels/single_channel_conv.ts";
import { createRandom } from "../../lib/random.ts";
import { assertCloseToCpu } from "./against_cpu.ts";

tf.enableProdMode();
await setupWasmBackend({ threads: 1 });

interface Case {
  batch: number;
  h: number;
  w: number;
  cout: number;
  strides?: number;
  pad?: "valid" | "same";
}

/** conv2d(x, filter) and d(sum(conv * weights))/dfilter on `backend`. */
function forwardAndGradient(
  backend: "cpu" | "wasm",
  c: Case,
  values: { x: Float32Array; filter: Float32Array; weights: Float32Array },
): { out: Float32Array; dFilter: Float32Array } {
  tf.setBackend(backend);
  return tf.tidy(() => {
    const x = tf.tensor4d(values.x, [c.batch, c.h, c.w, 1]);
    const filter = tf.tensor4d(values.filter, [3, 3, 1, c.cout]);
    const conv = (f: tf.Tensor4D) => tf.conv2d(x, f, c.strides ?? 1, c.pad ?? "valid");
    const out = conv(filter);
    const weights = tf.tensor(values.weights, out.shape);
    const dFilter = tf.grad((f) => tf.sum(tf.mul(conv(f as tf.Tensor4D), weights)))(filter);
    return { out: out.dataSync() as Float32Array, dFilter: dFilter.dataSync() as Float32Array };
  });
}

function check(c: Case, seed: number): void {
  const next = createRandom(seed);
  const random = (n: number) => Float32Array.from({ length: n }, () => 2 * next() - 1);
  const stride = c.strides ?? 1;
  const same = c.pad === "same";
  const oh = same ? Math.ceil(c.h / stride) : Math.floor((c.h - 3) / stride) + 1;
  const ow = same ? Math.ceil(c.w / stride) : Math.floor((c.w - 3) / stride) + 1;
  const values = {
    x: random(c.batch * c.h * c.w),
    filter: random(9 * c.cout),
    weights: random(c.batch * oh * ow * c.cout),
  };
  const want = forwardAndGradient("cpu", c, values);
  const got = forwardAndGradient("wasm", c, values);
  assertCloseToCpu(got.out, want.out, `${JSON.stringify(c)} forward`);
  assertCloseToCpu(got.dFilter, want.dFilter, `${JSON.stringify(c)} filter gradient`);
}

Deno.test("the first layer's kernels agree with cpu on the tutorial's shape", () => {
  check({ batch: 4, h: 28, w: 28, cout: 32 }, 1);
});

Deno.test("the first layer's kernels agree with cpu on 12 seeded random shapes", () => {
  const next = createRandom(77);
  const pick = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  for (let i = 0; i < 12; i++) {
    check({ batch: pick(1, 5), h: pick(3, 31), w: pick(3, 31), cout: 4 * pick(1, 10) }, 100 + i);
  }
});

Deno.test("shapes the kernels do not take still agree with cpu, on XNNPACK", () => {
  const backend = tf.backend() as BackendWasm;
  const cases: Case[] = [
    { batch: 2, h: 9, w: 8, cout: 6 }, // channels not a multiple of 4
    { batch: 2, h: 9, w: 8, cout: 8, strides: 2 },
    { batch: 2, h: 9, w: 8, cout: 8, pad: "same" },
  ];
  for (const [i, c] of cases.entries()) {
    const info = tf.backend_util.computeConv2DInfo(
      [c.batch, c.h, c.w, 1],
      [3, 3, 1, c.cout],
      c.strides ?? 1,
      1,
      c.pad ?? "valid",
    );
    assert.equal(singleChannelSupports(info, backend), false, JSON.stringify(c));
    check(c, 200 + i);
  }
});

Deno.test("the first layer's kernels leave no tensor behind", () => {
  tf.setBackend("wasm");
  const before = tf.memory().numTensors;
  check({ batch: 2, h: 10, w: 12, cout: 8 }, 9);
  tf.setBackend("wasm");
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("the first layer's fused convolution (bias, ReLU) agrees with cpu, as predict runs it", () => {
  const next = createRandom(31);
  const random = (n: number) => Float32Array.from({ length: n }, () => 2 * next() - 1);
  const [n, h, w, co] = [3, 12, 9, 16];
  const x = random(n * h * w), filter = random(9 * co), bias = random(co);
  for (
    const [withBias, activation] of [[true, "relu"], [true, "linear"], [false, "relu"]] as const
  ) {
    const run = (backend: "cpu" | "wasm") => {
      tf.setBackend(backend);
      return tf.tidy(() =>
        tf.fused.conv2d({
          x: tf.tensor4d(x, [n, h, w, 1]),
          filter: tf.tensor4d(filter, [3, 3, 1, co]),
          strides: 1,
          pad: "valid",
          bias: withBias ? tf.tensor1d(bias) : undefined,
          activation,
        }).dataSync() as Float32Array
      );
    };
    assertCloseToCpu(run("wasm"), run("cpu"), `bias ${withBias}, ${activation}`);
  }
});
