/**
 * lib/models/variants.ts and lib/engine/kernels/batch_norm_grad.ts: every variant builds and trains a step on wasm
 * without leaking tensors, Dropout masks advance per step and repeat per seed, the schedules, and
 * the BatchNormalization gradient against the same formula in elementary ops.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { disposeModel } from "../../lib/models/model.ts";
import {
  buildBaselineModel,
  buildVariant,
  getVariant,
  learningRateAt,
  VARIANT_NAMES,
  variantFingerprint,
  VARIANTS,
  variantTrainOptions,
} from "../../lib/models/variants.ts";
import { setupWasmBackend, shutdownWasmBackend } from "../../lib/engine/mod.ts";

await setupWasmBackend();

const PARAMETERS = { baseline: 121_930, tuned: 121_930, augmented: 121_930 } as const;

for (const name of VARIANT_NAMES) {
  Deno.test(`variant ${name} builds, trains a step on wasm and leaks no tensor`, async () => {
    const before = tf.memory().numTensors;
    const model = buildVariant(name, { seed: 3 });
    if (name in PARAMETERS) assert.equal(model.countParams(), PARAMETERS[name as "baseline"]);
    const x = tf.randomUniform([16, 28, 28, 1], 0, 1, "float32", 1);
    const y = tf.tensor1d(Array.from({ length: 16 }, (_, i) => i % 10));
    const counts: number[] = [];
    const losses: number[] = [];
    for (let step = 0; step < 3; step++) {
      const out = await model.trainOnBatch(x, y);
      losses.push(Array.isArray(out) ? out[0] : out);
      counts.push(tf.memory().numTensors);
    }
    assert.ok(losses.every(Number.isFinite), `${losses}`);
    // The first step creates the optimizer's moments; after it the count must stay flat.
    assert.equal(counts[2], counts[1]);
    x.dispose();
    y.dispose();
    disposeModel(model);
    assert.equal(tf.memory().numTensors, before, "disposeModel frees the model and its optimizer");
  });
}

Deno.test("a variant's model has 10 outputs by default and `classes` when given", () => {
  for (const name of VARIANT_NAMES) {
    const model = buildVariant(name, { seed: 1, classes: 3 });
    assert.deepEqual(model.outputs[0].shape, [null, 3], name);
    disposeModel(model);
  }
});

Deno.test("Dropout draws a new mask every training step, the same sequence for a seed", async () => {
  const masks = async (seed: number) => {
    const model = buildVariant("regularized", { seed });
    const dropout = model.layers.find((l) => l.getClassName() === "Dropout")!;
    const ones = tf.ones([4, 13, 13, 32]);
    const mask = () =>
      tf.tidy(() => (dropout.apply(ones, { training: true }) as tf.Tensor).dataSync().join());
    const first = mask();
    // The mask is the step's: the same until the optimizer takes a step, whoever reads it.
    assert.equal(mask(), first);
    model.toJSON();
    const [x, y] = [tf.zeros([1, 28, 28, 1]), tf.tensor1d([0])];
    await model.trainOnBatch(x, y);
    const second = mask();
    // Predicting does not use (or advance) the masks.
    const inference = dropout.apply(ones) as tf.Tensor;
    assert.ok((inference.dataSync() as Float32Array).every((v) => v === 1));
    tf.dispose([ones, inference, x, y]);
    disposeModel(model);
    return [first, second];
  };
  const [a1, a2] = await masks(7);
  const [b1, b2] = await masks(7);
  const [c1] = await masks(8);
  assert.notEqual(a1, a2, "a fixed mask would drop the same units at every step");
  assert.deepEqual([a1, a2], [b1, b2]);
  assert.notEqual(a1, c1);
});

Deno.test("the BatchNormalization gradient equals the same formula in elementary ops", () => {
  const x = tf.randomNormal([4, 5, 5, 3], 0, 2, "float32", 1);
  const scale = tf.tensor1d([0.5, 1.5, -2]);
  const offset = tf.tensor1d([0.1, 0.2, 0.3]);
  const w = tf.randomNormal([4, 5, 5, 3], 0, 1, "float32", 2);
  const epsilon = 1e-3;
  const fused = (input: tf.Tensor) => {
    const { mean, variance } = tf.moments(input, [0, 1, 2]);
    return tf.batchNorm(input, mean, variance, offset, scale, epsilon).mul(w).sum();
  };
  const plain = (input: tf.Tensor) => {
    const { mean, variance } = tf.moments(input, [0, 1, 2]);
    return input.sub(mean).div(variance.add(epsilon).sqrt()).mul(scale).add(offset).mul(w).sum();
  };
  const [gFused, gPlain] = [fused, plain].map((f) => tf.grad(f)(x).dataSync());
  gFused.forEach((v, i) => assert.ok(Math.abs(v - gPlain[i]) < 1e-4, `${i}: ${v} ${gPlain[i]}`));
  const scaleGrad = (f: (s: tf.Tensor) => tf.Scalar) => tf.grad(f)(scale).dataSync();
  const viaFused = scaleGrad((s) => {
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    return tf.batchNorm(x, mean, variance, offset, s as tf.Tensor1D, epsilon).mul(w).sum();
  });
  const viaPlain = scaleGrad((s) => {
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    return x.sub(mean).div(variance.add(epsilon).sqrt()).mul(s).add(offset).mul(w).sum();
  });
  viaFused.forEach((v, i) => assert.ok(Math.abs(v - viaPlain[i]) < 1e-3, `${v} ${viaPlain[i]}`));
  const offsetGrad = (f: (o: tf.Tensor) => tf.Scalar) => tf.grad(f)(offset).dataSync();
  const offsetFused = offsetGrad((o) => {
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    return tf.batchNorm(x, mean, variance, o as tf.Tensor1D, scale, epsilon).mul(w).sum();
  });
  const offsetPlain = offsetGrad((o) => {
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    return x.sub(mean).div(variance.add(epsilon).sqrt()).mul(scale).add(o).mul(w).sum();
  });
  offsetFused.forEach((v, i) =>
    assert.ok(Math.abs(v - offsetPlain[i]) < 1e-3, `offset: ${v} ${offsetPlain[i]}`)
  );
  tf.dispose([x, scale, offset, w]);
});

Deno.test("schedules: exponential decay, one-cycle warm-up and cosine decay, stretched to epochs", () => {
  assert.equal(learningRateAt({ kind: "exponential", initial: 0.01, rate: 0.5 }, 3, 5), 0.00125);
  const cycle = (epoch: number, epochs: number) =>
    learningRateAt({ kind: "oneCycle", peak: 0.004, warmup: 1 }, epoch, epochs);
  assert.ok(Math.abs(cycle(0, 8) - 0.0004) < 1e-12);
  assert.ok(Math.abs(cycle(1, 8) - 0.004) < 1e-12);
  assert.equal(cycle(7, 8), 0.00004);
  for (let e = 2; e < 8; e++) assert.ok(cycle(e, 8) < cycle(e - 1, 8));
  const deep = variantTrainOptions(getVariant("deep"), 3);
  assert.equal(deep.learningRateSchedule!(2), 0.00004, "the schedule ends at the last epoch");
  assert.ok(deep.augment !== undefined && deep.earlyStopping === undefined);
  assert.deepEqual(variantTrainOptions(getVariant("tuned"), 15).earlyStopping, { patience: 3 });
  assert.deepEqual(variantTrainOptions(getVariant("baseline"), 5), {
    learningRateSchedule: undefined,
    earlyStopping: undefined,
    augment: undefined,
    ema: undefined,
  });
  const averaged = {
    ...getVariant("deep"),
    training: { epochs: 8, batchSize: 128, ema: { momentum: 0.999 } },
  };
  assert.deepEqual(variantTrainOptions(averaged, 8).ema, { momentum: 0.999 });
});

Deno.test("getVariant names the known variants when asked for an unknown one", () => {
  assert.throws(() => getVariant("huge"), /no model variant "huge".*baseline, tuned, regularized/);
  assert.throws(() => getVariant("seed"), /once called "seed", is now called baseline/);
  assert.throws(() => getVariant("constructor"), /no model variant "constructor"/);
});

Deno.test("buildBaselineModel() builds the tutorial's layers with 121,930 parameters", () => {
  const model = buildBaselineModel({ seed: 42 });
  assert.deepEqual(model.layers.map((l) => l.getClassName()), [
    "Conv2D",
    "MaxPooling2D",
    "Conv2D",
    "MaxPooling2D",
    "Flatten",
    "Dense",
    "Dense",
  ]);
  assert.deepEqual(model.layers.map((l) => l.getConfig().activation ?? null), [
    "relu",
    null,
    "relu",
    null,
    null,
    "relu",
    "softmax",
  ]);
  assert.deepEqual(model.layers[0].getConfig().kernelSize, [3, 3]);
  assert.equal(model.countParams(), 121_930);
  disposeModel(model);
});

Deno.test("variantFingerprint() changes with anything that changes a result, not with words", async () => {
  const base = VARIANTS.baseline;
  const fingerprint = await variantFingerprint(base);
  assert.match(fingerprint, /^[0-9a-f]{12}$/);
  assert.equal(await variantFingerprint({ ...base, description: "other words" }), fingerprint);
  // Built after other models, its layers get other names from tfjs: the same fingerprint.
  assert.equal(await variantFingerprint(VARIANTS.tuned), await variantFingerprint(VARIANTS.tuned));
  assert.notEqual(
    await variantFingerprint({ ...VARIANTS.regularized, layers: VARIANTS.deep.layers }),
    await variantFingerprint(VARIANTS.regularized),
  );
  const changed = [
    { ...base, learningRate: 0.0011 },
    {
      ...base,
      layers: (classes: number) => [...base.layers(classes), tf.layers.dropout({ rate: 0.1 })],
    },
    { ...base, training: { ...base.training, epochs: 6 } },
    { ...base, training: { ...base.training, earlyStoppingPatience: 2 } },
    { ...base, training: { ...base.training, ema: { momentum: 0.999 } } },
    { ...base, training: { ...base.training, ema: { momentum: 0.99 } } },
    {
      ...VARIANTS.augmented,
      training: {
        ...VARIANTS.augmented.training,
        augmentation: { rotationDegrees: 5, shiftPixels: 2, zoom: 0.1 },
      },
    },
  ];
  const prints = await Promise.all(changed.map(variantFingerprint));
  assert.equal(new Set([fingerprint, ...prints]).size, changed.length + 1);
});

Deno.test("Batch Normalization layers keep moving statistics that settle in a few dozen steps", () => {
  for (const name of ["regularized", "deep"] as const) {
    const model = buildVariant(name, { seed: 1 });
    const norms = model.layers.filter((l) => l.getClassName() === "BatchNormalization");
    assert.ok(norms.length >= 3, name);
    for (const layer of norms) {
      assert.equal(layer.getConfig().momentum, 0.9, `${name} ${layer.name}`);
    }
    // The layer before each is linear and has no bias: Batch Normalization's offset replaces it.
    const before = norms.map((l) => model.layers[model.layers.indexOf(l) - 1].getConfig());
    assert.deepEqual(
      before.map((c) => [c.useBias, c.activation]),
      before.map(() => [false, "linear"]),
    );
    disposeModel(model);
  }
});

Deno.test("shut the wasm thread pool down so the test file exits", () => {
  shutdownWasmBackend();
});
