import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { compileModel, disposeModel, seedModel } from "../../lib/models/model.ts";
import { buildBaselineModel, buildVariant } from "../../lib/models/variants.ts";
import { normalizePixels, prepareSplit } from "../../lib/data/preprocess.ts";
import { startPredictors, startReplicas } from "../../lib/engine/data_parallel.ts";
import { evaluateModel, predictProbabilities } from "../../lib/training/evaluate.ts";
import { trainModel } from "../../lib/training/train.ts";
import { inTutorialTerms } from "../../lib/training/engine_errors.ts";
import { EngineError } from "../../lib/engine/errors.ts";
import { setupWasmBackend } from "../../lib/engine/backend.ts";
import { createRandom } from "../../lib/random.ts";
import { rejectionOf, syntheticSplit } from "../fixtures.ts";

await setupWasmBackend({ threads: 1 });

/** `count` images of seeded noise with a bright square whose place gives the label, as bytes. */
function noisyDigitBytes(count: number, seed: number): { images: Uint8Array; labels: number[] } {
  const random = createRandom(seed);
  const images = new Uint8Array(count * 784);
  const labels: number[] = [];
  for (let i = 0; i < count; i++) {
    const label = Math.floor(random() * 10);
    labels.push(label);
    for (let p = 0; p < 784; p++) images[i * 784 + p] = Math.floor(random() * 64);
    for (let r = 0; r < 5; r++) {
      for (let c = 0; c < 5; c++) images[i * 784 + (2 + r) * 28 + 2 + 2 * label + c] = 255;
    }
  }
  return { images, labels };
}

/** {@linkcode noisyDigitBytes} scaled to [0, 1]. */
function noisyDigits(count: number, seed: number): { pixels: Float32Array; labels: number[] } {
  const { images, labels } = noisyDigitBytes(count, seed);
  return { pixels: normalizePixels(images), labels };
}

function valuesOf(model: tf.LayersModel): Float32Array[] {
  return model.getWeights().map((w) => w.dataSync() as Float32Array);
}

function maxAbsDifference(a: Float32Array[], b: Float32Array[]): number {
  let max = 0;
  a.forEach((w, i) => w.forEach((v, j) => (max = Math.max(max, Math.abs(v - b[i][j])))));
  return max;
}

/** Two identical baseline models (seed 2) compiled with Momentum, to train one in each place. */
function twinMomentumModels(): [tf.LayersModel, tf.LayersModel] {
  const models = [buildBaselineModel({ seed: 2 }), buildBaselineModel({ seed: 2 })];
  for (const model of models) {
    model.compile({
      optimizer: tf.train.momentum(0.05, 0.9),
      loss: "sparseCategoricalCrossentropy",
    });
  }
  return [models[0], models[1]];
}

Deno.test("startReplicas() keeps every replica identical, with Batch Normalization and Dropout", async () => {
  const model = buildVariant("regularized", { seed: 3 });
  const before = valuesOf(model);
  const replicas = await startReplicas(model, { workers: 3, batchCapacity: 40 });
  try {
    let tensors: number[] = [];
    for (const [step, count] of [40, 37, 2, 40].entries()) {
      const { pixels, labels } = noisyDigits(count, step);
      const result = await replicas.trainOnBatch(pixels, labels, count, 0.002);
      assert.ok(result.finite && Number.isFinite(result.loss), JSON.stringify(result));
      // Adam makes its moments at the first step; from then on no worker holds more tensors.
      if (step === 0) tensors = await replicas.tensorsOfEach();
    }
    const [first, ...others] = await replicas.weightsOfEach();
    for (const other of others) assert.deepEqual(other, first);
    // The moving statistics moved too (they are averaged over the replicas every step).
    assert.ok(maxAbsDifference(first, before) > 1e-4);
    assert.deepEqual(await replicas.tensorsOfEach(), tensors);
  } finally {
    replicas.close();
    disposeModel(model);
  }
});

