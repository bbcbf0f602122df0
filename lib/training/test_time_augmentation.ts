/**
 * Test-time augmentation by small shifts: the model looks at each image as it is and moved by a
 * pixel or two left, right, up and down (and, if asked, diagonally), and its answer is the average
 * of the probability vectors. A digit drawn a little off-centre then gets the benefit of the doubt
 * from the views that centre it; the cost is one prediction per view (5, 9, 13 or 25) instead of
 * one per image.
 *
 * @module
 */
import { IMAGE_SIZE } from "../data/mnist.ts";

/** How the images are varied at test time. */
export interface TestTimeAugmentation {
  /**
   * The images are also seen moved by up to this many pixels: every shift whose steps across and
   * down add up to at most this many (|dx| + |dy| <= shiftPixels), so 5 views for 1 pixel (the
   * four straight neighbours) and 13 for 2.
   */
  shiftPixels: number;
  /**
   * Every shift of up to `shiftPixels` across and down alike (|dx|, |dy| <= shiftPixels), the
   * diagonal corners included: 9 views for 1 pixel (a 3x3 grid), 25 for 2. Default false.
   */
  diagonals?: boolean;
}

/** Side of an image in pixels. */
const SIDE = 28;

/**
 * The shifts (right, down) in pixels each image is seen at: unshifted first, then the straight
 * ones, nearest first (right, left, down, up at each distance), then the others row by row.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { testTimeShifts } from "./test_time_augmentation.ts";
 * assert.deepEqual(testTimeShifts({ shiftPixels: 1 }), [[0, 0], [1, 0], [-1, 0], [0, 1], [0, -1]]);
 * assert.deepEqual(
 *   testTimeShifts({ shiftPixels: 1, diagonals: true }).slice(5),
 *   [[1, 1], [1, -1], [-1, 1], [-1, -1]],
 * );
 * assert.equal(testTimeShifts({ shiftPixels: 2 }).length, 13);
 * assert.equal(testTimeShifts({ shiftPixels: 2, diagonals: true }).length, 25);
 * ```
 *
 * @throws {RangeError} when `shiftPixels` is not an integer from 1 to 27.
 */
export function testTimeShifts(augmentation: TestTimeAugmentation): [number, number][] {
  const p = augmentation.shiftPixels;
  if (!Number.isInteger(p) || p < 1 || p >= SIDE) {
    throw new RangeError(
      `The test-time shift must be a whole number of pixels from 1 to ${SIDE - 1}, got ${p}.`,
    );
  }
  const shifts: [number, number][] = [[0, 0]];
  for (let d = 1; d <= p; d++) shifts.push([d, 0], [-d, 0], [0, d], [0, -d]);
  const reaches = augmentation.diagonals
    ? (dx: number, dy: number) => Math.max(Math.abs(dx), Math.abs(dy)) <= p
    : (dx: number, dy: number) => Math.abs(dx) + Math.abs(dy) <= p;
  // Off the axes, in the order the one-pixel grid has always listed them: (1, 1), (1, -1),
  // (-1, 1), (-1, -1).
  for (let dx = p; dx >= -p; dx--) {
    for (let dy = p; dy >= -p; dy--) {
      if (dx !== 0 && dy !== 0 && reaches(dx, dy)) shifts.push([dx, dy]);
    }
  }
  return shifts;
}

/**
 * `count` 28x28 images moved `dx` pixels right and `dy` pixels down (negative: left, up); pixels
 * that come in from outside are background (0). The input is left as it was.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shiftImages } from "./test_time_augmentation.ts";
 * const image = new Uint8Array(784);
 * image[5 * 28 + 5] = 255;
 * const moved = shiftImages(image, { dx: 2, dy: -1 });
 * assert.equal(moved[4 * 28 + 7], 255);
 * assert.equal(moved.reduce((a, b) => a + b, 0), 255);
 * assert.equal(image[5 * 28 + 5], 255);
 * ```
 */
export function shiftImages<T extends Uint8Array | Float32Array>(
  images: T,
  shift: { dx: number; dy: number },
): T {
  const { dx, dy } = shift;
  const out =
    (images instanceof Float32Array
      ? new Float32Array(images.length)
      : new Uint8Array(images.length)) as T;
  const count = images.length / IMAGE_SIZE;
  const width = SIDE - Math.abs(dx);
  if (width <= 0 || Math.abs(dy) >= SIDE) return out;
  const fromX = Math.max(-dx, 0);
  const toX = Math.max(dx, 0);
  for (let i = 0; i < count; i++) {
    const base = i * IMAGE_SIZE;
    for (let y = Math.max(dy, 0); y < Math.min(SIDE + dy, SIDE); y++) {
      const from = base + (y - dy) * SIDE + fromX;
      out.set(images.subarray(from, from + width), base + y * SIDE + toX);
    }
  }
  return out;
}

/**
 * The mean of several probability arrays of the same length (one per view of the same images).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { meanProbabilities } from "./test_time_augmentation.ts";
 * assert.deepEqual([...meanProbabilities([Float32Array.of(1, 0), Float32Array.of(0.5, 0.5)])], [0.75, 0.25]);
 * ```
 */
export function meanProbabilities(views: Float32Array[]): Float32Array {
  if (views.length === 0) throw new RangeError("There are no predictions to average.");
  const out = new Float32Array(views[0].length);
  for (const view of views) {
    if (view.length !== out.length) {
      throw new RangeError(
        `The views' predictions differ in length (${view.length} and ${out.length} numbers).`,
      );
    }
    for (let i = 0; i < out.length; i++) out[i] += view[i];
  }
  for (let i = 0; i < out.length; i++) out[i] /= views.length;
  return out;
}
