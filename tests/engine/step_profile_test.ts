import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { disposeModel } from "../../lib/models/model.ts";
import { buildBaselineModel } from "../../lib/models/variants.ts";
import { startReplicas } from "../../lib/engine/data_parallel.ts";
import { setupWasmBackend } from "../../lib/engine/backend.ts";
import { createRandom } from "../../lib/random.ts";

await setupWasmBackend({ threads: 1 });

function batch(count: number, seed: number): { pixels: Float32Array; labels: number[] } {
  const random = createRandom(seed);
  const pixels = Float32Array.from({ length: count * 784 }, () => random());
  return { pixels, labels: Array.from({ length: count }, () => Math.floor(random() * 10)) };
}

async function profileOf(profileKernels: boolean) {
  const model = buildBaselineModel({ seed: 5 });
  const replicas = await startReplicas(model, {
    workers: 2,
    batchCapacity: 16,
    profileKernels: profileKernels ? {} : undefined,
  });
  try {
    assert.equal(await replicas.stepProfile(), undefined);
    for (let step = 0; step < 3; step++) {
      const { pixels, labels } = batch(16, step);
      await replicas.trainOnBatch(pixels, labels, 16, 0.001);
    }
    return await replicas.stepProfile();
  } finally {
    replicas.close();
    disposeModel(model);
  }
}

Deno.test("stepProfile() splits a replica's step into kernels, tape, copies, all-reduce, optimizer and waiting", async () => {
  const tensors = tf.memory().numTensors;
  const profile = await profileOf(true);
  assert.ok(profile);
  assert.equal(profile.steps, 3);
  const parts = Object.values(profile.parts);
  const sum = parts.reduce((a, b) => a + b, 0);
  // The parts are the step: what the replica did not time is waiting.
  assert.ok(Math.abs(sum - profile.stepMs) < 1e-6, `${sum} vs ${profile.stepMs}`);
  for (const [part, ms] of Object.entries(profile.parts)) {
    if (part !== "waiting") assert.ok(ms >= 0, `${part}: ${ms}`);
  }
  // The convolutions dominate the forward and backward pass; the tape is timed apart from them.
  assert.ok(profile.parts.kernels > profile.parts.tape, JSON.stringify(profile.parts));
  assert.ok(profile.parts.kernels > 0.2 * profile.stepMs, JSON.stringify(profile));
  assert.ok(profile.parts.optimizer > 0 && profile.parts["all-reduce"] > 0);
  assert.equal(tf.memory().numTensors, tensors);
});

Deno.test("stepProfile() without kernel profiling counts the kernels in the tape", async () => {
  const profile = await profileOf(false);
  assert.ok(profile);
  assert.equal(profile.parts.kernels, 0);
  assert.ok(profile.parts.tape > 0.2 * profile.stepMs, JSON.stringify(profile));
});