Deno.test("trainModel() on 2 workers takes the steps one process takes, to float rounding", async () => {
  const split = prepareSplit({ ...syntheticSplit(96), count: 96 });
  const options = { epochs: 1, batchSize: 32, seed: 5 };
  const inProcess = buildBaselineModel({ seed: 2 });
  const parallel = buildBaselineModel({ seed: 2 });
  try {
    const a = await trainModel(inProcess, split, { ...options, workers: 0 });
    const b = await trainModel(parallel, split, { ...options, workers: 2 });
    assert.ok(Math.abs(a.history.loss[0] - b.history.loss[0]) < 1e-4 * a.history.loss[0]);
    assert.equal(a.history.acc[0], b.history.acc[0]);
    // 3 Adam steps of at most ~1e-3 each: the weights agree far below that.
    assert.ok(maxAbsDifference(valuesOf(inProcess), valuesOf(parallel)) < 2e-5);
    // The model got the replicas' optimizer state too, so training can continue where it was.
    assert.equal(parallel.optimizer.iterations, 3);
  } finally {
    disposeModel(inProcess);
    disposeModel(parallel);
  }
});

Deno.test("trainModel() on 2 workers gives the same weights twice for the same seed", async () => {
  const split = prepareSplit({ ...syntheticSplit(80), count: 80 });
  const runs: Float32Array[][] = [];
  const losses: number[] = [];
  for (let run = 0; run < 2; run++) {
    const model = buildVariant("regularized", { seed: 4 });
    const tensors = tf.memory().numTensors;
    const result = await trainModel(model, split, {
      epochs: 2,
      batchSize: 32,
      seed: 4,
      workers: 2,
    });
    losses.push(result.history.loss[1]);
    runs.push(valuesOf(model));
    disposeModel(model);
    assert.ok(tf.memory().numTensors <= tensors);
  }
  assert.equal(losses[0], losses[1]);
  assert.deepEqual(runs[0], runs[1]);
});

/** A small dense model with one Dropout layer of `rate`, seeded as the variants are. */
function dropoutModel(rate: number): tf.LayersModel {
  const model = tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [28, 28, 1] }),
      tf.layers.dense({ units: 16, activation: "relu" }),
      tf.layers.dropout({ rate }),
      tf.layers.dense({ units: 10, activation: "softmax" }),
    ],
  });
  return compileModel(seedModel(model, 9), 0.01);
}

Deno.test("Dropout: two training calls draw the masks one call of both epochs draws, in this process and on 1 or 2 replicas", async () => {
  // 5 steps an epoch, in order, so that only the masks could tell the runs apart: a second call
  // that started the masks afresh, replayed some of the first call's or skipped some, as well as
  // a model.json written between the calls that moved them, would train other weights. Images a
  // network can learn: on syntheticSplit's, every hidden unit died within 3 steps, after which no
  // mask changed anything and replayed masks went unseen.
  const { images, labels } = noisyDigitBytes(80, 5);
  const split = prepareSplit({ images, labels: Uint8Array.from(labels), count: 80 });
  const trained: Float32Array[][] = [];
  for (const workers of [0, 1, 2]) {
    const options = { batchSize: 16, seed: 1, shuffle: false, workers };
    const once = dropoutModel(0.5), twice = dropoutModel(0.5);
    try {
      const { history } = await trainModel(once, split, { ...options, epochs: 2 });
      assert.ok(history.loss[1] < 2, `${workers} workers: the network learns (${history.loss})`);
      await trainModel(twice, split, { ...options, epochs: 1 });
      twice.toJSON(); // what saving the model reads
      await trainModel(twice, split, { ...options, epochs: 1 });
      const difference = maxAbsDifference(valuesOf(once), valuesOf(twice));
      assert.ok(
        difference < 1e-6,
        `${workers} workers: two calls differ from one by ${difference}`,
      );
      trained.push(valuesOf(once));
    } finally {
      [once, twice].forEach(disposeModel);
    }
  }
  // One replica draws the masks this process draws, step for step (the sums differ in order).
  const apart = maxAbsDifference(trained[0], trained[1]);
  assert.ok(apart < 1e-4, `one replica and this process differ by ${apart}`);
  const none = dropoutModel(0);
  try {
    await trainModel(none, split, {
      batchSize: 16,
      seed: 1,
      shuffle: false,
      workers: 2,
      epochs: 2,
    });
    const dropped = maxAbsDifference(trained[2], valuesOf(none));
    assert.ok(dropped > 1e-3, `Dropout 0.5 trains as Dropout 0 does (${dropped})`);
  } finally {
    disposeModel(none);
  }
});

/** A layer the workers do not know: the replicas cannot rebuild a model holding it. */
class Doubling extends tf.layers.Layer {
  static className = "DoublingOnlyInTheMainThread";
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.mul(Array.isArray(inputs) ? inputs[0] : inputs, 2);
  }
}
tf.serialization.registerClass(Doubling);

