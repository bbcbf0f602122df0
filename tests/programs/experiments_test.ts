/**
 * programs/experiments.ts: rejects bad flags before training, trains each run once, merges the
 * runs with their provenance into the record the notebook reads, and goes on after a failing run,
 * exiting with 1 and naming each failure.
 */
import assert from "node:assert/strict";
import { runProgram } from "../fixtures.ts";
import { join } from "node:path";
import { gitState, readRecorded } from "../../lib/training/experiment_summary.ts";
import { machineInfo } from "../../lib/machine.ts";
import { variantFingerprint, VARIANTS } from "../../lib/models/variants.ts";
import { HELP } from "../../programs/experiments.ts";

const CLI = new URL("../../programs/experiments.ts", import.meta.url).pathname;

const cli = (args: string[]) => runProgram(CLI, args, { env: { TRAIN_SAMPLES: "", VARIANTS: "" } });

Deno.test("deno task experiments rejects bad flags before training anything", async () => {
  const dir = await Deno.makeTempDir();
  for (
    const [args, message] of [
      [["--seeds", "1,two"], /--seeds "1,two" is not valid: give a whole number of at least 0/],
      [["--variants", "tuned,huge"], /no model variant "huge"/],
      [["--bogus"], /Unknown flag --bogus/],
    ] as const
  ) {
    const out = await cli([...args, "--runs", join(dir, "runs")]);
    assert.equal(out.code, 2, out.stderr);
    assert.match(out.stderr, message);
  }
  assert.match(HELP, /--variants LIST .*\n +\(VARIANTS; default all\)/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("deno task experiments trains a run once and records it with its provenance", async () => {
  const dir = await Deno.makeTempDir();
  const record = join(dir, "experiments.json");
  const args = [
    "--variants",
    "baseline",
    "--seeds",
    "3",
    "--train-samples",
    "200",
    "--threads",
    "1",
    "--runs",
    join(dir, "runs"),
    "--record",
    record,
  ];
  const first = await cli(args);
  assert.equal(first.code, 0, first.stderr);
  const run = join(dir, "runs", "baseline-mnist-seed3-n200");
  const metrics = JSON.parse(await Deno.readTextFile(join(run, "metrics.json")));
  const provenance = JSON.parse(await Deno.readTextFile(join(run, "provenance.json")));
  const state = await gitState();
  assert.equal(provenance.fingerprint, await variantFingerprint(VARIANTS.baseline));
  assert.deepEqual(provenance.machine, machineInfo());
  assert.deepEqual([provenance.commit, provenance.dirty], [state.commit, state.dirty]);
  assert.match(provenance.date, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(
    provenance.command,
    "deno task experiments --variants baseline --seeds 3 --train-samples 200 --threads 1",
  );
  const { groups } = await readRecorded(record);
  assert.equal(groups.length, 1);
  assert.deepEqual(groups[0].seeds, [3]);
  assert.equal(groups[0].test_accuracy_mean, metrics.test_accuracy);
  assert.equal(groups[0].settings.train_samples, 180);
  const [recorded] = groups[0].runs;
  assert.deepEqual(
    [recorded.threads, recorded.workers, recorded.deno, recorded.command],
    [1, metrics.workers, Deno.version.deno, provenance.command],
  );
  assert.equal(recorded.train_seconds, Math.round(metrics.train_seconds));
  // Run again: nothing is trained, the record holds the same single group.
  const second = await cli(args);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /baseline-mnist-seed3-n200: recorded at commit \S+ in .*, kept/);
  assert.deepEqual((await readRecorded(record)).groups, groups);
  // Without the record, the finished folder is kept instead of trained again.
  await Deno.remove(record);
  const third = await cli(args);
  assert.equal(third.code, 0, third.stderr);
  assert.match(third.stderr, /baseline-mnist-seed3-n200: finished earlier, kept\./);
  assert.deepEqual((await readRecorded(record)).groups, groups);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("deno task experiments goes on after failing runs, names each and exits with 1", async () => {
  const dir = await Deno.makeTempDir();
  const runs = join(dir, "runs");
  await Deno.mkdir(runs);
  // A file where two run folders go: those runs cannot be written, the third one can.
  for (const seed of [1, 2]) {
    await Deno.writeTextFile(join(runs, `baseline-mnist-seed${seed}-n100`), "");
  }
  const record = join(dir, "experiments.json");
  const out = await cli([
    "--variants",
    "baseline",
    "--seeds",
    "1,2,3",
    "--train-samples",
    "100",
    "--threads",
    "1",
    "--runs",
    runs,
    "--record",
    record,
  ]);
  assert.equal(out.code, 1, out.stderr);
  assert.match(out.stderr, /2 problem\(s\); the other runs are recorded:/);
  assert.match(out.stderr, /- baseline-mnist-seed1-n100 failed: /);
  assert.match(out.stderr, /- baseline-mnist-seed2-n100 failed: /);
  assert.deepEqual((await readRecorded(record)).groups.map((g) => g.seeds), [[3]]);
  // A finished run of an earlier definition: named, and left out of the record.
  const seed3 = join(runs, "baseline-mnist-seed3-n100");
  const old = join(runs, "baseline-old");
  await Deno.mkdir(old);
  await Deno.copyFile(join(seed3, "metrics.json"), join(old, "metrics.json"));
  const provenance = JSON.parse(await Deno.readTextFile(join(seed3, "provenance.json")));
  await Deno.writeTextFile(
    join(old, "provenance.json"),
    JSON.stringify({ ...provenance, fingerprint: "0123456789ab" }),
  );
  const merged = await cli(["--summarize-only", "--runs", runs, "--record", record]);
  assert.equal(merged.code, 0, merged.stderr);
  assert.match(
    merged.stderr,
    /baseline-old: a run of an earlier definition of baseline, not recorded/,
  );
  assert.deepEqual(
    (await readRecorded(record)).groups.map((g) => g.fingerprint),
    [await variantFingerprint(VARIANTS.baseline)],
  );
  // Damaged run folders: each named, the exit code 1, the readable run still merged.
  await Deno.writeTextFile(join(runs, "baseline-mnist-seed3-n100", "provenance.json"), "{}");
  await Deno.mkdir(join(runs, "broken"));
  await Deno.writeTextFile(join(runs, "broken", "metrics.json"), "{");
  const summary = await cli(["--summarize-only", "--runs", runs, "--record", record]);
  assert.equal(summary.code, 1, summary.stderr);
  assert.match(summary.stderr, /2 problem\(s\)/);
  assert.match(summary.stderr, /seed3-n100\/provenance\.json: the field "date" is missing/);
  assert.match(summary.stderr, /broken\/metrics\.json/);
  await Deno.remove(dir, { recursive: true });
});
