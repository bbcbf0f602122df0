/**
 * The "Going further" comparison: every model variant trained on the same data and scored on the
 * same test set, one line per result, each saying where its numbers come from, like a paper's
 * table. By default nothing is trained: the lines come from the committed record of
 * `deno task experiments` (`results/experiments.json`, with date, commit, machine and seeds), and
 * the baseline from the notebook's own run. The variants named in `VARIANTS` are trained now;
 * their results are kept in `outputs/variants/` under a key of everything that changes them, so a
 * later run with the same settings shows them again.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runExperiment } from "./experiment.ts";
import type { DatasetName, Mnist } from "../data/mnist.ts";
import { writeJson } from "../files.ts";
import { JsonFileError } from "../json_file.ts";
import type { NotebookParameters } from "./run_parameters.ts";
import type { TrainCallbacks } from "./train.ts";
import { readRunMetrics, type RunMetrics } from "./run_metrics.ts";
import { disposeModel } from "../models/model.ts";
import {
  getVariant,
  VARIANT_NAMES,
  variantFingerprint,
  type VariantName,
  VARIANTS,
} from "../models/variants.ts";
import type { RecordedGroup, RecordedResults } from "./experiment_summary.ts";
import type { WasmBackendInfo } from "../engine/mod.ts";

/** The repository's `outputs/variants/`, whatever the working directory. */
export const DEFAULT_RESULTS_DIR: string = fileURLToPath(
  new URL("../../outputs/variants/", import.meta.url),
);

/** One line of the comparison, as the notebook's table shows it. */
export interface VariantResult {
  variant: string;
  /** `98.81%`, or `98.88 ± 0.08%` over several seeds; empty when there is no result. */
  "test accuracy": string;
  "test loss": string;
  parameters: number | null;
  /** Epochs run, `7` or `7-11` over seeds. */
  epochs: string;
  /** Training seconds, or their range over seeds; empty when unknown. */
  "training seconds": string;
  /** Training and validation images. */
  "trained on": string;
  seeds: string;
  /** Where the numbers come from: trained now, above, earlier here, or which recorded run. */
  source: string;
  /** What else a reader must know to judge the numbers (recorded results only). */
  note: string;
}

/** Options of {@linkcode compareVariants}. */
export interface CompareOptions {
  data: Mnist;
  /** The run's parameters; `variants` are trained now, the others come from `recorded`. */
  params: NotebookParameters;
  backend: WasmBackendInfo;
  /** The record of earlier experiments (`readRecorded()`); default: none. */
  recorded?: RecordedResults;
  /** Where results trained now are kept. Default: `outputs/variants/`. */
  resultsDir?: string;
  /** Train again even when a result with the same settings is kept. Default false. */
  retrain?: boolean;
  /**
   * The tutorial model's run from the notebook's own sections: the `baseline` line shows it when
   * its settings are the comparison's ({@linkcode runMismatch}), instead of training it again.
   */
  baseline?: RunMetrics;
  /**
   * The callbacks that show a variant's training as it goes (the notebook passes
   * `trainingProgress`); default: none.
   */
  progress?: (
    variant: VariantName,
  ) => TrainCallbacks;
}

/**
 * The most epochs a variant trains for: its own, unless `EPOCHS` was set below the tutorial's 5 for a
 * quick run, which then caps every variant.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { epochsFor } from "./compare.ts";
 * assert.equal(epochsFor(15, 5), 15);
 * assert.equal(epochsFor(15, 1), 1);
 * ```
 */
export function epochsFor(variantEpochs: number, requested: number): number {
  return requested < VARIANTS.baseline.training.epochs
    ? Math.min(variantEpochs, requested)
    : variantEpochs;
}

/** Everything that changes a variant's result, as a run records it in `metrics.json`. */
export interface ExpectedRun {
  variant: VariantName;
  /** `variantFingerprint()` of the definition. */
  fingerprint: string;
  dataset: DatasetName;
  seed: number;
  epochs: number;
  batch_size: number;
  train_samples: number;
  validation_samples: number;
}

/**
 * What a run of `variant` with the comparison's parameters must have recorded to be shown as its
 * result.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { expectedRun } from "./compare.ts";
 * import { NOTEBOOK_PARAMETERS, readRunParameters } from "./run_parameters.ts";
 * const params = readRunParameters({ names: NOTEBOOK_PARAMETERS, env: { TRAIN_SAMPLES: "1000" } });
 * const expected = await expectedRun("tuned", { params, dataset: "mnist", trainCount: 60_000 });
 * assert.deepEqual([expected.epochs, expected.train_samples, expected.validation_samples], [15, 900, 100]);
 * ```
 */
