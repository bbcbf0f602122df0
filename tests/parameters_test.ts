import assert from "node:assert/strict";
import { PARAMETER_NAMES, parameterTable, readParameters as readFrom } from "../lib/parameters.ts";
import {
  NOTEBOOK_PARAMETERS,
  readRunParameters as readParameters,
  RUN_PARAMETERS,
} from "../lib/training/run_parameters.ts";
import { logicalCores } from "../lib/engine/mod.ts";

// Most tests read through the project's table (RUN_PARAMETERS); the last ones build tables over
// other catalogues, to show that the names, defaults and core count come from the catalogue.

Deno.test("readParameters() gives the tutorial's defaults for an empty environment", () => {
  assert.deepEqual(readParameters({ names: NOTEBOOK_PARAMETERS, env: {} }), {
    dataset: "mnist",
    variants: [],
    epochs: 5,
    batchSize: 128,
    validationSplit: 0.1,
    seed: 42,
    trainSamples: undefined,
  });
  const all = readParameters({ env: {} });
  assert.equal(all.variant, "baseline");
  assert.equal(all.threads, logicalCores());
});

Deno.test("readParameters() reads every variable", () => {
  const p = readParameters({
    env: {
      DATASET: "fashion-mnist",
      VARIANT: "tuned",
      VARIANTS: "deep,augmented",
      EPOCHS: "2",
      BATCH_SIZE: "64",
      VALIDATION_SPLIT: "0.2",
      SEED: "7",
      TRAIN_SAMPLES: "2000",
      WASM_THREADS: "1",
    },
  });
  assert.deepEqual(p, {
    dataset: "fashion-mnist",
    variant: "tuned",
    variants: ["augmented", "deep"],
    epochs: 2,
    batchSize: 64,
    validationSplit: 0.2,
    seed: 7,
    trainSamples: 2000,
    threads: 1,
  });
});

Deno.test("VARIANTS takes all, none or a list of known variants, and names a wrong one", () => {
  const variants = (text: string) =>
    readParameters({ names: ["variants"], env: { VARIANTS: text } });
  assert.deepEqual(variants("all").variants, [
    "baseline",
    "tuned",
    "regularized",
    "augmented",
    "deep",
    "deep_tta",
  ]);
  assert.deepEqual(variants("none").variants, []);
  assert.deepEqual(variants(" deep , tuned,deep ").variants, ["tuned", "deep"]);
  assert.throws(
    () => variants("tuned,deeper"),
    /VARIANTS="tuned,deeper" is not valid: There is no model variant "deeper"\. .* Or give all or none\./,
  );
  assert.deepEqual(
    readParameters({ names: ["variants"], env: {}, explicit: { variants: ["deep"] } }),
    {
      variants: ["deep"],
    },
  );
});

Deno.test("readParameters(): explicit values beat the environment, which beats the defaults", () => {
  const env = { EPOCHS: "2", SEED: "3" };
  assert.deepEqual(
    readParameters({ names: ["epochs", "seed", "batchSize"], env, explicit: { epochs: 4 } }),
    { epochs: 4, seed: 3, batchSize: 128 },
  );
  // An explicit value goes through the same check as a text.
  assert.throws(
    () => readParameters({ env: {}, explicit: { epochs: 0 } }),
    /epochs = 0 is not valid/,
  );
  // A caller's own default replaces the table's, but not the environment.
  assert.equal(readParameters({ env: {}, defaults: { trainSamples: 99 } }).trainSamples, 99);
  assert.equal(
    readParameters({ env: { TRAIN_SAMPLES: "5" }, defaults: { trainSamples: 99 } }).trainSamples,
    5,
  );
});

Deno.test("readParameters(): the epochs default is the variant's own", () => {
  assert.equal(readParameters({ env: { VARIANT: "deep" } }).epochs, 8);
  assert.equal(readParameters({ env: { VARIANT: "tuned" } }).epochs, 15);
  assert.equal(readParameters({ env: { VARIANT: "tuned", EPOCHS: "2" } }).epochs, 2);
});

