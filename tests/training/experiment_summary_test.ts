/** lib/training/experiment_summary.ts: mean ± sd over seeds, provenance, the committed record. */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  meanAndSd,
  mergeRecorded,
  readRecorded,
  readRuns,
  type RecordedRun,
  recordProblems,
  summarizeRuns,
  writeRecorded,
} from "../../lib/training/experiment_summary.ts";
import type { RunMetrics } from "../../lib/training/run_metrics.ts";

function run(variant: string, seed: number, accuracy: number, more: Partial<RunMetrics> = {}) {
  const metrics: RunMetrics = {
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
    deno_version: "2.9.6",
    history: [],
    ...more,
  };
  const provenance = {
    date: `2026-11-2${seed}T10:00:00Z`,
    commit: `c0mm17${seed}`,
    machine: { cores: 2, cpu: "AMD EPYC", os: "linux" },
    fingerprint: "f1",
    source: "deno task experiments",
    dirty: false,
    command: `deno task experiments --variants ${variant} --seeds ${seed}`,
  };
  return { metrics, provenance } satisfies RecordedRun;
}

Deno.test("meanAndSd uses the sample standard deviation", () => {
  assert.deepEqual(meanAndSd([0.99, 0.991, 0.992]).mean.toFixed(6), "0.991000");
  assert.ok(Math.abs(meanAndSd([0.99, 0.991, 0.992]).sd - 0.001) < 1e-12);
  assert.deepEqual(meanAndSd([5]), { mean: 5, sd: 0 });
});

Deno.test("summarizeRuns() averages over seeds only runs of the same variant, dataset, definition and settings", () => {
  const other = run("baseline", 3, 0.5);
  other.provenance.fingerprint = "f2";
  const groups = summarizeRuns([
    run("baseline", 2, 0.992),
    run("deep", 1, 0.995),
    run("baseline", 1, 0.99),
    run("baseline", 1, 0.9, { batch_size: 64 }),
    other,
    run("baseline", 1, 0.89, { dataset: "fashion-mnist" }),
  ]);
  assert.deepEqual(
    groups.map((g) => [g.variant, g.dataset, g.seeds, g.settings.batch_size, g.fingerprint]),
    [
      ["baseline", "mnist", [1, 2], 128, "f1"],
      ["deep", "mnist", [1], 128, "f1"],
      ["baseline", "mnist", [1], 64, "f1"],
      ["baseline", "mnist", [3], 128, "f2"],
      ["baseline", "fashion-mnist", [1], 128, "f1"],
    ],
  );
  const [first] = groups;
  assert.ok(Math.abs(first.test_accuracy_mean - 0.991) < 1e-12);
  assert.deepEqual(first.runs.map((r) => r.command), [
    "deno task experiments --variants baseline --seeds 1",
    "deno task experiments --variants baseline --seeds 2",
  ]);
  assert.deepEqual(first.runs.map((r) => r.train_seconds), [100, 200]);
  assert.deepEqual(first.provenance.dates, "2026-11-21 to 2026-11-22");
  assert.equal(first.provenance.commit, "c0mm171, c0mm172");
  assert.equal(first.provenance.deno, "2.9.6");
});

