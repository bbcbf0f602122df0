import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { buildBaselineModel } from "../../lib/models/variants.ts";
import { loadMnist } from "../../lib/data/mnist.ts";
import { type PreparedSplit, prepareSplit, sliceSplit } from "../../lib/data/preprocess.ts";
import { compileModel, disposeModel, seedModel } from "../../lib/models/model.ts";
import { evaluateModel } from "../../lib/training/evaluate.ts";
import { epochOrder, maxBatchSize, trainModel } from "../../lib/training/train.ts";
import { reestimateBatchNormalization } from "../../lib/training/batch_norm_statistics.ts";
import { writeTrainable } from "../../lib/training/weight_average.ts";
import { setupWasmBackend, shutdownWasmBackend } from "../../lib/engine/mod.ts";
import { assertDifferentArrays, assertSameArray, rejectionOf } from "../fixtures.ts";

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
    validationData: validation,
    callbacks: {
      onEpochEnd: () => {
        counts.push(tf.memory().numTensors);
      },
    },
  });
  assert.deepEqual(result.epoch, [0, 1, 2]);
  const { loss, val_acc } = result.history;
  assert.ok(loss[2] < loss[0] * 0.7, JSON.stringify(result.history));
  assert.ok(val_acc![2] > 0.6, JSON.stringify(result.history));
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
  const badValidation = { validationData: validationBytes as unknown as PreparedSplit };
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
  const before = (await evaluateModel(model, few)).loss;
  const dimmed = (await evaluateModel(model, { ...few, images: few.images.map((v) => v / 255) }))
    .loss;
  assert.ok(Math.abs(dimmed - before) > 1e-3, `${dimmed} vs ${before}: the check could not fail`);
  const result = await trainModel(model, few, { epochs: 1, batchSize: 256, seed: 1 });
  assert.ok(
    Math.abs(result.history.loss[0] - before) < 1e-4,
    `${result.history.loss[0]} vs ${before}`,
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
  assert.match(
    (await rejectionOf(
      trainModel(model, train, { ...options, validationSplit: 0.1, validationData: validation }),
    )).message,
    /Both validationData and validationSplit were given: pass one/,
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
  assert.deepEqual(result.history.lr, [0.001, 0.0005, 0.00025]);
  model.dispose();
});

Deno.test("trainModel() steps at the schedule's rate, in this process and on 2 workers", async () => {
  const part = sliceSplit(train, 0, 128);
  for (const workers of [0, 2]) {
    const once = buildBaselineModel({ seed: 3 });
    await trainModel(once, part, { epochs: 1, batchSize: 64, seed: 1, workers });
    // A rate of 1e-30 in the second epoch leaves the weights where the first epoch put them; the
    // compiled rate (1e-3) would move them by about 1e-3 a step.
    const twice = buildBaselineModel({ seed: 3 });
    await trainModel(twice, part, {
      epochs: 2,
      batchSize: 64,
      seed: 1,
      workers,
      learningRateSchedule: (epoch) => (epoch === 0 ? 0.001 : 1e-30),
    });
    const expected = weightsOf(once);
    weightsOf(twice).forEach((w, i) =>
      assertSameArray(w, expected[i], {
        tolerance: 1e-9,
        message: `${workers} workers, weight ${i}`,
      })
    );
    once.dispose();
    twice.dispose();
  }
});

Deno.test("evaluateModel() agrees with tfjs' model.evaluate", async () => {
  const model = buildBaselineModel({ seed: 4 });
  await trainModel(model, train, { epochs: 1, batchSize: 64, seed: 1 });
  const ours = await evaluateModel(model, validation, { batchSize: 128 });
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
  assert.deepEqual((await evaluateModel(model, validationBytes)).probabilities, ours.probabilities);
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
  weightsOf(model).forEach((w, i) =>
    assertSameArray(w, before[i], { message: `no step was taken, but weight ${i} changed` })
  );
  disposeModel(model);
});