Deno.test("readParameters() rejects bad values, naming the variable and what to give", () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ DATASET: "cifar" }, /DATASET="cifar" is not valid: use mnist or fashion-mnist\./],
    [{ DATASET: "constructor" }, /DATASET="constructor" is not valid/],
    [{ DATASET: "__proto__" }, /DATASET="__proto__" is not valid/],
    [{ VARIANT: "toString" }, /VARIANT="toString" is not valid: There is no model variant/],
    [{ EPOCHS: "0" }, /EPOCHS="0" is not valid: give a whole number from 1 to 10000\./],
    [{ EPOCHS: "2.5" }, /EPOCHS="2.5" is not valid/],
    [{ EPOCHS: "1e3" }, /EPOCHS="1e3" is not valid/],
    [{ BATCH_SIZE: "big" }, /BATCH_SIZE="big" is not valid: give a whole number of at least 1\./],
    [{ VALIDATION_SPLIT: "1" }, /VALIDATION_SPLIT="1" is not valid: give a fraction from 0/],
    [{ VALIDATION_SPLIT: "-0.1" }, /VALIDATION_SPLIT="-0.1" is not valid/],
    [{ SEED: "-1" }, /SEED="-1" is not valid: give a whole number from 0 to 4294967295\./],
    [{ SEED: "4294967296" }, /SEED="4294967296" is not valid/],
    [{ TRAIN_SAMPLES: "0" }, /TRAIN_SAMPLES="0" is not valid/],
    [{ WASM_THREADS: "0" }, /WASM_THREADS="0" is not valid: give a whole number from 1 to \d+\./],
    [{ WASM_THREADS: "abc" }, /WASM_THREADS="abc" is not valid/],
    [{ WASM_THREADS: "999" }, /WASM_THREADS="999" is not valid: give a whole number from 1 to/],
  ];
  for (const [env, message] of cases) {
    assert.throws(() => readParameters({ env }), message, JSON.stringify(env));
  }
});

Deno.test("readParameters() rejects a split that leaves no image to train on", () => {
  assert.throws(
    () => readParameters({ env: { VALIDATION_SPLIT: "0.999", TRAIN_SAMPLES: "10" } }),
    /validation split of 0.999 \(VALIDATION_SPLIT, --validation-split\) holds out all 10 training images, leaving none to train on/,
  );
  // The whole training set counts when TRAIN_SAMPLES is not set: 60,000 less the 10% held out.
  assert.throws(
    () => readParameters({ env: { BATCH_SIZE: "99999999" } }),
    /batch size of 99999999 \(BATCH_SIZE, --batch-size\) is larger than the 54000 images left to train on .*give at most 54000/,
  );
  assert.throws(
    () => readParameters({ env: { BATCH_SIZE: "128", TRAIN_SAMPLES: "100" } }),
    /larger than the 90 images left to train on \(100 training samples, 0.1 held out\)/,
  );
  // 95 fits the 100 samples but not the 90 left after the split.
  assert.throws(
    () => readParameters({ env: { BATCH_SIZE: "95", TRAIN_SAMPLES: "100" } }),
    /batch size of 95 .* larger than the 90 images left to train on/,
  );
  assert.equal(readParameters({ env: { BATCH_SIZE: "90", TRAIN_SAMPLES: "100" } }).batchSize, 90);
  // Not set, the batch size shrinks to a training set smaller than the default 128.
  assert.equal(readParameters({ env: { TRAIN_SAMPLES: "100" } }).batchSize, 90);
  assert.equal(
    readParameters({ env: { VALIDATION_SPLIT: "0.5", TRAIN_SAMPLES: "3" } }).trainSamples,
    3,
  );
});

