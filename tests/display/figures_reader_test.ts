/**
 * What a reader of each figure sees: every trace, axis title and hover text, and that the
 * augmentation figure shows the augmented images beside the untouched originals.
 */
import assert from "node:assert/strict";
import {
  augmentationFigure,
  confusionMatrixFigure,
  digitGridFigure,
  filtersFigure,
  historyFigure,
  mistakesFigure,
} from "../../lib/display/figures.ts";

type Axis = { title?: { text: string }; domain?: number[]; anchor?: string; dtick?: number };

Deno.test("historyFigure(): loss on the left, accuracy on the right, epoch axes, one legend", () => {
  const figure = historyFigure({
    loss: [0.5, 0.3, 0.2],
    acc: [0.8, 0.9, 0.95],
    val_loss: [0.4, 0.35, 0.3],
    val_acc: [0.85, 0.88, 0.9],
    lr: [1e-3, 1e-3, 1e-3],
    seconds: [1, 1, 1],
  });
  const traces = figure.data as {
    name: string;
    x: number[];
    y: number[];
    xaxis: string;
    yaxis: string;
    showlegend: boolean;
    line: { dash: string; color: string };
  }[];
  assert.deepEqual(
    traces.map((t) => [t.name, t.xaxis, t.yaxis, t.showlegend, t.line.dash]),
    [
      ["training", "x", "y", true, "solid"],
      ["training", "x2", "y2", false, "solid"],
      ["validation", "x", "y", true, "dash"],
      ["validation", "x2", "y2", false, "dash"],
    ],
  );
  assert.deepEqual(traces.map((t) => t.y), [
    [0.5, 0.3, 0.2],
    [0.8, 0.9, 0.95],
    [0.4, 0.35, 0.3],
    [0.85, 0.88, 0.9],
  ]);
  for (const t of traces) assert.deepEqual(t.x, [1, 2, 3]);
  assert.notEqual(traces[0].line.color, traces[2].line.color, "validation in its own colour");
  const layout = figure.layout as Record<string, Axis>;
  assert.equal(layout.yaxis.title?.text, "loss");
  assert.equal(layout.yaxis2.title?.text, "accuracy");
  assert.equal(layout.xaxis.title?.text, "epoch");
  assert.equal(layout.xaxis2.title?.text, "epoch");
  assert.equal(layout.xaxis.dtick, 1, "whole epochs on the axis");
  assert.equal(layout.yaxis2.anchor, "x2");
  const [left, right] = [layout.xaxis.domain!, layout.xaxis2.domain!];
  assert.ok(left[1] < right[0], `the two panels overlap: ${left} and ${right}`);
  const titles = (figure.layout.annotations as { text: string }[]).map((a) => a.text);
  assert.deepEqual(titles, ["Loss", "Accuracy"]);
});

Deno.test("historyFigure() without validation draws the two training curves only", () => {
  const figure = historyFigure({ loss: [0.2], acc: [0.9], lr: [1e-3], seconds: [1] });
  assert.deepEqual(figure.data.map((t) => t.name), ["training", "training"]);
});

Deno.test("confusionMatrixFigure(): axes titled and ordered, hover names true and predicted", () => {
  const figure = confusionMatrixFigure([[9, 1, 0], [0, 10, 0], [2, 0, 8]], ["0", "1", "2"]);
  const trace = figure.data[0] as Record<string, unknown>;
  const hover = String(trace.hovertemplate);
  assert.match(hover, /true %\{y\}/);
  assert.match(hover, /predicted %\{x\}/);
  assert.match(hover, /count %\{text\}/);
  assert.match(hover, /%\{customdata:\.2%\}/, "the share as a percentage");
  assert.deepEqual(trace.customdata, [[0.9, 0.1, 0], [0, 1, 0], [0.2, 0, 0.8]]);
  assert.equal(trace.zmax, Math.log10(11), "the colour range reaches the largest count");
  const bar = trace.colorbar as { title: { text: string }; ticktext: string[] };
  assert.equal(bar.title.text, "count");
  assert.deepEqual(bar.ticktext, ["0", "1", "10"], "ticks as counts up to the largest one");
  const layout = figure.layout as Record<string, Axis & { autorange?: string; type?: string }>;
  assert.equal(layout.xaxis.title?.text, "predicted");
  assert.equal(layout.yaxis.title?.text, "true");
  assert.equal(layout.yaxis.autorange, "reversed", "class 0 at the top, as in a table");
  assert.equal(layout.xaxis.type, "category");
});

