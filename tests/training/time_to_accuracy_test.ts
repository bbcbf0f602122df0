import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { loadMnist } from "../../lib/data/mnist.ts";
import { prepareSplit, sliceSplit } from "../../lib/data/preprocess.ts";
import { disposeModel } from "../../lib/models/model.ts";
import { buildVariant } from "../../lib/models/variants.ts";
import { evaluateModel } from "../../lib/training/evaluate.ts";
import {
  type AccuracyPoint,
  firstReached,
  parseTargets,
  testAccuracyTimeline,
} from "../../lib/training/time_to_accuracy.ts";
import { trainModel } from "../../lib/training/train.ts";
import { setupWasmBackend, shutdownWasmBackend } from "../../lib/engine/mod.ts";
import { assertSameArray } from "../fixtures.ts";

await setupWasmBackend();
const mnist = await loadMnist({ downloadUrls: [] });
const train = prepareSplit(sliceSplit(mnist.train, 0, 640));
const test = sliceSplit(mnist.test, 0, 500);

/** Trains regularized (Batch Normalization and Dropout) 2 epochs on the replicas; its weights. */
async function trainRegularized(callbacks: Parameters<typeof trainModel>[2]["callbacks"]) {
  const model = buildVariant("regularized", { seed: 3 });
  await trainModel(model, train, { epochs: 2, batchSize: 64, seed: 3, callbacks });
  return model;
}

Deno.test("testAccuracyTimeline() scores the test images after each epoch, evaluation counted, without changing the training", async () => {
  const plain = await trainRegularized(undefined);
  const timeline = testAccuracyTimeline(test);
  const counts: number[] = [];
  const stepSeconds: number[] = [];
  const timed = await trainRegularized([timeline.callbacks, {
    onEpochEnd: (_, logs) => {
      counts.push(tf.memory().numTensors);
      stepSeconds.push(logs.seconds);
    },
  }]);
  // The same seed trains the same weights whether or not the test images are scored.
  const want = plain.getWeights().map((w) => w.dataSync() as Float32Array);
  timed.getWeights().forEach((w, i) =>
    assertSameArray(w.dataSync() as Float32Array, want[i], { message: `weight ${i}` })
  );
  assert.deepEqual(timeline.points.map((p) => p.epoch), [1, 2]);
  const [first, second] = timeline.points;
  // Elapsed: every training step and every evaluation so far, at least.
  assert.ok(first.evaluationSeconds > 0);
  assert.ok(first.seconds >= stepSeconds[0] + first.evaluationSeconds, JSON.stringify(timeline));
  assert.ok(
    second.seconds >= stepSeconds[0] + stepSeconds[1] + first.evaluationSeconds +
        second.evaluationSeconds,
    JSON.stringify({ timeline, stepSeconds }),
  );
  // After the last epoch the model holds that epoch's weights: the same score again.
  assert.equal(second.testAccuracy, (await evaluateModel(timed, test)).accuracy);
  assert.ok(first.testAccuracy > 0.3, JSON.stringify(timeline.points));
  assert.equal(counts[1], counts[0], "no tensor kept from one epoch's evaluation to the next");
  disposeModel(plain);
  disposeModel(timed);
});

Deno.test("testAccuracyTimeline() used without trainModel's setModel says how to use it", async () => {
  const timeline = testAccuracyTimeline(test);
  await assert.rejects(
    async () => await timeline.callbacks.onEpochEnd?.(0, { loss: 1, acc: 0, lr: 1e-3, seconds: 1 }),
    /used without setModel: pass them to trainModel/,
  );
});

Deno.test("firstReached() takes the first epoch at or above each target, null when none", () => {
  const point = (epoch: number, testAccuracy: number): AccuracyPoint => ({
    epoch,
    testAccuracy,
    seconds: 10 * epoch,
    evaluationSeconds: 1,
  });
  const points = [point(1, 0.98), point(2, 0.99), point(3, 0.989), point(4, 0.996)];
  assert.deepEqual(
    firstReached([0.99, 0.995, 0.97, 0.997], points).map((p) => p?.epoch ?? null),
    [2, 4, 1, null],
  );
  assert.deepEqual(firstReached([0.5], []), [null]);
});

Deno.test("parseTargets() takes fractions in (0, 1] and names a bad one", () => {
  assert.deepEqual(parseTargets("0.99,0.995,1"), [0.99, 0.995, 1]);
  for (const [text, part] of [["", ""], ["0", "0"], ["1.5", "1.5"], ["0.99,", ""], ["x", "x"]]) {
    assert.throws(
      () => parseTargets(text),
      new RegExp(`--targets "${text}": "${part}" is not a target accuracy`),
      text,
    );
  }
});

Deno.test("the wasm thread pool shuts down so this file can exit", () => {
  shutdownWasmBackend();
});
