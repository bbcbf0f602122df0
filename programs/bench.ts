/**
 * Training and prediction throughput of the seed CNN on the tfjs wasm backend, on real MNIST.
 *
 * Run `deno task bench --help` for the flags. Prints ONE JSON line on stdout; human logs go to
 * stderr. `--profile` adds the per-kernel milliseconds per training step.
 *
 * @example
 * ```sh
 * DATA_MIRROR=/work/shared deno task bench --threads 1
 * DATA_MIRROR=/work/shared deno task bench --threads 2 --samples 25600 --profile
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { setupWasmBackend, shutdownWasmBackend } from "../lib/wasm/backend.ts";
import { buildSeedModel } from "../lib/models/model.ts";
import { loadMnist } from "../lib/data/mnist.ts";
import { imagesToTensor } from "../lib/data/preprocess.ts";

const HELP = `Usage: deno task bench [options]

Trains the seed CNN on MNIST on the tfjs wasm backend and prints one JSON line with
train_samples_per_s, predict_images_per_s, backend, simd, threads, tfjs_version, deno_version.

Options:
  --threads N      XNNPACK threads (default: logical cores, or WASM_THREADS); 1 = single-threaded
  --samples N      training samples timed after a one-batch warm-up (default 12800)
  --batch N        batch size (default 128)
  --predict N      test images timed for prediction, batch 128 (default 10000)
  --dataset NAME   mnist | fashion-mnist (default mnist; files from DATA_MIRROR or data/)
  --profile        also report milliseconds per training step for each kernel
  --help           show this help
`;

/** Self time (excluding nested kernels) and calls per kernel name. */
interface KernelStats {
  ms: number;
  calls: number;
}

/**
 * Wraps every kernel of `backendName` with a timer. Kernels that call other kernels (the
 * gradient kernels of lib/wasm/kernels.ts do) are charged their self time only.
 * Returns the stats table and a function that restores the original kernels.
 */
function instrumentKernels(
  backendName: string,
  byShape = false,
): { stats: Map<string, KernelStats>; restore: () => void } {
  const stats = new Map<string, KernelStats>();
  const originals = tf.getKernelsForBackend(backendName);
  const childTime: number[] = [];
  for (const config of originals) {
    const inner = config.kernelFunc;
    const name = config.kernelName;
    const timed: tf.KernelFunc = (args) => {
      childTime.push(0);
      const t0 = performance.now();
      try {
        return inner(args);
      } finally {
        const total = performance.now() - t0;
        const children = childTime.pop() ?? 0;
        if (childTime.length > 0) childTime[childTime.length - 1] += total;
        const key = byShape
          ? `${name} ${describe(args.inputs)} ${JSON.stringify(args.attrs ?? {})}`
          : name;
        const s = stats.get(key) ?? { ms: 0, calls: 0 };
        s.ms += total - children;
        s.calls++;
        stats.set(key, s);
      }
    };
    tf.unregisterKernel(name, backendName);
    tf.registerKernel({ ...config, kernelFunc: timed });
  }
  const restore = () => {
    for (const config of originals) {
      tf.unregisterKernel(config.kernelName, backendName);
      tf.registerKernel(config);
    }
  };
  return { stats, restore };
}

/** User + system CPU seconds of this process (Linux /proc), or undefined elsewhere. */
function processCpuSeconds(): number | undefined {
  try {
    const fields = Deno.readTextFileSync("/proc/self/stat").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks, USER_HZ = 100
  } catch {
    return undefined;
  }
}

function describe(inputs: tf.NamedTensorInfoMap): string {
  return Object.entries(inputs).map(([k, t]) => `${k}[${t?.shape.join(",")}]`).join(" ");
}

