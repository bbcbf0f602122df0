/**
 * programs/train.ts: the trainer rejects bad flags before loading data, documents every flag,
 * and writes metrics.json and a model that loads back and scores what metrics.json says.
 */
import assert from "node:assert/strict";
import { runProgram } from "../fixtures.ts";
import { lockOutputDir } from "../../lib/run_lock.ts";
import { join } from "node:path";
import { loadMnist } from "../../lib/data/mnist.ts";
import { loadModel } from "../../lib/models/model_files.ts";
import { evaluateModel } from "../../lib/training/evaluate.ts";
import type { RunMetrics } from "../../lib/training/run_metrics.ts";
import { HELP, parseTrainArgs } from "../../programs/train.ts";
import { setupWasmBackend, shutdownWasmBackend } from "../../lib/engine/mod.ts";

await setupWasmBackend({ threads: 1 });
const mnist = await loadMnist({ downloadUrls: [] });
const CLI = new URL("../../programs/train.ts", import.meta.url).pathname;

const cli = (args: string[], env: Record<string, string> = {}) => runProgram(CLI, args, { env });

const BAD_FLAGS: [string[], RegExp][] = [
  [["--bogus"], /Unknown flag --bogus\. See deno task train --help/],
  [["--epochs", "two"], /--epochs "two" is not valid: give a whole number from 1 to 10000\./],
  [["--epochs", "1.5"], /--epochs "1.5" is not valid: give a whole number/],
  [["--batch-size", "0"], /--batch-size "0" is not valid: give a whole number of at least 1\./],
  [["--seed=-3"], /--seed "-3" is not valid: give a whole number from 0 to 4294967295\./],
  [["--threads", "x"], /--threads "x" is not valid: give a whole number from 1 to \d+/],
  [["--threads", "999"], /--threads "999" is not valid: give a whole number from 1 to \d+/],
  [["--train-samples", "1e3"], /--train-samples "1e3" is not valid: give a whole number/],
  [["--variant", "huge"], /no model variant "huge"\. Choose one of: baseline, tuned/],
  [["--variant", "seed"], /once called "seed", is now called baseline/],
  [["--dataset", "cifar"], /--dataset "cifar" is not valid: use mnist or fashion-mnist\./],
  [["--dataset", "constructor"], /--dataset "constructor" is not valid/],
  [["--train-samples", "1", "--validation-split", "0.9"], /leaving none to train on/],
  [["--batch-size", "99999999"], /batch size of 99999999 .* is larger than the 54000 images/],
  [["--train-samples", "60001"], /more than the 60000 training images of mnist/],
  [["--variant", "tuned", "--validation-split", "0"], /The tuned variant stops early .* none of/],
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
      "baseline",
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

Deno.test("parseTrainArgs() fills the defaults from the table, the variant's epochs among them", () => {
  const o = parseTrainArgs(["--dataset", "fashion-mnist"], { env: {} });
  assert.equal(o.parameters.variant, "baseline");
  assert.equal(o.parameters.seed, 42);
  assert.equal(o.parameters.epochs, 5);
  assert.equal(o.out, join("outputs", "baseline-fashion-mnist"));
  assert.equal(parseTrainArgs(["--variant", "deep"], { env: {} }).parameters.epochs, 8);
});

Deno.test("parseTrainArgs(): a flag beats its environment variable, which beats the default", () => {
  const env = { EPOCHS: "2", SEED: "9" };
  const o = parseTrainArgs(["--epochs", "3"], { env });
  assert.equal(o.parameters.epochs, 3);
  assert.equal(o.parameters.seed, 9);
  assert.throws(() => parseTrainArgs([], { env: { EPOCHS: "0" } }), /EPOCHS="0" is not valid/);
});

Deno.test("the trainer warns about a misspelt variable and stops on an unusable --out before loading", async () => {
  const r = await cli(["--out", "/proc/forbidden/run"], {
    EPOCH: "3",
    DATA_MIRROR: "/nonexistent/mirror",
  });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /EPOCH is not a variable this project reads; did you mean EPOCHS\?/);
  assert.match(r.stderr, /Cannot write to \/proc\/forbidden\/run/);
  assert.doesNotMatch(r.stderr, /Training/);
});

Deno.test("the trainer stops with a sentence, before loading, when another run writes its --out", async () => {
  const out = await Deno.makeTempDir();
  const lock = await lockOutputDir(out, "deno task notebook");
  try {
    const r = await cli(["--out", out]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `^Error: ${out} is being written by another run right now \\(pid ${Deno.pid}, deno task notebook`,
      ),
    );
    assert.doesNotMatch(r.stderr, /Training/);
    assert.deepEqual([...Deno.readDirSync(out)].map((e) => e.name), [".run.lock"]);
  } finally {
    await lock.release();
    await Deno.remove(out, { recursive: true });
  }
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
  assert.match(r.stdout, /^baseline on mnist \(seed 3\): test accuracy \d+\.\d\d%, test loss /);
  assert.match(r.stdout, /121,930 parameters, 1\/1 epochs in .*wrote .*metrics\.json/);
  const metrics: RunMetrics = JSON.parse(await Deno.readTextFile(join(out, "metrics.json")));
  assert.deepEqual(
    [metrics.variant, metrics.dataset, metrics.seed, metrics.epochs_run, metrics.train_samples],
    ["baseline", "mnist", 3, 1, 270],
  );
  assert.equal(metrics.validation_samples, 30);
  assert.equal(metrics.parameters, 121_930);
  const model = await loadModel(join(out, "model"));
  assert.equal(model.countParams(), 121_930);
  // The saved weights reproduce the test score the run recorded.
  const evaluation = await evaluateModel(model, mnist.test);
  assert.ok(Math.abs(evaluation.accuracy - metrics.test_accuracy) < 1e-9);
  assert.ok(Math.abs(evaluation.loss - metrics.test_loss) < 1e-5);
  model.dispose();
  await Deno.remove(out, { recursive: true });
});

Deno.test("a trainer run with --validation-split 0 trains on every sample and records no validation", async () => {
  const out = await Deno.makeTempDir();
  const r = await cli(
    ["--train-samples", "64", "--epochs", "1", "--threads", "1", "--out", out],
    { VALIDATION_SPLIT: "0" },
  );
  assert.equal(r.code, 0, r.stderr);
  const metrics: RunMetrics = JSON.parse(await Deno.readTextFile(join(out, "metrics.json")));
  assert.deepEqual([metrics.train_samples, metrics.validation_samples], [64, 0]);
  assert.deepEqual(
    [metrics.history[0].val_loss, metrics.history[0].val_accuracy],
    [null, null],
    "no validation scores are made up",
  );
  assert.ok(Number.isFinite(metrics.history[0].loss) && metrics.test_accuracy > 0);
  assert.equal(metrics.notSureBelow, undefined, "no threshold without validation images");
  await Deno.remove(out, { recursive: true });
});

Deno.test("shut the wasm thread pool down so the test file exits", () => {
  shutdownWasmBackend();
});
