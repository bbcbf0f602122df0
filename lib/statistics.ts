/**
 * Summary statistics the benchmarks and the image reader share.
 *
 * @module
 */

/**
 * The median of `values`, left as they are (the mean of the middle two for an even count).
 *
 * @throws {RangeError} when there are no values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { median } from "./statistics.ts";
 * const runs = [3, 1, 2];
 * assert.equal(median(runs), 2);
 * assert.deepEqual(runs, [3, 1, 2]);
 * assert.equal(median([4, 1, 3, 2]), 2.5);
 * ```
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError("median() needs at least one value.");
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