Deno.test("every parameter has one variable, one flag, a help line and a default", () => {
  const envs = new Set(PARAMETER_NAMES.map((n) => RUN_PARAMETERS.rows[n].env));
  const flags = new Set(PARAMETER_NAMES.map((n) => RUN_PARAMETERS.rows[n].flag));
  assert.equal(envs.size, PARAMETER_NAMES.length);
  assert.equal(flags.size, PARAMETER_NAMES.length);
  for (const name of PARAMETER_NAMES) {
    const p = RUN_PARAMETERS.rows[name];
    assert.equal(p.name, name);
    assert.match(p.env, /^[A-Z_]+$/);
    assert.match(p.flag, /^[a-z-]+$/);
    assert.ok(p.help.length > 10 && p.defaultText.length > 0, name);
  }
});

Deno.test("the README documents every parameter's variable and flag", async () => {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  for (const name of PARAMETER_NAMES) {
    const { env, flag } = RUN_PARAMETERS.rows[name];
    assert.match(readme, new RegExp(`\\| \`${env}\` +\\| \`--${flag}\` +\\|`), name);
  }
});

Deno.test("parameterTable() takes its names, defaults and core count from the catalogue it is given", () => {
  const table = parameterTable({
    datasets: { letters: { trainImages: 50 }, digits: { trainImages: 200 } },
    variants: {
      baseline: { training: { epochs: 3, batchSize: 10 } },
      wide: { training: { epochs: 7, batchSize: 20 } },
    },
    variantNamed(name) {
      if (name !== "baseline" && name !== "wide") throw new RangeError(`No variant "${name}".`);
      return name;
    },
    cores: 3,
    trainingCount: (images, split) => Math.floor(images * (1 - split)),
    otherVariables: ["LETTERS_MIRROR"],
  });
  assert.deepEqual(readFrom(table, { env: {} }), {
    dataset: "letters",
    variant: "baseline",
    variants: [],
    epochs: 3,
    batchSize: 10,
    validationSplit: 0.1,
    seed: 42,
    trainSamples: undefined,
    threads: 3,
  });
  const wide = readFrom(table, { env: { VARIANT: "wide", DATASET: "digits", VARIANTS: "all" } });
  assert.deepEqual([wide.epochs, wide.batchSize, wide.variants], [7, 20, ["baseline", "wide"]]);
  assert.throws(() => readFrom(table, { env: { DATASET: "mnist" } }), /use letters or digits\./);
  assert.throws(() => readFrom(table, { env: { VARIANT: "deep" } }), /No variant "deep"\./);
  assert.throws(() => readFrom(table, { env: { WASM_THREADS: "4" } }), /from 1 to 3\./);
  // The dataset's own size bounds the batch: 45 of letters' 50 images are left to train on.
  assert.throws(() => readFrom(table, { env: { BATCH_SIZE: "46" } }), /larger than the 45 images/);
  assert.equal(table.rows.epochs.defaultText, "the variant's: 3 for baseline");
  assert.ok(table.variables.includes("LETTERS_MIRROR") && table.variables.includes("EPOCHS"));
});

// The documented bounds of each parameter, read through the front door: the value on the bound
// is taken as given, the one just outside is refused with a sentence naming the variable.
Deno.test("readParameters() takes each parameter's bounds and refuses the values just outside", () => {
  const read = (env: Record<string, string>) => readParameters({ env });
  const cores = logicalCores();
  assert.equal(read({ EPOCHS: "1" }).epochs, 1);
  assert.equal(read({ EPOCHS: "10000" }).epochs, 10_000);
  assert.throws(() => read({ EPOCHS: "10001" }), /EPOCHS="10001" is not valid: .* 1 to 10000/);
  assert.equal(read({ SEED: "0" }).seed, 0);
  assert.equal(read({ SEED: "4294967295" }).seed, 4_294_967_295);
  assert.equal(read({ WASM_THREADS: "1" }).threads, 1);
  assert.equal(read({ WASM_THREADS: String(cores) }).threads, cores);
  assert.throws(
    () => read({ WASM_THREADS: String(cores + 1) }),
    new RegExp(`WASM_THREADS="${cores + 1}" is not valid: give a whole number from 1 to ${cores}`),
  );
  // A batch of one image, and one as large as the 54,000 images left after the default split.
  assert.equal(read({ BATCH_SIZE: "1" }).batchSize, 1);
  assert.equal(read({ BATCH_SIZE: "54000" }).batchSize, 54_000);
  assert.throws(
    () => read({ BATCH_SIZE: "54001" }),
    /larger than the 54000 images .*at most 54000/,
  );
  assert.equal(read({ VALIDATION_SPLIT: "0", BATCH_SIZE: "60000" }).batchSize, 60_000);
});