export async function expectedRun(
  variant: VariantName,
  options: { params: NotebookParameters; dataset: DatasetName; trainCount: number },
): Promise<ExpectedRun> {
  const { params } = options;
  const definition = getVariant(variant);
  const samples = Math.min(params.trainSamples ?? options.trainCount, options.trainCount);
  // As splitValidation: Keras splits at floor(n * (1 - fraction)).
  const train = Math.floor(samples * (1 - params.validationSplit));
  return {
    variant,
    fingerprint: await variantFingerprint(definition),
    dataset: options.dataset,
    seed: params.seed,
    epochs: epochsFor(definition.training.epochs, params.epochs),
    batch_size: params.batchSize,
    train_samples: train,
    validation_samples: samples - train,
  };
}

/**
 * Why a recorded run is not the result asked for: the first setting that differs, as a phrase,
 * or undefined when it is. A run without a fingerprint (recorded before they were) never matches,
 * unless `assumeFingerprint` says it was built from the current definition in this process.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runMismatch } from "./compare.ts";
 * const expected = { variant: "baseline", fingerprint: "abc", dataset: "mnist", seed: 42, epochs: 5,
 *   batch_size: 128, train_samples: 54_000, validation_samples: 6_000 } as const;
 * const metrics = { ...expected, variant_fingerprint: "abc" };
 * assert.equal(runMismatch(metrics, expected), undefined);
 * assert.equal(runMismatch({ ...metrics, batch_size: 64 }, expected), "batch size 64, not 128");
 * ```
 */
export function runMismatch(
  metrics: Pick<
    RunMetrics,
    | "variant"
    | "variant_fingerprint"
    | "dataset"
    | "seed"
    | "epochs"
    | "batch_size"
    | "train_samples"
    | "validation_samples"
  >,
  expected: ExpectedRun,
  options: { assumeFingerprint?: boolean } = {},
): string | undefined {
  const fingerprint = metrics.variant_fingerprint ??
    (options.assumeFingerprint ? expected.fingerprint : "none");
  const checks: [string, unknown, unknown][] = [
    ["variant", metrics.variant, expected.variant],
    ["definition", fingerprint, expected.fingerprint],
    ["dataset", metrics.dataset, expected.dataset],
    ["seed", metrics.seed, expected.seed],
    ["epochs", metrics.epochs, expected.epochs],
    ["batch size", metrics.batch_size, expected.batch_size],
    ["training images", metrics.train_samples, expected.train_samples],
    ["validation images", metrics.validation_samples, expected.validation_samples],
  ];
  const differing = checks.find(([, actual, wanted]) => actual !== wanted);
  return differing && `${differing[0]} ${differing[1]}, not ${differing[2]}`;
}

/**
 * The comparison table: for each variant, in catalogue order, the result trained now (the
 * variants in `params.variants`, and the baseline from the notebook's own run), then every
 * recorded result for the dataset, each line labelled with where it comes from. A variant with no
 * result gets a line that says what to run. Every model trained here is disposed after it is
 * scored.
 *
 * @example
 * ```ts ignore
 * import { compareVariants } from "./compare.ts";
 * import { readRecorded } from "./experiment_summary.ts";
 * const lines = await compareVariants({ data, params, backend, baseline: metrics, recorded: await readRecorded() });
 * recordsTable(lines);
 * ```
 */
export async function compareVariants(options: CompareOptions): Promise<VariantResult[]> {
  const { data, params } = options;
  const lines: VariantResult[] = [];
  for (const name of VARIANT_NAMES) {
    const expected = await expectedRun(name, {
      params,
      dataset: data.dataset,
      trainCount: data.train.count,
    });
    const fromAbove = name === "baseline" && options.baseline !== undefined &&
      runMismatch(options.baseline, expected, { assumeFingerprint: true }) === undefined;
    if (fromAbove && options.baseline) {
      lines.push(runLine(options.baseline, "trained above, in this run"));
    } else if (params.variants.includes(name)) {
      lines.push(await trainedLine(name, expected, options));
    }
    const recorded = (options.recorded?.groups ?? []).filter((g) =>
      g.variant === name && g.dataset === data.dataset
    );
    const current = recorded.filter((g) => g.fingerprint === expected.fingerprint);
    lines.push(...current.map(recordedLine));
    if (!fromAbove && !params.variants.includes(name) && current.length === 0) {
      lines.push(missingLine(name, data.dataset, recorded.length > 0));
    }
  }
  return lines;
}

