// The learned map: which layer, which images, a seeded UMAP that keeps apart what is apart, and
// the map of a real (untrained) model on synthetic images, without leaks.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { buildBaselineModel, buildVariant } from "../../lib/models/variants.ts";
import {
  learnedMap,
  mapSample,
  penultimateLayer,
  umapProjection,
} from "../../lib/models/learned_map.ts";
import { createRandom } from "../../lib/random.ts";
import { syntheticSplit } from "../fixtures.ts";

Deno.test("penultimateLayer() is the vector layer before the output, past Dropout", () => {
  const baseline = buildBaselineModel({ seed: 1 });
  assert.deepEqual(penultimateLayer(baseline).outputShape, [null, 64]);
  const deep = buildVariant("deep", { seed: 1 });
  const layer = penultimateLayer(deep);
  assert.notEqual(layer.getClassName(), "Dropout");
  assert.equal((layer.outputShape as number[]).length, 2);
  const flat = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 2 })] });
  assert.throws(() => penultimateLayer(flat), /has no vector layer before its output to map/);
  for (const model of [baseline, deep, flat]) model.dispose();
});

Deno.test("mapSample() keeps every mistake (up to a quarter), fills with a seeded draw, ascending", () => {
  const labels = Uint8Array.from({ length: 1000 }, (_, i) => i % 10);
  const predicted = labels.map((label, i) => i % 50 === 7 ? (label + 1) % 10 : label);
  const sample = mapSample(labels, predicted, { size: 200, seed: 4 });
  assert.equal(sample.length, 200);
  assert.equal(new Set(sample).size, 200, "no image twice");
  assert.deepEqual(Array.from(sample), Array.from(sample).sort((a, b) => a - b));
  for (let i = 7; i < 1000; i += 50) assert.ok(sample.includes(i), `mistake ${i} is in`);
  assert.deepEqual(sample, mapSample(labels, predicted, { size: 200, seed: 4 }), "seeded");
  assert.notDeepEqual(sample, mapSample(labels, predicted, { size: 200, seed: 5 }));
  const few = mapSample(labels, predicted, { size: 40, seed: 4 });
  assert.equal(few.filter((i) => labels[i] !== predicted[i]).length, 10, "a quarter of 40");
  assert.equal(mapSample(labels, predicted, { size: 5000, seed: 4 }).length, 1000);
  assert.throws(
    () => mapSample(labels, predicted, { size: 1, seed: 4 }),
    /at least 2 images, got 1/,
  );
});

Deno.test("umapProjection() is seeded and keeps two far-apart groups apart", () => {
  const random = createRandom(9);
  const rows = Float32Array.from({ length: 60 * 8 }, (_, i) => random() + (i >= 30 * 8 ? 20 : 0));
  const options = { seed: 2, neighbors: 8, epochs: 100 };
  const map = umapProjection(rows, 8, options);
  assert.deepEqual(map, umapProjection(rows, 8, options), "the same seed, the same map");
  assert.notDeepEqual(map, umapProjection(rows, 8, { ...options, seed: 3 }));
  const centre = (from: number) => {
    let x = 0, y = 0;
    for (let k = from; k < from + 30; k++) [x, y] = [x + map[2 * k] / 30, y + map[2 * k + 1] / 30];
    return [x, y];
  };
  const spread = (from: number, [cx, cy]: number[]) =>
    Math.max(
      ...Array.from({ length: 30 }, (_, j) =>
        Math.hypot(map[2 * (from + j)] - cx, map[2 * (from + j) + 1] - cy)),
    );
  const a = centre(0), b = centre(30);
  const gap = Math.hypot(a[0] - b[0], a[1] - b[1]);
  assert.ok(gap > spread(0, a) + spread(30, b), `groups ${gap} apart overlap`);
});

Deno.test("learnedMap() maps a sample of a split through a model's Dense 64, without leaks", async () => {
  await tf.setBackend("cpu");
  const model = buildBaselineModel({ seed: 1 });
  const split = syntheticSplit(120);
  const predicted = split.labels.map((label, i) => i % 9 === 0 ? (label + 3) % 10 : label);
  const before = tf.memory().numTensors;
  const options = { predicted, sample: 40, seed: 2, neighbors: 6, epochs: 50 };
  const map = learnedMap(model, split, options);
  assert.equal(tf.memory().numTensors, before, "no tensor left behind");
  assert.equal(map.indices.length, 40);
  assert.deepEqual([map.activations.length, map.pixels.length], [80, 80]);
  assert.ok(map.activations.every(Number.isFinite) && map.pixels.every(Number.isFinite));
  assert.notDeepEqual(map.activations, map.pixels, "two different projections");
  assert.deepEqual(map.labels, Uint8Array.from(map.indices, (i) => split.labels[i]));
  assert.deepEqual(map.predicted, Uint8Array.from(map.indices, (i) => predicted[i]));
  assert.deepEqual([map.total, map.mistakes], [120, 14]);
  assert.deepEqual(map.layer, { name: penultimateLayer(model).name, units: 64 });
  assert.deepEqual(learnedMap(model, split, options).activations, map.activations, "seeded");
  assert.throws(
    () => learnedMap(model, split, { predicted: predicted.subarray(0, 5) }),
    /got 5 answers for 120 images: pass the model's answers for this split/,
  );
  model.dispose();
});
