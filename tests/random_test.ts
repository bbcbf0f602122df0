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

Deno.test("seeds past 2^32, as SEED * 1000 + epoch gives for large seeds, do not wrap onto small ones", () => {
  // 536870912 * 1000 is 125 * 2^32: wrapped, SEED=536870912 would shuffle as SEED=0 does.
  const order = (seed: number, epoch: number) => shuffledIndices(200, seed * 1000 + epoch);
  assertDifferentArrays(order(536_870_912, 1), order(0, 1));
  assertDifferentArrays(order(4_294_967_295, 1), order(536_870_911, 1));
  // Below 2^32 the order is the one it was before seeds past 2^32 were mixed in, so the recorded
  // runs repeat: SEED=42's second epoch, and the largest seed.
  assert.deepEqual(Array.from(order(42, 42)), Array.from(shuffledIndices(200, 42_042)));
  assert.deepEqual(Array.from(shuffledIndices(10, 42_042)), [1, 2, 9, 8, 3, 7, 4, 6, 0, 5]);
  assert.deepEqual(Array.from(shuffledIndices(10, 4_294_967_295)), [3, 0, 9, 4, 2, 7, 6, 5, 1, 8]);
  // The largest seeds are still whole, repeatable sequences.
  assertSameArray(order(4_294_967_295, 3), order(4_294_967_295, 3));
});