Deno.test("epochOrder() gives a new order every epoch and the same one for the same seed and epoch", () => {
  const orders = Array.from({ length: 10 }, (_, epoch) => epochOrder(500, { seed: 7, epoch }));
  const sorted = Array.from({ length: 500 }, (_, i) => i);
  orders.forEach((order, epoch) => {
    assertSameArray([...order].sort((a, b) => a - b), sorted, { message: `epoch ${epoch}` });
    assertSameArray(order, epochOrder(500, { seed: 7, epoch }), {
      message: `epoch ${epoch} again`,
    });
    for (let other = 0; other < epoch; other++) {
      assertDifferentArrays(order, orders[other], `epochs ${other} and ${epoch}`);
    }
  });
  assertDifferentArrays(epochOrder(500, { seed: 8, epoch: 0 }), orders[0], "seeds 7 and 8");
  // Seeds 2^29 apart: seed * 1000 agrees modulo 2^32, which must not make the orders agree.
  assertDifferentArrays(
    epochOrder(500, { seed: 536_870_919, epoch: 0 }),
    orders[0],
    "seeds 7 and 7 + 2^29",
  );
});

/** `count` images whose first pixel holds their index, so that a batch shows which images it holds. */
function numberedSplit(count: number): PreparedSplit {
  const images = new Uint8Array(count * 784);
  for (let i = 0; i < count; i++) images[i * 784] = i;
  return prepareSplit({
    images,
    labels: Uint8Array.from({ length: count }, (_, i) => i % 10),
    count,
  });
}

/** A model small enough that a step costs nothing: the loop is what these tests watch. */
function tiny(): tf.Sequential {
  return compileModel(
    tf.sequential({
      layers: [
        tf.layers.maxPooling2d({ inputShape: [28, 28, 1], poolSize: 2 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 10, activation: "softmax" }),
      ],
    }),
    0.001,
  );
}

/** Trains and returns the images each epoch visited, in order, and the batches' progress. */
async function visits(
  seed: number,
  options: { epochs: number; count: number; batchSize: number; shuffle?: boolean },
) {
  const model = seedModel(tiny(), 1);
  const epochs: number[][] = [[]];
  const progress: string[] = [];
  let epoch = 0;
  let steps = 0;
  await trainModel(model, numberedSplit(options.count), {
    ...options,
    seed,
    validationData: numberedSplit(10),
    // The augmentation hook sees every training batch (and only those) before its step.
    augment: (pixels, count) => {
      for (let i = 0; i < count; i++) epochs.at(-1)!.push(Math.round(pixels[i * 784] * 255));
    },
    callbacks: {
      setParams: (params) => void (steps = params.steps),
      onEpochBegin: (e) => void (epoch = e),
      onBatchEnd: (batch, logs) => void progress.push(`${epoch}.${batch}/${steps}:${logs.size}`),
      onEpochEnd: () => void epochs.push([]),
    },
  });
  epochs.pop();
  disposeModel(model);
  return { epochs, progress };
}

Deno.test("trainModel() visits every image once per epoch, in a new order each epoch, repeated for the same seed", async () => {
  const options = { epochs: 3, count: 70, batchSize: 32 };
  const { epochs, progress } = await visits(4, options);
  assert.equal(epochs.length, 3);
  const all = Array.from({ length: 70 }, (_, i) => i);
  epochs.forEach((order, epoch) => {
    assertSameArray([...order].sort((a, b) => a - b), all, { message: `epoch ${epoch + 1}` });
    assertSameArray(order, epochOrder(70, { seed: 4, epoch }), { message: `epoch ${epoch + 1}` });
  });
  assertDifferentArrays(epochs[1], epochs[0], "epoch 2 must not repeat epoch 1's order");
  assertDifferentArrays(epochs[2], epochs[1], "epoch 3 must not repeat epoch 2's order");
  const again = await visits(4, options);
  epochs.forEach((order, e) =>
    assertSameArray(again.epochs[e], order, { message: `rerun, epoch ${e + 1}` })
  );
  const other = await visits(5, options);
  assertDifferentArrays(other.epochs[0], epochs[0], "another seed, another order");
  // 70 images in batches of 32: 32, 32, then the last 6, every epoch (0-based, as in tfjs).
  assert.deepEqual(progress, [
    "0.0/3:32",
    "0.1/3:32",
    "0.2/3:6",
    "1.0/3:32",
    "1.1/3:32",
    "1.2/3:6",
    "2.0/3:32",
    "2.1/3:32",
    "2.2/3:6",
  ]);
});

Deno.test("trainModel() with shuffle false visits the images in their order every epoch", async () => {
  const { epochs } = await visits(4, { epochs: 2, count: 40, batchSize: 16, shuffle: false });
  const inOrder = Array.from({ length: 40 }, (_, i) => i);
  epochs.forEach((order, e) => assertSameArray(order, inOrder, { message: `epoch ${e + 1}` }));
});

