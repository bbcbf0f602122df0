/**
 * programs/bench_accuracy.ts: a short run prints one JSON line with the recipe, the time each
 * target was first reached (or null), every epoch's test accuracy and elapsed seconds, and the
 * provenance; bad flags stop it before anything is loaded.
 */
import assert from "node:assert/strict";
import { runProgram } from "../fixtures.ts";

const PROGRAM = new URL("../../programs/bench_accuracy.ts", import.meta.url).pathname;

const run = (args: string[], env: Record<string, string> = {}) =>
  runProgram(PROGRAM, args, { env });

Deno.test("deno task bench-accuracy prints one JSON line: targets, when each was reached, every epoch", async () => {
  const r = await run([
    "--train-samples",
    "640",
    "--epochs",
    "2",
    "--batch-size",
    "64",
    "--threads",
    "1",
    "--seed",
    "5",
    "--targets",
    "0.3,1",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.equal(lines.length, 1, "one JSON line on stdout, the rest on stderr");
  const result = JSON.parse(lines[0]);
  assert.equal(result.variant, "baseline");
  assert.deepEqual(result.recipe, {
    epochs: 2,
    batch_size: 64,
    seed: 5,
    validation_split: 0.1,
    train_images: 576,
    fingerprint: result.recipe.fingerprint,
  });
  assert.deepEqual(result.targets, [0.3, 1]);
  assert.equal(result.test_accuracy.length, 2);
  assert.ok(result.test_accuracy[0] >= 0.3, `${result.test_accuracy}: 640 images reach 30%`);
  // 0.3 is reached after the first epoch's evaluation, 100% never.
  assert.deepEqual(result.epoch_reached, [1, null]);
  assert.deepEqual(result.seconds_to_target, [result.seconds[0], null]);
  assert.ok(result.seconds[1] > result.seconds[0]);
  assert.ok(result.seconds[0] >= result.evaluation_seconds[0], "evaluation counted");
  assert.equal(result.threads, 1);
  assert.ok(result.cores >= 1 && typeof result.cpu === "string");
  assert.match(result.commit, /^[0-9a-f]{7,}|unknown/);
  assert.match(result.date, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(result.deno_version, Deno.version.deno);
});

Deno.test("deno task bench-accuracy stops with exit code 2 and a sentence on a bad flag, before loading data", async () => {
  for (
    const [args, message] of [
      [["--targets", "99"], /--targets "99": "99" is not a target accuracy; give fractions/],
      [["--targets", "0.99,,0.995"], /"" is not a target accuracy/],
      [["--variant", "huge"], /--variant "huge"/],
      [["--target", "0.99"], /Unknown flag --target\./],
    ] as const
  ) {
    const r = await run([...args], { DATA_MIRROR: "/nonexistent/mirror" });
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stdout, "");
  }
});
