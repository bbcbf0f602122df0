import assert from "node:assert/strict";
import { createRandom, shuffledIndices } from "../lib/random.ts";

Deno.test("createRandom() repeats its sequence for a seed and differs between seeds", () => {
  const a = createRandom(7), b = createRandom(7), c = createRandom(8);
  const seqA = Array.from({ length: 5 }, a);
  assert.deepEqual(seqA, Array.from({ length: 5 }, b));
  assert.notDeepEqual(seqA, Array.from({ length: 5 }, c));
  assert.ok(seqA.every((v) => v >= 0 && v < 1));
});

Deno.test("createRandom() rejects a seed that is not a whole number of 0 or more", () => {
  assert.throws(() => createRandom(1.5), /seed must be a whole number of 0 or more, got 1.5/);
  assert.throws(() => createRandom(-1), /got -1/);
  assert.throws(() => createRandom(NaN), /got NaN/);
});

Deno.test("shuffledIndices() is a seeded permutation", () => {
  const order = shuffledIndices(1000, 3);
  assert.deepEqual([...order].sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
  assert.deepEqual(order, shuffledIndices(1000, 3));
  assert.notDeepEqual(order, shuffledIndices(1000, 4));
  assert.ok(order.some((v, i) => v !== i));
});
