// lib/training/run_metrics.ts: the fields that tie a metrics.json to what made it.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { buildBaselineModel } from "../../lib/models/variants.ts";
import { runMetrics } from "../../lib/training/run_metrics.ts";
import { sampleRunRecord } from "../fixtures.ts";

tf.enableProdMode();
await tf.setBackend("cpu");

Deno.test("runMetrics() records the variant's fingerprint when it has one, and omits it otherwise", () => {
  const model = buildBaselineModel({ seed: 42 });
  try {
    const record = (fingerprint?: string) => runMetrics(sampleRunRecord(model, { fingerprint }));
    assert.equal(record("0123abcd").variant_fingerprint, "0123abcd");
    assert.equal("variant_fingerprint" in record(), false);
  } finally {
    model.dispose();
  }
});
