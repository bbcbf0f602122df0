/**
 * Test-time augmentation: the shifted views are what a reader would draw by hand, and the score is
 * the model's mean answer over them, the same in this process and on the replicas.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { loadMnist } from "../../lib/data/mnist.ts";
import { prepareSplit, sliceSplit } from "../../lib/data/preprocess.ts";
import { disposeModel } from "../../lib/models/model.ts";
import { buildVariant, getVariant, variantFingerprint } from "../../lib/models/variants.ts";
import { evaluateModel, predictProbabilities } from "../../lib/training/evaluate.ts";
import {
  meanProbabilities,
  shiftImages,
  testTimeShifts,
} from "../../lib/training/test_time_augmentation.ts";
import { setupWasmBackend, shutdownWasmBackend } from "../../lib/engine/mod.ts";

await setupWasmBackend();
const mnist = await loadMnist({ downloadUrls: [] });
const test = sliceSplit(mnist.test, 0, 300);

/** The pixel at (x, y) of image `i`. */
function at(images: ArrayLike<number>, i: number, x: number, y: number): number {
  return images[i * 784 + y * 28 + x];
}

Deno.test("shiftImages moves every image of a batch, fills with background, keeps the input", () => {
  const images = new Float32Array(2 * 784);
  for (let i = 0; i < images.length; i++) images[i] = (i % 251) / 251 + 0.001;
  const copy = images.slice();
  for (const [dx, dy] of [[1, 0], [-1, 0], [0, 1], [0, -1], [3, -2]]) {
    const moved = shiftImages(images, { dx, dy });
    assert.deepEqual(images, copy, "the input changed");
    for (let i = 0; i < 2; i++) {
      for (let y = 0; y < 28; y++) {
        for (let x = 0; x < 28; x++) {
          const [sx, sy] = [x - dx, y - dy];
          const expected = sx >= 0 && sx < 28 && sy >= 0 && sy < 28 ? at(images, i, sx, sy) : 0;
          assert.equal(at(moved, i, x, y), expected, `image ${i} (${x}, ${y}) shifted ${dx},${dy}`);
        }
      }
    }
  }
  assert.ok(shiftImages(new Uint8Array(784).fill(9), { dx: 1, dy: 0 }) instanceof Uint8Array);
});

Deno.test("testTimeShifts refuses shifts that are not whole pixels inside the image", () => {
  for (const shiftPixels of [0, -1, 1.5, 28, Number.NaN]) {
    assert.throws(() => testTimeShifts({ shiftPixels }), /whole number of pixels from 1 to 27/);
  }
});

/** The shifts as "dx,dy" strings, sorted, to compare as sets. */
function asSet(shifts: [number, number][]): string[] {
  return shifts.map(([dx, dy]) => `${dx},${dy}`).sort();
}

/** Every shift of the (2p+1)x(2p+1) grid that `keep` accepts. */
function gridShifts(p: number, keep: (dx: number, dy: number) => boolean): [number, number][] {
  const all: [number, number][] = [];
  for (let dx = -p; dx <= p; dx++) for (let dy = -p; dy <= p; dy++) all.push([dx, dy]);
  return all.filter(([dx, dy]) => keep(dx, dy));
}

for (const p of [1, 2, 3]) {
  Deno.test(`testTimeShifts(${p}) gives every shift of at most ${p} px across plus down once, unshifted first`, () => {
    const shifts = testTimeShifts({ shiftPixels: p });
    assert.deepEqual(shifts[0], [0, 0]);
    assert.equal(shifts.length, new Set(asSet(shifts)).size, "a view repeats");
    const diamond = gridShifts(p, (dx, dy) => Math.abs(dx) + Math.abs(dy) <= p);
    assert.deepEqual(asSet(shifts), asSet(diamond));
    assert.deepEqual(testTimeShifts({ shiftPixels: p, diagonals: false }), shifts);
  });

  Deno.test(`testTimeShifts(${p}) with diagonals gives every shift of the ${2 * p + 1}x${2 * p + 1} grid once, unshifted first`, () => {
    const shifts = testTimeShifts({ shiftPixels: p, diagonals: true });
    assert.deepEqual(shifts[0], [0, 0]);
    assert.equal(shifts.length, (2 * p + 1) ** 2);
    assert.deepEqual(asSet(shifts), asSet(gridShifts(p, () => true)));
  });
}

