import assert from "node:assert/strict";
import { compareVariants, epochsFor } from "../../lib/training/compare.ts";
import { loadMnist } from "../../lib/data/mnist.ts";
import { NOTEBOOK_PARAMETERS, readParameters } from "../../lib/parameters.ts";
import { variantFingerprint, VARIANTS } from "../../lib/models/variants.ts";
import { setupWasmBackend, shutdownWasmBackend } from "../../lib/wasm/backend.ts";
import { listFiles } from "../fixtures.ts";

Deno.test("epochsFor() keeps a variant's epochs unless EPOCHS asks for a quick run", () => {
  assert.equal(epochsFor(15, 5), 15);
  assert.equal(epochsFor(15, 20), 15);
  assert.equal(epochsFor(15, 2), 2);
  assert.equal(epochsFor(1, 2), 1);
});

Deno.test("compareVariants() trains each variant once, then reads its result back", async () => {
  const backend = await setupWasmBackend();
  const data = await loadMnist({ downloadUrls: [] });
  const params = readParameters({
    names: NOTEBOOK_PARAMETERS,
    env: { TRAIN_SAMPLES: "300", EPOCHS: "1" },
  });
  const resultsDir = await Deno.makeTempDir();
  try {
    const first = await compareVariants({
      data,
      params,
      variants: ["baseline", "tuned"],
      backend,
      resultsDir,
    });
    assert.deepEqual(first.map((r) => [r.variant, r.trained, r.epochs]), [["baseline", "now", 1], [
      "tuned",
      "now",
      1,
    ]]);
    assert.ok(first.every((r) => r["test accuracy"] > 0.1 && r.parameters === 121_930));
    // The key holds everything that changes a result: the definition's hash, seed, samples,
    // epochs, batch size and split.
    const [base, tuned] = await Promise.all(
      [VARIANTS.baseline, VARIANTS.tuned].map(variantFingerprint),
    );
    assert.deepEqual(await listFiles(`${resultsDir}/mnist`), [
      `baseline-${base}-seed42-300-e1-b128-v0.1.json`,
      `tuned-${tuned}-seed42-300-e1-b128-v0.1.json`,
    ]);
    const second = await compareVariants({
      data,
      params,
      variants: ["baseline", "tuned"],
      backend,
      resultsDir,
    });
    assert.deepEqual(second.map((r) => r.trained), ["earlier", "earlier"]);
    assert.deepEqual(second.map((r) => r["test accuracy"]), first.map((r) => r["test accuracy"]));
    // The notebook's own run of the tutorial model stands in for the baseline line.
    const baseline = JSON.parse(
      await Deno.readTextFile(`${resultsDir}/mnist/baseline-${base}-seed42-300-e1-b128-v0.1.json`),
    );
    baseline.test_accuracy = 0.5;
    const third = await compareVariants({
      data,
      params,
      variants: ["baseline"],
      backend,
      resultsDir,
      baseline,
    });
    assert.deepEqual(third.map((r) => [r.trained, r["test accuracy"]]), [["above", 0.5]]);
  } finally {
    await Deno.remove(resultsDir, { recursive: true });
    shutdownWasmBackend();
  }
});