async function trainedLine(
  name: VariantName,
  expected: ExpectedRun,
  options: CompareOptions,
): Promise<VariantResult> {
  const { data, params, backend } = options;
  const dir = join(options.resultsDir ?? DEFAULT_RESULTS_DIR, data.dataset);
  // Everything that changes the result is in the name, and checked again in the file.
  const key = `${name}-${expected.fingerprint}-seed${params.seed}` +
    `-${params.trainSamples ?? "all"}-e${expected.epochs}-b${params.batchSize}` +
    `-v${params.validationSplit}`;
  const path = join(dir, `${key}.json`);
  const kept = options.retrain ? undefined : await readMetrics(path);
  if (kept && runMismatch(kept.metrics, expected) === undefined) {
    return runLine(kept.metrics, `trained earlier on this machine (${kept.date}), kept in ${path}`);
  }
  const run = await runExperiment({
    data,
    variant: name,
    seed: params.seed,
    epochs: expected.epochs,
    batchSize: params.batchSize,
    trainSamples: params.trainSamples,
    validationSplit: params.validationSplit,
    backend,
    callbacks: options.progress?.(name),
  });
  disposeModel(run.model); // the model and its optimizer state
  await writeJson(path, run.metrics);
  return runLine(run.metrics, "trained now, in this run");
}

const percent = (value: number) => `${(100 * value).toFixed(2)}%`;
const count = (value: number) => value.toLocaleString("en-US");

function runLine(m: RunMetrics, source: string): VariantResult {
  return {
    variant: m.variant,
    "test accuracy": percent(m.test_accuracy),
    "test loss": m.test_loss.toFixed(4),
    parameters: m.parameters,
    epochs: String(m.epochs_run),
    "training seconds": String(Math.round(m.train_seconds)),
    "trained on": `${count(m.train_samples)} + ${count(m.validation_samples)}`,
    seeds: String(m.seed),
    source,
    note: "",
  };
}

function range(values: readonly number[]): string {
  const low = Math.min(...values);
  const high = Math.max(...values);
  return low === high ? String(low) : `${low}-${high}`;
}

/**
 * The line of a recorded group: mean ± sd over seeds, and its provenance.
 *
 * @example
 * ```ts ignore
 * import { recordedLine } from "./compare.ts";
 * recordedLine(record.groups[0]).source; // "recorded 2026-11-25 by deno task experiments; commit ..."
 * ```
 */
export function recordedLine(g: RecordedGroup): VariantResult {
  const several = g.runs.length > 1;
  const seconds = g.runs.flatMap((r) => r.train_seconds === null ? [] : [r.train_seconds]);
  const p = g.provenance;
  const source = `recorded ${p.dates} by ${p.source}; commit ${p.commit}; ` +
    `${p.machine.cores} cores (${p.machine.cpu}), ${p.threads} threads, ${p.workers} workers; ` +
    `Deno ${p.deno}, tfjs ${p.tfjs}`;
  return {
    variant: g.variant,
    "test accuracy": several
      ? `${(100 * g.test_accuracy_mean).toFixed(2)} ± ${(100 * g.test_accuracy_sd).toFixed(2)}%`
      : percent(g.test_accuracy_mean),
    "test loss": several
      ? `${g.test_loss_mean.toFixed(4)} ± ${g.test_loss_sd.toFixed(4)}`
      : g.test_loss_mean.toFixed(4),
    parameters: g.parameters,
    epochs: range(g.runs.map((r) => r.epochs_run)),
    "training seconds": seconds.length === 0 ? "" : range(seconds),
    "trained on": `${count(g.settings.train_samples)} + ${count(g.settings.validation_samples)}`,
    seeds: g.seeds.join(", "),
    source,
    note: p.note ?? "",
  };
}

function missingLine(name: VariantName, dataset: string, stale: boolean): VariantResult {
  const dataPrefix = dataset === "mnist" ? "" : `DATASET=${dataset} `;
  return {
    variant: name,
    "test accuracy": "",
    "test loss": "",
    parameters: null,
    epochs: "",
    "training seconds": "",
    "trained on": "",
    seeds: "",
    source:
      (stale
        ? "recorded only for an earlier definition of this variant, not shown"
        : `no recorded result on ${dataset}`) +
      `: train it with ${dataPrefix}VARIANTS=${name} deno task notebook, or record it with ` +
      `deno task experiments --variants ${name}${
        dataset === "mnist" ? "" : ` --dataset ${dataset}`
      }`,
    note: "",
  };
}

async function readMetrics(
  path: string,
): Promise<{ metrics: RunMetrics; date: string } | undefined> {
  try {
    const [metrics, info] = await Promise.all([readRunMetrics(path), Deno.stat(path)]);
    return {
      metrics,
      date: info.mtime?.toISOString().slice(0, 16).replace("T", " ") ?? "date unknown",
    };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    // A damaged result (not JSON, or a field missing or of the wrong type) is trained again.
    if (error instanceof JsonFileError) return undefined;
    throw error;
  }
}
