/**
 * Training and prediction throughput of a model variant (the tutorial's CNN by default) on the
 * tfjs wasm backend, on real MNIST, timing the very loop the notebook and the trainer use
 * (`trainModel`), with the variant's augmentation when it has one.
 *
 * Run `deno task bench --help` for the flags (from the parameter table in `lib/parameters.ts`).
 * Prints ONE JSON line on stdout; human logs go to stderr. `--profile` adds the per-kernel
 * milliseconds per training step.
 *
 * @example
 * ```sh
 * DATA_MIRROR=/work/shared deno task bench --threads 1
 * DATA_MIRROR=/work/shared deno task bench --variant deep
 * DATA_MIRROR=/work/shared deno task bench --train-samples 25600 --profile
 * ```
 *
 * @module
 */
import process from "node:process";
import * as tf from "@tensorflow/tfjs";
import { loadMnist, type Mnist, type MnistSplit } from "../lib/data/mnist.ts";
import {
  normalizePixels,
  type PreparedSplit,
  prepareSplit,
  sliceSplit,
} from "../lib/data/preprocess.ts";
import { disposeModel } from "../lib/models/model.ts";
import { buildVariant, getVariant, variantTrainOptions } from "../lib/models/variants.ts";
import {
  helpText,
  parseProgramArgs,
  type ProgramSpec,
  USAGE_EXIT_CODE,
  UsageError,
} from "../lib/command_line.ts";
import type { ParameterName } from "../lib/parameters.ts";
import { RUN_PARAMETERS, type RunParameters } from "../lib/training/run_parameters.ts";
import { median } from "../lib/statistics.ts";
import { predictProbabilities } from "../lib/training/evaluate.ts";
import { trainModel } from "../lib/training/train.ts";
import {
  defaultPredictors,
  defaultWorkers,
  type KernelStats,
  setupWasmBackend,
  shutdownWasmBackend,
  startPredictors,
  type StepProfile,
  type WasmBackendInfo,
} from "../lib/engine/mod.ts";
import { inTutorialTerms } from "../lib/training/engine_errors.ts";

/** The bench's command line. */
export const BENCH_PROGRAM = {
  table: RUN_PARAMETERS,
  command: "deno task bench",
  summary: `Trains a variant (the tutorial's CNN by default) on MNIST with trainModel (the
notebook's loop, with the variant's augmentation) on the tfjs wasm backend, after a one-batch
warm-up, then predicts the test images (after a warm-up of 2,048; the median of 3 passes), and
prints one JSON line with train_samples_per_s, predict_images_per_s, threads, train_cpu_per_wall,
the variant and versions.`,
  parameters: ["dataset", "variant", "batchSize", "seed", "trainSamples", "threads"],
  defaults: { trainSamples: { value: 12_800, text: "12800 (timed, after the warm-up)" } },
  flags: [
    {
      flag: "predict",
      valueName: "N",
      help: "test images timed for prediction",
      defaultText: "10000",
    },
    {
      flag: "profile",
      help: "also report milliseconds per training step for each kernel, and where a " +
        "replica's step goes (kernels, tfjs' tape, copies, all-reduce, optimizer, waiting)",
    },
  ],
} as const satisfies ProgramSpec<ParameterName>;

type BenchParameters = Pick<RunParameters, typeof BENCH_PROGRAM.parameters[number]>;

/** What one bench run measured. */
interface Timing {
  seconds: number;
  cpuPerWall: number | null;
  /** Replica workers trainModel trained on (0: in this process). */
  workers: number;
  loss: number;
  tensorsBefore: number;
  tensorsAfter: number;
  profile?: Record<string, { ms_per_step: number; calls_per_step: number }>;
  /** Milliseconds per step of each part of a replica's step (with `--profile` on replicas). */
  stepProfile?: Record<string, number>;
}

