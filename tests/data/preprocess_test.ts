import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  gatherBatch,
  imagesToTensor,
  normalizePixels,
  splitValidation,
  takeFirst,
} from "../../lib/data/preprocess.ts";
import { syntheticSplit } from "../fixtures.ts";

const split = (count: number) => ({ ...syntheticSplit(count), count });

Deno.test("normalizePixels() maps 0..255 to 0..1", () => {
  assert.deepEqual([...normalizePixels(new Uint8Array([0, 51, 255]))], [0, Math.fround(0.2), 1]);
});

Deno.test("imagesToTensor() makes a [n, 28, 28, 1] float32 tensor in [0, 1]", async () => {
  await tf.setBackend("cpu");
  const before = tf.memory().numTensors;
  const x = imagesToTensor(split(3).images);
  assert.deepEqual(x.shape, [3, 28, 28, 1]);
  assert.equal(x.dtype, "float32");
  assert.ok(tf.tidy(() => x.max().arraySync()) as number <= 1);
  x.dispose();
  assert.equal(tf.memory().numTensors, before);
  assert.throws(() => imagesToTensor(new Uint8Array(100)), /not a multiple of 784/);
});

Deno.test("splitValidation() holds out the LAST fraction, as Keras", () => {
  const data = split(60);
  const { train, validation } = splitValidation(data, 0.1);
  assert.equal(train.count, 54);
  assert.equal(validation.count, 6);
  assert.deepEqual([...validation.labels], [...data.labels.subarray(54)]);
  assert.deepEqual(validation.images, data.images.subarray(54 * 784));
  // Keras splits at floor(n * (1 - fraction)): 60,000 images give 54,000 + 6,000.
  assert.equal(splitValidation({ ...data, count: 60_000 } as typeof data, 0.1).train.count, 54_000);
});

Deno.test("splitValidation() rejects a fraction outside [0, 1) and a split that leaves nothing to train", () => {
  assert.throws(() => splitValidation(split(10), 1), /validation split must be in \[0, 1\), got 1/);
  assert.throws(() => splitValidation(split(1), 0.5), /leaves no training image out of 1/);
});

Deno.test("takeFirst() keeps a prefix and rejects a bad count", () => {
  assert.equal(takeFirst(split(10), 4).count, 4);
  assert.equal(takeFirst(split(10), undefined).count, 10);
  assert.equal(takeFirst(split(10), 50).count, 10);
  assert.throws(() => takeFirst(split(10), 0), /positive integer, got 0/);
});

Deno.test("gatherBatch() copies the chosen images and labels, scaled", () => {
  const data = split(5);
  const { pixels, labels } = gatherBatch(data, [4, 1]);
  assert.deepEqual([...labels], [4, 1]);
  assert.equal(pixels[0], Math.fround(data.images[4 * 784] / 255));
  assert.equal(pixels[784 + 10], Math.fround(data.images[784 + 10] / 255));
});
