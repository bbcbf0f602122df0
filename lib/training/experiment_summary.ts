/**
 * The record of experiments, like a paper's results table: every run of `deno task experiments`
 * (one folder each, with its `metrics.json` and a `provenance.json` saying when, where and from
 * which commit it was made) is grouped by variant, dataset and settings into the mean and standard
 * deviation over seeds, and merged into the committed file `results/experiments.json`, which the
 * notebook's comparison shows without training anything.
 *
 * Each group keeps its own provenance, so that results from different sessions or machines are
 * never mixed up: a new group replaces only the group of the same variant, dataset, settings and
 * source.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readRegularFile, writeJson } from "../files.ts";
import { checkShape, MAX_JSON_BYTES, readJsonFile, type Shape } from "../json_file.ts";
import { readRunMetrics, type RunMetrics } from "./run_metrics.ts";
import { VARIANT_NAMES } from "../models/variants.ts";
import { gitCommit, type MachineInfo, machineInfo } from "../machine.ts";

// Provenance of the machine and the commit lives in lib/machine.ts; re-exported for callers here.
export { gitCommit, type MachineInfo, machineInfo };

/** The committed record that the notebook reads: `results/experiments.json`. */
export const RECORDED_RESULTS_PATH: string = fileURLToPath(
  new URL("../../results/experiments.json", import.meta.url),
);

/** Where a run comes from: `provenance.json` beside its `metrics.json`. */
export interface RunProvenance {
  /** When the run ended, ISO 8601. */
  date: string;
  /** The git commit of the code (with `+changes` when the working tree differed), or "unknown". */
  commit: string;
  machine: MachineInfo;
  /** `variantFingerprint()` of the variant's definition when it ran. */
  fingerprint: string;
  /** What made it, such as "deno task experiments". */
  source: string;
  /** Anything a reader must know to judge the numbers. */
  note?: string;
}

/** A finished run: its metrics and where it comes from. */
export interface RecordedRun {
  metrics: RunMetrics;
  provenance: RunProvenance;
  /** The run's folder, when read from one. */
  folder?: string;
}

/** The settings that change a result, besides the seed: runs are only averaged when they agree. */
export interface RunSettings {
  epochs: number;
  batch_size: number;
  train_samples: number;
  validation_samples: number;
}

/** One seed's result within a group. */
export interface SeedResult {
  seed: number;
  test_accuracy: number;
  /** null when the source did not publish it. */
  test_loss: number | null;
  epochs_run: number;
  train_seconds: number | null;
}

/** The runs of one variant on one dataset with the same settings and source, over seeds. */
export interface RecordedGroup {
  variant: string;
  dataset: string;
  fingerprint: string;
  settings: RunSettings;
  parameters: number;
  seeds: number[];
  runs: SeedResult[];
  test_accuracy_mean: number;
  /** Sample standard deviation (n - 1); 0 for a single run. */
  test_accuracy_sd: number;
  test_loss_mean: number;
  test_loss_sd: number;
  provenance: {
    /** What made the runs: "deno task experiments", or the earlier record they were taken from. */
    source: string;
    /** The dates of the runs, `2026-11-25` or `2026-11-24 to 2026-11-25`. */
    dates: string;
    /** The commits, comma-separated when several. */
    commit: string;
    machine: MachineInfo;
    deno: string;
    tfjs: string;
    threads: number;
    /** Anything a reader must know to judge the numbers. */
    note?: string;
  };
}

const MACHINE_SHAPE: Shape = { fields: { cores: "integer", cpu: "string", os: "string" } };

/** The shape of `provenance.json`. */
const PROVENANCE_SHAPE: Shape = {
  fields: {
    date: "string",
    commit: "string",
    machine: MACHINE_SHAPE,
    fingerprint: "string",
    source: "string",
    note: "string",
  },
  optional: ["note"],
};

const NUMBER_OR_NULL: Shape = { anyOf: ["number", "null"], says: "a number or null" };