async function main(args: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseProgramArgs(BENCH_PROGRAM, args);
    if (parsed.help) {
      console.log(helpText(BENCH_PROGRAM));
      return 0;
    }
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`Error: ${error.message}`);
    return USAGE_EXIT_CODE;
  }
  const predict = Number(parsed.flags.predict ?? 10_000);
  if (!Number.isSafeInteger(predict) || predict < 1) {
    console.error(
      `Error: --predict "${parsed.flags.predict}" is not valid: give a whole number of at least 1.`,
    );
    return USAGE_EXIT_CODE;
  }
  const p = parsed.parameters;
  tf.enableProdMode();
  const backend = await setupWasmBackend({ threads: p.threads });
  try {
    console.error("backend", JSON.stringify(backend));
    const data = await loadMnist({ dataset: p.dataset, log: (m) => console.error(m) });
    const { warmUp, timed } = trainingSlices(data, p);
    const training = await timeTraining(p, {
      warmUp,
      timed,
      profile: parsed.flags.profile === true,
    });
    const prediction = await timePrediction(data.test, predict, p);
    console.log(JSON.stringify(report(p, backend, training, prediction)));
    return 0;
  } finally {
    shutdownWasmBackend();
  }
}

function trainingSlices(
  data: Mnist,
  p: BenchParameters,
): { warmUp: PreparedSplit; timed: PreparedSplit } {
  const samples = p.trainSamples ?? data.train.count - p.batchSize;
  if (samples + p.batchSize > data.train.count) {
    throw new RangeError(
      `--train-samples ${samples} is too many: give at most ${data.train.count - p.batchSize} ` +
        "(the training set, less one warm-up batch).",
    );
  }
  return {
    // Normalized before timing, as the notebook does before it trains.
    warmUp: prepareSplit(sliceSplit(data.train, 0, p.batchSize)),
    timed: prepareSplit(sliceSplit(data.train, p.batchSize, p.batchSize + samples)),
  };
}

async function timeTraining(
  p: BenchParameters,
  run: { warmUp: PreparedSplit; timed: PreparedSplit; profile: boolean },
): Promise<Timing> {
  const model = buildVariant(p.variant, { seed: p.seed });
  try {
    // The variant's augmentation and moving average of the weights are part of what a training
    // step costs; its schedule is not.
    const { augment, ema } = variantTrainOptions(getVariant(p.variant), 1);
    const options = { epochs: 1, batchSize: p.batchSize, seed: p.seed, augment, ema };
    await trainModel(model, run.warmUp, options);
    const tensorsBefore = tf.memory().numTensors;
    const cpu0 = processCpuSeconds();
    const result = await trainModel(model, run.timed, {
      ...options,
      profileKernels: run.profile ? { byShape: Deno.env.get("PROFILE_SHAPES") === "1" } : undefined,
    });
    const cpu1 = processCpuSeconds();
    const steps = Math.ceil(run.timed.count / p.batchSize);
    return {
      workers: defaultWorkers(model),
      seconds: result.seconds,
      cpuPerWall: cpu0 === undefined || cpu1 === undefined ? null : (cpu1 - cpu0) / result.seconds,
      loss: result.history.loss[0],
      tensorsBefore,
      tensorsAfter: tf.memory().numTensors,
      profile: result.kernelProfile && profileTable(result.kernelProfile, steps, result.seconds),
      stepProfile: result.stepProfile && stepTable(result.stepProfile),
    };
  } finally {
    disposeModel(model);
  }
}

/**
 * Images predicted before timing: a chunk of the predictors' (1,024 for each of 2), so that each
 * has met the batch size it will predict at, with its heap grown and its kernels ready for it.
 * A warm-up of 256 images left that to the timed pass: 15,400 images/s on its first pass against
 * 18,600-23,000 on the next ones (2026-12-08, the tutorial's CNN on 2 predictors).
 */
const PREDICT_WARM_UP = 2_048;

/** Timed passes over the test images; the median pass is reported. */
const PREDICT_PASSES = 3;

/**
 * Prediction throughput on `count` test images, timed after a warm-up: on one worker replica per
 * thread when the backend has more than one (as `evaluateModel` predicts), else in this process.
 * The seconds are the median of {@linkcode PREDICT_PASSES} passes over the images.
 */