Deno.test("trainModel() with validationSplit holds out the last images, as Keras does", async () => {
  const model = buildBaselineModel({ seed: 2 });
  const part = sliceSplit(train, 0, 160);
  const seen: number[] = [];
  const result = await trainModel(model, part, {
    epochs: 1,
    batchSize: 32,
    seed: 1,
    validationSplit: 0.2,
    // Callbacks come one object or a list, as in model.fit.
    callbacks: [{ setParams: (p) => void seen.push(p.samples) }, {
      onTrainEnd: () => void seen.push(-1),
    }],
  });
  assert.deepEqual(seen, [128, -1], "128 images train, the last 32 validate");
  const scored = await evaluateModel(model, sliceSplit(part, 128, 160));
  assert.ok(Math.abs(result.history.val_loss![0] - scored.loss) < 1e-6);
  model.dispose();
});

Deno.test("trainModel() reports the mean loss and accuracy over the epoch's images, the last smaller batch by its size", async () => {
  const model = buildBaselineModel({ seed: 6 });
  const part = sliceSplit(train, 0, 70);
  const before = weightsOf(model);
  // A learning rate of 1e-30 leaves every weight as it was: each step sees the same model.
  const result = await trainModel(model, part, {
    epochs: 1,
    batchSize: 32,
    seed: 1,
    learningRateSchedule: () => 1e-30,
  });
  // (Biases that start at 0 move by about 1e-30, which float32 can hold.)
  weightsOf(model).forEach((w, i) =>
    assertSameArray(w, before[i], { tolerance: 1e-20, message: `weight ${i}` })
  );
  const whole = await evaluateModel(model, part);
  assert.ok(
    Math.abs(result.history.loss[0] - whole.loss) < 1e-5,
    `${result.history.loss[0]} vs ${whole.loss}`,
  );
  assert.ok(Math.abs(result.history.acc[0] - whole.accuracy) < 1e-6);
  model.dispose();
});

Deno.test("trainModel() scores the validation images, not the training ones, after each epoch", async () => {
  const model = buildBaselineModel({ seed: 2 });
  const result = await trainModel(model, sliceSplit(train, 0, 128), {
    epochs: 1,
    batchSize: 64,
    seed: 1,
    validationData: validation,
  });
  const scored = await evaluateModel(model, validation);
  assert.ok(
    Math.abs(result.history.val_loss![0] - scored.loss) < 1e-6,
    `${result.history.val_loss} vs ${scored.loss}`,
  );
  assert.equal(result.history.val_acc![0], scored.accuracy);
  model.dispose();
});

/**
 * Early stopping's set-up: one good epoch, then a learning rate that wrecks the model, so that the
 * validation loss rises and patience 2 stops after epoch 3 with epoch 1 the best.
 */
const WRECKED_AFTER_ONE_EPOCH = {
  epochs: 4,
  batchSize: 64,
  seed: 1,
  validationData: validation,
  learningRateSchedule: (epoch: number) => (epoch === 0 ? 0.002 : 0.2),
  earlyStopping: { patience: 2 },
};

Deno.test("trainModel() stops early after `patience` epochs without progress and puts the best weights back", async () => {
  const model = buildBaselineModel({ seed: 3 });
  const result = await trainModel(model, train, WRECKED_AFTER_ONE_EPOCH);
  const losses = result.history.val_loss!;
  assert.ok(losses[1] > losses[0] && losses[2] > losses[0], JSON.stringify(losses));
  assert.equal(result.epoch.length, 3, "epochs 2 and 3 without progress, then stop");
  assert.equal(result.stoppedEarly, true);
  assert.equal(result.bestEpoch, 1);
  const now = await evaluateModel(model, validation);
  assert.ok(Math.abs(now.loss - losses[0]) < 1e-6, `${now.loss} vs epoch 1's ${losses[0]}`);
  model.dispose();
});

Deno.test("trainModel() without validation images trains, logs no val_ fields, and refuses early stopping", async () => {
  const model = buildBaselineModel({ seed: 4 });
  const part = sliceSplit(train, 0, 64);
  const logged: string[][] = [];
  const result = await trainModel(model, part, {
    epochs: 1,
    batchSize: 32,
    seed: 1,
    validationSplit: 0,
    callbacks: { onEpochEnd: (_, logs) => void logged.push(Object.keys(logs ?? {})) },
  });
  assert.ok(Number.isFinite(result.history.loss[0]));
  assert.deepEqual(
    [result.history.val_loss, result.history.val_acc],
    [undefined, undefined],
    JSON.stringify(result.history),
  );
  assert.ok(!logged[0].some((key) => key.startsWith("val_")), logged[0].join());
  const before = tf.memory().numTensors;
  for (const options of [{ validationSplit: 0 }, { validationData: sliceSplit(part, 0, 0) }]) {
    const error = await rejectionOf(
      trainModel(model, part, {
        epochs: 2,
        batchSize: 32,
        seed: 1,
        earlyStopping: { patience: 1 },
        ...options,
      }),
    );
    assert.match(
      String(error),
      /Early stopping watches the validation loss, but there are no validation images/,
    );
  }
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
});

