/**
 * lib/data/augment.ts: the affine warp (identity, shifts, rotation, range) and the seeded augmentation
 * hook of trainModel.
 */
import assert from "node:assert/strict";
import { createAugmentation, randomWarp, type Warp, warpImage } from "../../lib/data/augment.ts";
import { createRandom } from "../../lib/random.ts";
import { loadMnist } from "../../lib/data/mnist.ts";
import { gatherBatch, prepareSplit, sliceSplit } from "../../lib/data/preprocess.ts";
import { assertDifferentArrays, assertSameArray } from "../fixtures.ts";

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
  assertSameArray(a, b);
  assertDifferentArrays(a, c, "another seed must give other images");
  assertDifferentArrays(a, realBatch(), "the images must change");
});

Deno.test("augmentation with all ranges 0 leaves the images exactly as they were", () => {
  const batch = realBatch();
  createAugmentation({ rotationDegrees: 0, shiftPixels: 0, zoom: 0 })(
    batch,
    64,
    createRandom(1),
  );
  assertSameArray(batch, realBatch());
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

Deno.test("augmented values stay in [0, 1] and the warps cover their ranges both ways", () => {
  const batch = realBatch();
  createAugmentation({ rotationDegrees: 30, shiftPixels: 3, zoom: 0.3 })(
    batch,
    64,
    createRandom(9),
  );
  assert.ok(batch.every((v) => v >= 0 && v <= 1 && Number.isFinite(v)));
  const random = createRandom(3);
  const draws: Warp[] = [];
  for (let i = 0; i < 1000; i++) {
    const w = randomWarp(random, { rotationDegrees: 10, shiftPixels: 2, zoom: 0.1 });
    assert.ok(Math.abs(w.degrees) <= 10 && Math.abs(w.shiftX) <= 2 && Math.abs(w.shiftY) <= 2);
    assert.ok(w.scale >= 0.9 && w.scale <= 1.1);
    draws.push(w);
  }
  // Each transformation goes both ways, over most of its range.
  for (
    const [key, range, centre] of [["degrees", 10, 0], ["shiftX", 2, 0], ["shiftY", 2, 0], [
      "scale",
      0.1,
      1,
    ]] as const
  ) {
    const values = draws.map((w) => w[key] - centre);
    assert.ok(Math.min(...values) < -0.9 * range && Math.max(...values) > 0.9 * range, key);
    assert.ok(Math.abs(values.reduce((a, b) => a + b) / values.length) < 0.1 * range, key);
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

Deno.test("augmentation warps every image of a batch differently", () => {
  const one = realBatch().subarray(0, 784);
  const batch = new Float32Array(4 * 784);
  for (let i = 0; i < 4; i++) batch.set(one, i * 784);
  createAugmentation()(batch, 4, createRandom(2));
  for (let i = 1; i < 4; i++) {
    assertDifferentArrays(
      batch.subarray(i * 784, (i + 1) * 784),
      batch.subarray(0, 784),
      `image ${i} got the same warp as image 0`,
    );
  }
});

/** The image centre, about which the warp rotates and zooms (pixel centres are 0..27). */
const CENTRE = 13.5;

/**
 * Where the documented geometry sends a source point: rotated by `degrees` clockwise as displayed
 * (y down) about the centre, scaled about the centre, then shifted right and down.
 */
function forward(warp: Warp, x: number, y: number): [number, number] {
  const a = (warp.degrees * Math.PI) / 180, c = Math.cos(a), s = Math.sin(a);
  const dx = x - CENTRE, dy = y - CENTRE;
  return [
    warp.scale * (c * dx - s * dy) + CENTRE + warp.shiftX,
    warp.scale * (s * dx + c * dy) + CENTRE + warp.shiftY,
  ];
}

const WARPS: Warp[] = [
  { degrees: 10, scale: 1, shiftX: 0, shiftY: 0 },
  { degrees: -37, scale: 1, shiftX: 0, shiftY: 0 },
  { degrees: 90, scale: 1, shiftX: 0, shiftY: 0 },
  { degrees: 0, scale: 1, shiftX: 1.3, shiftY: -0.6 },
  { degrees: 0, scale: 1.1, shiftX: 0, shiftY: 0 },
  { degrees: 0, scale: 0.85, shiftX: 0, shiftY: 0 },
  { degrees: 12, scale: 1.08, shiftX: -1.7, shiftY: 2 },
];

Deno.test("warpImage sends every pixel where rotation, zoom and shift say, to 1e-3", () => {
  // Bilinear sampling reproduces a linear ramp exactly, so a ramp of x (and one of y) reads back
  // the source position each target pixel was taken from.
  const rampX = new Float32Array(784), rampY = new Float32Array(784);
  for (let i = 0; i < 784; i++) {
    rampX[i] = (i % 28) / 27;
    rampY[i] = Math.floor(i / 28) / 27;
  }
  for (const warp of WARPS) {
    const gotX = new Float32Array(784), gotY = new Float32Array(784);
    warpImage(rampX, gotX, warp);
    warpImage(rampY, gotY, warp);
    // forward(p) = A p + b; A's columns are where the unit steps go.
    const b = forward(warp, 0, 0);
    const [a11, a21] = forward(warp, 1, 0).map((v, i) => v - b[i]);
    const [a12, a22] = forward(warp, 0, 1).map((v, i) => v - b[i]);
    const det = a11 * a22 - a12 * a21;
    const solve = (u: number, v: number) => [(a22 * u - a12 * v) / det, (a11 * v - a21 * u) / det];
    let checked = 0;
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) {
        // Where the geometry says this pixel comes from: the inverse of the affine map.
        const [px, py] = solve(x - b[0], y - b[1]);
        if (!(px > 0.01 && px < 26.99 && py > 0.01 && py < 26.99)) continue;
        const sx = gotX[y * 28 + x] * 27, sy = gotY[y * 28 + x] * 27;
        assert.ok(
          Math.abs(sx - px) < 1e-3 && Math.abs(sy - py) < 1e-3,
          `${JSON.stringify(warp)}: target (${x}, ${y}) was read from (${sx.toFixed(4)}, ` +
            `${sy.toFixed(4)}); the geometry says (${px.toFixed(4)}, ${py.toFixed(4)})`,
        );
        checked++;
      }
    }
    assert.ok(checked > 300, `${JSON.stringify(warp)}: only ${checked} pixels inside`);
  }
});

/** Mass, centroid and covariance of an image's intensity. */
function moments(image: Float32Array) {
  let m = 0, x = 0, y = 0;
  for (let i = 0; i < 784; i++) {
    m += image[i];
    x += image[i] * (i % 28);
    y += image[i] * Math.floor(i / 28);
  }
  x /= m;
  y /= m;
  let xx = 0, xy = 0, yy = 0;
  for (let i = 0; i < 784; i++) {
    const dx = (i % 28) - x, dy = Math.floor(i / 28) - y;
    xx += image[i] * dx * dx;
    xy += image[i] * dx * dy;
    yy += image[i] * dy * dy;
  }
  return { x, y, xx: xx / m, xy: xy / m, yy: yy / m };
}

Deno.test("rotation and shift move a slanted bar's centroid and covariance as documented, to 1e-3", () => {
  // A bar 11 px long, slanted, off-centre: any error in the centre, the direction or the sign of
  // one term (a shear) moves its centroid or changes its covariance.
  const bar = new Float32Array(784);
  for (let t = -5; t <= 5; t++) {
    bar[(12 + t) * 28 + 10 + Math.round(t / 2)] = 1;
    bar[(12 + t) * 28 + 11 + Math.round(t / 2)] = 0.5;
  }
  const before = moments(bar);
  // Quarter turns about the centre and whole-pixel shifts take pixel centres to pixel centres,
  // so bilinear sampling adds no blur and the moments follow the geometry exactly.
  for (
    const warp of [
      { degrees: 90, scale: 1, shiftX: 0, shiftY: 0 },
      { degrees: -90, scale: 1, shiftX: 0, shiftY: 0 },
      { degrees: 180, scale: 1, shiftX: 0, shiftY: 0 },
      { degrees: 90, scale: 1, shiftX: 2, shiftY: -1 },
      { degrees: 0, scale: 1, shiftX: -3, shiftY: 2 },
    ]
  ) {
    const target = new Float32Array(784);
    warpImage(bar, target, warp);
    const after = moments(target);
    const [x, y] = forward(warp, before.x, before.y);
    const a = (warp.degrees * Math.PI) / 180, c = Math.cos(a), s = Math.sin(a);
    // The covariance turns with the shape: R C R^T.
    const xx = c * c * before.xx - 2 * c * s * before.xy + s * s * before.yy;
    const yy = s * s * before.xx + 2 * c * s * before.xy + c * c * before.yy;
    const xy = c * s * (before.xx - before.yy) + (c * c - s * s) * before.xy;
    const want = { x, y, xx, xy, yy };
    for (const key of ["x", "y", "xx", "xy", "yy"] as const) {
      assert.ok(
        Math.abs(after[key] - want[key]) < 1e-3,
        `${JSON.stringify(warp)}: ${key} is ${after[key].toFixed(4)}, expected ${
          want[key].toFixed(4)
        }`,
      );
    }
  }
});