/** The shape of `results/experiments.json`, checked whenever it is read. */
const RECORDED_RESULTS_SHAPE: Shape = {
  fields: {
    about: "string",
    groups: {
      list: {
        fields: {
          variant: "string",
          dataset: "string",
          fingerprint: "string",
          settings: {
            fields: {
              epochs: "integer",
              batch_size: "integer",
              train_samples: "integer",
              validation_samples: "integer",
            },
          },
          parameters: "integer",
          seeds: { list: "integer" },
          runs: {
            list: {
              fields: {
                seed: "integer",
                test_accuracy: { range: [0, 1] },
                test_loss: NUMBER_OR_NULL,
                epochs_run: "integer",
                train_seconds: NUMBER_OR_NULL,
              },
            },
          },
          test_accuracy_mean: "number",
          test_accuracy_sd: "number",
          test_loss_mean: "number",
          test_loss_sd: "number",
          provenance: {
            fields: {
              source: "string",
              dates: "string",
              commit: "string",
              machine: MACHINE_SHAPE,
              deno: "string",
              tfjs: "string",
              threads: "integer",
              note: "string",
            },
            optional: ["note"],
          },
        },
      },
    },
  },
};

/** What `results/experiments.json` holds. */
export interface RecordedResults {
  /** A sentence for whoever opens the file. */
  about: string;
  groups: RecordedGroup[];
}

/**
 * Mean and sample standard deviation (n - 1; 0 for fewer than two values).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { meanAndSd } from "./experiment_summary.ts";
 * const { mean, sd } = meanAndSd([1, 2, 3]);
 * assert.equal(mean, 2);
 * assert.equal(sd, 1);
 * ```
 */
export function meanAndSd(values: readonly number[]): { mean: number; sd: number } {
  if (values.length === 0) return { mean: NaN, sd: NaN };
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  if (values.length < 2) return { mean, sd: 0 };
  const ss = values.reduce((a, v) => a + (v - mean) ** 2, 0);
  return { mean, sd: Math.sqrt(ss / (values.length - 1)) };
}

/** The key under which runs are averaged together and groups replace each other. */
function groupKey(
  g: { variant: string; dataset: string; fingerprint: string; settings: RunSettings },
  source: string,
): string {
  const s = g.settings;
  return [g.variant, g.dataset, g.fingerprint, s.epochs, s.batch_size, s.train_samples]
    .concat([s.validation_samples, source]).join("|");
}

/**
 * Groups runs by variant, dataset, definition, settings and source, in the order first seen, with
 * the mean and standard deviation over seeds and the provenance of the group.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { summarizeRuns } from "./experiment_summary.ts";
 * assert.deepEqual(summarizeRuns([]), []);
 * ```
 */
