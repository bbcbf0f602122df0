/**
 * Gathers the `metrics.json` of several trainer runs (one folder each, as `deno task train --out`
 * writes them) into one table with the mean and standard deviation over seeds, and writes it as
 * `outputs/experiments.json`.
 *
 * `deno task summarize-experiments` (in `programs/summarize_experiments.ts`) runs it.
 *
 * @module
 */
import { join } from "node:path";
import type { RunMetrics } from "./run_metrics.ts";

/** One run, as the table shows it. */
export interface RunRow {
  variant: string;
  dataset: string;
  seed: number;
  test_accuracy: number;
  test_loss: number;
  parameters: number;
  epochs_run: number;
  train_seconds: number;
  train_samples_per_s: number;
  threads: number;
}

/** The runs of one variant on one dataset, over seeds. */
export interface GroupSummary {
  variant: string;
  dataset: string;
  runs: number;
  seeds: number[];
  test_accuracy_mean: number;
  /** Sample standard deviation (n - 1); 0 for a single run. */
  test_accuracy_sd: number;
  test_loss_mean: number;
  test_loss_sd: number;
  train_seconds_mean: number;
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

/**
 * One row per run and one summary per variant and dataset, in the order first seen.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { summarizeRuns } from "./experiment_summary.ts";
 * const { groups } = summarizeRuns([]);
 * assert.equal(groups.length, 0);
 * ```
 */
export function summarizeRuns(
  runs: readonly RunMetrics[],
): { runs: RunRow[]; groups: GroupSummary[] } {
  const rows: RunRow[] = runs.map((m) => ({
    variant: m.variant,
    dataset: m.dataset,
    seed: m.seed,
    test_accuracy: m.test_accuracy,
    test_loss: m.test_loss,
    parameters: m.parameters,
    epochs_run: m.epochs_run,
    train_seconds: m.train_seconds,
    train_samples_per_s: m.train_samples_per_s,
    threads: m.threads,
  }));
  const byKey = new Map<string, RunRow[]>();
  for (const row of rows) {
    const key = `${row.variant}\u0000${row.dataset}`;
    byKey.set(key, [...(byKey.get(key) ?? []), row]);
  }
  const groups = [...byKey.values()].map((group): GroupSummary => {
    const accuracy = meanAndSd(group.map((r) => r.test_accuracy));
    const loss = meanAndSd(group.map((r) => r.test_loss));
    return {
      variant: group[0].variant,
      dataset: group[0].dataset,
      runs: group.length,
      seeds: group.map((r) => r.seed),
      test_accuracy_mean: accuracy.mean,
      test_accuracy_sd: accuracy.sd,
      test_loss_mean: loss.mean,
      test_loss_sd: loss.sd,
      train_seconds_mean: meanAndSd(group.map((r) => r.train_seconds)).mean,
    };
  });
  return { runs: rows, groups };
}

/**
 * Reads `<dir>/<run>/metrics.json` for every run folder of `dir` (sorted by name); folders without
 * one (a run still going) are skipped.
 *
 * @example
 * ```ts ignore
 * import { readRuns } from "./experiment_summary.ts";
 * const runs = await readRuns("outputs/experiments");
 * ```
 */
export async function readRuns(dir: string): Promise<RunMetrics[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) if (entry.isDirectory) names.push(entry.name);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new Error(
      `There is no folder ${dir}: train runs into it first, e.g. ` +
        `deno task train --variant baseline --seed 1 --out ${join(dir, "baseline-mnist-1")}.`,
    );
  }
  const runs: RunMetrics[] = [];
  for (const name of names.sort()) {
    try {
      runs.push(JSON.parse(await Deno.readTextFile(join(dir, name, "metrics.json"))));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return runs;
}

/**
 * One line per group, as `deno task summarize-experiments` prints it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatGroup } from "./experiment_summary.ts";
 * const line = formatGroup({
 *   variant: "baseline", dataset: "mnist", runs: 2, seeds: [1, 2], test_accuracy_mean: 0.985,
 *   test_accuracy_sd: 0.0071, test_loss_mean: 0.03, test_loss_sd: 0.001, train_seconds_mean: 100,
 * });
 * assert.match(line, /^baseline +mnist +n=2 accuracy 98.50 ± 0.71%  loss 0.0300 ± 0.0010  100 s$/);
 * ```
 */
export function formatGroup(group: GroupSummary): string {
  const g = group;
  return `${g.variant.padEnd(12)} ${g.dataset.padEnd(14)} n=${g.runs} accuracy ${
    (100 * g.test_accuracy_mean).toFixed(2)
  } ± ${(100 * g.test_accuracy_sd).toFixed(2)}%  loss ${g.test_loss_mean.toFixed(4)} ± ${
    g.test_loss_sd.toFixed(4)
  }  ${g.train_seconds_mean.toFixed(0)} s`;
}
