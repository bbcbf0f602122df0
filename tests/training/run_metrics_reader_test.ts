// lib/training/run_metrics.ts: the fields that tie a metrics.json to what made it.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { buildBaselineModel } from "../../lib/models/variants.ts";
import { runMetrics } from "../../lib/training/run_metrics.ts";

tf.enableProdMode();
await tf.setBackend("cpu");

Deno.test("runMetrics() records the variant's fingerprint when it has one, and omits it otherwise", () => {
  const model = buildBaselineModel({ seed: 42 });
  try {
    const record = (fingerprint?: string) =>
      runMetrics({
        params: { dataset: "mnist", seed: 3, epochs: 1, batchSize: 32 },
        variant: "baseline",
        fingerprint,
        train: { count: 90 },
        validation: { count: 10 },
        model,
        training: {
          epoch: [],
          history: { loss: [], acc: [], lr: [], seconds: [] },
          seconds: 1,
          samplesPerSecond: 90,
          bestEpoch: 0,
          stoppedEarly: false,
        },
        evaluation: { loss: 0.4, accuracy: 0.9 },
        backend: { backend: "wasm", simd: true, threads: 2, tfjsVersion: "4.22.0" },
      });
    assert.equal(record("0123abcd").variant_fingerprint, "0123abcd");
    assert.equal("variant_fingerprint" in record(), false);
  } finally {
    model.dispose();
  }
});
