import assert from "node:assert/strict";
import {
  gatherBatch,
  imagesShape,
  normalizePixels,
  pixelStatistics,
  type PreparedSplit,
  prepareSplit,
  reshapeImages,
  shapesText,
  splitValidation,
  takeFirst,
} from "../../lib/data/preprocess.ts";
import { assertSameArray, syntheticSplit } from "../fixtures.ts";

const split = (count: number) => ({ ...syntheticSplit(count), count });

Deno.test("normalizePixels() maps 0..255 to 0..1", () => {
  assert.deepEqual([...normalizePixels(new Uint8Array([0, 51, 255]))], [0, Math.fround(0.2), 1]);
});

Deno.test("reshapeImages() reads normalized pixels as [n, 28, 28, 1] without copying them", () => {
  const data = split(3);
  const pixels = normalizePixels(data.images);
  const x = reshapeImages(pixels, data.labels);
  assert.deepEqual(imagesShape(x), [3, 28, 28, 1]);
  assert.equal(x.count, 3);
  assert.equal(x.images, pixels, "the same array, not a copy");
  assert.equal(x.labels, data.labels);
});

Deno.test("reshapeImages() rejects pixels that are not 784 floats per label", () => {
  assert.throws(
    () => reshapeImages(new Float32Array(784 * 2 + 1), new Uint8Array(2)),
    /There are 1569 pixels for 2 labels; .* 784 pixels per label \(28x28x1\), so expected 1568/,
  );
  assert.throws(
    () => reshapeImages(new Uint8Array(784) as unknown as Float32Array, new Uint8Array(1)),
    /must be normalized floats .* call normalizePixels\(\) on the bytes first/,
  );
});

Deno.test("prepareSplit() gives the floats the trainer used to compute batch by batch", () => {
  // The trainer once scaled each batch with bytes[i] / 255 in float32: the same numbers, so the
  // same seed still gives the same metrics.
  const data = split(4);
  const prepared = prepareSplit(data);
  assert.equal(prepared.count, 4);
  assert.deepEqual(prepared.images, Float32Array.from(data.images, (v) => Math.fround(v / 255)));
  assert.deepEqual(prepared.labels, data.labels);
});

Deno.test("shapesText() prints the shapes as the Keras tutorial does", () => {
  const prepared = (n: number) => prepareSplit(split(n));
  assert.equal(
    shapesText({ train: prepared(5), test: prepared(2) }),
    "x_train shape: (5, 28, 28, 1)\nx_test shape: (2, 28, 28, 1)\n5 train samples\n2 test samples",
  );
});

Deno.test("pixelStatistics() gives the type, range and mean of bytes and of floats", () => {
  const bytes = new Uint8Array([0, 51, 255, 102]);
  assert.deepEqual(pixelStatistics(bytes), { dtype: "uint8", min: 0, max: 255, mean: 102 });
  assert.deepEqual(pixelStatistics(normalizePixels(bytes)), {
    dtype: "float32",
    min: 0,
    max: 1,
    mean: 0.4,
  });
});

Deno.test("splitValidation() holds out the LAST fraction, as Keras", () => {
  const data = split(60);
  const { train, validation } = splitValidation(data, 0.1);
  assert.equal(train.count, 54);
  assert.equal(validation.count, 6);
  assert.deepEqual([...validation.labels], [...data.labels.subarray(54)]);
  assertSameArray(validation.images, data.images.subarray(54 * 784));
  // Keras splits at floor(n * (1 - fraction)): 60,000 images give 54,000 + 6,000.
  assert.equal(splitValidation({ ...data, count: 60_000 } as typeof data, 0.1).train.count, 54_000);
});

Deno.test("splitValidation() rejects a fraction outside [0, 1) and a split that leaves nothing to train", () => {
  assert.throws(() => splitValidation(split(10), 1), /validation split must be in \[0, 1\), got 1/);
  assert.throws(() => splitValidation(split(1), 0.5), /leaves no training image out of 1/);
});

Deno.test("takeFirst() keeps the first images, not any others, and rejects a bad count", () => {
  const data = split(10);
  const first = takeFirst(data, 4);
  assert.equal(first.count, 4);
  assert.deepEqual([...first.labels], [...data.labels.subarray(0, 4)]);
  assertSameArray(first.images, data.images.subarray(0, 4 * 784));
  assert.equal(takeFirst(split(10), undefined).count, 10);
  assert.equal(takeFirst(split(10), 50).count, 10);
  assert.throws(() => takeFirst(split(10), 0), /positive integer, got 0/);
});

Deno.test("gatherBatch() copies the chosen images and labels of a prepared split", () => {
  const data: PreparedSplit = prepareSplit(split(5));
  const { pixels, labels } = gatherBatch(data, [4, 1]);
  assert.deepEqual([...labels], [4, 1]);
  assert.deepEqual(pixels.subarray(0, 784), data.images.subarray(4 * 784, 5 * 784));
  assert.deepEqual(pixels.subarray(784), data.images.subarray(784, 2 * 784));
  pixels[0] = 7; // augmentation changes the batch in place, never the split
  assert.notEqual(data.images[4 * 784], 7);
});
