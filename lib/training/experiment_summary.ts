/**
 * The record of experiments, like a paper's results table: every run of `deno task experiments`
 * (one folder each, with its `metrics.json` and a `provenance.json` saying when, where, from which
 * commit and by which command it was made) is grouped by variant, dataset, definition and settings
 * into the mean and sample standard deviation over seeds, and merged into the committed file
 * `results/experiments.json`, which the notebook's comparison and the generated tables of the
 * READMEs (`result_tables.ts`) show.
 *
 * Each run keeps its own provenance in the record (date, commit, uncommitted changes, machine, Deno
 * and tfjs versions, threads, replica workers, training seconds, command); each group summarizes
 * them. A fresh run replaces the run of the same seed in its group; other groups stay as they were.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readRegularFile, writeJson } from "../files.ts";
import { checkShape, MAX_JSON_BYTES, readJsonFile, type Shape } from "../json_file.ts";
import { readRunMetrics, type RunMetrics } from "./run_metrics.ts";
import {
  getVariant,
  isVariantName,
  VARIANT_NAMES,
  variantFingerprint,
} from "../models/variants.ts";
import { gitCommit, gitState, type MachineInfo, machineInfo } from "../machine.ts";

// The machine and the commit are named in lib/machine.ts; re-exported for callers here.
export { gitCommit, gitState, type MachineInfo, machineInfo };

/** The committed record that the notebook reads: `results/experiments.json`. */
export const RECORDED_RESULTS_PATH: string = fileURLToPath(
  new URL("../../results/experiments.json", import.meta.url),
);

/** Where a run comes from: `provenance.json` beside its `metrics.json`. */
export interface RunProvenance {
  /** When the run ended, ISO 8601, UTC. */
  date: string;
  /** The short git commit of the code, or "unknown" outside a git checkout. */
  commit: string;
  /** Whether the code (lib/, programs/, deno.json, deno.lock) differed from the commit. */
  dirty: boolean;
  machine: MachineInfo;
  /** `variantFingerprint()` of the variant's definition when it ran. */
  fingerprint: string;
  /** What made it: "deno task experiments". */
  source: string;
  /** The command that makes this very run again. */
  command: string;
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

/** One seed's result within a group, with the provenance of its run. */
export interface SeedResult {
  seed: number;
  test_accuracy: number;
  test_loss: number;
  epochs_run: number;
  /** Wall seconds of the training steps (validation excluded), rounded. */
  train_seconds: number;
  /** Wall seconds of scoring the test images (with test-time shifts when the variant has them). */
  test_seconds: number | null;
  /** When the run ended, ISO 8601, UTC. */
  date: string;
  commit: string;
  /** Whether the code differed from the commit. */
  dirty: boolean;
  machine: MachineInfo;
  deno: string;
  tfjs: string;
  /** The WebAssembly backend's threads. */
  threads: number;
  /** Replica workers of the training steps (0: in the process); null when not recorded. */
  workers: number | null;
  /** The command that makes this run again. */
  command: string;
  note?: string;
}

/** The runs of one variant on one dataset with the same definition and settings, over seeds. */
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
  /** A summary of the runs' provenance. */
  provenance: {
    /** What made the runs: "deno task experiments". */
    source: string;
    /** The dates of the runs, `2026-11-25` or `2026-11-24 to 2026-11-25`. */
    dates: string;
    /** The commits, comma-separated when several, each marked when the code differed from it. */
    commit: string;
    machine: MachineInfo;
    deno: string;
    tfjs: string;
    threads: number;
    /** The replica workers, comma-separated when they differ; "unknown" when not recorded. */
    workers: string;
    /** Anything a reader must know to judge the numbers. */
    note?: string;
  };
}

const MACHINE_SHAPE: Shape = { fields: { cpu: "string", cores: "integer", os: "string" } };

/** The shape of `provenance.json`. */
const PROVENANCE_SHAPE: Shape = {
  fields: {
    date: "string",
    commit: "string",
    dirty: "boolean",
    machine: MACHINE_SHAPE,
    fingerprint: "string",
    source: "string",
    command: "string",
    note: "string",
  },
  optional: ["note"],
};

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
                test_loss: "number",
                epochs_run: "integer",
                train_seconds: "number",
                test_seconds: { anyOf: ["number", "null"], says: "a number or null" },
                date: "string",
                commit: "string",
                dirty: "boolean",
                machine: MACHINE_SHAPE,
                deno: "string",
                tfjs: "string",
                threads: "integer",
                workers: { anyOf: ["integer", "null"], says: "a whole number or null" },
                command: "string",
                note: "string",
              },
              optional: ["note"],
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
              workers: "string",
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

/** What a group's runs share: everything but the seed and the provenance. */
type GroupHead =
  & Pick<
    RecordedGroup,
    "variant" | "dataset" | "fingerprint" | "settings" | "parameters"
  >
  & { source: string };

