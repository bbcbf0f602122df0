// lib/training/compare.ts from the reader's side: the hint on a variant with no recorded result.
import assert from "node:assert/strict";
import { compareVariants, expectedRun } from "../../lib/training/compare.ts";
import type { Mnist } from "../../lib/data/mnist.ts";
import { NOTEBOOK_PARAMETERS, readRunParameters } from "../../lib/training/run_parameters.ts";
import type { WasmBackendInfo } from "../../lib/engine/mod.ts";

Deno.test("a Fashion-MNIST comparison with nothing recorded says how to train on Fashion-MNIST", async () => {
  // Only the dataset's name and size are read when nothing is trained.
  const data = { dataset: "fashion-mnist", train: { count: 60_000 } } as unknown as Mnist;
  const params = readRunParameters({ names: NOTEBOOK_PARAMETERS, env: { EPOCHS: "1" } });
  const lines = await compareVariants({
    data,
    params: { ...params, variants: [] },
    backend: {} as WasmBackendInfo,
    recorded: { about: "", groups: [] },
  });
  const tuned = lines.find((l) => l.variant === "tuned")!;
  assert.match(tuned.source, /^no recorded result on fashion-mnist: /);
  assert.match(tuned.source, /DATASET=fashion-mnist VARIANTS=tuned deno task notebook/);
  assert.match(tuned.source, /deno task experiments --variants tuned --dataset fashion-mnist$/);
});

Deno.test("expectedRun() splits validation as training does: floor(n * 0.9) images to train", async () => {
  const params = readRunParameters({ names: NOTEBOOK_PARAMETERS, env: { TRAIN_SAMPLES: "1001" } });
  const expected = await expectedRun("baseline", { params, dataset: "mnist", trainCount: 60_000 });
  assert.deepEqual([expected.train_samples, expected.validation_samples], [900, 101]);
});