/** A compiled model holding a {@linkcode Doubling} layer. */
function doublingModel(): tf.LayersModel {
  const model = tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [28, 28, 1] }),
      new Doubling({}),
      tf.layers.dense({ units: 10, activation: "softmax" }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(), loss: "sparseCategoricalCrossentropy" });
  return model;
}

Deno.test("startReplicas() with ema keeps Keras' moving average of the weights, the same on every replica", async () => {
  const model = dropoutModel(0);
  const replicas = await startReplicas(model, {
    workers: 2,
    batchCapacity: 40,
    ema: { momentum: 0.75 },
  });
  try {
    // Every weight of this model is trainable: the replicas' weights are what the average folds in.
    const average: Float64Array[] = [];
    let tensors: number[] = [];
    for (const [step, count] of [40, 37, 2, 40].entries()) {
      const { pixels, labels } = noisyDigits(count, step);
      await replicas.trainOnBatch(pixels, labels, count, 0.01);
      const [weights] = await replicas.weightsOfEach();
      // Keras' rule: momentum 0 at the first step.
      const momentum = step === 0 ? 0 : 0.75;
      weights.forEach((w, i) => {
        average[i] ??= new Float64Array(w.length);
        w.forEach((v, j) => average[i][j] = momentum * average[i][j] + (1 - momentum) * v);
      });
      if (step === 0) tensors = await replicas.tensorsOfEach();
    }
    const [first, ...others] = await replicas.averagesOfEach();
    for (const other of others) assert.deepEqual(other, first);
    // The same float64 arithmetic on the same float32 weights: equal to the last bit.
    assert.deepEqual(first, average.map((w) => Float32Array.from(w)));
    const [weights] = await replicas.weightsOfEach();
    assert.ok(maxAbsDifference(first, weights) > 1e-4, "the average lags the weights");
    assert.deepEqual(await replicas.tensorsOfEach(), tensors);
    await replicas.copyAverageTo(model);
    assert.deepEqual(valuesOf(model), first);
  } finally {
    replicas.close();
    disposeModel(model);
  }
});

Deno.test("startReplicas() refuses a bad ema momentum, and replicas without ema refuse to give an average", async () => {
  const model = dropoutModel(0);
  for (const momentum of [-0.5, 1, NaN]) {
    await assert.rejects(
      startReplicas(model, { workers: 1, batchCapacity: 8, ema: { momentum } }),
      new RegExp(
        `momentum \\(ema\\.momentum\\) must be at least 0 and below 1, got ${momentum}\\.`,
      ),
    );
  }
  const replicas = await startReplicas(model, { workers: 1, batchCapacity: 8 });
  try {
    const error = await rejectionOf(replicas.copyAverageTo(model));
    assert.match(
      error.message,
      /^These replicas keep no moving average of the weights: start them with the ema option\.$/,
    );
    // They were not harmed: they still train.
    const { pixels, labels } = noisyDigits(8, 1);
    assert.ok((await replicas.trainOnBatch(pixels, labels, 8, 0.01)).finite);
  } finally {
    replicas.close();
    disposeModel(model);
  }
});

Deno.test("trainModel() with ema on 2 workers ends with the averages one process ends with, to 1e-5", async () => {
  const split = prepareSplit({ ...syntheticSplit(96), count: 96 });
  const validation = prepareSplit({ ...syntheticSplit(50), count: 50 });
  const options = {
    epochs: 2,
    batchSize: 32,
    seed: 5,
    validationData: validation,
    ema: { momentum: 0.8 },
  };
  // Momentum is linear in the gradients: the replicas' other order of additions stays at float
  // rounding (Adam's division by the root of its second moment magnifies it: 1.4e-5 here after 6
  // steps, with or without the average).
  const [inProcess, parallel] = twinMomentumModels();
  try {
    const a = await trainModel(inProcess, split, { ...options, workers: 0 });
    const b = await trainModel(parallel, split, { ...options, workers: 2 });
    const difference = maxAbsDifference(valuesOf(inProcess), valuesOf(parallel));
    assert.ok(difference < 1e-5, `${difference}`);
    for (const key of ["val_loss", "val_loss_raw"] as const) {
      const [va, vb] = [a.history[key]![1], b.history[key]![1]];
      assert.ok(Math.abs(va - vb) < 1e-5 * va, `${key}: ${va} vs ${vb}`);
    }
    assert.notEqual(b.history.val_loss![1], b.history.val_loss_raw![1]);
  } finally {
    disposeModel(inProcess);
    disposeModel(parallel);
  }
});