/** One run as a line of its group. */
function seedResult({ metrics: m, provenance: p }: RecordedRun): SeedResult {
  return {
    seed: m.seed,
    test_accuracy: m.test_accuracy,
    test_loss: m.test_loss,
    epochs_run: m.epochs_run,
    train_seconds: Math.round(m.train_seconds),
    test_seconds: m.test_seconds === undefined ? null : Math.round(m.test_seconds * 10) / 10,
    date: p.date,
    commit: p.commit,
    dirty: p.dirty,
    machine: p.machine,
    deno: m.deno_version,
    tfjs: m.tfjs_version,
    threads: m.threads,
    workers: m.workers ?? null,
    command: p.command,
    ...(p.note ? { note: p.note } : {}),
  };
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
  const byKey = new Map<string, { head: GroupHead; runs: SeedResult[] }>();
  for (const run of runs) {
    const head: GroupHead = {
      variant: run.metrics.variant,
      dataset: run.metrics.dataset,
      fingerprint: run.provenance.fingerprint,
      settings: settingsOf(run.metrics),
      parameters: run.metrics.parameters,
      source: run.provenance.source,
    };
    const key = groupKey(head, head.source);
    const entry = byKey.get(key) ?? { head, runs: [] };
    byKey.set(key, { head: entry.head, runs: [...entry.runs, seedResult(run)] });
  }
  return [...byKey.values()].map(({ head, runs }) => groupOf(head, runs));
}

/** A group from its runs: one per seed (the last given wins), the mean ± sd, the provenance. */
function groupOf(head: GroupHead, runs: readonly SeedResult[]): RecordedGroup {
  const bySeed = new Map(runs.map((r) => [r.seed, r]));
  const sorted = [...bySeed.values()].sort((a, b) => a.seed - b.seed);
  const first = sorted[0];
  const accuracy = meanAndSd(sorted.map((r) => r.test_accuracy));
  const loss = meanAndSd(sorted.map((r) => r.test_loss));
  const dates = [...new Set(sorted.map((r) => r.date.slice(0, 10)))].sort();
  const distinct = (values: string[]) => [...new Set(values)].join(", ");
  const machines = distinct(sorted.map((r) => JSON.stringify(r.machine)));
  const notes = [
    ...new Set(sorted.flatMap((r) => r.note ? [r.note] : [])),
    ...(machines.includes("}, {") ? [`made on several machines: ${machines}`] : []),
  ];
  const { source, ...rest } = head;
  return {
    ...rest,
    seeds: sorted.map((r) => r.seed),
    runs: sorted,
    test_accuracy_mean: accuracy.mean,
    test_accuracy_sd: accuracy.sd,
    test_loss_mean: loss.mean,
    test_loss_sd: loss.sd,
    provenance: {
      source,
      dates: dates.length > 1 ? `${dates[0]} to ${dates.at(-1)}` : dates[0],
      commit: distinct(
        sorted.map((r) => r.dirty ? `${r.commit} with uncommitted changes` : r.commit),
      ),
      machine: first.machine,
      deno: distinct(sorted.map((r) => r.deno)),
      tfjs: distinct(sorted.map((r) => r.tfjs)),
      threads: first.threads,
      workers: distinct(sorted.map((r) => r.workers === null ? "unknown" : String(r.workers))),
      ...(notes.length > 0 ? { note: notes.join("; ") } : {}),
    },
  };
}

function settingsOf(m: RunMetrics): RunSettings {
  return {
    epochs: m.epochs,
    batch_size: m.batch_size,
    train_samples: m.train_samples,
    validation_samples: m.validation_samples,
  };
}

function headOf(g: RecordedGroup): GroupHead {
  const { variant, dataset, fingerprint, settings, parameters } = g;
  return { variant, dataset, fingerprint, settings, parameters, source: g.provenance.source };
}

/**
 * Adds `fresh` groups to a record: a fresh group's runs join the group of the same variant,
 * dataset, definition, settings and source, each replacing the run of its seed; every other
 * group stays as it was.
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
  const key = (g: RecordedGroup) => groupKey(g, g.provenance.source);
  const freshKeys = new Set(fresh.map(key));
  const kept = record.groups.filter((g) => !freshKeys.has(key(g)));
  const joined = fresh.map((g) => {
    const old = record.groups.find((o) => key(o) === key(g));
    return old ? groupOf(headOf(g), [...old.runs, ...g.runs]) : g;
  });
  return { about: record.about, groups: [...kept, ...joined] };
}

/**
 * What is wrong with a record, one sentence each: a group of a variant whose definition changed
 * since (or that no longer exists), and a group whose figures do not follow from its runs (edited
 * by hand). Empty when the record holds only runs of the current variants, as written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { recordProblems } from "./experiment_summary.ts";
 * assert.deepEqual(await recordProblems({ about: "", groups: [] }, "experiments.json"), []);
 * ```
 */