/** Keras' moving average of `steps` (each a list of weights' values), in float64. */
function kerasAverage(steps: Float32Array[][], momentum: number): Float32Array[] {
  const average = steps[0].map((w) => Float64Array.from(w));
  for (const step of steps.slice(1)) {
    step.forEach((w, i) =>
      w.forEach((v, j) => average[i][j] = momentum * average[i][j] + (1 - momentum) * v)
    );
  }
  return average.map((w) => Float32Array.from(w));
}

/** A dense model (7,850 weights) whose steps cost nothing, compiled with Adam at `rate`. */
function denseModel(seed: number, rate = 0.01): tf.Sequential {
  return compileModel(
    seedModel(
      tf.sequential({
        layers: [
          tf.layers.flatten({ inputShape: [28, 28, 1] }),
          tf.layers.dense({ units: 10, activation: "softmax" }),
        ],
      }),
      seed,
    ),
    rate,
  );
}

Deno.test("trainModel() with ema ends with Keras' average of the weights every step left, scored as val_loss; val_loss_raw scores the weights", async () => {
  const model = denseModel(1);
  const part = sliceSplit(train, 0, 96);
  const steps: Float32Array[][] = [];
  const options = {
    epochs: 2,
    batchSize: 32,
    seed: 1,
    workers: 0,
    validationData: validation,
    ema: { momentum: 0.8 },
  };
  const tensors: number[] = [];
  const result = await trainModel(model, part, {
    ...options,
    callbacks: {
      // In this process the model takes every step: it holds the trained weights at batch ends.
      onBatchEnd: () => void steps.push(weightsOf(model).map((w) => w.slice())),
      onEpochEnd: () => void tensors.push(tf.memory().numTensors),
    },
  });
  assert.equal(steps.length, 6, "3 steps an epoch");
  const expected = kerasAverage(steps, 0.8);
  weightsOf(model).forEach((w, i) =>
    assertSameArray(w, expected[i], { tolerance: 1e-6, message: `weight ${i}` })
  );
  // The averages lag the weights by several steps: they must differ for this test to tell them apart.
  assertDifferentArrays(expected[1], steps[5][1], "the averages and the last weights");
  const { val_loss, val_acc, val_loss_raw, val_acc_raw } = result.history;
  const averaged = await evaluateModel(model, validation);
  assert.ok(Math.abs(val_loss!.at(-1)! - averaged.loss) < 1e-6, `${val_loss} vs ${averaged.loss}`);
  assert.equal(val_acc!.at(-1), averaged.accuracy);
  writeTrainable(model, steps[5]);
  const trained = await evaluateModel(model, validation);
  assert.ok(
    Math.abs(val_loss_raw!.at(-1)! - trained.loss) < 1e-6,
    `${val_loss_raw} vs ${trained.loss}`,
  );
  assert.equal(val_acc_raw!.at(-1), trained.accuracy);
  assert.notEqual(val_loss_raw!.at(-1), val_loss!.at(-1));
  // No tensor is left behind, at an epoch's end or after the run.
  assert.equal(tensors[1], tensors[0]);
  const before = tf.memory().numTensors;
  await trainModel(model, part, options);
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
});

Deno.test("trainModel() with ema momentum 0 ends with the trained weights themselves, in this process and on 2 workers", async () => {
  const part = sliceSplit(train, 0, 96);
  for (const workers of [0, 2]) {
    const plain = denseModel(2), averaged = denseModel(2);
    const options = { epochs: 2, batchSize: 32, seed: 1, workers, validationData: validation };
    const a = await trainModel(plain, part, options);
    const b = await trainModel(averaged, part, { ...options, ema: { momentum: 0 } });
    weightsOf(averaged).forEach((w, i) =>
      assertSameArray(w, weightsOf(plain)[i], { message: `${workers} workers, weight ${i}` })
    );
    assert.deepEqual(b.history.val_loss_raw, b.history.val_loss);
    assert.ok(Math.abs(a.history.val_loss![1] - b.history.val_loss![1]) < 1e-6);
    assert.equal(a.history.val_loss_raw, undefined, "no raw scores without ema");
    plain.dispose();
    averaged.dispose();
  }
});

