/**
 * lib/training/experiment.ts and programs/train.ts: a run repeats exactly for a seed on one thread, the
 * trainer rejects bad flags before loading data, documents every flag, and writes metrics.json and
 * a model that loads back and scores what metrics.json says.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { runExperiment } from "../../lib/training/experiment.ts";
import { loadMnist } from "../../lib/data/mnist.ts";
import { sliceSplit } from "../../lib/data/preprocess.ts";
import { loadModel } from "../../lib/models/model_files.ts";
import type { RunMetrics } from "../../lib/training/run_metrics.ts";
import { evaluateModel } from "../../lib/training/train.ts";
import { HELP, parseTrainArgs } from "../../programs/train.ts";
import { disposeModel } from "../../lib/models/variants.ts";
import { setupWasmBackend, shutdownWasmBackend } from "../../lib/wasm/backend.ts";

// One thread: XNNPACK's multi-threaded reductions may add in a different order from run to run.
const backend = await setupWasmBackend({ threads: 1 });
const mnist = await loadMnist({ downloadUrls: [] });
// The reproducibility runs score 1,000 test images: predicting all 10,000 three times on one
// thread would take most of the test's time.
const small = { ...mnist, test: sliceSplit(mnist.test, 0, 1000) };
const CLI = new URL("../../programs/train.ts", import.meta.url).pathname;

for (const variant of ["seed", "deep"] as const) {
  Deno.test(`runExperiment(${variant}) twice with one seed gives the same test loss`, async () => {
    const before = tf.memory().numTensors;
    const run = () =>
      runExperiment({ variant, seed: 5, epochs: 1, trainSamples: 600, data: small, backend });
    const a = await run();
    const b = await run();
    assert.equal(a.train.count, 540, "the last 10% of the 600 images are held out");
    assert.equal(a.validation.count, 60);
    assert.equal(a.metrics.test_accuracy, b.metrics.test_accuracy);
    assert.equal(a.metrics.test_loss, b.metrics.test_loss);
    assert.deepEqual(a.metrics.history.map((h) => h.loss), b.metrics.history.map((h) => h.loss));
    assert.equal(a.metrics.variant, variant);
    assert.equal(a.metrics.threads, 1);
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

Deno.test("runExperiment checks its options before loading anything", async () => {
  await assert.rejects(
    () => runExperiment({ variant: "seed", seed: 1.5 }),
    /seed must be an integer/,
  );
  await assert.rejects(
    () => runExperiment({ variant: "seed", seed: 1, epochs: 0 }),
    /epochs must be a positive integer/,
  );
  await assert.rejects(
    () => runExperiment({ variant: "seed", seed: 1, data: mnist, dataset: "fashion-mnist" }),
    /data given is mnist but the dataset asked for is fashion-mnist/,
  );
});

async function cli(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

const BAD_FLAGS: [string[], RegExp][] = [
  [["--bogus"], /Unknown flag --bogus\. See deno task train --help/],
  [["--epochs", "two"], /--epochs must be a whole number of at least 1, got "two"/],
  [["--epochs", "1.5"], /--epochs must be a whole number/],
  [["--batch-size", "0"], /--batch-size must be a whole number of at least 1, got "0"/],
  [["--seed=-3"], /--seed must be a whole number of at least 0, got "-3"/],
  [["--threads", "x"], /--threads must be a whole number/],
  [["--train-samples", "1e3"], /--train-samples must be a whole number/],
  [["--variant", "huge"], /no model variant "huge"\. Choose one of: seed, tuned/],
  [["--dataset", "cifar"], /Unknown dataset "cifar": use --dataset mnist or fashion-mnist/],
  [["--epochs"], /--epochs needs a value/],
  [["--epochs", "--seed", "1"], /--epochs needs a value before the next flag/],
  [["extra"], /Unexpected argument "extra"/],
];

Deno.test("the trainer exits with code 2 and a sentence on bad flags, before loading data", async () => {
  const out = await Deno.makeTempDir();
  for (const [args, message] of BAD_FLAGS) {
    // A mirror that does not exist and an empty cache: loading data would fail differently.
    const r = await cli([...args, "--out", out], { DATA_MIRROR: "/nonexistent/mirror" });
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /Training|Cannot|mirror/, "nothing may be loaded");
    assert.equal(r.stdout, "");
  }
  assert.deepEqual([...Deno.readDirSync(out)], [], "nothing may be written");
  await Deno.remove(out, { recursive: true });
});

Deno.test("--help documents every flag and the environment variables", async () => {
  const r = await cli(["--help"]);
  assert.equal(r.code, 0);
  for (
    const flag of [
      "--dataset",
      "--epochs",
      "--batch-size",
      "--seed",
      "--variant",
      "--train-samples",
      "--out",
      "--threads",
      "--help",
      "DATA_MIRROR",
      "WASM_THREADS",
      "seed",
      "tuned",
      "regularized",
      "augmented",
      "deep",
    ]
  ) {
    assert.ok(r.stdout.includes(flag), `--help must mention ${flag}`);
  }
  assert.equal(r.stdout.trim(), HELP.trim());
});

Deno.test("parseTrainArgs fills the defaults", () => {
  const o = parseTrainArgs(["--dataset", "fashion-mnist"]);
  assert.equal(o.variant.name, "seed");
  assert.equal(o.seed, 42);
  assert.equal(o.out, join("outputs", "seed-fashion-mnist"));
  assert.equal(o.epochs, undefined, "the variant's epochs");
});

Deno.test("a tiny trainer run writes metrics.json and a model that loads and scores the same", async () => {
  const out = await Deno.makeTempDir();
  const r = await cli([
    "--train-samples",
    "300",
    "--epochs",
    "1",
    "--seed",
    "3",
    "--threads",
    "1",
    "--out",
    out,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^seed on mnist \(seed 3\): test accuracy \d+\.\d\d%, test loss /);
  assert.match(r.stdout, /121,930 parameters, 1\/1 epochs in .*wrote .*metrics\.json/);
  const metrics: RunMetrics = JSON.parse(await Deno.readTextFile(join(out, "metrics.json")));
  assert.deepEqual(
    [metrics.variant, metrics.dataset, metrics.seed, metrics.epochs_run, metrics.train_samples],
    ["seed", "mnist", 3, 1, 270],
  );
  assert.equal(metrics.validation_samples, 30);
  assert.equal(metrics.parameters, 121_930);
  const model = await loadModel(join(out, "model"));
  assert.equal(model.countParams(), 121_930);
  // The saved weights reproduce the test score the run recorded.
  const evaluation = evaluateModel(model, mnist.test);
  assert.ok(Math.abs(evaluation.accuracy - metrics.test_accuracy) < 1e-9);
  assert.ok(Math.abs(evaluation.loss - metrics.test_loss) < 1e-5);
  model.dispose();
  await Deno.remove(out, { recursive: true });
});

Deno.test("shut the wasm thread pool down so the test file exits", () => {
  shutdownWasmBackend();
});