export function summarizeRuns(runs: readonly RecordedRun[]): RecordedGroup[] {
  const byKey = new Map<string, RecordedRun[]>();
  for (const run of runs) {
    const key = groupKey({
      variant: run.metrics.variant,
      dataset: run.metrics.dataset,
      fingerprint: run.provenance.fingerprint,
      settings: settingsOf(run.metrics),
    }, run.provenance.source);
    byKey.set(key, [...(byKey.get(key) ?? []), run]);
  }
  return [...byKey.values()].map((group): RecordedGroup => {
    const sorted = [...group].sort((a, b) => a.metrics.seed - b.metrics.seed);
    const first = sorted[0];
    const accuracy = meanAndSd(sorted.map((r) => r.metrics.test_accuracy));
    const loss = meanAndSd(sorted.map((r) => r.metrics.test_loss));
    const dates = [...new Set(sorted.map((r) => r.provenance.date.slice(0, 10)))].sort();
    const distinct = (values: string[]) => [...new Set(values)].join(", ");
    const machines = distinct(sorted.map((r) => JSON.stringify(r.provenance.machine)));
    const notes = [
      ...new Set(sorted.flatMap((r) => r.provenance.note ? [r.provenance.note] : [])),
      ...(machines.includes("}, {") ? [`made on several machines: ${machines}`] : []),
    ];
    return {
      variant: first.metrics.variant,
      dataset: first.metrics.dataset,
      fingerprint: first.provenance.fingerprint,
      settings: settingsOf(first.metrics),
      parameters: first.metrics.parameters,
      seeds: sorted.map((r) => r.metrics.seed),
      runs: sorted.map((r) => ({
        seed: r.metrics.seed,
        test_accuracy: r.metrics.test_accuracy,
        test_loss: r.metrics.test_loss,
        epochs_run: r.metrics.epochs_run,
        train_seconds: Math.round(r.metrics.train_seconds),
      })),
      test_accuracy_mean: accuracy.mean,
      test_accuracy_sd: accuracy.sd,
      test_loss_mean: loss.mean,
      test_loss_sd: loss.sd,
      provenance: {
        source: first.provenance.source,
        dates: dates.length > 1 ? `${dates[0]} to ${dates.at(-1)}` : dates[0],
        commit: distinct(sorted.map((r) => r.provenance.commit)),
        machine: first.provenance.machine,
        deno: distinct(sorted.map((r) => r.metrics.deno_version)),
        tfjs: distinct(sorted.map((r) => r.metrics.tfjs_version)),
        threads: first.metrics.threads,
        ...(notes.length > 0 ? { note: notes.join("; ") } : {}),
      },
    };
  });
}

function settingsOf(m: RunMetrics): RunSettings {
  return {
    epochs: m.epochs,
    batch_size: m.batch_size,
    train_samples: m.train_samples,
    validation_samples: m.validation_samples,
  };
}

/**
 * Adds `fresh` groups to a record: a fresh group replaces the one of the same variant, dataset,
 * definition, settings and source; every other group stays as it was, with its own provenance.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mergeRecorded } from "./experiment_summary.ts";
 * const merged = mergeRecorded({ about: "x", groups: [] }, []);
 * assert.deepEqual(merged.groups, []);
 * ```
 */
export function mergeRecorded(
  record: RecordedResults,
  fresh: readonly RecordedGroup[],
): RecordedResults {
  const freshKeys = new Set(fresh.map((g) => groupKey(g, g.provenance.source)));
  const kept = record.groups.filter((g) => !freshKeys.has(groupKey(g, g.provenance.source)));
  return { about: record.about, groups: [...kept, ...fresh] };
}

/** The `about` line of a new record. */
export const RECORD_ABOUT = "Results of deno task experiments (and earlier records, each with " +
  "its provenance), shown by the notebook's variant comparison. Rerun: deno task experiments.";

/**
 * Reads a record such as `results/experiments.json`; a missing file is an empty record.
 *
 * @throws {Error} naming the file when it is not a record.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readRecorded } from "./experiment_summary.ts";
 * const record = await readRecorded("/nonexistent/experiments.json");
 * assert.equal(record.groups.length, 0);
 * ```
 */
export async function readRecorded(path: string = RECORDED_RESULTS_PATH): Promise<RecordedResults> {
  let text: string;
  try {
    text = new TextDecoder().decode(
      await readRegularFile(path, { maxBytes: MAX_JSON_BYTES, what: "a record of experiments" }),
    );
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { about: RECORD_ABOUT, groups: [] };
    throw error;
  }
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch (error) {
    throw new Error(
      `${path} is not valid JSON (${(error as Error).message}): restore it with git ` +
        "checkout, or delete it and rerun deno task experiments.",
    );
  }
  checkShape<RecordedResults>(
    record,
    RECORDED_RESULTS_SHAPE,
    path,
    "It is not a record of experiments: restore it with git checkout, or delete it and rerun " +
      "deno task experiments.",
  );
  return record;
}

/**
 * Writes a record atomically, groups sorted by dataset (MNIST first), variant (in catalogue order)
 * and source, so that a rerun changes as few lines as possible.
 *
 * @example
 * ```ts ignore
 * import { writeRecorded } from "./experiment_summary.ts";
 * await writeRecorded(record);
 * ```
 */
