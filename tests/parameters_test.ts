import assert from "node:assert/strict";
import { DEFAULT_PARAMETERS, readParameters } from "../lib/parameters.ts";

Deno.test("readParameters() gives the tutorial's defaults for an empty environment", () => {
  assert.deepEqual(readParameters({}), { ...DEFAULT_PARAMETERS, trainSamples: undefined });
  assert.equal(readParameters({}).epochs, 5);
  assert.equal(readParameters({}).batchSize, 128);
});

Deno.test("readParameters() reads every variable", () => {
  const p = readParameters({
    DATASET: "fashion-mnist",
    EPOCHS: "2",
    BATCH_SIZE: "64",
    VALIDATION_SPLIT: "0.2",
    SEED: "7",
    TRAIN_SAMPLES: "2000",
  });
  assert.deepEqual(p, {
    dataset: "fashion-mnist",
    epochs: 2,
    batchSize: 64,
    validationSplit: 0.2,
    seed: 7,
    trainSamples: 2000,
  });
});

Deno.test("readParameters() rejects bad values, naming the variable", () => {
  assert.throws(() => readParameters({ DATASET: "cifar" }), /DATASET="cifar" is not a dataset/);
  assert.throws(() => readParameters({ EPOCHS: "0" }), /EPOCHS="0" is not valid/);
  assert.throws(() => readParameters({ EPOCHS: "2.5" }), /EPOCHS="2.5" is not valid/);
  assert.throws(() => readParameters({ BATCH_SIZE: "big" }), /BATCH_SIZE="big" is not valid/);
  assert.throws(
    () => readParameters({ VALIDATION_SPLIT: "1" }),
    /VALIDATION_SPLIT="1" is not valid/,
  );
  assert.throws(() => readParameters({ SEED: "-1" }), /SEED="-1" is not valid/);
  assert.throws(() => readParameters({ TRAIN_SAMPLES: "0" }), /TRAIN_SAMPLES="0" is not valid/);
});
