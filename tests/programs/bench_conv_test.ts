/**
 * programs/bench_conv.ts: a tiny run prints one JSON line per kernel with both medians, and bad
 * flags stop it with a sentence.
 */
import assert from "node:assert/strict";
import { runProgram } from "../fixtures.ts";

const BENCH_CONV = new URL("../../programs/bench_conv.ts", import.meta.url).pathname;

Deno.test("deno task bench-conv prints old and Winograd medians per kernel and batch size", async () => {
  const r = await runProgram(BENCH_CONV, ["--reps", "2", "--batches", "2,3"]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(
    lines.map((l) => [l.kernel, l.batch, l.reps]),
    [
      ["Conv2D", 2, 2],
      ["FusedConv2D", 2, 2],
      ["Conv2DBackpropInput", 2, 2],
      ["Conv2DBackpropFilter", 2, 2],
      ["Conv2D", 3, 2],
      ["FusedConv2D", 3, 2],
      ["Conv2DBackpropInput", 3, 2],
      ["Conv2DBackpropFilter", 3, 2],
    ],
  );
  for (const l of lines) {
    assert.ok(l.old_ms >= 0 && l.winograd_ms >= 0, JSON.stringify(l));
  }
});

Deno.test("deno task bench-conv rejects a bad --reps or an unknown flag with a sentence", async () => {
  const zero = await runProgram(BENCH_CONV, ["--reps", "0"]);
  assert.equal(zero.code, 2);
  assert.match(
    zero.stderr,
    /--reps takes a positive whole number .* got --reps 0 --batches 64,128\./,
  );
  const unknown = await runProgram(BENCH_CONV, ["--rep", "3"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /The options are --reps N and --batches N,N,\.\.\./);
});
