/** lib/statistics.ts: the median the benchmarks and the image reader share. */
import assert from "node:assert/strict";
import { median } from "../lib/statistics.ts";

Deno.test("median() of an odd and an even count", () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([7]), 7);
});

Deno.test("median() leaves its values in their order and refuses none", () => {
  const runs = [3885, 3226, 3815];
  assert.equal(median(runs), 3815);
  assert.deepEqual(runs, [3885, 3226, 3815]);
  assert.throws(() => median([]), /needs at least one value/);
});
