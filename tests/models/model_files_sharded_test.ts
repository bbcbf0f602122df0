// lib/models/model_files.ts on a model saved as TensorFlow.js's converters and larger saves store
// it: the weights split over several shard files (group1-shard1of3.bin ...), cut inside a weight.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { buildBaselineModel } from "../../lib/models/variants.ts";
import { loadModel, saveModel } from "../../lib/models/model_files.ts";
import { assertSameArray, listFiles } from "../fixtures.ts";

tf.enableProdMode();
await tf.setBackend("cpu");

/** Rewrites a saved model folder into `count` shards of the weights, as tfjs writes them. */
async function shardWeights(dir: string, count: number): Promise<string[]> {
  const json = JSON.parse(await Deno.readTextFile(join(dir, "model.json")));
  const [file] = json.weightsManifest[0].paths as string[];
  const bytes = await Deno.readFile(join(dir, file));
  // Odd sizes, so that the cuts fall inside a weight and inside a float.
  const size = Math.ceil(bytes.length / count) + 3;
  const names = Array.from({ length: count }, (_, i) => `group1-shard${i + 1}of${count}.bin`);
  for (const [i, name] of names.entries()) {
    await Deno.writeFile(join(dir, name), bytes.subarray(i * size, (i + 1) * size));
  }
  await Deno.remove(join(dir, file));
  json.weightsManifest[0].paths = names;
  await Deno.writeTextFile(join(dir, "model.json"), JSON.stringify(json));
  return names;
}

Deno.test("loadModel() reads weights sharded over three files to the same predictions", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const model = buildBaselineModel({ seed: 9 });
    await saveModel(model, dir);
    const names = await shardWeights(dir, 3);
    assert.deepEqual(await listFiles(dir), [...names, "model.json"].sort());
    const loaded = await loadModel(dir);
    const [a, b] = tf.tidy(() => {
      const x = tf.randomUniform([2, 28, 28, 1], 0, 1, "float32", 3);
      return [model, loaded].map((m) => (m.predict(x) as tf.Tensor).dataSync());
    });
    assertSameArray(a, b);
    model.dispose();
    loaded.dispose();
    // A shard missing is named, not read as a short file.
    await Deno.remove(join(dir, names[1]));
    await assert.rejects(loadModel(dir), new RegExp(names[1]));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadModel() reads shards in the order model.json lists them", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const model = buildBaselineModel({ seed: 9 });
    await saveModel(model, dir);
    const names = await shardWeights(dir, 2);
    const json = JSON.parse(await Deno.readTextFile(join(dir, "model.json")));
    json.weightsManifest[0].paths = [...names].reverse();
    await Deno.writeTextFile(join(dir, "model.json"), JSON.stringify(json));
    // Same byte count, shards swapped: the names carry no hash, so only the values tell.
    const loaded = await loadModel(dir);
    const [a, b] = tf.tidy(() => {
      const x = tf.randomUniform([2, 28, 28, 1], 0, 1, "float32", 3);
      return [model, loaded].map((m) => Array.from((m.predict(x) as tf.Tensor).dataSync()));
    });
    assert.notDeepEqual(a, b, "shards are read in the listed order, as tfjs reads them");
    loaded.dispose();
    model.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