Deno.test("digitGridFigure(): no hover on pixels, black on white over 0..255, columns wrap", () => {
  const images = new Uint8Array(5 * 784).fill(200);
  const figure = digitGridFigure({
    images,
    indices: [0, 1, 2, 3, 4],
    captions: ["a", "b", "c", "d", "e"],
    columns: 2,
    title: "Five",
  });
  const trace = figure.data[0] as Record<string, unknown>;
  assert.equal(trace.hoverinfo, "skip");
  assert.deepEqual([trace.zmin, trace.zmax], [0, 255]);
  assert.deepEqual(trace.colorscale, [[0, "#ffffff"], [1, "#000000"]]);
  const z = trace.z as (number | null)[][];
  assert.equal(z.length, 3 * (28 + 16), "5 images in rows of 2 make 3 rows");
  assert.deepEqual(figure.layout.title, { text: "Five" });
  const annotations = figure.layout.annotations as { x: number; y: number }[];
  assert.ok(annotations[2].y > annotations[0].y, "the third caption starts a second row");
  assert.equal(annotations[2].x, annotations[0].x);
  assert.equal((figure.layout.yaxis as { autorange: string }).autorange, "reversed");
});

Deno.test("augmentationFigure() shows each original, then its augmented copies, not the original again", () => {
  // A bar on the left half; the "augmentation" mirrors it, so every copy differs from the original.
  const image = new Uint8Array(784);
  for (let r = 0; r < 28; r++) for (let c = 0; c < 10; c++) image[r * 28 + c] = 255;
  const split = { images: image, labels: new Uint8Array([1]), count: 1 };
  const calls: { copies: number }[] = [];
  const mirror = (pixels: Float32Array, copies: number) => {
    calls.push({ copies });
    for (let k = 0; k < copies; k++) {
      const tile = pixels.subarray(k * 784, (k + 1) * 784);
      for (let r = 0; r < 28; r++) tile.subarray(r * 28, r * 28 + 28).reverse();
      tile[0] = k / 10; // each copy distinguishable
    }
  };
  const figure = augmentationFigure({ split, augment: mirror, count: 1, copies: 2, seed: 3 });
  assert.deepEqual(calls, [{ copies: 2 }]);
  const z = figure.data[0].z as (number | null)[][];
  const top = z.findIndex((row) => row[0] !== null);
  const tile = (k: number) => z.slice(top, top + 28).map((row) => row.slice(k * 32, k * 32 + 28));
  assert.deepEqual(tile(0)[5].slice(0, 12), [...new Array(10).fill(255), 0, 0], "original");
  for (const k of [1, 2]) {
    assert.deepEqual(tile(k)[5].slice(0, 18), new Array(18).fill(0), `copy ${k} is mirrored`);
    assert.deepEqual(tile(k)[5].slice(18), new Array(10).fill(255), `copy ${k} is mirrored`);
  }
  assert.equal(tile(1)[0][0], 0);
  assert.equal(
    tile(2)[0][0],
    Math.round(0.1 * 255),
    "the second copy is the second augmented tile",
  );
  const captions = (figure.layout.annotations as { text: string }[]).map((a) => a.text);
  assert.deepEqual(captions, ["original", "augmented 1", "augmented 2"]);
});

Deno.test("augmentationFigure() clamps augmented pixels to 0..255 and draws one row per image", () => {
  const split = {
    images: new Uint8Array(2 * 784).fill(128),
    labels: new Uint8Array([1, 2]),
    count: 2,
  };
  const overshoot = (pixels: Float32Array) => {
    pixels.fill(1.7, 0, 392);
    pixels.fill(-0.4, 392);
  };
  const figure = augmentationFigure({ split, augment: overshoot, count: 5, copies: 1, seed: 1 });
  const z = figure.data[0].z as (number | null)[][];
  const values = new Set(z.flat().filter((v) => v !== null));
  assert.deepEqual([...values].sort((a, b) => a! - b!), [0, 128, 255]);
  assert.equal((figure.layout.annotations as unknown[]).length, 4, "count is capped at 2 images");
  assert.equal(z[0].length, 2 * 32, "two tiles a row: original and one copy");
});

Deno.test("filtersFigure(): weights hover with 3 decimals, a diverging scale, a colour bar", () => {
  const figure = filtersFigure({
    layer: "conv2d",
    height: 2,
    width: 2,
    weights: [new Float32Array([0.1, -0.2, 0.3, -0.4])],
  });
  const trace = figure.data[0] as Record<string, unknown>;
  assert.equal(trace.hovertemplate, "%{z:.3f}<extra></extra>");
  assert.equal(trace.showscale, true);
  assert.deepEqual(trace.colorbar, { title: { text: "weight" } });
  const scale = trace.colorscale as [number, string][];
  assert.equal(scale[1][0], 0.5, "white in the middle, at weight 0");
  assert.deepEqual([trace.zmin, trace.zmax].map((v) => Math.round(Number(v) * 10) / 10), [
    -0.4,
    0.4,
  ]);
});

Deno.test("mistakesFigure() captions every mistake in red, under its image", () => {
  const figure = mistakesFigure({
    images: new Uint8Array(2 * 784),
    mistakes: [
      { index: 1, actual: 2, predicted: 7, confidence: 0.9 },
      { index: 0, actual: 4, predicted: 9, confidence: 0.8 },
    ],
    classNames: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
  });
  const annotations = figure.layout.annotations as { font: { color: string } }[];
  assert.deepEqual(annotations.map((a) => a.font.color), ["#d62728", "#d62728"]);
});