Deno.test("startReplicas() names the worker that fails and ends them all", async () => {
  const model = doublingModel();
  const error = await rejectionOf(startReplicas(model, { workers: 2, batchCapacity: 8 }));
  assert.match(error.message, /Training replica worker [01] of 2 failed at "init"/);
  assert.match(
    error.message,
    /the layer class "DoublingOnlyInTheMainThread" is not one of tfjs' built-in layers/,
  );
  disposeModel(model);
});

Deno.test("startReplicas() rejects a model it cannot train and a bad worker count", async () => {
  const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 2 })] });
  model.compile({ optimizer: tf.train.sgd(0.1), loss: "meanSquaredError" });
  const error = await rejectionOf(startReplicas(model, { workers: 2, batchCapacity: 8 }));
  assert.match(error.message, /Cannot train this model on replicas: its loss is meanSquaredError;/);
  const seed = buildBaselineModel({ seed: 42 });
  const zero = await rejectionOf(startReplicas(seed, { workers: 0, batchCapacity: 8 }));
  assert.match(zero.message, /at least 1, got 0/);
  disposeModel(model);
  disposeModel(seed);
});

Deno.test("startPredictors() predicts what the model predicts, across chunks, from bytes or floats", async () => {
  const model = buildVariant("regularized", { seed: 6 });
  const count = 2_100; // more than one chunk of 2,048
  const bytes = new Uint8Array(count * 784);
  const random = createRandom(9);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
  const tensors = tf.memory().numTensors;
  const predictors = await startPredictors(model, { workers: 2 });
  try {
    const want = predictProbabilities(model, bytes);
    const toFloats = normalizePixels;
    const fromBytes = await predictors.predict(bytes, count, { toFloats });
    assert.equal(fromBytes.length, count * 10);
    let worst = 0;
    want.forEach((w, i) => (worst = Math.max(worst, Math.abs(w - fromBytes[i]))));
    assert.ok(worst < 1e-5, `largest difference ${worst}`);
    assert.deepEqual(await predictors.predict(normalizePixels(bytes), count), fromBytes);
    assert.deepEqual(await predictors.predict(bytes, 1, { toFloats }), fromBytes.subarray(0, 10));
    await assert.rejects(
      () => predictors.predict(bytes, 1),
      /given bytes \(a Uint8Array\) without options\.toFloats: pass a function/,
    );
    await assert.rejects(
      () => predictors.trainOnBatch(new Float32Array(784), [1], 1, 0.001),
      /started to predict only; use startReplicas to train/,
    );
    await assert.rejects(() => predictors.predict(bytes, count + 1), /needs 2101 inputs of 784/);
    assert.equal(tf.memory().numTensors, tensors, "no tensor left in this process");
  } finally {
    predictors.close();
    disposeModel(model);
  }
});

Deno.test("evaluateModel() scores the same on 2 workers as in one process", async () => {
  const model = buildBaselineModel({ seed: 8 });
  const split = { ...syntheticSplit(300), count: 300 };
  try {
    const one = await evaluateModel(model, split, { workers: 1 });
    const two = await evaluateModel(model, split, { workers: 2 });
    assert.deepEqual(two.predicted, one.predicted);
    assert.ok(Math.abs(two.loss - one.loss) < 1e-6 * one.loss);
    assert.equal(two.accuracy, one.accuracy);
  } finally {
    disposeModel(model);
  }
});

Deno.test("trainModel() on 2 workers validates on them as one process would", async () => {
  const split = prepareSplit({ ...syntheticSplit(64), count: 64 });
  const validation = prepareSplit({ ...syntheticSplit(50), count: 50 });
  const options = { epochs: 1, batchSize: 32, seed: 5, validationData: validation };
  const inProcess = buildBaselineModel({ seed: 2 });
  const parallel = buildBaselineModel({ seed: 2 });
  try {
    const a = await trainModel(inProcess, split, { ...options, workers: 0 });
    const b = await trainModel(parallel, split, { ...options, workers: 2 });
    const [va, vb] = [a.history.val_loss![0], b.history.val_loss![0]];
    assert.ok(Math.abs(va - vb) < 1e-4 * va, `${va} ${vb}`);
    assert.equal(a.history.val_acc![0], b.history.val_acc![0]);
  } finally {
    disposeModel(inProcess);
    disposeModel(parallel);
  }
});