function positiveInt(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`${flag} must be a positive integer, got "${value}". See --help.`);
  }
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      threads: { type: "string" },
      samples: { type: "string" },
      batch: { type: "string" },
      predict: { type: "string" },
      dataset: { type: "string" },
      profile: { type: "boolean" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const samples = positiveInt(values.samples, "--samples", 12_800);
  const batch = positiveInt(values.batch, "--batch", 128);
  const nPredict = positiveInt(values.predict, "--predict", 10_000);
  const dataset = values.dataset ?? "mnist";
  if (dataset !== "mnist" && dataset !== "fashion-mnist") {
    throw new Error(`--dataset must be mnist or fashion-mnist, got "${dataset}".`);
  }
  if (values.threads !== undefined) {
    // The flag wins over WASM_THREADS, which setupWasmBackend would read otherwise.
    Deno.env.set("WASM_THREADS", String(positiveInt(values.threads, "--threads", 1)));
  }
  tf.enableProdMode();
  const info = await setupWasmBackend();
  console.error("backend", JSON.stringify(info));

  const data = await loadMnist({ dataset, log: (m) => console.error(m) });
  const nTrain = samples + batch;
  if (nTrain > data.train.count) {
    throw new Error(
      `--samples must be at most ${data.train.count - batch} (the training set size).`,
    );
  }
  const xAll = imagesToTensor(data.train.images.subarray(0, nTrain * 784));
  const yAll = tf.tensor1d(data.train.labels.subarray(0, nTrain), "float32");
  const [xWarm, xs] = tf.split(xAll, [batch, samples]);
  const [yWarm, ys] = tf.split(yAll, [batch, samples]);
  tf.dispose([xAll, yAll]);

  const model = buildSeedModel();
  await model.fit(xWarm, yWarm, { batchSize: batch, epochs: 1, verbose: 0 });
  const tensorsBefore = tf.memory().numTensors;

  const prof = values.profile
    ? instrumentKernels("wasm", Deno.env.get("PROFILE_SHAPES") === "1")
    : undefined;
  const cpu0 = processCpuSeconds();
  const t0 = performance.now();
  const history = await model.fit(xs, ys, { batchSize: batch, epochs: 1, verbose: 0 });
  const trainSeconds = (performance.now() - t0) / 1000;
  const cpu1 = processCpuSeconds();
  prof?.restore();
  const steps = Math.ceil(samples / batch);
  const loss = Number(history.history.loss[0]);
  console.error(
    `trained ${samples} samples in ${trainSeconds.toFixed(2)} s, loss ${loss.toFixed(4)}, ` +
      `tensors ${tensorsBefore} -> ${tf.memory().numTensors}`,
  );

  const nTest = Math.min(nPredict, data.test.count);
  const xTest = imagesToTensor(data.test.images.subarray(0, nTest * 784));
  tf.dispose(model.predict(xTest.slice(0, batch), { batchSize: batch })); // warm-up
  const t1 = performance.now();
  const probs = model.predict(xTest, { batchSize: batch }) as tf.Tensor;
  await probs.data();
  const predictSeconds = (performance.now() - t1) / 1000;
  tf.dispose([probs, xTest, xWarm, xs, yWarm, ys]);
  model.dispose();

  let profile: Record<string, { ms_per_step: number; calls_per_step: number }> | undefined;
  if (prof) {
    const rows = [...prof.stats].sort((a, b) => b[1].ms - a[1].ms);
    const kernelMs = rows.reduce((s, [, v]) => s + v.ms, 0);
    profile = {};
    for (const [name, v] of rows) {
      profile[name] = {
        ms_per_step: round(v.ms / steps, 2),
        calls_per_step: round(v.calls / steps, 1),
      };
    }
    profile["(outside kernels)"] = {
      ms_per_step: round((trainSeconds * 1000 - kernelMs) / steps, 2),
      calls_per_step: 0,
    };
    for (const [name, v] of Object.entries(profile)) {
      console.error(
        `${name.padEnd(24)} ${
          v.ms_per_step.toFixed(2).padStart(8)
        } ms/step  ${v.calls_per_step} calls`,
      );
    }
  }
  shutdownWasmBackend();
  console.log(JSON.stringify({
    train_samples_per_s: round(samples / trainSeconds, 1),
    predict_images_per_s: round(nTest / predictSeconds, 1),
    train_ms_per_step: round((trainSeconds * 1000) / steps, 2),
    // CPU seconds of all threads per wall second while training: well below `threads` means
    // other processes took the cores and the figures above are pessimistic.
    train_cpu_per_wall: cpu0 === undefined || cpu1 === undefined
      ? null
      : round((cpu1 - cpu0) / trainSeconds, 2),
    load_avg_1min: round(Deno.loadavg()[0], 2),
    samples,
    batch_size: batch,
    final_loss: round(loss, 4),
    backend: info.backend,
    simd: info.simd,
    threads: info.threads,
    tfjs_version: info.tfjsVersion,
    deno_version: Deno.version.deno,
    dataset,
    ...(profile ? { profile } : {}),
  }));
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    Deno.exit(1);
  }
}
