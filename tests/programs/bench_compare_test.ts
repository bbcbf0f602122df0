/**
 * programs/bench_compare.ts: the arithmetic of the comparison (best, median, ratios, slow runs)
 * and its flags.
 */
import assert from "node:assert/strict";
import {
  compareRuns,
  parseCompareArgs,
  SLOW_BELOW,
  summarizeSide,
} from "../../programs/bench_compare.ts";
import { runProgram } from "../fixtures.ts";

Deno.test("compareRuns() sets best against best and median against median, ours over PyTorch's", () => {
  const c = compareRuns([3226, 3885, 3815], [3585, 1381, 4413, 1402]);
  assert.equal(c.bench.best, 3885);
  assert.equal(c.pytorch.best, 4413);
  assert.equal(c.bench.median, 3815);
  assert.equal(c.pytorch.median, (1402 + 3585) / 2);
  assert.equal(c.ratio_of_bests, 0.88); // 3885 / 4413 = 0.8804
  assert.equal(c.ratio_of_medians, 1.53); // 3815 / 2493.5 = 1.5300
  assert.deepEqual(c.bench.runs, [3226, 3885, 3815], "every run, in the order run");
});

Deno.test("a run is slow below 70% of its own side's best, not at it", () => {
  assert.equal(SLOW_BELOW, 0.7);
  assert.equal(summarizeSide([1000, 700, 699.9, 100]).slow, 2);
  assert.equal(summarizeSide([1000]).slow, 0);
  const c = compareRuns([4000, 3900], [4400, 1400, 1300]);
  assert.equal(c.bench.slow, 0);
  assert.equal(c.pytorch.slow, 2);
});

Deno.test("summarizeSide() refuses no runs, zero and non-numbers with a sentence", () => {
  for (const runs of [[], [0, 100], [Number.NaN], [-5]]) {
    assert.throws(() => summarizeSide(runs), /must be positive numbers, at least one/);
  }
});

Deno.test("parseCompareArgs() defaults to 3 rounds of 12,800 images on every core and names a bad flag", () => {
  assert.deepEqual(parseCompareArgs([], 2), {
    rounds: 3,
    trainSamples: 12_800,
    threads: 2,
    seed: 42,
  });
  assert.deepEqual(
    parseCompareArgs(
      ["--rounds", "5", "--train-samples", "640", "--threads", "1", "--seed", "0"],
      2,
    ),
    { rounds: 5, trainSamples: 640, threads: 1, seed: 0 },
  );
  assert.throws(() => parseCompareArgs(["--rounds", "x"], 2), /--rounds "x" is not valid/);
  assert.throws(() => parseCompareArgs(["--threads", "0"], 2), /at least 1/);
  assert.throws(() => parseCompareArgs(["--round", "3"], 2), /Unknown flag --round/);
  assert.throws(() => parseCompareArgs(["constructor", "3"], 2), /Unknown flag constructor/);
});

Deno.test("deno task bench-compare stops with exit code 2 on a bad flag, before running anything", async () => {
  const r = await runProgram(
    new URL("../../programs/bench_compare.ts", import.meta.url).pathname,
    ["--rounds", "0"],
  );
  assert.equal(r.code, 2);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /--rounds "0" is not valid: give a whole number of at least 1\./);
});

Deno.test("deno task bench-compare --help names every flag and runs nothing", async () => {
  const r = await runProgram(
    new URL("../../programs/bench_compare.ts", import.meta.url).pathname,
    ["--help"],
  );
  assert.equal(r.code, 0);
  for (const flag of ["--rounds", "--train-samples", "--threads", "--seed"]) {
    assert.match(r.stdout, new RegExp(`${flag} N`));
  }
  assert.match(r.stdout, /below 70% of their side's best/);
});