Deno.test("TRAIN_SAMPLES runs from 1 (with no validation split) to the dataset's 60,000 images", () => {
  const read = (env: Record<string, string>) => readParameters({ env });
  const one = read({ TRAIN_SAMPLES: "1", VALIDATION_SPLIT: "0" });
  assert.deepEqual([one.trainSamples, one.validationSplit, one.batchSize], [1, 0, 1]);
  // With the default split one image is all held out; two leave one to train on.
  assert.throws(() => read({ TRAIN_SAMPLES: "1" }), /holds out all 1 training images/);
  assert.equal(read({ TRAIN_SAMPLES: "2" }).batchSize, 1);
  assert.equal(read({ TRAIN_SAMPLES: "60000" }).trainSamples, 60_000);
  for (const dataset of ["mnist", "fashion-mnist"]) {
    assert.throws(
      () => read({ DATASET: dataset, TRAIN_SAMPLES: "60001" }),
      new RegExp(
        `60001 training samples \\(TRAIN_SAMPLES, --train-samples\\) are more than the 60000 ` +
          `training images of ${dataset}: give at most 60000`,
      ),
    );
  }
  // Not a batch checked against 63,000 images that are not there.
  assert.throws(() => read({ TRAIN_SAMPLES: "70000", BATCH_SIZE: "60000" }), /at most 60000/);
});

Deno.test("VALIDATION_SPLIT from 0 (none) up to just below 1; early stopping refuses a split of none", () => {
  const read = (env: Record<string, string>) => readParameters({ env });
  assert.equal(read({ VALIDATION_SPLIT: "0" }).validationSplit, 0);
  // 0.9999 of 60,000 leaves 5 images (1 - 0.9999 is a hair under 0.0001 in floating point, as
  // Keras computes it): the default batch shrinks to them.
  assert.equal(read({ VALIDATION_SPLIT: "0.9999" }).batchSize, 5);
  assert.throws(() => read({ VALIDATION_SPLIT: "0.9999", TRAIN_SAMPLES: "100" }), /leaving none/);
  const refusal =
    /The tuned variant stops early .* validation split of 0 .* holds out none of the 60000 training images: give a split above 0/;
  assert.throws(() => read({ VARIANT: "tuned", VALIDATION_SPLIT: "0" }), refusal);
  assert.throws(() => read({ VARIANTS: "all", VALIDATION_SPLIT: "0" }), /The tuned variant/);
  // 1 - 1e-20 is 1 in floating point: no image is held out, though the split is not 0.
  assert.throws(() => read({ VARIANT: "tuned", VALIDATION_SPLIT: "1e-20" }), /holds out none/);
  assert.equal(read({ VARIANT: "tuned", VALIDATION_SPLIT: "0.001" }).validationSplit, 0.001);
  assert.equal(read({ VARIANTS: "baseline,deep", VALIDATION_SPLIT: "0" }).variants.length, 2);
  // The notebook does not read VARIANT: a tuned one left in the environment does not stop it.
  const notebook = readParameters({
    names: NOTEBOOK_PARAMETERS,
    env: { VARIANT: "tuned", VALIDATION_SPLIT: "0" },
  });
  assert.equal(notebook.validationSplit, 0);
});
