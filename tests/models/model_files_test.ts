import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { buildBaselineModel } from "../../lib/models/variants.ts";
import { loadModel, saveModel } from "../../lib/models/model_files.ts";
import { listFiles, rejectionOf } from "../fixtures.ts";

tf.enableProdMode(); // no "use tfjs-node" banner in the test output
await tf.setBackend("cpu");

Deno.test("saveModel() writes model.json + weights.bin that loadModel() reads back to the same predictions", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const model = buildBaselineModel({ seed: 5 });
    await saveModel(model, join(dir, "model"));
    assert.deepEqual(await listFiles(join(dir, "model")), ["model.json", "weights.bin"]);
    const json = JSON.parse(await Deno.readTextFile(join(dir, "model", "model.json")));
    assert.equal(json.format, "layers-model");
    assert.deepEqual(json.weightsManifest[0].paths, ["weights.bin"]);
    assert.equal((await Deno.stat(join(dir, "model", "weights.bin"))).size, 121_930 * 4);

    const loaded = await loadModel(join(dir, "model"));
    assert.equal(loaded.countParams(), 121_930);
    const [a, b] = tf.tidy(() => {
      const x = tf.randomUniform([4, 28, 28, 1], 0, 1, "float32", 7);
      return [model, loaded].map((m) => (m.predict(x) as tf.Tensor).dataSync());
    });
    assert.deepEqual(a, b);
    model.dispose();
    loaded.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

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
      /is not a TensorFlow\.js layers model/,
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
    assert.deepEqual(a, b);
    model.dispose();
    loaded.dispose();
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
