/**
 * Times the second layer of the tutorial's CNN (3x3, 32 -> 64 channels, 13x13 -> 11x11) per
 * kernel call on a one-thread wasm backend, the Winograd kernels against the paths they
 * replaced (XNNPACK for `Conv2D`/`FusedConv2D`, our direct kernels for `Conv2DBackpropInput` and
 * `Conv2DBackpropFilter`), alternating the two call by call in one run. Prints one JSON line per
 * kernel and batch size: the median CPU milliseconds per call of each, and their ratio.
 *
 * @example
 * ```sh
 * deno run -A programs/bench_conv.ts               # batches 64 and 128, 40 calls each
 * deno run -A programs/bench_conv.ts --reps 100 --batches 64
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import process from "node:process";
import { parseArgs } from "node:util";
import { setupWasmBackend, setWinogradEnabled, shutdownWasmBackend } from "../lib/engine/mod.ts";
import { createRandom } from "../lib/random.ts";
import { median } from "../lib/statistics.ts";

/** The kernels timed, in the order of the output lines. */
export const KERNELS = [
  "Conv2D",
  "FusedConv2D",
  "Conv2DBackpropInput",
  "Conv2DBackpropFilter",
] as const;

/** One kernel's timing at one batch size. */
export interface ConvTiming {
  kernel: string;
  batch: number;
  /** Median CPU ms per call, the previous path. */
  old_ms: number;
  /** Median CPU ms per call, Winograd. */
  winograd_ms: number;
  /** old_ms / winograd_ms. */
  speedup: number;
  reps: number;
}

/** CPU milliseconds (user + system) that `f` takes. */
function cpuMs(f: () => void): number {
  const start = process.cpuUsage();
  f();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

/**
 * Times `kernel` on the tutorial's second layer at batch `batch`, `reps` calls of each path,
 * alternating them. Needs the wasm backend set up on one thread.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { setupWasmBackend, shutdownWasmBackend } from "../lib/engine/mod.ts";
 * import { timeLayer2 } from "./bench_conv.ts";
 * await setupWasmBackend({ threads: 1 });
 * const t = timeLayer2("Conv2D", 2, 3);
 * assert.equal(t.reps, 3);
 * assert.ok(t.old_ms >= 0 && t.winograd_ms >= 0);
 * shutdownWasmBackend();
 * ```
 */
export function timeLayer2(
  kernel: "Conv2D" | "FusedConv2D" | "Conv2DBackpropInput" | "Conv2DBackpropFilter",
  batch: number,
  reps: number,
): ConvTiming {
  const next = createRandom(batch);
  const random = (shape: number[]) =>
    tf.tensor(
      Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => next() - 0.5),
      shape,
    );
  const x = random([batch, 13, 13, 32]);
  const filter = random([3, 3, 32, 64]);
  const bias = random([64]);
  const dy = random([batch, 11, 11, 64]);
  const common = { strides: [1, 1], pad: "valid", dataFormat: "NHWC", dilations: [1, 1] };
  const call = () => {
    const out = kernel === "Conv2DBackpropInput"
      ? tf.engine().runKernel(kernel, { dy, filter }, { ...common, inputShape: x.shape })
      : kernel === "Conv2DBackpropFilter"
      ? tf.engine().runKernel(kernel, { x, dy }, { ...common, filterShape: filter.shape })
      : kernel === "FusedConv2D"
      ? tf.engine().runKernel(kernel, { x, filter, bias }, { ...common, activation: "relu" })
      : tf.engine().runKernel(kernel, { x, filter }, common);
    (out as tf.Tensor).dispose();
  };
  const old: number[] = [], winograd: number[] = [];
  const previous = setWinogradEnabled(true);
  try {
    for (let i = -2; i < reps; i++) { // two warm-up rounds
      setWinogradEnabled(false);
      const o = cpuMs(call);
      setWinogradEnabled(true);
      const w = cpuMs(call);
      if (i >= 0) old.push(o), winograd.push(w);
    }
  } finally {
    setWinogradEnabled(previous);
    tf.dispose([x, filter, bias, dy]);
  }
  const oldMs = median(old), winogradMs = median(winograd);
  return {
    kernel,
    batch,
    old_ms: Number(oldMs.toFixed(2)),
    winograd_ms: Number(winogradMs.toFixed(2)),
    speedup: Number((oldMs / winogradMs).toFixed(2)),
    reps,
  };
}

/** The options of the command line; a sentence naming the problem when one is wrong. */
function parseOptions(args: string[]): { reps: number; batches: number[] } | string {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        reps: { type: "string", default: "40" },
        batches: { type: "string", default: "64,128" },
      },
    }));
  } catch (e) {
    return `${(e as Error).message} The options are --reps N and --batches N,N,...`;
  }
  const reps = Number(values.reps);
  const batches = values.batches.split(",").map(Number);
  if (!Number.isInteger(reps) || reps < 1 || batches.some((b) => !Number.isInteger(b) || b < 1)) {
    return `--reps takes a positive whole number and --batches a comma-separated list of them; ` +
      `got --reps ${values.reps} --batches ${values.batches}.`;
  }
  return { reps, batches };
}

if (import.meta.main) {
  const options = parseOptions(Deno.args);
  if (typeof options === "string") {
    console.error(options);
    Deno.exit(2);
  }
  tf.enableProdMode();
  await setupWasmBackend({ threads: 1 });
  for (const batch of options.batches) {
    for (const kernel of KERNELS) {
      console.log(JSON.stringify(timeLayer2(kernel, batch, options.reps)));
    }
  }
  shutdownWasmBackend();
}
