/**
 * programs/experiments.ts: rejects bad flags before training, trains each run once, and merges the
 * runs with their provenance into the record the notebook reads.
 */
import assert from "node:assert/strict";
import { runProgram } from "../fixtures.ts";
import { join } from "node:path";
import { readRecorded } from "../../lib/training/experiment_summary.ts";
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
  assert.equal(provenance.fingerprint, await variantFingerprint(VARIANTS.baseline));
  assert.equal(provenance.machine.cores, navigator.hardwareConcurrency);
  assert.match(provenance.commit, /^([0-9a-f]{7,}(\+changes)?|unknown)$/);
  const { groups } = await readRecorded(record);
  assert.equal(groups.length, 1);
  assert.deepEqual(groups[0].seeds, [3]);
  assert.equal(groups[0].test_accuracy_mean, metrics.test_accuracy);
  assert.equal(groups[0].settings.train_samples, 180);
  assert.equal(groups[0].provenance.source, "deno task experiments");
  // Run again: nothing is trained, the record holds the same single group.
  const second = await cli(args);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /baseline-mnist-seed3-n200: finished earlier, kept\./);
  assert.deepEqual((await readRecorded(record)).groups, groups);
  await Deno.remove(dir, { recursive: true });
});
