/**
 * Time to accuracy, DAWNBench-style: trains a variant with its own recipe (as `deno task train`
 * does: the last 10% of the training images held out for validation, the variant's schedule,
 * early stopping and augmentation), scores the test images after every epoch, and prints ONE JSON
 * line: the wall time from the first training step until the test accuracy first reached each
 * target (evaluation counted; null when never), every epoch's test accuracy and elapsed seconds,
 * and the date, commit, machine and versions. The recipe (variant, epochs, seed) is fixed by the
 * command line before the run; the test images are only measured, never used to choose anything.
 *
 * @example
 * ```sh
 * DATA_MIRROR=/work/shared deno task bench-accuracy --variant baseline --targets 0.99
 * DATA_MIRROR=/work/shared deno task bench-accuracy --variant deep --targets 0.99,0.995,0.997
 * ```
 *
 * @module
 */
import { loadMnist } from "../lib/data/mnist.ts";
import { disposeModel } from "../lib/models/model.ts";
import { getVariant } from "../lib/models/variants.ts";
import {
  helpText,
  parseProgramArgs,
  type ProgramSpec,
  USAGE_EXIT_CODE,
  UsageError,
} from "../lib/command_line.ts";
import type { ParameterName } from "../lib/parameters.ts";
import { RUN_PARAMETERS, type RunParameters } from "../lib/training/run_parameters.ts";
import { trainingProgress } from "../lib/display/progress.ts";
import { type ExperimentResult, runExperiment } from "../lib/training/experiment.ts";
import { gitCommit, machineInfo } from "../lib/training/experiment_summary.ts";
import {
  type AccuracyPoint,
  firstReached,
  parseTargets,
  testAccuracyTimeline,
} from "../lib/training/time_to_accuracy.ts";
import { setupWasmBackend, shutdownWasmBackend, type WasmBackendInfo } from "../lib/engine/mod.ts";
import { inTutorialTerms } from "../lib/training/engine_errors.ts";

/** The default targets: the tutorial's model's 99%, and the best variant's 99.5% and 99.7%. */
export const DEFAULT_TARGETS = "0.99,0.995,0.997";

/** The command line. */
export const TIME_TO_ACCURACY_PROGRAM = {
  table: RUN_PARAMETERS,
  command: "deno task bench-accuracy",
  summary: `Trains a variant with its recipe (validation split, schedule, early stopping,
augmentation), scores the test images after every epoch, and prints one JSON line: the wall
seconds from the first step until the test accuracy first reached each target (evaluation
counted; null if never), each epoch's test accuracy and elapsed seconds, date, commit, machine
and versions. The test images are only measured, never used to choose anything.`,
  parameters: [
    "dataset",
    "variant",
    "epochs",
    "batchSize",
    "validationSplit",
    "seed",
    "trainSamples",
    "threads",
  ],
  flags: [{
    flag: "targets",
    valueName: "A[,B...]",
    help: "test accuracies to time, fractions",
    defaultText: DEFAULT_TARGETS,
  }],
} as const satisfies ProgramSpec<ParameterName>;

type Parameters = Pick<RunParameters, typeof TIME_TO_ACCURACY_PROGRAM.parameters[number]>;

/**
 * Runs the benchmark with `args`; returns the exit code (2: bad command line, nothing loaded).
 *
 * @example
 * ```ts ignore
 * import { main } from "./bench_accuracy.ts";
 * Deno.exit(await main(["--variant", "baseline", "--targets", "0.99"]));
 * ```
 */
export async function main(args: readonly string[]): Promise<number> {
  let p: Parameters;
  let targets: number[];
  try {
    const parsed = parseProgramArgs(TIME_TO_ACCURACY_PROGRAM, args);
    if (parsed.help) {
      console.log(helpText(TIME_TO_ACCURACY_PROGRAM));
      return 0;
    }
    for (const warning of parsed.warnings) console.error(`Warning: ${warning}`);
    p = parsed.parameters;
    const text = parsed.flags.targets;
    targets = parseTargets(typeof text === "string" ? text : DEFAULT_TARGETS);
  } catch (error) {
    if (!(error instanceof UsageError || error instanceof RangeError)) throw error;
    console.error(`Error: ${error.message}`);
    return USAGE_EXIT_CODE;
  }
  const backend = await setupWasmBackend({ threads: p.threads });
  try {
    const data = await loadMnist({ dataset: p.dataset, log: (m) => console.error(m) });
    // Scored as runExperiment scores the variant: with its test-time shifts, if it has them.
    const { testTimeAugmentation } = getVariant(p.variant);
    const timeline = testAccuracyTimeline(data.test, { testTimeAugmentation });
    const run = await runExperiment({
      ...p,
      data,
      backend,
      // The timeline first: its clock then starts last, just before the first step.
      callbacks: [trainingProgress({ title: `${p.variant} on ${p.dataset}` }), timeline.callbacks],
    });
    disposeModel(run.model);
    console.log(
      JSON.stringify(await report(p, { targets, points: timeline.points, run, backend })),
    );
    return 0;
  } finally {
    shutdownWasmBackend();
  }
}

/** The JSON line's fields. */
async function report(
  p: Parameters,
  r: {
    targets: number[];
    points: AccuracyPoint[];
    run: ExperimentResult;
    backend: WasmBackendInfo;
  },
): Promise<Record<string, unknown>> {
  const reached = firstReached(r.targets, r.points);
  const machine = machineInfo();
  return {
    benchmark: "time_to_accuracy",
    variant: p.variant,
    dataset: p.dataset,
    recipe: {
      epochs: p.epochs,
      batch_size: p.batchSize,
      seed: p.seed,
      validation_split: p.validationSplit,
      train_images: r.run.train.count,
      fingerprint: r.run.metrics.variant_fingerprint,
    },
    targets: r.targets,
    seconds_to_target: reached.map((point) => point && round(point.seconds, 1)),
    epoch_reached: reached.map((point) => point && point.epoch),
    test_accuracy: r.points.map((point) => round(point.testAccuracy, 4)),
    seconds: r.points.map((point) => round(point.seconds, 1)),
    evaluation_seconds: r.points.map((point) => round(point.evaluationSeconds, 2)),
    stopped_early: r.run.training.stoppedEarly,
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    commit: await gitCommit(),
    cpu: machine.cpu,
    cores: machine.cores,
    threads: r.backend.threads,
    load_avg_1min: round(Deno.loadavg()[0], 2),
    deno_version: Deno.version.deno,
    tfjs_version: r.backend.tfjsVersion,
  };
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
