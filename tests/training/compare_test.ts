import assert from "node:assert/strict";
import {
  compareVariants,
  epochsFor,
  expectedRun,
  runMismatch,
} from "../../lib/training/compare.ts";
import { loadMnist, type Mnist } from "../../lib/data/mnist.ts";
import { NOTEBOOK_PARAMETERS, readRunParameters } from "../../lib/training/run_parameters.ts";
import { variantFingerprint, VARIANTS } from "../../lib/models/variants.ts";
import type { RecordedGroup } from "../../lib/training/experiment_summary.ts";
import type { RunMetrics } from "../../lib/training/run_metrics.ts";
import {
  setupWasmBackend,
  shutdownWasmBackend,
  type WasmBackendInfo,
} from "../../lib/engine/mod.ts";
import { listFiles } from "../fixtures.ts";

const quick = (env: Record<string, string> = {}) =>
  readRunParameters({
    names: NOTEBOOK_PARAMETERS,
    env: { TRAIN_SAMPLES: "300", EPOCHS: "1", ...env },
  });

/** A dataset of the real shape for the functions that only count images (nothing is trained). */
const counts = { dataset: "mnist", train: { count: 60_000 } } as unknown as Mnist;
const noBackend = {} as WasmBackendInfo;

Deno.test("epochsFor() keeps a variant's epochs unless EPOCHS asks for a quick run", () => {
  assert.equal(epochsFor(15, 5), 15);
  assert.equal(epochsFor(15, 20), 15);
  assert.equal(epochsFor(15, 2), 2);
  assert.equal(epochsFor(1, 2), 1);
});

Deno.test("runMismatch() names every setting that changes a result", async () => {
  const expected = await expectedRun("tuned", {
    params: quick(),
    dataset: "mnist",
    trainCount: 60_000,
  });
  assert.deepEqual(
    [expected.epochs, expected.batch_size, expected.train_samples, expected.validation_samples],
    [1, 128, 270, 30],
  );
  const good = { ...expected, variant_fingerprint: expected.fingerprint };
  assert.equal(runMismatch(good, expected), undefined);
  const changes: [Partial<RunMetrics>, RegExp][] = [
    [{ variant: "deep" }, /^variant deep, not tuned$/],
    [{ variant_fingerprint: "000000000000" }, /^definition 000000000000, not /],
    [{ dataset: "fashion-mnist" }, /^dataset fashion-mnist, not mnist$/],
    [{ seed: 1 }, /^seed 1, not 42$/],
    [{ epochs: 15 }, /^epochs 15, not 1$/],
    [{ batch_size: 64 }, /^batch size 64, not 128$/],
    [{ train_samples: 54_000 }, /^training images 54000, not 270$/],
    [{ validation_samples: 0 }, /^validation images 0, not 30$/],
  ];
  for (const [change, message] of changes) {
    assert.match(String(runMismatch({ ...good, ...change } as RunMetrics, expected)), message);
  }
  // A record without a fingerprint is from before they existed: never trusted, unless the caller
  // built the model from the current definition itself (the notebook's own baseline).
  const { variant_fingerprint: _, ...old } = good;
  assert.match(String(runMismatch(old, expected)), /^definition none/);
  assert.equal(runMismatch(old, expected, { assumeFingerprint: true }), undefined);
});

/** A run's provenance in a record. */
const RUN = {
  date: "2026-11-24T10:00:00Z",
  commit: "abc1234",
  dirty: false,
  machine: { cores: 2, cpu: "AMD EPYC", os: "linux" },
  deno: "2.9.6",
  tfjs: "4.22.0",
  threads: 2,
  workers: 2,
  test_seconds: null,
  command: "deno task experiments --variants baseline --seeds 1",
};

function group(variant: string, fingerprint: string, source: string): RecordedGroup {
  return {
    variant,
    dataset: "mnist",
    fingerprint,
    settings: { epochs: 5, batch_size: 128, train_samples: 54_000, validation_samples: 6_000 },
    parameters: 121_930,
    seeds: [1, 2],
    runs: [
      {
        ...RUN,
        seed: 1,
        test_accuracy: 0.9881,
        test_loss: 0.0391,
        epochs_run: 5,
        train_seconds: 623,
      },
      {
        ...RUN,
        seed: 2,
        test_accuracy: 0.9888,
        test_loss: 0.0339,
        epochs_run: 4,
        train_seconds: 677,
      },
    ],
    test_accuracy_mean: 0.98846,
    test_accuracy_sd: 0.000495,
    test_loss_mean: 0.0365,
    test_loss_sd: 0.0037,
    provenance: {
      source,
      dates: "2026-11-24",
      commit: "abc1234",
      machine: { cores: 2, cpu: "AMD EPYC", os: "linux" },
      deno: "2.9.6",
      tfjs: "4.22.0",
      threads: 2,
      workers: "2",
      note: "times are upper bounds",
    },
  };
}