Deno.test("mergeRecorded() joins a fresh run to its group, replacing the same seed, and the file keeps order", async () => {
  const [old] = summarizeRuns([run("baseline", 1, 0.9), run("baseline", 3, 0.93)]);
  const imported = { ...old, provenance: { ...old.provenance, source: "README" } };
  const [deep] = summarizeRuns([run("deep", 1, 0.99)]);
  const [fresh] = summarizeRuns([run("baseline", 1, 0.95), run("baseline", 2, 0.97)]);
  const merged = mergeRecorded({ about: "a", groups: [deep, old, imported] }, [fresh]);
  assert.deepEqual(merged.groups.map((g) => [g.variant, g.provenance.source, g.seeds]), [
    ["deep", "deno task experiments", [1]],
    ["baseline", "README", [1, 3]],
    ["baseline", "deno task experiments", [1, 2, 3]],
  ]);
  assert.deepEqual(merged.groups[2].runs.map((r) => r.test_accuracy), [0.95, 0.97, 0.93]);
  assert.ok(Math.abs(merged.groups[2].test_accuracy_mean - 0.95) < 1e-12);
  const dir = await Deno.makeTempDir();
  const path = join(dir, "results", "experiments.json");
  await writeRecorded(merged, path);
  const back = await readRecorded(path);
  assert.deepEqual(back.groups.map((g) => [g.variant, g.provenance.source]), [
    ["baseline", "README"],
    ["baseline", "deno task experiments"],
    ["deep", "deno task experiments"],
  ]);
  await Deno.writeTextFile(path, "{}");
  await assert.rejects(
    () => readRecorded(path),
    /experiments\.json: the field "about" is missing .* It is not a record of experiments/,
  );
  // A wrong type deep inside is named by its path in the file.
  const edited = JSON.parse(JSON.stringify(merged));
  edited.groups[1].runs[0].test_accuracy = "99%";
  await Deno.writeTextFile(path, JSON.stringify(edited));
  await assert.rejects(
    () => readRecorded(path),
    /experiments\.json: the field "groups\[1\]\.runs\[0\]\.test_accuracy" should be a number from 0 to 1, but it is "99%"/,
  );
  delete edited.groups[1].runs[0].test_accuracy;
  await Deno.writeTextFile(path, JSON.stringify(edited));
  await assert.rejects(
    () => readRecorded(path),
    /"groups\[1\]\.runs\[0\]\.test_accuracy" is missing/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("readRuns reads finished runs, skips unfinished ones, names a run without provenance", async () => {
  const dir = await Deno.makeTempDir();
  const { metrics, provenance } = run("baseline", 2, 0.9);
  await Deno.mkdir(join(dir, "b-run"));
  await Deno.writeTextFile(join(dir, "b-run", "metrics.json"), JSON.stringify(metrics));
  await Deno.writeTextFile(join(dir, "b-run", "provenance.json"), JSON.stringify(provenance));
  await Deno.mkdir(join(dir, "a-running"));
  assert.deepEqual((await readRuns(dir)).runs.map((r) => [r.metrics.seed, r.folder]), [
    [2, join(dir, "b-run")],
  ]);
  await Deno.mkdir(join(dir, "c-bare"));
  await Deno.writeTextFile(join(dir, "c-bare", "metrics.json"), JSON.stringify(metrics));
  const bare = await readRuns(dir);
  assert.equal(bare.runs.length, 1, "the readable run is still read");
  assert.deepEqual(bare.problems.map((p) => p.folder), [join(dir, "c-bare")]);
  assert.match(bare.problems[0].message, /c-bare has a metrics.json but no provenance.json/);
  await assert.rejects(() => readRuns(join(dir, "none")), /There is no folder .*none: train runs/);
  await Deno.writeTextFile(join(dir, "c-bare", "provenance.json"), JSON.stringify(provenance));
  await Deno.writeTextFile(
    join(dir, "c-bare", "metrics.json"),
    JSON.stringify({ ...metrics, epochs_run: 2.5 }),
  );
  assert.match(
    (await readRuns(dir)).problems[0].message,
    /c-bare\/metrics\.json: the field "epochs_run" should be a whole number, but it is 2\.5/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the committed record holds only runs of today's definitions, each with its provenance", async () => {
  const record = await readRecorded();
  assert.deepEqual(await recordProblems(record, "results/experiments.json"), []);
  for (const g of record.groups) {
    assert.equal(g.seeds.length, g.runs.length);
    for (const r of g.runs) {
      assert.ok(
        r.date && r.commit !== "unknown" && r.machine.cores > 0 && r.deno && r.tfjs,
        g.variant,
      );
      assert.match(r.command, /^deno task experiments /);
    }
  }
});
