import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { buildBaselineModel } from "../../lib/models/variants.ts";
import { loadModel, saveModel } from "../../lib/models/model_files.ts";
import { tryLockFile } from "../../lib/run_lock.ts";
import { disposeModel } from "../../lib/models/model.ts";
import { assertSameArray, listFiles, rejectionOf } from "../fixtures.ts";

tf.enableProdMode(); // no "use tfjs-node" banner in the test output
await tf.setBackend("cpu");

Deno.test("saveModel() writes model.json + weights-<hash>.bin that loadModel() reads back to the same predictions", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const model = buildBaselineModel({ seed: 5 });
    await saveModel(model, join(dir, "model"));
    const files = await listFiles(join(dir, "model"));
    assert.equal(files.length, 2, files.join());
    assert.equal(files[0], "model.json");
    assert.match(files[1], /^weights-[0-9a-f]{16}\.bin$/);
    const json = JSON.parse(await Deno.readTextFile(join(dir, "model", "model.json")));
    assert.equal(json.format, "layers-model");
    assert.deepEqual(json.weightsManifest[0].paths, [files[1]]);
    assert.equal((await Deno.stat(join(dir, "model", files[1]))).size, 121_930 * 4);

    const loaded = await loadModel(join(dir, "model"));
    assert.equal(loaded.countParams(), 121_930);
    const [a, b] = tf.tidy(() => {
      const x = tf.randomUniform([4, 28, 28, 1], 0, 1, "float32", 7);
      return [model, loaded].map((m) => (m.predict(x) as tf.Tensor).dataSync());
    });
    assertSameArray(a, b);
    model.dispose();
    loaded.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

for (
  const [which, fails] of [
    ["its first rename", () => true],
    ["the rename of model.json", (to: string) => to.endsWith("model.json")],
  ] as const
) {
  Deno.test(`saveModel() interrupted before ${which} leaves the previous model whole and loadable`, async () => {
    const dir = await Deno.makeTempDir();
    const [old, next] = [buildBaselineModel({ seed: 5 }), buildBaselineModel({ seed: 6 })];
    const predict = (m: tf.LayersModel) =>
      tf.tidy(() =>
        (m.predict(tf.randomUniform([2, 28, 28, 1], 0, 1, "float32", 9)) as tf.Tensor).dataSync()
      );
    const rename = Deno.rename;
    try {
      await saveModel(old, dir);
      Deno.rename = (from, to) =>
        fails(String(to)) ? Promise.reject(new Error("interrupted")) : rename(from, to);
      await rejectionOf(saveModel(next, dir));
      Deno.rename = rename;
      const files = await listFiles(dir);
      assert.ok(files.includes("model.json"), files.join());
      assert.ok(!files.some((f) => f.endsWith(".partial") || f.endsWith(".lock")), files.join());
      const loaded = await loadModel(dir);
      assertSameArray(predict(loaded), predict(old));
      loaded.dispose();
    } finally {
      Deno.rename = rename;
      old.dispose();
      next.dispose();
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("loadModel() names the missing file and says what to do", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const error = await rejectionOf(loadModel(dir));
    assert.match(
      error.message,
      /Cannot read the model at .*model\.json .*train and save a model first/,
    );
    await Deno.writeTextFile(join(dir, "model.json"), "{}");
    assert.match(
      (await rejectionOf(loadModel(dir))).message,
      /model\.json: the field "modelTopology" is missing .* not a TensorFlow\.js layers model/,
    );
    const manifest = [{
      paths: ["w.bin"],
      weights: [{ name: "k", shape: [3, "3"], dtype: "float32" }],
    }];
    await Deno.writeTextFile(
      join(dir, "model.json"),
      JSON.stringify({
        modelTopology: { class_name: "Sequential", config: {} },
        weightsManifest: manifest,
      }),
    );
    assert.match(
      (await rejectionOf(loadModel(dir))).message,
      /model\.json: the field "weightsManifest\[0\]\.weights\[0\]\.shape\[1\]" should be a whole number, but it is "3"/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a saved model loads over HTTP with tf.loadLayersModel, as a browser loads it", async () => {
  const dir = await Deno.makeTempDir();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const name = new URL(request.url).pathname.slice(1);
      try {
        return new Response(await Deno.readFile(join(dir, name)));
      } catch {
        return new Response("not found", { status: 404 });
      }
    },
  );
  try {
    const model = buildBaselineModel({ seed: 6 });
    await saveModel(model, dir);
    const loaded = await tf.loadLayersModel(`http://127.0.0.1:${server.addr.port}/model.json`);
    const [a, b] = tf.tidy(() => {
      const x = tf.randomUniform([2, 28, 28, 1], 0, 1, "float32", 3);
      return [model, loaded].map((m) => (m.predict(x) as tf.Tensor).dataSync());
    });
    assertSameArray(a, b);
    model.dispose();
    loaded.dispose();
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

/** Saves a model with `seed` into `dir`; returns its weights file's name. */
async function saved(dir: string, seed: number): Promise<string> {
  const model = buildBaselineModel({ seed });
  await saveModel(model, dir);
  disposeModel(model);
  return (await listFiles(dir)).find((f) => f.startsWith("weights-"))!;
}

function firstWeight(model: tf.LayersModel): number {
  return model.getWeights()[0].dataSync()[0];
}

Deno.test("saveModel() over an earlier save leaves one consistent pair, and a crash before the swap leaves the old one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = await saved(dir, 1);
    const expected = firstWeight(await loadModel(dir));
    // A save that died after writing its weights but before renaming model.json into place.
    await Deno.writeFile(join(dir, "weights-0123456789abcdef.bin"), new Uint8Array(16));
    const old = await loadModel(dir);
    assert.equal(firstWeight(old), expected, "the old model.json still reads the old weights");
    old.dispose();
    const second = await saved(dir, 2);
    assert.notEqual(second, first);
    assert.deepEqual(await listFiles(dir), ["model.json", second], "earlier weights are removed");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("saveModel(): a save into a folder another live run is saving into stops with a sentence", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = await saved(dir, 3);
    const before = firstWeight(await loadModel(dir));
    // A live run holds the lock, as a run saving at the same moment does. (Two saves started
    // together in one process raced: sometimes the first had finished.)
    const held = await tryLockFile(join(dir, ".saving.lock"), "another save");
    assert.ok("release" in held);
    const second = buildBaselineModel({ seed: 4 });
    await assert.rejects(
      saveModel(second, dir),
      /Another run is saving a model in .* right now .*save to another folder/,
    );
    const loaded = await loadModel(dir);
    assert.equal(firstWeight(loaded), before, "the first save's model is untouched");
    assert.deepEqual(await listFiles(dir), [".saving.lock", "model.json", first].sort());
    loaded.dispose();
    disposeModel(second);
    await held.release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("saveModel() takes over the lock of a run that died", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, ".saving.lock"), "999999999 2026-01-01T00:00:00Z\n");
    await saved(dir, 1);
    assert.equal((await listFiles(dir)).length, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadModel() refuses a pair from two saves, damaged or resized weights, naming the file", async () => {
  const dir = await Deno.makeTempDir();
  const other = await Deno.makeTempDir();
  try {
    const weights = await saved(dir, 1);
    const otherWeights = await saved(other, 2);
    const path = join(dir, weights);
    const original = await Deno.readFile(path);
    // The other save's weights under this save's name.
    await Deno.copyFile(join(other, otherWeights), path);
    await assert.rejects(
      loadModel(dir),
      new RegExp(`${weights} does not hold the weights its name promises`),
    );
    // Truncated, or 100 bytes too long, under the legacy name that carries no hash.
    const json = JSON.parse(await Deno.readTextFile(join(dir, "model.json")));
    json.weightsManifest[0].paths = ["weights.bin"];
    await Deno.writeTextFile(join(dir, "model.json"), JSON.stringify(json));
    await Deno.writeFile(join(dir, "weights.bin"), original.subarray(0, 1000));
    await assert.rejects(
      loadModel(dir),
      /hold 1000 bytes \(weights\.bin\) but its weight shapes need 487720/,
    );
    await Deno.writeFile(
      join(dir, "weights.bin"),
      new Uint8Array([...original, ...new Uint8Array(100)]),
    );
    await assert.rejects(
      loadModel(dir),
      /hold 487820 bytes .* need 487720: the files come from different saves/,
    );
    await Deno.writeFile(join(dir, "weights.bin"), original);
    (await loadModel(dir)).dispose();
    // A weights file that is missing.
    await Deno.remove(join(dir, "weights.bin"));
    await assert.rejects(
      loadModel(dir),
      /Cannot read .*weights\.bin, the weights that .*model\.json names/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(other, { recursive: true });
  }
});

Deno.test("loadModel() refuses weights outside the folder, a topology its weights do not fit, and another input shape", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await saved(dir, 1);
    const jsonPath = join(dir, "model.json");
    const good = await Deno.readTextFile(jsonPath);
    const edit = async (change: (json: tf.io.ModelJSON) => void) => {
      const json = JSON.parse(good);
      change(json);
      await Deno.writeTextFile(jsonPath, JSON.stringify(json));
    };
    await edit((json) => json.weightsManifest[0].paths = ["../elsewhere.bin"]);
    await assert.rejects(
      loadModel(dir),
      /names the weights file "\.\.\/elsewhere\.bin", outside its folder/,
    );
    await edit((json) => json.weightsManifest[0].paths = ["/etc/passwd"]);
    await assert.rejects(loadModel(dir), /outside its folder/);
    await edit((json) => {
      const topology = json.modelTopology as {
        config: { layers: { config: { units?: number } }[] };
      };
      topology.config.layers.at(-2)!.config.units = 32; // the hidden dense layer
    });
    await assert.rejects(loadModel(dir), /does not describe a model its weights fit/);
    await Deno.writeTextFile(jsonPath, good);
    await assert.rejects(
      loadModel(dir, { inputShape: [32, 32, 3] }),
      /takes inputs of shape \[28, 28, 1\], not \[32, 32, 3\]: it was saved for other images/,
    );
    (await loadModel(dir, { inputShape: [28, 28, 1] })).dispose();
    await Deno.writeTextFile(jsonPath, "{ not json");
    await assert.rejects(loadModel(dir), /model\.json is not valid JSON/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