/** A convolution with Batch Normalization and no Dropout, so that its statistics are the only question. */
function normalizedModel(): tf.Sequential {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 4, kernelSize: 3, useBias: false }),
      tf.layers.batchNormalization({ momentum: 0.9 }),
      tf.layers.activation({ activation: "relu" }),
      tf.layers.maxPooling2d({ poolSize: 4 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 10, activation: "softmax" }),
    ],
  });
  return compileModel(seedModel(model, 5), 0.02);
}

Deno.test("trainModel() with ema re-estimates Batch Normalization's statistics for the averages, in this process and on 2 workers", async () => {
  // 200 images, fewer than the 512 the statistics are measured on: all of them are.
  const part = sliceSplit(train, 0, 200);
  for (const workers of [0, 2]) {
    const model = normalizedModel();
    let last: Float32Array[] = [];
    const result = await trainModel(model, part, {
      epochs: 2,
      batchSize: 50,
      seed: 1,
      workers,
      validationData: validation,
      ema: { momentum: 0.9 },
      callbacks: {
        onBatchEnd: () =>
          void (last = model.trainableWeights.map((w) =>
            w.read().dataSync().slice() as Float32Array
          )),
      },
    });
    const statistics = () => model.nonTrainableWeights.map((w) => w.read().dataSync().slice());
    const left = statistics();
    reestimateBatchNormalization(model, part.images, part.count);
    statistics().forEach((s, i) =>
      assertSameArray(s, left[i], {
        tolerance: 1e-4,
        message: `${workers} workers, statistic ${i}`,
      })
    );
    const scored = await evaluateModel(model, validation);
    assert.ok(Math.abs(scored.loss - result.history.val_loss![1]) < 1e-5);
    if (workers === 0) {
      // The trained weights' statistics differ: the test can tell them apart.
      writeTrainable(model, last);
      reestimateBatchNormalization(model, part.images, part.count);
      const differs = statistics().some((s, i) =>
        s.some((v, j) => Math.abs(v - left[i][j]) > 1e-2)
      );
      assert.ok(differs, "the averages' and the trained weights' statistics are alike");
    }
    model.dispose();
  }
});

Deno.test("trainModel() with ema and early stopping watches the averages and keeps the best epoch's", async () => {
  const model = buildBaselineModel({ seed: 3 });
  const result = await trainModel(model, train, {
    ...WRECKED_AFTER_ONE_EPOCH,
    ema: { momentum: 0.5 },
  });
  const { val_loss, val_loss_raw } = result.history;
  assert.equal(result.bestEpoch, 1, JSON.stringify(val_loss));
  assert.equal(result.epoch.length, 3);
  const now = await evaluateModel(model, validation);
  assert.ok(Math.abs(now.loss - val_loss![0]) < 1e-5, `${now.loss} vs epoch 1's ${val_loss![0]}`);
  assert.ok(
    Math.abs(now.loss - val_loss_raw![0]) > 1e-4,
    "the averages, not the weights, are kept",
  );
  model.dispose();
});

Deno.test("trainModel() refuses an ema momentum below 0, of 1 or more, or NaN, before anything starts", async () => {
  const model = denseModel(1);
  const before = weightsOf(model);
  // Refused by the options' check, not by replicas that fail to start and fall back with a warning.
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (message: string) => warnings.push(message);
  try {
    for (const momentum of [-0.1, 1, 1.5, NaN]) {
      const error = await rejectionOf(
        trainModel(model, train, { epochs: 1, batchSize: 32, seed: 1, ema: { momentum } }),
      );
      assert.ok(error instanceof RangeError);
      assert.match(
        error.message,
        new RegExp(
          `momentum \\(ema\\.momentum\\) must be at least 0 and below 1, got ${momentum}:`,
        ),
      );
    }
  } finally {
    console.warn = warn;
  }
  assert.deepEqual(warnings, []);
  weightsOf(model).forEach((w, i) => assertSameArray(w, before[i], { message: `weight ${i}` }));
  model.dispose();
});

Deno.test("the wasm thread pool shuts down so this file can exit", () => {
  shutdownWasmBackend();
});
