/** lib/training/experiment_summary.ts: mean ± sd over seeds and the gathering of run folders. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { meanAndSd, readRuns, summarizeRuns } from "../../lib/training/experiment_summary.ts";
import type { RunMetrics } from "../../lib/training/run_metrics.ts";

function run(variant: string, seed: number, accuracy: number): RunMetrics {
  return {
    dataset: "mnist",
    variant,
    test_accuracy: accuracy,
    test_loss: 1 - accuracy,
    seed,
    epochs: 5,
    epochs_run: 5,
    batch_size: 128,
    train_samples: 54_000,
    validation_samples: 6_000,
    parameters: 121_930,
    train_seconds: 100 * seed,
    train_samples_per_s: 1000,
    backend: "wasm",
    simd: true,
    threads: 2,
    tfjs_version: "4.22.0",
    deno_version: Deno.version.deno,
    history: [],
  };
}

Deno.test("meanAndSd uses the sample standard deviation", () => {
  assert.deepEqual(meanAndSd([0.99, 0.991, 0.992]).mean.toFixed(6), "0.991000");
  assert.ok(Math.abs(meanAndSd([0.99, 0.991, 0.992]).sd - 0.001) < 1e-12);
  assert.deepEqual(meanAndSd([5]), { mean: 5, sd: 0 });
});

Deno.test("summarizeRuns groups by variant and dataset over seeds", () => {
  const { runs, groups } = summarizeRuns([
    run("seed", 1, 0.99),
    run("deep", 1, 0.995),
    run("seed", 2, 0.992),
  ]);
  assert.equal(runs.length, 3);
  assert.deepEqual(groups.map((g) => [g.variant, g.runs, g.seeds]), [
    ["seed", 2, [1, 2]],
    ["deep", 1, [1]],
  ]);
  assert.ok(Math.abs(groups[0].test_accuracy_mean - 0.991) < 1e-12);
  assert.equal(groups[0].train_seconds_mean, 150);
});

Deno.test("readRuns reads finished runs, skips unfinished ones, explains a missing folder", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(join(dir, "b-run"));
  await Deno.writeTextFile(join(dir, "b-run", "metrics.json"), JSON.stringify(run("seed", 2, 0.9)));
  await Deno.mkdir(join(dir, "a-running"));
  assert.deepEqual((await readRuns(dir)).map((m) => m.seed), [2]);
  await assert.rejects(() => readRuns(join(dir, "none")), /There is no folder .*none: train runs/);
  await Deno.remove(dir, { recursive: true });
});