async function timePrediction(
  test: MnistSplit,
  count: number,
  { variant, batchSize }: Pick<BenchParameters, "variant" | "batchSize">,
): Promise<{ seconds: number; count: number; workers: number }> {
  const n = Math.min(count, test.count);
  const model = buildVariant(variant, { seed: 1 });
  const workers = defaultPredictors();
  const predictors = workers > 1 ? await startPredictors(model, { workers }) : undefined;
  try {
    const predict = async (images: Uint8Array) =>
      predictors
        ? await predictors.predict(images, images.length / 784, { toFloats: normalizePixels })
        : predictProbabilities(model, images, { batchSize });
    await predict(test.images.subarray(0, Math.min(n, PREDICT_WARM_UP) * 784));
    const seconds: number[] = [];
    for (let pass = 0; pass < PREDICT_PASSES; pass++) {
      const start = performance.now();
      await predict(test.images.subarray(0, n * 784));
      seconds.push((performance.now() - start) / 1000);
    }
    return { seconds: median(seconds), count: n, workers };
  } finally {
    predictors?.close();
    disposeModel(model);
  }
}

function report(
  p: BenchParameters,
  backend: WasmBackendInfo,
  training: Timing,
  prediction: { seconds: number; count: number; workers: number },
): Record<string, unknown> {
  const samples = p.trainSamples ?? 0;
  console.error(
    `trained ${samples} samples in ${training.seconds.toFixed(2)} s, loss ${
      training.loss.toFixed(4)
    }, ` +
      `tensors ${training.tensorsBefore} -> ${training.tensorsAfter}`,
  );
  return {
    train_samples_per_s: round(samples / training.seconds, 1),
    predict_images_per_s: round(prediction.count / prediction.seconds, 1),
    train_ms_per_step: round((training.seconds * 1000) / Math.ceil(samples / p.batchSize), 2),
    // CPU seconds of all threads per wall second while training: well below `threads` means
    // other processes took the cores and the figures above are pessimistic.
    train_cpu_per_wall: training.cpuPerWall === null ? null : round(training.cpuPerWall, 2),
    load_avg_1min: round(Deno.loadavg()[0], 2),
    samples,
    batch_size: p.batchSize,
    final_loss: round(training.loss, 4),
    backend: backend.backend,
    simd: backend.simd,
    threads: backend.threads,
    // Data-parallel replica workers (each single-threaded) that trained; 0: trained in-process.
    workers: training.workers,
    // Workers (each single-threaded) that predicted; 1: predicted in-process.
    predict_workers: prediction.workers,
    tfjs_version: backend.tfjsVersion,
    deno_version: Deno.version.deno,
    dataset: p.dataset,
    variant: p.variant,
    ...(training.profile ? { profile: training.profile } : {}),
    ...(training.stepProfile ? { step_profile_ms: training.stepProfile } : {}),
  };
}

/** User + system CPU seconds of this process, all its threads (getrusage: no permission needed). */
function processCpuSeconds(): number | undefined {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

/** Milliseconds and calls per training step for each kernel, printed to stderr as a table. */
function profileTable(
  stats: Map<string, KernelStats>,
  steps: number,
  trainSeconds: number,
): Record<string, { ms_per_step: number; calls_per_step: number }> {
  const rows = [...stats].sort((a, b) => b[1].ms - a[1].ms);
  const kernelMs = rows.reduce((sum, [, v]) => sum + v.ms, 0);
  const profile: Record<string, { ms_per_step: number; calls_per_step: number }> = {};
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
  return profile;
}

/**
 * Where a replica's training step went, in milliseconds per step, printed to stderr as a table
 * with each part's share of the step.
 */
function stepTable(step: StepProfile): Record<string, number> {
  const table: Record<string, number> = {};
  console.error(`step ${step.stepMs.toFixed(2)} ms over ${step.steps} steps (replica 0):`);
  for (const [part, ms] of Object.entries(step.parts)) {
    table[part] = round(ms, 2);
    const share = ((100 * ms) / step.stepMs).toFixed(1);
    console.error(`  ${part.padEnd(28)} ${ms.toFixed(2).padStart(8)} ms  ${share.padStart(5)}%`);
  }
  table.step = round(step.stepMs, 2);
  return table;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

if (import.meta.main) {
  try {
    Deno.exitCode = await main(Deno.args);
  } catch (caught) {
    const error = await inTutorialTerms(caught);
    console.error(`Error: ${error instanceof Error ? error.message : String(error)}`);
    Deno.exitCode = 1;
  }
}
