import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { buildBaselineModel } from "../../lib/models/variants.ts";
import { disposeModel } from "../../lib/models/model.ts";
import { loadMnist } from "../../lib/data/mnist.ts";
import { type PreparedSplit, prepareSplit, sliceSplit } from "../../lib/data/preprocess.ts";
import { evaluateModel } from "../../lib/training/evaluate.ts";
import { maxBatchSize, trainModel } from "../../lib/training/train.ts";
import { setupWasmBackend, shutdownWasmBackend } from "../../lib/wasm/backend.ts";
import { assertSameArray, rejectionOf } from "../fixtures.ts";

await setupWasmBackend();
const mnist = await loadMnist({ downloadUrls: [] });
const train = prepareSplit(sliceSplit(mnist.train, 0, 640));
const validationBytes = sliceSplit(mnist.train, 59_000, 59_400);
const validation = prepareSplit(validationBytes);

function weightsOf(model: tf.LayersModel): Float32Array[] {
  return model.getWeights().map((w) => w.dataSync() as Float32Array);
}

Deno.test("trainModel() lowers the loss on real digits and keeps the tensor count flat", async () => {
  const model = buildBaselineModel({ seed: 1 });
  const counts: number[] = [];
  const result = await trainModel(model, train, {
    epochs: 3,
    batchSize: 64,
    seed: 1,
    validation,
    onEpochEnd: () => {
      counts.push(tf.memory().numTensors);
    },
  });
  assert.equal(result.history.length, 3);
  assert.ok(result.history[2].loss < result.history[0].loss * 0.7, JSON.stringify(result.history));
  assert.ok(result.history[2].valAccuracy! > 0.6, JSON.stringify(result.history));
  assert.deepEqual(counts, [counts[0], counts[0], counts[0]]);
  // Running the training cell again continues training and holds no more tensors.
  await trainModel(model, train, { epochs: 1, batchSize: 64, seed: 2 });
  assert.equal(tf.memory().numTensors, counts[0]);
  model.dispose();
});

Deno.test("trainModel() rejects a label outside 0-9 before any training step", async () => {
  const model = buildBaselineModel({ seed: 1 });
  const before = weightsOf(model);
  const labels = train.labels.slice();
  labels[17] = 10;
  const bad: PreparedSplit = { ...train, labels };
  const error = await rejectionOf(trainModel(model, bad, { epochs: 1, batchSize: 32, seed: 1 }));
  assert.match(error.message, /training labels hold 10 at index 17; labels must be 0 to 9/);
  weightsOf(model).forEach((w, i) => assertSameArray(w, before[i], { message: `weight ${i}` }));
  model.dispose();
});

Deno.test("trainModel() stops on a NaN or infinite loss, naming the epoch and the batch", async () => {
  const model = buildBaselineModel({ seed: 1 });
  // A learning rate of 1e38 from epoch 2 on throws the weights to overflow after its first step.
  const error = await rejectionOf(trainModel(model, train, {
    epochs: 3,
    batchSize: 64,
    seed: 1,
    learningRateSchedule: (epoch) => (epoch === 0 ? 0.001 : 1e38),
  }));
  // The first step at that rate breaks the weights, whatever the loss it reported.
  assert.match(error.message, /Training diverged: .* at epoch 2, batch 1\./);
  assert.match(error.message, /Lower the learning rate/);
  model.dispose();
});

Deno.test("trainModel() rejects images that were not normalized, before any training step", async () => {
  const model = buildBaselineModel({ seed: 1 });
  const before = weightsOf(model);
  const bytes = sliceSplit(mnist.train, 0, 64) as unknown as PreparedSplit;
  const error = await rejectionOf(trainModel(model, bytes, { epochs: 1, batchSize: 32, seed: 1 }));
  assert.match(error.message, /training images are Uint8Array, not the normalized floats/);
  assert.match(error.message, /normalizePixels\(\) and reshapeImages\(\)/);
  const badValidation = { validation: validationBytes as unknown as PreparedSplit };
  assert.match(
    (await rejectionOf(
      trainModel(model, train, { epochs: 1, batchSize: 32, seed: 1, ...badValidation }),
    ))
      .message,
    /validation images are Uint8Array/,
  );
  assert.deepEqual(weightsOf(model), before);
  model.dispose();
});