Deno.test("testTimeShifts keeps the one-pixel views in the order their averages were recorded in", () => {
  // The mean of the views is summed in this order: another order changes the last bits of the
  // recorded scores.
  assert.deepEqual(testTimeShifts({ shiftPixels: 1, diagonals: true }), [
    [0, 0],
    [1, 0],
    [-1, 0],
    [0, 1],
    [0, -1],
    [1, 1],
    [1, -1],
    [-1, 1],
    [-1, -1],
  ]);
});

Deno.test("meanProbabilities refuses views of different lengths", () => {
  assert.throws(() => meanProbabilities([new Float32Array(10), new Float32Array(20)]), /differ/);
  assert.throws(() => meanProbabilities([]), /no predictions/);
});

for (
  const [workers, augmentation] of [
    [1, { shiftPixels: 1 }],
    [2, { shiftPixels: 1 }],
    [2, { shiftPixels: 1, diagonals: true }],
    [2, { shiftPixels: 2 }],
  ] as const
) {
  const where = workers === 1 ? "in this process" : "on 2 replicas";
  const count = testTimeShifts(augmentation).length;
  Deno.test(`evaluateModel with test-time shifts scores the mean of the ${count} views ${where}`, async () => {
    const before = tf.memory().numTensors;
    const model = buildVariant("baseline", { seed: 5 });
    const views = testTimeShifts(augmentation).map(([dx, dy]) =>
      predictProbabilities(model, shiftImages(test.images, { dx, dy }))
    );
    // The mean, written out here rather than by meanProbabilities, which this checks too.
    const expected = views[0].map((_, i) => views.reduce((sum, v) => sum + v[i], 0) / views.length);
    const plain = await evaluateModel(model, test, { workers });
    const shifted = await evaluateModel(model, test, {
      workers,
      testTimeAugmentation: augmentation,
    });
    assert.equal(shifted.probabilities.length, expected.length);
    let largest = 0;
    for (let i = 0; i < expected.length; i++) {
      largest = Math.max(largest, Math.abs(shifted.probabilities[i] - expected[i]));
    }
    assert.ok(largest < 1e-5, `differs from the mean of the views by ${largest}`);
    assert.notDeepEqual(shifted.probabilities, plain.probabilities, "the views were not used");
    disposeModel(model);
    assert.equal(tf.memory().numTensors, before);
  });
}

Deno.test("a variant's test-time augmentation changes its fingerprint", async () => {
  const deep = getVariant("deep");
  assert.notEqual(
    await variantFingerprint(deep),
    await variantFingerprint({ ...deep, testTimeAugmentation: { shiftPixels: 1 } }),
  );
  assert.notEqual(
    await variantFingerprint({ ...deep, testTimeAugmentation: { shiftPixels: 1 } }),
    await variantFingerprint({
      ...deep,
      testTimeAugmentation: { shiftPixels: 1, diagonals: true },
    }),
  );
});

Deno.test("a prepared split and its bytes give the same test-time scores", async () => {
  const model = buildVariant("baseline", { seed: 6 });
  const options = { workers: 1, testTimeAugmentation: { shiftPixels: 1 } };
  const fromBytes = await evaluateModel(model, test, options);
  const fromFloats = await evaluateModel(model, prepareSplit(test), options);
  assert.equal(fromBytes.accuracy, fromFloats.accuracy);
  disposeModel(model);
});

Deno.test("shut the wasm thread pool down so the test file exits", () => {
  shutdownWasmBackend();
});
