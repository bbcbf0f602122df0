/**
 * lib/data/augment.ts: the affine warp (identity, shifts, rotation, range) and the seeded augmentation
 * hook of trainModel.
 */
import assert from "node:assert/strict";
import { createAugmentation, randomWarp, warpImage } from "../../lib/data/augment.ts";
import { createRandom } from "../../lib/random.ts";
import { loadMnist } from "../../lib/data/mnist.ts";
import { gatherBatch, prepareSplit, sliceSplit } from "../../lib/data/preprocess.ts";

const mnist = await loadMnist({ downloadUrls: [] });
const first64 = prepareSplit(sliceSplit(mnist.train, 0, 64));
/** 64 real digits as floats in [0, 1]. */
function realBatch(): Float32Array {
  return gatherBatch(first64, Array.from({ length: 64 }, (_, i) => i)).pixels;
}

const at = (image: Float32Array, x: number, y: number) => image[y * 28 + x];

Deno.test("augmentation with the same seed gives the same images; another seed differs", () => {
  const augment = createAugmentation();
  const a = realBatch(), b = realBatch(), c = realBatch();
  augment(a, 64, createRandom(5));
  augment(b, 64, createRandom(5));
  augment(c, 64, createRandom(6));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.notDeepEqual(a, realBatch(), "the images must change");
});

Deno.test("augmentation with all ranges 0 leaves the images exactly as they were", () => {
  const batch = realBatch();
  createAugmentation({ rotationDegrees: 0, shiftPixels: 0, zoom: 0 })(
    batch,
    64,
    createRandom(1),
  );
  assert.deepEqual(batch, realBatch());
});

Deno.test("warpImage shifts by whole pixels exactly, filling with background", () => {
  const source = realBatch().subarray(0, 784);
  const target = new Float32Array(784);
  warpImage(source, target, { degrees: 0, scale: 1, shiftX: 2, shiftY: -1 });
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const sx = x - 2, sy = y + 1;
      const want = sx < 0 || sy > 27 ? 0 : at(source, sx, sy);
      assert.equal(at(target, x, y), want, `pixel (${x}, ${y})`);
    }
  }
});

Deno.test("warpImage moves the centre of mass with the shift and keeps it under rotation", () => {
  const centre = (image: Float32Array) => {
    let m = 0, cx = 0, cy = 0;
    for (let i = 0; i < 784; i++) {
      m += image[i];
      cx += image[i] * (i % 28);
      cy += image[i] * Math.floor(i / 28);
    }
    return [cx / m, cy / m];
  };
  const source = new Float32Array(784);
  for (let y = 10; y < 18; y++) for (let x = 12; x < 16; x++) source[y * 28 + x] = 1;
  const shifted = new Float32Array(784);
  warpImage(source, shifted, { degrees: 0, scale: 1, shiftX: 1.5, shiftY: 0.5 });
  const [x0, y0] = centre(source), [x1, y1] = centre(shifted);
  assert.ok(Math.abs(x1 - x0 - 1.5) < 1e-4 && Math.abs(y1 - y0 - 0.5) < 1e-4, `${x1} ${y1}`);
  // A 90° rotation of a vertical bar about the image centre makes it horizontal.
  const rotated = new Float32Array(784);
  warpImage(source, rotated, { degrees: 90, scale: 1, shiftX: 0, shiftY: 0 });
  let rows = 0, cols = 0;
  for (let y = 0; y < 28; y++) {
    if (rotated.subarray(y * 28, y * 28 + 28).some((v) => v > 0.5)) rows++;
  }
  for (let x = 0; x < 28; x++) if ([...Array(28)].some((_, y) => at(rotated, x, y) > 0.5)) cols++;
  assert.deepEqual([rows, cols], [4, 8]);
});

Deno.test("augmented values stay in [0, 1] and the warps stay within the ranges", () => {
  const batch = realBatch();
  createAugmentation({ rotationDegrees: 30, shiftPixels: 3, zoom: 0.3 })(
    batch,
    64,
    createRandom(9),
  );
  assert.ok(batch.every((v) => v >= 0 && v <= 1 && Number.isFinite(v)));
  const random = createRandom(3);
  for (let i = 0; i < 1000; i++) {
    const w = randomWarp(random, { rotationDegrees: 10, shiftPixels: 2, zoom: 0.1 });
    assert.ok(Math.abs(w.degrees) <= 10 && Math.abs(w.shiftX) <= 2 && Math.abs(w.shiftY) <= 2);
    assert.ok(w.scale >= 0.9 && w.scale <= 1.1);
  }
});

Deno.test("createAugmentation rejects ranges it cannot use, saying which", () => {
  assert.throws(() => createAugmentation({ zoom: 1 }), /zoom must be below 1/);
  assert.throws(() => createAugmentation({ shiftPixels: -1 }), /shiftPixels must be 0 or more/);
  assert.throws(
    () => createAugmentation()(new Float32Array(784), 2, createRandom(1)),
    /fewer than 2 images/,
  );
});
