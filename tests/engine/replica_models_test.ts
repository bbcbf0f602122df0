/**
 * Models a reader writes in `tf.layers` (5x5 kernels, strides, padding "same", an
 * average pool, Dropout, Batch Normalization; SGD with momentum, RMSProp, one-hot labels) train on
 * the replicas as in this process, and the replicas refuse what they cannot train, saying why.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { replicaUnsupportedReason, startReplicas } from "../../lib/engine/data_parallel.ts";
import { setupWasmBackend } from "../../lib/engine/backend.ts";
import { createRandom } from "../../lib/random.ts";
import { rejectionOf } from "../fixtures.ts";

await setupWasmBackend({ threads: 1 });

/** `count` seeded inputs of `shape` and class numbers below `classes`. */
function batchOf(count: number, shape: number[], classes: number, seed: number) {
  const random = createRandom(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  const inputs = Float32Array.from({ length: count * size }, () => random());
  const labels = Array.from({ length: count }, () => Math.floor(random() * classes));
  return { inputs, labels };
}

const init = (seed: number) => ({
  kernelInitializer: tf.initializers.glorotUniform({ seed }),
  biasInitializer: tf.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: seed + 1 }),
});

/**
 * A Sequential CNN: 5x5 "same" tanh, average pool, strided sigmoid, elu, Dropout. (tfjs has no
 * gradient for dilated convolutions, so no model trains with one.)
 */
function convolutional(dropout: number): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [12, 12, 1],
        filters: 4,
        kernelSize: 5,
        padding: "same",
        activation: "tanh",
        ...init(1),
      }),
      tf.layers.averagePooling2d({ poolSize: 2 }),
      tf.layers.conv2d({
        filters: 6,
        kernelSize: 3,
        strides: 2,
        padding: "same",
        activation: "sigmoid",
        ...init(3),
      }),
      tf.layers.conv2d({
        filters: 5,
        kernelSize: 2,
        activation: "elu",
        ...init(5),
      }),
      tf.layers.dropout({ rate: dropout, seed: 9 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 10, activation: "softmax", ...init(7) }),
    ],
  });
}

