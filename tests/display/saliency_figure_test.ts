// The saliency figure: images on top, maps below, each map scaled to its largest push, every trace,
// axis, caption and hover; and the examples a model gives for chosen test images.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { saliencyExamples, saliencyFigure } from "../../lib/display/saliency_figure.ts";
import { buildBaselineModel } from "../../lib/models/variants.ts";
import { saliencyMap } from "../../lib/models/saliency.ts";
import { normalizePixels } from "../../lib/data/preprocess.ts";
import { syntheticSplit } from "../fixtures.ts";

Deno.test("saliencyFigure() puts each image over its map, captions red for mistakes", () => {
  const { images } = syntheticSplit(3);
  const maps = [0, 1, 2].map((k) =>
    Float32Array.from({ length: 784 }, (_, i) => (i % 7 - 3) * (k + 1))
  );
  const examples = [0, 1, 2].map((k) => ({
    image: images.subarray(k * 784, (k + 1) * 784),
    map: maps[k],
    caption: `true ${k}<br>answer ${k === 2 ? 5 : k}`,
    flagged: k === 2,
  }));
  const figure = saliencyFigure(examples);
  assert.equal(figure.data.length, 2);
  const [top, bottom] = figure.data as { z: (number | null)[][]; [key: string]: unknown }[];
  assert.equal(top.hoverinfo, "skip");
  assert.deepEqual([bottom.xaxis, bottom.yaxis, bottom.zmin, bottom.zmax], ["x2", "y2", -1, 1]);
  assert.equal(bottom.hovertemplate, "push %{z:.2f}<extra></extra>");
  for (const [k, example] of examples.entries()) {
    const left = k * 34; // 28 pixels and a gap of 6
    assert.equal(top.z[5][left + 9], example.image[5 * 28 + 9], `image ${k}`);
    assert.equal(bottom.z[5][left + 9], Number((maps[k][5 * 28 + 9] / (3 * (k + 1))).toFixed(3)));
    if (k > 0) assert.equal(top.z[0][left - 1], null, "a blank gap between images");
  }
  const annotations = figure.layout.annotations as { text: string; font: { color: string } }[];
  assert.deepEqual(annotations.map((a) => a.text), examples.map((e) => e.caption));
  assert.deepEqual(annotations.map((a) => a.font.color), ["#222", "#222", "#d62728"]);
  const domain = (axis: string) => (figure.layout[axis] as { domain: number[] }).domain;
  assert.ok(domain("yaxis2")[1] < domain("yaxis")[0], "maps below the images, apart");
  assert.throws(() => saliencyFigure([]), /needs at least one example/);
});

Deno.test("saliencyExamples() explains the model's answer for each chosen image", async () => {
  await tf.setBackend("cpu");
  const model = buildBaselineModel({ seed: 5 });
  const split = syntheticSplit(12);
  const names = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];
  const before = tf.memory().numTensors;
  const examples = saliencyExamples(model, split, { indices: [3, 11], classNames: names });
  assert.equal(tf.memory().numTensors, before);
  for (const [j, i] of [3, 11].entries()) {
    const pixels = normalizePixels(split.images.subarray(i * 784, (i + 1) * 784));
    const expected = saliencyMap(model, pixels);
    assert.deepEqual(examples[j].map, expected.map);
    assert.equal(
      examples[j].caption,
      `true ${names[split.labels[i]]}<br>answer ${names[expected.target]}`,
    );
    assert.equal(examples[j].flagged, split.labels[i] !== expected.target);
  }
  model.dispose();
});