Deno.test("compareVariants() trains nothing by default: recorded lines say where they come from", async () => {
  const base = await variantFingerprint(VARIANTS.baseline);
  const deep = await variantFingerprint(VARIANTS.deep);
  const recorded = {
    about: "",
    groups: [
      group("baseline", base, "deno task experiments"),
      group("deep", "0123456789ab", "deno task experiments"), // an older definition of deep
      {
        ...group("tuned", await variantFingerprint(VARIANTS.tuned), "x"),
        dataset: "fashion-mnist",
      },
    ],
  };
  const lines = await compareVariants({
    data: counts,
    params: quick(),
    backend: noBackend,
    recorded,
  });
  assert.deepEqual(lines.map((l) => l.variant), [
    "baseline",
    "tuned",
    "regularized",
    "augmented",
    "deep",
    "deep_tta",
  ]);
  const [baseline, tuned, , , deepLine] = lines;
  assert.equal(baseline["test accuracy"], "98.85 ± 0.05%");
  assert.equal(baseline["test loss"], "0.0365 ± 0.0037");
  assert.equal(baseline.epochs, "4-5");
  assert.equal(baseline["training seconds"], "623-677");
  assert.equal(baseline.seeds, "1, 2");
  assert.equal(baseline["trained on"], "54,000 + 6,000");
  assert.equal(
    baseline.source,
    "recorded 2026-11-24 by deno task experiments; commit abc1234; 2 cores (AMD EPYC), 2 threads, " +
      "2 workers; Deno 2.9.6, tfjs 4.22.0",
  );
  assert.equal(baseline.note, "times are upper bounds");
  // Fashion-MNIST's record is not shown for MNIST; nothing is recorded: say what to run.
  assert.equal(tuned["test accuracy"], "");
  assert.match(
    tuned.source,
    /^no recorded result on mnist: train it with VARIANTS=tuned deno task notebook/,
  );
  // A result of an older definition is not shown as today's.
  assert.equal(deepLine["test accuracy"], "");
  assert.match(deepLine.source, /only for an earlier definition of this variant, not shown/);
  assert.notEqual(deep, "0123456789ab");
});

Deno.test("compareVariants() shows the notebook's baseline only when every setting matches", async () => {
  const params = quick();
  const expected = await expectedRun("baseline", { params, dataset: "mnist", trainCount: 60_000 });
  const above = {
    ...expected,
    test_accuracy: 0.5,
    test_loss: 1,
    parameters: 121_930,
    epochs_run: 1,
  };
  const run = (change: Partial<RunMetrics>) =>
    compareVariants({
      data: counts,
      params,
      backend: noBackend,
      baseline: { ...above, ...change } as unknown as RunMetrics,
    }).then((lines) => lines[0]);
  const same = await run({});
  assert.deepEqual([same["test accuracy"], same.source], ["50.00%", "trained above, in this run"]);
  for (
    const change of [
      { batch_size: 64 },
      { dataset: "fashion-mnist" },
      { train_samples: 100 },
      {
        seed: 7,
      },
      { epochs: 5 },
      { validation_samples: 29 },
    ] as Partial<RunMetrics>[]
  ) {
    const line = await run(change);
    assert.match(line.source, /^no recorded result/, JSON.stringify(change));
  }
});

Deno.test("compareVariants() trains the VARIANTS asked for once, then reads them back, checked, unless asked to retrain", async () => {
  const backend = await setupWasmBackend();
  const data = await loadMnist({ downloadUrls: [] });
  const params = quick({ VARIANTS: "baseline,tuned" });
  const resultsDir = await Deno.makeTempDir();
  const sources = async () =>
    (await compareVariants({ data, params, backend, resultsDir })).slice(0, 2).map((l) =>
      l.source.replace(/ \(.*\), kept in .*/, "")
    );
  try {
    assert.deepEqual(await sources(), ["trained now, in this run", "trained now, in this run"]);
    // The name holds everything that changes a result: the definition's hash, seed, samples,
    // epochs, batch size and split; the folder, the dataset.
    const [base, tuned] = await Promise.all(
      [VARIANTS.baseline, VARIANTS.tuned].map(variantFingerprint),
    );
    const files = [
      `baseline-${base}-seed42-300-e1-b128-v0.1.json`,
      `tuned-${tuned}-seed42-300-e1-b128-v0.1.json`,
    ];
    assert.deepEqual(await listFiles(`${resultsDir}/mnist`), files);
    assert.deepEqual(await sources(), [
      "trained earlier on this machine",
      "trained earlier on this machine",
    ]);
    // A kept file whose content does not match its settings is trained again, not shown.
    const path = `${resultsDir}/mnist/${files[1]}`;
    const kept = JSON.parse(await Deno.readTextFile(path));
    await Deno.writeTextFile(path, JSON.stringify({ ...kept, batch_size: 64 }));
    assert.deepEqual(await sources(), [
      "trained earlier on this machine",
      "trained now, in this run",
    ]);
    assert.equal(JSON.parse(await Deno.readTextFile(path)).batch_size, 128);
    // Asked to retrain, it trains again instead of reading the kept result back.
    const again = await compareVariants({ data, params, backend, resultsDir, retrain: true });
    assert.ok(
      again.slice(0, 2).every((l) => l.source.startsWith("trained now, in this run")),
      JSON.stringify(again.map((l) => l.source)),
    );
  } finally {
    await Deno.remove(resultsDir, { recursive: true });
    shutdownWasmBackend();
  }
});