/** A functional CNN with Batch Normalization over two input channels and 5 classes. */
function normalized(): tf.LayersModel {
  const input = tf.input({ shape: [10, 10, 2] });
  let x = tf.layers.conv2d({ filters: 4, kernelSize: 5, padding: "same", ...init(11) })
    .apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ momentum: 0.9 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.activation({ activation: "relu" }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  const output = tf.layers.dense({ units: 5, activation: "softmax", ...init(13) }).apply(x);
  return tf.model({ inputs: input, outputs: output as tf.SymbolicTensor });
}

function valuesOf(model: tf.LayersModel): Float32Array[] {
  return model.getWeights().map((w) => w.dataSync() as Float32Array);
}

function maxAbsDifference(a: Float32Array[], b: Float32Array[]): number {
  let max = 0;
  a.forEach((w, i) => w.forEach((v, j) => (max = Math.max(max, Math.abs(v - b[i][j])))));
  return max;
}

/** One in-process step of `model` on the batch (one-hot labels for categoricalCrossentropy). */
async function stepInProcess(
  model: tf.LayersModel,
  batch: { inputs: Float32Array; labels: number[] },
  oneHot: boolean,
): Promise<number> {
  const shape = model.inputs[0].shape.slice(1) as number[];
  const classes = model.outputs[0].shape.at(-1) as number;
  const x = tf.tensor(batch.inputs, [batch.labels.length, ...shape]);
  const y = oneHot
    ? tf.oneHot(tf.tensor1d(batch.labels, "int32"), classes).toFloat()
    : tf.tensor1d(batch.labels);
  try {
    const loss = await model.trainOnBatch(x, y);
    return Array.isArray(loss) ? loss[0] : loss;
  } finally {
    tf.dispose([x, y]);
  }
}

interface ParityCase {
  build: () => tf.LayersModel;
  compile: (model: tf.LayersModel) => void;
  workers: number;
  oneHot: boolean;
}

/**
 * Trains two twins of a model 4 steps: one in this process, one on replicas, started twice (2
 * steps each, as two training calls: the second continues from the state the first copied back).
 * Returns the largest weight difference, with the model's weights (moving statistics included).
 */
async function parity(c: ParityCase): Promise<{ difference: number; moved: number }> {
  const [here, there] = [c.build(), c.build()];
  c.compile(here);
  c.compile(there);
  const before = valuesOf(there);
  const shape = here.inputs[0].shape.slice(1) as number[];
  const classes = here.outputs[0].shape.at(-1) as number;
  const rate = (there.optimizer as unknown as { learningRate: number }).learningRate;
  try {
    for (let call = 0; call < 2; call++) {
      const replicas = await startReplicas(there, { workers: c.workers, batchCapacity: 16 });
      try {
        for (let step = 0; step < 2; step++) {
          const batch = batchOf(16 - 3 * step, shape, classes, 10 * call + step);
          await stepInProcess(here, batch, c.oneHot);
          const result = await replicas.trainOnBatch(
            batch.inputs,
            batch.labels,
            batch.labels.length,
            rate,
          );
          assert.ok(result.finite);
        }
        await replicas.copyWeightsTo(there);
      } finally {
        replicas.close();
      }
    }
    assert.equal(there.optimizer.iterations, 4);
    const moved = maxAbsDifference(valuesOf(there), before);
    return { difference: maxAbsDifference(valuesOf(here), valuesOf(there)), moved };
  } finally {
    for (const model of [here, there]) {
      model.optimizer.dispose();
      // tfjs' Momentum.dispose() forgets the -rate scalar SGD keeps (`c`).
      (model.optimizer as unknown as { c?: tf.Tensor }).c?.dispose();
      model.dispose();
    }
  }
}

Deno.test("2 replicas train a Sequential CNN (5x5 same, average pool, stride 2, Dropout 0) with SGD momentum as one process does, across two training calls", async () => {
  const tensors = tf.memory().numTensors;
  const { difference, moved } = await parity({
    build: () => convolutional(0),
    compile: (m) =>
      m.compile({ optimizer: tf.train.momentum(0.05, 0.9), loss: "sparseCategoricalCrossentropy" }),
    workers: 2,
    oneHot: false,
  });
  assert.ok(moved > 1e-3, `the weights moved by ${moved}`);
  assert.ok(difference < 1e-4, `replicas and one process differ by ${difference}`);
  assert.equal(tf.memory().numTensors, tensors, "no tensor left in this process");
});

Deno.test("2 replicas train with plain SGD and tf.metrics.categoricalCrossentropy (one-hot labels) as one process does", async () => {
  const { difference, moved } = await parity({
    build: () => convolutional(0),
    compile: (m) => m.compile({ optimizer: "sgd", loss: tf.metrics.categoricalCrossentropy }),
    workers: 2,
    oneHot: true,
  });
  assert.ok(moved > 1e-4, `the weights moved by ${moved}`);
  assert.ok(difference < 1e-4, `replicas and one process differ by ${difference}`);
});

Deno.test("a replica trains a functional model with Batch Normalization and RMSProp as one process does, moving statistics included", async () => {
  const { difference, moved } = await parity({
    build: normalized,
    compile: (m) => m.compile({ optimizer: "rmsprop", loss: "categoricalCrossentropy" }),
    // Batch Normalization normalizes each replica's share with the share's statistics, so only one
    // replica does the same arithmetic as one process (data_parallel.ts).
    workers: 1,
    oneHot: true,
  });
  assert.ok(moved > 1e-3, `the weights moved by ${moved}`);
  assert.ok(difference < 1e-4, `replicas and one process differ by ${difference}`);
});

Deno.test("2 replicas train a CNN with Dropout 0.5: the loss falls and the replicas stay identical", async () => {
  const model = convolutional(0.5);
  model.compile({ optimizer: tf.train.rmsprop(0.01), loss: "sparseCategoricalCrossentropy" });
  const batch = batchOf(32, [12, 12, 1], 10, 77);
  // A learnable batch: label l lights row l + 1.
  batch.labels.forEach((l, i) =>
    batch.inputs.fill(1, i * 144 + (l + 1) * 12, i * 144 + (l + 2) * 12)
  );
  const replicas = await startReplicas(model, { workers: 2, batchCapacity: 32 });
  try {
    const losses: number[] = [];
    for (let step = 0; step < 40; step++) {
      const { loss } = await replicas.trainOnBatch(batch.inputs, batch.labels, 32, 0.01);
      losses.push(loss);
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    assert.ok(
      mean(losses.slice(-5)) < 0.75 * mean(losses.slice(0, 5)),
      `losses ${losses.map((l) => l.toFixed(3)).join(" ")}`,
    );
    const [first, second] = await replicas.weightsOfEach();
    assert.deepEqual(second, first);
  } finally {
    replicas.close();
    model.dispose();
  }
});

/** A loss the replicas do not know. */
function squaredError(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor {
  return tf.mean(tf.square(tf.sub(yTrue, yPred)), -1);
}

Deno.test("startReplicas() refuses other optimizers, losses and several inputs, naming the reason", async () => {
  const dense = () => tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 3 })] });
  const a = tf.input({ shape: [4] }), b = tf.input({ shape: [4] });
  const joined = tf.layers.concatenate().apply([a, b]) as tf.SymbolicTensor;
  const twoInputs = tf.model({
    inputs: [a, b],
    outputs: tf.layers.dense({ units: 3 }).apply(joined) as tf.SymbolicTensor,
  });
  const cases: [tf.LayersModel, tf.ModelCompileArgs, RegExp][] = [
    [dense(), { optimizer: "adagrad", loss: "categoricalCrossentropy" }, /optimizer is Adagrad;/],
    [dense(), { optimizer: tf.train.adamax(), loss: "categoricalCrossentropy" }, /is Adamax;/],
    [dense(), { optimizer: "adam", loss: "meanSquaredError" }, /loss is meanSquaredError;/],
    [dense(), { optimizer: "sgd", loss: squaredError }, /loss is the function squaredError;/],
    [twoInputs, { optimizer: "sgd", loss: "categoricalCrossentropy" }, /has 2 inputs and 1 out/],
  ];
  for (const [model, args, reason] of cases) {
    model.compile(args);
    assert.match(replicaUnsupportedReason(model) ?? "", reason);
    const error = await rejectionOf(startReplicas(model, { workers: 2, batchCapacity: 4 }));
    assert.match(error.message, /^Cannot train this model on replicas: /);
    assert.match(error.message, reason);
    model.dispose();
  }
});