Deno.test("trainModel() trains on the floats it is given, without scaling them again", async () => {
  // Keras reports a batch's loss before its step: with one batch, that is the untrained model's
  // loss on exactly the given floats. Had the trainer scaled them again (it used to divide bytes
  // by 255 itself), it would have seen near-black images and another loss.
  const few = sliceSplit(train, 0, 256);
  const model = buildBaselineModel({ seed: 1 });
  const before = evaluateModel(model, few).loss;
  const dimmed = evaluateModel(model, { ...few, images: few.images.map((v) => v / 255) }).loss;
  assert.ok(Math.abs(dimmed - before) > 1e-3, `${dimmed} vs ${before}: the check could not fail`);
  const result = await trainModel(model, few, { epochs: 1, batchSize: 256, seed: 1 });
  assert.ok(
    Math.abs(result.history[0].loss - before) < 1e-4,
    `${result.history[0].loss} vs ${before}`,
  );
  model.dispose();
});

Deno.test("trainModel() rejects bad options with a sentence naming the value", async () => {
  const model = buildBaselineModel({ seed: 1 });
  const options = { epochs: 1, batchSize: 32, seed: 1 };
  assert.match(
    (await rejectionOf(trainModel(model, train, { ...options, epochs: 0 }))).message,
    /epochs must be a positive integer, got 0/,
  );
  assert.match(
    (await rejectionOf(trainModel(model, train, { ...options, batchSize: 1.5 }))).message,
    /batch size must be a positive integer, got 1.5/,
  );
  model.dispose();
});

Deno.test("trainModel() follows the learning-rate schedule and reports it per epoch", async () => {
  const model = buildBaselineModel({ seed: 3 });
  const result = await trainModel(model, sliceSplit(train, 0, 128), {
    epochs: 3,
    batchSize: 64,
    seed: 1,
    learningRateSchedule: (epoch) => 0.001 / 2 ** epoch,
  });
  assert.deepEqual(result.history.map((h) => h.learningRate), [0.001, 0.0005, 0.00025]);
  model.dispose();
});

Deno.test("evaluateModel() agrees with tfjs' model.evaluate", async () => {
  const model = buildBaselineModel({ seed: 4 });
  await trainModel(model, train, { epochs: 1, batchSize: 64, seed: 1 });
  const ours = evaluateModel(model, validation, { batchSize: 128 });
  const [loss, accuracy] = tf.tidy(() => {
    const x = tf.tensor4d(Float32Array.from(validationBytes.images, (v) => v / 255), [
      400,
      28,
      28,
      1,
    ]);
    const y = tf.tensor1d(Float32Array.from(validation.labels));
    const out = model.evaluate(x, y, { batchSize: 128 }) as tf.Scalar[];
    return out.map((t) => t.dataSync()[0]);
  });
  assert.ok(Math.abs(ours.loss - loss) < 1e-4, `${ours.loss} vs ${loss}`);
  assert.ok(Math.abs(ours.accuracy - accuracy) < 1e-6, `${ours.accuracy} vs ${accuracy}`);
  assert.equal(ours.predicted.length, 400);
  assert.equal(ours.probabilities.length, 4000);
  // Bytes are scaled batch by batch to the very same floats.
  assert.deepEqual(evaluateModel(model, validationBytes).probabilities, ours.probabilities);
  model.dispose();
});

Deno.test("trainModel() refuses, before any step, a batch larger than the training set or than memory holds", async () => {
  const model = buildBaselineModel({ seed: 1 });
  const before = weightsOf(model);
  const small = sliceSplit(train, 0, 100);
  await assert.rejects(
    trainModel(model, small, { epochs: 1, batchSize: 101, seed: 1 }),
    /batch size 101 is larger than the 100 training images: lower BATCH_SIZE \(--batch-size\) to at most 100/,
  );
  const many = { images: new Float32Array(9000 * 784), labels: new Uint8Array(9000), count: 9000 };
  const largest = maxBatchSize(model);
  assert.ok(largest > 1000 && largest < 8192, `${largest}: 4,096 trained and 8,192 did not`);
  await assert.rejects(
    trainModel(model, many, { epochs: 1, batchSize: 9000, seed: 1 }),
    new RegExp(`A batch of 9000 images needs about \\d+\\.\\d GB .* at most ${largest}\\.`),
  );
  assert.deepEqual(weightsOf(model), before, "no step was taken");
  disposeModel(model);
});

Deno.test("the wasm thread pool shuts down so this file can exit", () => {
  shutdownWasmBackend();
});
