import assert from "node:assert/strict";
import {
  confusionMatrixFigure,
  digitGridFigure,
  featureMapsFigure,
  filtersFigure,
  heatmapGridFigure,
  historyFigure,
  mistakesFigure,
  predictionsFigure,
  samplesFigure,
} from "../../lib/display/figures.ts";

const digits = {
  images: Uint8Array.from({ length: 3 * 784 }, (_, i) => i % 256),
  labels: new Uint8Array([7, 2, 1]),
  count: 3,
};
const names = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

Deno.test("digitGridFigure() places each image in its tile, with null gaps and one caption each", () => {
  const figure = digitGridFigure({
    images: digits.images,
    indices: [2, 0],
    captions: ["a", "b"],
    columns: 2,
  });
  const z = figure.data[0].z as (number | null)[][];
  // Captions take the first rows of each cell; the first tile starts below them.
  const top = z.findIndex((row) => row[0] !== null);
  assert.equal(z[top][0], digits.images[2 * 784]);
  assert.equal(z[top + 27][27], digits.images[2 * 784 + 27 * 28 + 27]);
  // Row 0, column 5 and row 5, column 0: the digit is not drawn transposed.
  assert.equal(z[top][5], digits.images[2 * 784 + 5]);
  assert.equal(z[top + 5][0], digits.images[2 * 784 + 5 * 28]);
  assert.equal(z[top][28], null);
  assert.deepEqual((figure.layout.annotations as { text: string }[]).map((a) => a.text), [
    "a",
    "b",
  ]);
  assert.throws(
    () => digitGridFigure({ images: digits.images, indices: [0], captions: [] }),
    /1 images need 1 captions/,
  );
});

Deno.test("samplesFigure() captions images with their class names", () => {
  const figure = samplesFigure({ split: digits, classNames: names, count: 2 });
  assert.deepEqual((figure.layout.annotations as { text: string }[]).map((a) => a.text), [
    "7",
    "2",
  ]);
});

Deno.test("predictionsFigure() marks wrong predictions in red", () => {
  const figure = predictionsFigure({
    split: digits,
    predicted: new Uint8Array([7, 3, 1]),
    classNames: names,
  });
  const annotations = figure.layout.annotations as { text: string; font: { color: string } }[];
  assert.deepEqual(annotations.map((a) => a.font.color), ["#222", "#d62728", "#222"]);
  assert.match(annotations[1].text, /^✗ 3<br>.*true 2/);
});

Deno.test("mistakesFigure() shows the prediction's probability", () => {
  const figure = mistakesFigure({
    images: digits.images,
    mistakes: [{ index: 1, actual: 2, predicted: 7, confidence: 0.934 }],
    classNames: names,
  });
  assert.match((figure.layout.annotations as { text: string }[])[0].text, /^7 \(93%\)<br>.*true 2/);
});

Deno.test("confusionMatrixFigure() shows counts and row-normalised rates on hover", () => {
  const figure = confusionMatrixFigure([[8, 2], [0, 5]], ["cat", "dog"]);
  const trace = figure.data[0];
  assert.deepEqual(trace.text, [["8", "2"], ["0", "5"]]);
  assert.deepEqual(trace.customdata, [[0.8, 0.2], [0, 1]]);
  // Colour follows the counts, true class down, predicted across, as the text does.
  assert.deepEqual(trace.z, [[Math.log10(9), Math.log10(3)], [0, Math.log10(6)]]);
  assert.deepEqual([trace.y, trace.x], [["cat", "dog"], ["cat", "dog"]]);
  assert.equal((figure.layout.yaxis as { title: { text: string } }).title.text, "true");
  assert.match(String(trace.hovertemplate), /customdata/);
});

Deno.test("historyFigure() draws training and validation curves for loss and accuracy", () => {
  const figure = historyFigure({
    loss: [0.3, 0.1],
    acc: [0.9, 0.97],
    val_loss: [0.2, 0.1],
    val_acc: [0.95, 0.97],
    lr: [1e-3, 1e-3],
    seconds: [1, 1],
  });
  assert.equal(figure.data.length, 4);
  assert.deepEqual(figure.data[2].y, [0.2, 0.1]);
  assert.deepEqual(figure.data[3].y, [0.95, 0.97]);
  assert.deepEqual(figure.data[0].x, [1, 2], "epochs count from 1");
});

Deno.test("heatmapGridFigure() lays tiles out in rows with one empty pixel between them", () => {
  const tile = (v: number) => new Float32Array(4).fill(v);
  const figure = heatmapGridFigure({
    tiles: [tile(1), tile(2), tile(3)],
    height: 2,
    width: 2,
    columns: 2,
    range: [0, 3],
    colorscale: [[0, "white"], [1, "black"]],
  });
  const z = (figure.data[0] as { z: (number | null)[][] }).z;
  assert.deepEqual(z, [
    [1, 1, null, 2, 2],
    [1, 1, null, 2, 2],
    [null, null, null, null, null],
    [3, 3, null, null, null],
    [3, 3, null, null, null],
  ]);
  assert.throws(
    () => heatmapGridFigure({ ...figureOptions(), tiles: [new Float32Array(3)] }),
    /Tile 0 has 3 values; a 2x2 tile needs 4/,
  );
});

function figureOptions() {
  return {
    tiles: [],
    height: 2,
    width: 2,
    columns: 1,
    range: [0, 1] as const,
    colorscale: [[0, "white"], [1, "black"]] as const,
  };
}

Deno.test("filtersFigure() centres the colours on 0 and names the layer", () => {
  const weights = Array.from({ length: 32 }, (_, f) => new Float32Array(9).fill((f - 8) / 8));
  const figure = filtersFigure({ layer: "conv2d", height: 3, width: 3, weights });
  const trace = figure.data[0] as { zmin: number; zmax: number; z: (number | null)[][] };
  assert.deepEqual([trace.zmin, trace.zmax], [-23 / 8, 23 / 8]);
  assert.equal(trace.z.length, 4 * 4 - 1, "32 filters in 4 rows of 8");
  assert.match(
    JSON.stringify(figure.layout.title),
    /The 32 filters of conv2d \(3x3 weights each\)/,
  );
});

Deno.test("featureMapsFigure() scales each map to its own maximum, an empty map to 0", () => {
  const maps = [new Float32Array([0, 1, 2, 4]), new Float32Array([0, 0, 0, 0])];
  const figure = featureMapsFigure({ layer: "conv2d_1", height: 2, width: 2, maps });
  const z = (figure.data[0] as { z: (number | null)[][] }).z;
  assert.deepEqual(z, [[0, 0.25, null, 0, 0], [0.5, 1, null, 0, 0]]);
  assert.match(JSON.stringify(figure.layout.title), /conv2d_1: 2 feature maps of 2x2/);
});
