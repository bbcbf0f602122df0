import assert from "node:assert/strict";
import { createRandom, shuffledIndices } from "../lib/random.ts";
import { assertDifferentArrays, assertSameArray } from "./fixtures.ts";

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
  assertSameArray(order, shuffledIndices(1000, 3));
  assertDifferentArrays(order, shuffledIndices(1000, 4));
  assert.ok(order.some((v, i) => v !== i));
});

Deno.test("shuffledIndices() puts every number at every place about equally often", () => {
  // 4,000 seeds shuffling 4 numbers: each (place, number) pair is expected 1,000 times (sd 27).
  const counts = Array.from({ length: 4 }, () => new Array<number>(4).fill(0));
  for (let seed = 0; seed < 4000; seed++) {
    shuffledIndices(4, seed).forEach((value, place) => counts[place][value]++);
  }
  for (const row of counts) {
    for (const count of row) assert.ok(count > 850 && count < 1150, JSON.stringify(counts));
  }
});