export async function recordProblems(record: RecordedResults, path: string): Promise<string[]> {
  const problems: string[] = [];
  for (const g of record.groups) {
    const name = `${g.variant} on ${g.dataset} (seeds ${g.seeds.join(", ")})`;
    const current = isVariantName(g.variant)
      ? await variantFingerprint(getVariant(g.variant))
      : undefined;
    if (current === undefined) {
      problems.push(
        `${path}: ${name} is of a variant that no longer exists: drop it with ` +
          "deno task results --drop-stale.",
      );
    } else if (g.fingerprint !== current) {
      problems.push(
        `${path}: ${name} was recorded for an earlier definition of ${g.variant} (fingerprint ` +
          `${g.fingerprint}, now ${current}): record it again with deno task experiments ` +
          `--variants ${g.variant}, or drop it with deno task results --drop-stale.`,
      );
    }
    if (JSON.stringify(groupOf(headOf(g), g.runs)) !== JSON.stringify(g)) {
      problems.push(
        `${path}: the figures of ${name} do not follow from its runs, as if edited by hand: ` +
          "restore the file with git checkout, or record the runs again with deno task experiments.",
      );
    }
  }
  return problems;
}

/**
 * The record without the groups of variants whose definition changed (or that no longer exist).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dropStale } from "./experiment_summary.ts";
 * assert.deepEqual((await dropStale({ about: "", groups: [] })).groups, []);
 * ```
 */
export async function dropStale(record: RecordedResults): Promise<RecordedResults> {
  const groups: RecordedGroup[] = [];
  for (const g of record.groups) {
    if (!isVariantName(g.variant)) continue;
    if (g.fingerprint === await variantFingerprint(getVariant(g.variant))) groups.push(g);
  }
  return { ...record, groups };
}

/** The `about` line of a new record. */
export const RECORD_ABOUT = "Runs of deno task experiments, each with its provenance, grouped by " +
  "variant, dataset, definition and settings with the mean and sample standard deviation over " +
  "seeds. Written by deno task experiments; the tables of README.md and results/README.md are " +
  "generated from it by deno task results.";

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
      String(variantIndex(g.variant)).padStart(3, "0"),
      g.provenance.source,
    ].join("|");
  const groups = [...record.groups].sort((a, b) => order(a) < order(b) ? -1 : 1);
  await writeJson(path, { ...record, groups });
}

/** The variant's place in the catalogue; a variant no longer in it comes last. */
export function variantIndex(name: string): number {
  const index = (VARIANT_NAMES as readonly string[]).indexOf(name);
  return index < 0 ? VARIANT_NAMES.length : index;
}

/** The finished runs under a folder, and a sentence for each run folder that could not be read. */
export interface RunsRead {
  runs: RecordedRun[];
  problems: { folder: string; message: string }[];
}

/**
 * Reads every finished run under `dir`: `<dir>/<run>/metrics.json` with its `provenance.json`,
 * sorted by folder name. Folders without a `metrics.json` (a run still going) are skipped; a run
 * whose files are missing or damaged is a problem, named with what to do, and the others are read.
 *
 * @throws {Error} when `dir` does not exist.
 *
 * @example
 * ```ts ignore
 * import { readRuns } from "./experiment_summary.ts";
 * const { runs, problems } = await readRuns("outputs/experiments");
 * ```
 */
export async function readRuns(dir: string): Promise<RunsRead> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) if (entry.isDirectory) names.push(entry.name);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new Error(
      `There is no folder ${dir}: train runs into it first, with deno task experiments.`,
    );
  }
  const read: RunsRead = { runs: [], problems: [] };
  for (const name of names.sort()) {
    try {
      const run = await readRun(join(dir, name));
      if (run) read.runs.push(run);
    } catch (error) {
      read.problems.push({ folder: join(dir, name), message: (error as Error).message });
    }
  }
  return read;
}

/** One run folder; undefined while it has no `metrics.json`. */
async function readRun(folder: string): Promise<RecordedRun | undefined> {
  let metrics: RunMetrics;
  try {
    metrics = await readRunMetrics(join(folder, "metrics.json"));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  try {
    const provenance = await readJsonFile<RunProvenance>(
      join(folder, "provenance.json"),
      PROVENANCE_SHAPE,
      "Train the run again with deno task experiments, or delete the folder.",
    );
    return { metrics, provenance, folder };
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new Error(
      `${folder} has a metrics.json but no provenance.json, so its numbers cannot be ` +
        "labelled: train it again with deno task experiments, or delete the folder.",
    );
  }
}

/**
 * The provenance of a run that ends now on this machine, from this checkout.
 *
 * @example
 * ```ts ignore
 * import { runProvenance } from "./experiment_summary.ts";
 * const provenance = await runProvenance({ fingerprint: "5fb3bc870f05", command: "deno task experiments --variants baseline --seeds 1" });
 * ```
 */
export async function runProvenance(
  options: { fingerprint: string; command: string; source?: string; note?: string },
): Promise<RunProvenance> {
  const { commit, dirty } = await gitState();
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    commit,
    dirty,
    machine: machineInfo(),
    fingerprint: options.fingerprint,
    source: options.source ?? "deno task experiments",
    command: options.command,
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
