/**
 * lib/training/experiment.ts: a run repeats exactly for a seed on one thread, and options are
 * checked before anything is loaded.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { runExperiment } from "../../lib/training/experiment.ts";
import { evaluateModel } from "../../lib/training/evaluate.ts";
import { NOT_SURE_TARGET_ACCURACY, notSureThreshold } from "../../lib/training/calibration.ts";
import { loadMnist } from "../../lib/data/mnist.ts";
import { sliceSplit } from "../../lib/data/preprocess.ts";
import { disposeModel } from "../../lib/models/model.ts";
import { buildVariant, VARIANTS } from "../../lib/models/variants.ts";
import { assertSameArray } from "../fixtures.ts";
import { setupWasmBackend, shutdownWasmBackend } from "../../lib/engine/mod.ts";

// One thread: XNNPACK's multi-threaded reductions may add in a different order from run to run.
const backend = await setupWasmBackend({ threads: 1 });
const mnist = await loadMnist({ downloadUrls: [] });
// The reproducibility runs score 1,000 test images: predicting all 10,000 three times on one
// thread would take most of the test's time.
const small = { ...mnist, test: sliceSplit(mnist.test, 0, 1000) };

for (const variant of ["baseline", "deep"] as const) {
  Deno.test(`runExperiment(${variant}) twice with one seed gives the same test loss`, async () => {
    const before = tf.memory().numTensors;
    const run = () =>
      runExperiment({ variant, seed: 5, epochs: 1, trainSamples: 600, data: small, backend });
    const a = await run();
    const b = await run();
    assert.equal(a.train.count, 540, "the last 10% of the 600 images are held out");
    assert.equal(a.validation.count, 60);
    // Validated after each epoch on those 60, scored on the 1,000 test images.
    assert.equal(typeof a.training.history.val_loss![0], "number");
    assert.equal(typeof a.metrics.history[0].val_loss, "number");
    assert.equal(a.evaluation.predicted.length, small.test.count);
    assert.equal(a.metrics.test_accuracy, b.metrics.test_accuracy);
    assert.equal(a.metrics.test_loss, b.metrics.test_loss);
    assert.deepEqual(a.metrics.history.map((h) => h.loss), b.metrics.history.map((h) => h.loss));
    assert.equal(a.metrics.variant, variant);
    assert.equal(a.metrics.threads, 1);
    // The not-sure threshold, chosen on the 60 validation images (never the test images).
    const { probabilities } = await evaluateModel(a.model, a.validation);
    const rule = notSureThreshold({
      probabilities,
      labels: a.validation.labels,
      targetAccuracy: NOT_SURE_TARGET_ACCURACY,
    });
    assert.equal(a.metrics.notSureBelow, rule.threshold);
    assert.equal(a.metrics.notSureBelow, b.metrics.notSureBelow);
    const c = await runExperiment({
      variant,
      seed: 6,
      epochs: 1,
      trainSamples: 600,
      data: small,
      backend,
    });
    assert.notEqual(c.metrics.test_loss, a.metrics.test_loss, "another seed, another run");
    for (const r of [a, b, c]) disposeModel(r.model);
    assert.equal(tf.memory().numTensors, before);
  });
}

Deno.test("runExperiment() starts from the initial weights its seed gives", async () => {
  // A learning rate of 1e-30 leaves the weights where the seed put them.
  const frozen = { ...VARIANTS.baseline, learningRate: 1e-30 };
  const run = await runExperiment({
    variant: frozen,
    seed: 11,
    epochs: 1,
    trainSamples: 100,
    batchSize: 30,
    data: small,
    backend,
  });
  const fresh = buildVariant(frozen, { seed: 11 });
  const [got, want] = [run.model, fresh].map((m) => m.getWeights().map((w) => w.dataSync()));
  want.forEach((w, i) => assertSameArray(got[i], w, { tolerance: 1e-20, message: `weight ${i}` }));
  disposeModel(run.model);
  disposeModel(fresh);
});

Deno.test("runExperiment checks its options before loading anything", async () => {
  await assert.rejects(
    () => runExperiment({ variant: "baseline", seed: 1.5 }),
    /seed must be a whole number of 0 or more, got 1.5/,
  );
  await assert.rejects(
    () => runExperiment({ variant: "baseline", seed: 1, epochs: 0 }),
    /epochs must be a positive integer/,
  );
  await assert.rejects(
    () => runExperiment({ variant: "baseline", seed: 1, data: mnist, dataset: "fashion-mnist" }),
    /data given is mnist but the dataset asked for is fashion-mnist/,
  );
});

Deno.test("shut the wasm thread pool down so the test file exits", () => {
  shutdownWasmBackend();
});
