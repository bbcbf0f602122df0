import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { buildBaselineModel } from "../../lib/models/variants.ts";
import { readRunMetrics, runMetrics, saveRun } from "../../lib/training/run_metrics.ts";
import { listFiles, sampleRunRecord, syntheticSplit } from "../fixtures.ts";

tf.enableProdMode(); // no "use tfjs-node" banner in the test output
await tf.setBackend("cpu");

Deno.test("runMetrics() and saveRun() write metrics.json with the promised fields, and the model", async () => {
  const model = buildBaselineModel({ seed: 42 });
  const train = { ...syntheticSplit(90), count: 90 };
  const validation = { ...syntheticSplit(10), count: 10 };
  const metrics = runMetrics({
    params: { dataset: "mnist", seed: 3, epochs: 5, batchSize: 32 },
    variant: "baseline",
    train,
    validation,
    model,
    training: {
      epoch: [0, 1],
      history: {
        loss: [1, 0.5],
        acc: [0.5, 0.8],
        val_loss: [0.9, 0.7],
        val_acc: [0.6, 0.7],
        lr: [1e-3, 1e-4],
        seconds: [2, 2],
      },
      seconds: 4,
      samplesPerSecond: 45,
      // Asked for 5 epochs, it stopped early after 2.
      bestEpoch: 1,
      stoppedEarly: true,
    },
    evaluation: { loss: 0.4, accuracy: 0.9 },
    backend: { backend: "wasm", simd: true, threads: 2, tfjsVersion: "4.22.0" },
  });
  const dir = await Deno.makeTempDir();
  try {
    const paths = await saveRun(dir, model, metrics);
    const written = JSON.parse(await Deno.readTextFile(paths.metrics));
    for (
      const key of [
        "test_accuracy",
        "test_loss",
        "history",
        "seed",
        "epochs",
        "train_seconds",
        "train_samples_per_s",
        "backend",
        "threads",
      ]
    ) {
      assert.ok(key in written, `metrics.json lacks ${key}`);
    }
    assert.equal(written.test_accuracy, 0.9);
    assert.equal(written.train_samples, 90);
    assert.equal(written.validation_samples, 10);
    assert.deepEqual([written.epochs, written.epochs_run], [5, 2], "an early stop shows");
    assert.equal(written.parameters, 121_930);
    assert.equal("notSureBelow" in written, false, "no threshold given, none recorded");
    assert.deepEqual(written.history[1], {
      epoch: 2,
      loss: 0.5,
      accuracy: 0.8,
      val_loss: 0.7,
      val_accuracy: 0.7,
      learning_rate: 1e-4,
      seconds: 2,
    });
    const files = await listFiles(join(dir, "model"));
    assert.equal(files[0], "model.json");
    assert.match(files[1], /^weights-[0-9a-f]{16}\.bin$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
    model.dispose();
  }
});

Deno.test("runMetrics() records the not-sure threshold when the run has one", () => {
  const model = buildBaselineModel({ seed: 42 });
  try {
    const metrics = runMetrics(sampleRunRecord(model, { notSureBelow: 0.8125 }));
    assert.equal(metrics.notSureBelow, 0.8125);
  } finally {
    model.dispose();
  }
});

Deno.test("runMetrics() records the trained weights' validation scores beside the averages' when a moving average was kept", async () => {
  const model = buildBaselineModel({ seed: 42 });
  const dir = await Deno.makeTempDir();
  try {
    const record = sampleRunRecord(model);
    const history = {
      loss: [1],
      acc: [0.5],
      val_loss: [0.7],
      val_acc: [0.8],
      val_loss_raw: [0.75],
      val_acc_raw: [0.78],
      lr: [1e-3],
      seconds: [2],
    };
    const metrics = runMetrics({
      ...record,
      training: { ...record.training, epoch: [0], history },
    });
    assert.deepEqual(metrics.history[0], {
      epoch: 1,
      loss: 1,
      accuracy: 0.5,
      val_loss: 0.7,
      val_accuracy: 0.8,
      val_loss_raw: 0.75,
      val_accuracy_raw: 0.78,
      learning_rate: 1e-3,
      seconds: 2,
    });
    // Read back, its shape is checked: the two fields are known, and optional.
    const paths = await saveRun(dir, model, metrics);
    assert.deepEqual((await readRunMetrics(paths.metrics)).history, metrics.history);
  } finally {
    await Deno.remove(dir, { recursive: true });
    model.dispose();
  }
});
