/**
 * Seeded pseudo-random numbers, so that shuffling and augmentation repeat exactly for a given seed.
 *
 * @module
 */

/**
 * Checks a seed: a whole number of 0 or more. Every seeded part of the project checks its seed
 * here, so a bad one gets the same sentence everywhere.
 *
 * @throws {RangeError} naming the seed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkSeed } from "./random.ts";
 * assert.equal(checkSeed(7), 7);
 * assert.throws(() => checkSeed(1.5), /The seed must be a whole number of 0 or more, got 1.5/);
 * ```
 */
export function checkSeed(seed: number): number {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`The seed must be a whole number of 0 or more, got ${seed}.`);
  }
  return seed;
}

/**
 * Returns a generator of uniform floats in [0, 1) driven by `seed` (mulberry32: tiny, fast and
 * good enough for shuffling; not for cryptography).
 *
 * @example Same seed, same sequence
 * ```ts
 * import assert from "node:assert/strict";
 * import { createRandom } from "./random.ts";
 * const a = createRandom(42), b = createRandom(42);
 * assert.equal(a(), b());
 * ```
 */
export function createRandom(seed: number): () => number {
  // Seeds derived by arithmetic (seed * 1000 + epoch) may pass 2^32. Their part above 2^32 is
  // mixed in rather than dropped: SEED=0 and SEED=2^29 give products equal modulo 2^32, and so
  // would shuffle alike. Below 2^32 the seed is the state, as it always was.
  const high = Math.floor(checkSeed(seed) / 2 ** 32);
  let state = (seed ^ Math.imul(high, 0x9e3779b9)) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Returns the numbers 0..count-1 in an order fixed by `seed` (Fisher-Yates).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shuffledIndices } from "./random.ts";
 * const order = shuffledIndices(5, 1);
 * assert.deepEqual([...order].sort(), [0, 1, 2, 3, 4]);
 * ```
 */
export function shuffledIndices(count: number, seed: number): Uint32Array {
  if (!Number.isInteger(count) || count < 0) {
    throw new RangeError(`The count to shuffle must be a whole number, got ${count}.`);
  }
  const random = createRandom(seed);
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const swap = order[i];
    order[i] = order[j];
    order[j] = swap;
  }
  return order;
}