export async function writeRecorded(
  record: RecordedResults,
  path: string = RECORDED_RESULTS_PATH,
): Promise<void> {
  const order = (g: RecordedGroup) =>
    [
      g.dataset === "mnist" ? "0" : `1${g.dataset}`,
      String(VARIANT_NAMES.indexOf(g.variant as typeof VARIANT_NAMES[number])).padStart(3, "0"),
      g.provenance.source,
    ].join("|");
  const groups = [...record.groups].sort((a, b) => order(a) < order(b) ? -1 : 1);
  await writeJson(path, { ...record, groups });
}

/**
 * Reads every finished run under `dir`: `<dir>/<run>/metrics.json` with its `provenance.json`,
 * sorted by folder name. Folders without a `metrics.json` (a run still going) are skipped; a run
 * without `provenance.json` is an error, since its numbers could not be labelled.
 *
 * @example
 * ```ts ignore
 * import { readRuns } from "./experiment_summary.ts";
 * const runs = await readRuns("outputs/experiments");
 * ```
 */
export async function readRuns(dir: string): Promise<RecordedRun[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) if (entry.isDirectory) names.push(entry.name);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new Error(
      `There is no folder ${dir}: train runs into it first, with deno task experiments.`,
    );
  }
  const runs: RecordedRun[] = [];
  for (const name of names.sort()) {
    let metrics: RunMetrics;
    try {
      metrics = await readRunMetrics(join(dir, name, "metrics.json"));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      throw error;
    }
    try {
      const provenance = await readJsonFile<RunProvenance>(
        join(dir, name, "provenance.json"),
        PROVENANCE_SHAPE,
        "Write it again (date, commit, machine, fingerprint, source) or delete the folder.",
      );
      runs.push({ metrics, provenance, folder: join(dir, name) });
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      throw new Error(
        `${join(dir, name)} has a metrics.json but no provenance.json, so its numbers cannot be ` +
          "labelled: write one (date, commit, machine, fingerprint, source) or delete the folder.",
      );
    }
  }
  return runs;
}

/**
 * The provenance of a run that ends now on this machine, from this checkout.
 *
 * @example
 * ```ts ignore
 * import { runProvenance } from "./experiment_summary.ts";
 * const provenance = await runProvenance({ fingerprint: "5fb3bc870f05" });
 * ```
 */
export async function runProvenance(
  options: { fingerprint: string; source?: string; note?: string },
): Promise<RunProvenance> {
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    commit: await gitCommit(),
    machine: machineInfo(),
    fingerprint: options.fingerprint,
    source: options.source ?? "deno task experiments",
    ...(options.note ? { note: options.note } : {}),
  };
}

/**
 * One line per group, as `deno task experiments` prints it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatGroup } from "./experiment_summary.ts";
 * const line = formatGroup({ variant: "baseline", dataset: "mnist", seeds: [1, 2],
 *   test_accuracy_mean: 0.985, test_accuracy_sd: 0.0071, test_loss_mean: 0.03, test_loss_sd: 0.001 });
 * assert.equal(line, "baseline     mnist          seeds 1,2 accuracy 98.50 ± 0.71%  loss 0.0300 ± 0.0010");
 * ```
 */
export function formatGroup(
  g: Pick<
    RecordedGroup,
    | "variant"
    | "dataset"
    | "seeds"
    | "test_accuracy_mean"
    | "test_accuracy_sd"
    | "test_loss_mean"
    | "test_loss_sd"
  >,
): string {
  return `${g.variant.padEnd(12)} ${g.dataset.padEnd(14)} seeds ${g.seeds.join(",")} accuracy ${
    (100 * g.test_accuracy_mean).toFixed(2)
  } ± ${(100 * g.test_accuracy_sd).toFixed(2)}%  loss ${g.test_loss_mean.toFixed(4)} ± ${
    g.test_loss_sd.toFixed(4)
  }`;
}