Deno.test("a replica whose heap runs out names itself, says what to lower, and ends them all", async () => {
  const model = buildBaselineModel({ seed: 1 });
  // 20,000 images per replica: more than a 4 GB wasm heap holds (10,000 fitted once the first
  // layer's bias, ReLU and pool were fused in training: they no longer keep two full-size tensors)
  const count = 40_000;
  const replicas = await startReplicas(model, { workers: 2, batchCapacity: count });
  try {
    const labels = new Array(count).fill(1);
    const error = await rejectionOf(
      replicas.trainOnBatch(new Float32Array(count * 784), labels, count, 0.001),
    );
    assert.match(error.message, /^Training replica worker [01] of 2 failed at "gradients": /);
    assert.match(error.message, /ran out of memory: lower batchCapacity\.$/);
    assert.ok(error instanceof EngineError && error.option === "batchCapacity");
    // What trainModel and the programs show: the tutorial's variable and flag.
    const shown = await inTutorialTerms(error);
    assert.ok(shown instanceof Error && shown.cause === error.cause);
    assert.match(shown.message, /ran out of memory: lower BATCH_SIZE \(--batch-size\)\.$/);
    assert.ok(!error.message.includes("\n"), "one sentence; the worker's stack is the cause");
    const again = await rejectionOf(replicas.trainOnBatch(new Float32Array(784), [1], 1, 0.001));
    assert.equal(again, error);
  } finally {
    replicas.close();
    disposeModel(model);
  }
});

Deno.test("trainModel() trains in this process when the replicas cannot rebuild the model", async () => {
  const model = doublingModel();
  const split = prepareSplit({ ...syntheticSplit(40), count: 40 });
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (message: string) => warnings.push(message);
  try {
    const result = await trainModel(model, split, { epochs: 1, batchSize: 20, seed: 1 });
    assert.ok(Number.isFinite(result.history.loss[0]));
    assert.equal(model.optimizer.iterations, 2);
    assert.match(warnings.join("\n"), /Training in this process instead of on 1 worker: .*init/);
    // Asked for explicitly, workers that cannot start are an error.
    const error = await rejectionOf(
      trainModel(model, split, { epochs: 1, batchSize: 20, seed: 1, workers: 2 }),
    );
    assert.match(error.message, /DoublingOnlyInTheMainThread/);
  } finally {
    console.warn = warn;
    disposeModel(model);
  }
});

Deno.test("trainModel() trains a model the replicas refuse in this process, after one line saying why", async () => {
  const model = buildBaselineModel({ seed: 3 });
  model.compile({ optimizer: tf.train.adagrad(0.01), loss: "sparseCategoricalCrossentropy" });
  const split = prepareSplit({ ...syntheticSplit(40), count: 40 });
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (message: string) => warnings.push(message);
  try {
    const result = await trainModel(model, split, { epochs: 1, batchSize: 20, seed: 1 });
    assert.ok(Number.isFinite(result.history.loss[0]));
    assert.equal(model.optimizer.iterations, 2);
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(warnings[0], /^Training in this process instead of on 1 worker: .*Adagrad;/);
    assert.ok(!warnings[0].includes("\n"), "one line");
  } finally {
    console.warn = warn;
    model.optimizer.dispose();
    disposeModel(model);
  }
});

Deno.test("trainModel() follows a learning-rate schedule with SGD momentum in this process as on 2 workers", async () => {
  const split = prepareSplit({ ...syntheticSplit(64), count: 64 });
  const options = {
    epochs: 2,
    batchSize: 32,
    seed: 5,
    learningRateSchedule: (epoch: number) => [0.05, 0.001][epoch],
  };
  const [inProcess, parallel] = twinMomentumModels();
  try {
    await trainModel(inProcess, split, { ...options, workers: 0 });
    await trainModel(parallel, split, { ...options, workers: 2 });
    assert.ok(maxAbsDifference(valuesOf(inProcess), valuesOf(parallel)) < 1e-4);
  } finally {
    disposeModel(inProcess);
    disposeModel(parallel);
  }
});
