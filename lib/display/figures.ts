/**
 * The notebook's figures as plain Plotly figure objects (`data` + `layout`), ready for `showPlot`.
 *
 * @module
 */
import type { MnistSplit } from "../data/mnist.ts";
import type { Mistake } from "../training/metrics.ts";
import { normalizePixels } from "../data/preprocess.ts";
import { createRandom } from "../random.ts";
import type { Augmentation } from "../data/augment.ts";
import type { TrainHistory } from "../training/train.ts";
import type { ConvFilters, FeatureMaps } from "../models/inspect.ts";

/** A Plotly figure: traces and layout, as `Plotly.newPlot` takes them. */
export interface Figure {
  data: Record<string, unknown>[];
  layout: Record<string, unknown>;
}

/** Options of {@linkcode digitGridFigure}. */
export interface DigitGridOptions {
  /** 28x28 images, row-major bytes, one after another. */
  images: Uint8Array;
  /** Which images to show, in order. */
  indices: readonly number[];
  /** The caption of each shown image. */
  captions: readonly string[];
  /** Captions to draw in red (wrong predictions). */
  flagged?: readonly boolean[];
  /** Images per row. Default 10. */
  columns?: number;
  title?: string;
}

const TILE = 28;
const GAP_X = 4;
const CAPTION = 16;

/**
 * A grid of digits with a caption above each: one heatmap of all the tiles (light and quick to
 * render), with the captions as annotations.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { digitGridFigure } from "./figures.ts";
 * const figure = digitGridFigure({ images: new Uint8Array(784), indices: [0], captions: ["7"] });
 * assert.ok(figure.layout.annotations !== undefined);
 * ```
 */
export function digitGridFigure(options: DigitGridOptions): Figure {
  const { images, indices, captions } = options;
  if (captions.length !== indices.length) {
    throw new RangeError(
      `${indices.length} images need ${indices.length} captions, got ${captions.length}.`,
    );
  }
  const columns = Math.min(options.columns ?? 10, Math.max(indices.length, 1));
  const rows = Math.ceil(indices.length / columns);
  const cellW = TILE + GAP_X;
  const cellH = TILE + CAPTION;
  // Gaps are null so that Plotly leaves them transparent.
  const z: (number | null)[][] = Array.from(
    { length: rows * cellH },
    () => new Array<number | null>(columns * cellW).fill(null),
  );
  const annotations: Record<string, unknown>[] = [];
  indices.forEach((imageIndex, k) => {
    const top = Math.floor(k / columns) * cellH + CAPTION;
    const left = (k % columns) * cellW;
    const image = images.subarray(imageIndex * 784, (imageIndex + 1) * 784);
    for (let r = 0; r < TILE; r++) {
      for (let c = 0; c < TILE; c++) z[top + r][left + c] = image[r * TILE + c];
    }
    annotations.push({
      x: left + TILE / 2 - 0.5,
      y: top - CAPTION / 2,
      text: captions[k],
      showarrow: false,
      font: { size: 11, color: options.flagged?.[k] ? "#d62728" : "#222" },
    });
  });
  const width = Math.min(1000, columns * 88 + 40);
  return {
    data: [{
      type: "heatmap",
      z,
      colorscale: [[0, "#ffffff"], [1, "#000000"]],
      zmin: 0,
      zmax: 255,
      showscale: false,
      hoverinfo: "skip",
    }],
    layout: {
      title: options.title ? { text: options.title } : undefined,
      annotations,
      width,
      height: Math.round(((width - 40) * rows * cellH) / (columns * cellW)) +
        (options.title ? 80 : 40),
      margin: { l: 20, r: 20, t: options.title ? 60 : 20, b: 20 },
      xaxis: { visible: false, constrain: "domain" },
      yaxis: { visible: false, autorange: "reversed", scaleanchor: "x" },
      plot_bgcolor: "white",
    },
  };
}

/**
 * Loss and accuracy per epoch of a training `history` (as `model.fit` returns it), training
 * against validation, side by side.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { historyFigure } from "./figures.ts";
 * const figure = historyFigure({ loss: [0.2], acc: [0.9], lr: [0.001], seconds: [1] });
 * assert.equal(figure.data.length, 2);
 * ```
 */
export function historyFigure(history: TrainHistory): Figure {
  const epochs = history.loss.map((_, i) => i + 1);
  const line = (
    y: (number | undefined)[],
    name: string,
    axis: 1 | 2,
    color: string,
    dash = "solid",
  ) => ({
    type: "scatter",
    mode: "lines+markers",
    x: epochs,
    y,
    name,
    legendgroup: name.split(" ")[0],
    showlegend: axis === 1,
    xaxis: axis === 1 ? "x" : "x2",
    yaxis: axis === 1 ? "y" : "y2",
    line: { color, dash },
  });
  const data = [
    line(history.loss, "training", 1, "#1f77b4"),
    line(history.acc, "training", 2, "#1f77b4"),
  ];
  if (history.val_loss !== undefined && history.val_acc !== undefined) {
    data.push(line(history.val_loss, "validation", 1, "#ff7f0e", "dash"));
    data.push(line(history.val_acc, "validation", 2, "#ff7f0e", "dash"));
  }
  return {
    data,
    layout: {
      width: 900,
      height: 380,
      margin: { l: 60, r: 20, t: 50, b: 50 },
      xaxis: { domain: [0, 0.45], title: { text: "epoch" }, dtick: 1 },
      yaxis: { title: { text: "loss" } },
      xaxis2: { domain: [0.55, 1], title: { text: "epoch" }, dtick: 1, anchor: "y2" },
      yaxis2: { title: { text: "accuracy" }, anchor: "x2" },
      annotations: [
        { text: "Loss", x: 0.225, y: 1.08, xref: "paper", yref: "paper", showarrow: false },
        { text: "Accuracy", x: 0.775, y: 1.08, xref: "paper", yref: "paper", showarrow: false },
      ],
      legend: { orientation: "h", x: 0.5, xanchor: "center", y: -0.2 },
    },
  };
}

/**
 * The confusion matrix as a heatmap of counts, true class down, predicted class across; hovering a
 * cell shows its share of the true class (the row-normalised rate).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { confusionMatrixFigure } from "./figures.ts";
 * const figure = confusionMatrixFigure([[5, 1], [0, 4]], ["cat", "dog"]);
 * assert.equal(figure.data.length, 1);
 * ```
 */
export function confusionMatrixFigure(matrix: number[][], classNames: readonly string[]): Figure {
  const rates = matrix.map((row) => {
    const total = row.reduce((s, v) => s + v, 0);
    return row.map((v) => (total === 0 ? 0 : v / total));
  });
  const names = [...classNames];
  const maxCount = Math.max(1, ...matrix.flat());
  const ticks = [0, 1, 10, 100, 1000, 10000].filter((t) => t <= maxCount);
  return {
    data: [{
      type: "heatmap",
      // Colour follows log(1 + count), so that a handful of mistakes stands out beside a diagonal
      // of a thousand; the cells and the hover still show the counts themselves.
      z: matrix.map((row) => row.map((v) => Math.log10(1 + v))),
      x: names,
      y: names,
      customdata: rates,
      text: matrix.map((row) => row.map(String)),
      texttemplate: "%{text}",
      colorscale: [[0, "#f7fbff"], [0.5, "#6baed6"], [1, "#08306b"]],
      zmin: 0,
      zmax: Math.log10(1 + maxCount),
      hovertemplate:
        "true %{y}<br>predicted %{x}<br>count %{text}<br>share of true %{y}: %{customdata:.2%}<extra></extra>",
      colorbar: {
        title: { text: "count" },
        tickvals: ticks.map((t) => Math.log10(1 + t)),
        ticktext: ticks.map(String),
      },
    }],
    layout: {
      width: 640,
      height: 600,
      margin: { l: 110, r: 20, t: 40, b: 110 },
      xaxis: {
        title: { text: "predicted" },
        type: "category",
        tickangle: names[0].length > 2 ? -40 : 0,
      },
      yaxis: { title: { text: "true" }, type: "category", autorange: "reversed" },
    },
  };
}

/**
 * The first `count` images of a split, each captioned with its label.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { samplesFigure } from "./figures.ts";
 * const split = { images: new Uint8Array(2 * 784), labels: new Uint8Array([3, 5]), count: 2 };
 * const figure = samplesFigure({ split, classNames: ["0", "1", "2", "3", "4", "5"], count: 2 });
 * assert.equal((figure.layout.annotations as unknown[]).length, 2);
 * ```
 */
export function samplesFigure(
  options: { split: MnistSplit; classNames: readonly string[]; count?: number; title?: string },
): Figure {
  const indices = range(Math.min(options.count ?? 20, options.split.count));
  return digitGridFigure({
    images: options.split.images,
    indices,
    captions: indices.map((i) => options.classNames[options.split.labels[i]]),
    title: options.title,
  });
}

/**
 * Test images captioned with the predicted and the true class; wrong predictions in red.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { predictionsFigure } from "./figures.ts";
 * const split = { images: new Uint8Array(2 * 784), labels: new Uint8Array([1, 0]), count: 2 };
 * const figure = predictionsFigure({ split, predicted: new Uint8Array([1, 1]), classNames: ["0", "1"] });
 * assert.ok(JSON.stringify(figure).includes("#d62728"));
 * ```
 */
export function predictionsFigure(options: {
  split: MnistSplit;
  predicted: Uint8Array;
  classNames: readonly string[];
  count?: number;
  title?: string;
}): Figure {
  const { split, predicted, classNames } = options;
  const indices = range(Math.min(options.count ?? 30, split.count));
  return digitGridFigure({
    images: split.images,
    indices,
    captions: indices.map((i) =>
      `${predicted[i] === split.labels[i] ? "" : "✗ "}${classNames[predicted[i]]}` +
      `<br><span style="color:#888">true ${classNames[split.labels[i]]}</span>`
    ),
    flagged: indices.map((i) => predicted[i] !== split.labels[i]),
    title: options.title,
  });
}

/**
 * The model's most confident mistakes, captioned with the prediction, its probability and the truth.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mistakesFigure } from "./figures.ts";
 * const figure = mistakesFigure({
 *   images: new Uint8Array(784),
 *   mistakes: [{ index: 0, actual: 4, predicted: 9, confidence: 0.97 }],
 *   classNames: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
 * });
 * assert.ok(JSON.stringify(figure).includes("97%"));
 * ```
 */
export function mistakesFigure(options: {
  images: Uint8Array;
  mistakes: readonly Mistake[];
  classNames: readonly string[];
  title?: string;
}): Figure {
  const { mistakes, classNames } = options;
  return digitGridFigure({
    images: options.images,
    indices: mistakes.map((m) => m.index),
    captions: mistakes.map((m) =>
      `${classNames[m.predicted]} (${Math.round(m.confidence * 100)}%)` +
      `<br><span style="color:#888">true ${classNames[m.actual]}</span>`
    ),
    flagged: mistakes.map(() => true),
    title: options.title,
  });
}

/**
 * A few training images, each followed by `copies` randomly augmented versions of it, as the
 * augmented variants see them while training.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { augmentationFigure } from "./figures.ts";
 * const split = { images: new Uint8Array(784).fill(9), labels: new Uint8Array([1]), count: 1 };
 * const shift = (pixels: Float32Array) => pixels.fill(0);
 * const figure = augmentationFigure({ split, augment: shift, count: 1, copies: 2, seed: 1 });
 * assert.equal((figure.layout.annotations as unknown[]).length, 3);
 * ```
 */
export function augmentationFigure(options: {
  split: MnistSplit;
  augment: Augmentation;
  count: number;
  copies: number;
  seed: number;
  title?: string;
}): Figure {
  const { split, count, copies } = options;
  const random = createRandom(options.seed);
  const tiles = Math.min(count, split.count) * (copies + 1);
  const images = new Uint8Array(tiles * 784);
  const captions: string[] = [];
  for (let i = 0; i < Math.min(count, split.count); i++) {
    const original = split.images.subarray(i * 784, (i + 1) * 784);
    const scaled = normalizePixels(original);
    const pixels = new Float32Array(copies * 784);
    for (let c = 0; c < copies; c++) pixels.set(scaled, c * 784);
    options.augment(pixels, copies, random);
    const first = i * (copies + 1);
    images.set(original, first * 784);
    for (let p = 0; p < pixels.length; p++) {
      images[(first + 1) * 784 + p] = Math.round(Math.min(1, Math.max(0, pixels[p])) * 255);
    }
    captions.push("original", ...Array.from({ length: copies }, (_, c) => `augmented ${c + 1}`));
  }
  return digitGridFigure({
    images,
    indices: range(tiles),
    captions,
    columns: copies + 1,
    title: options.title,
  });
}

/** Options of {@linkcode heatmapGridFigure}. */
export interface HeatmapGridOptions {
  /** The tiles, each `height * width` values, row-major. */
  tiles: readonly Float32Array[];
  height: number;
  width: number;
  /** Tiles per row. */
  columns: number;
  /** The colour range, `[zmin, zmax]`. */
  range: readonly [number, number];
  /** Plotly colour scale, from `zmin` to `zmax`. */
  colorscale: readonly (readonly [number, string])[];
  /** Screen pixels per tile side. Default 48. */
  tilePixels?: number;
  /** A colour bar with this title; none by default. */
  colorbarTitle?: string;
  title?: string;
}

/**
 * Small images of numbers (filters, feature maps) side by side: one heatmap of all the tiles with
 * one empty pixel between them, so that it stays light to draw even with hundreds of tiles.
 *
 * @throws {RangeError} when a tile does not have `height * width` values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { heatmapGridFigure } from "./figures.ts";
 * const figure = heatmapGridFigure({
 *   tiles: [new Float32Array([1, 2, 3, 4]), new Float32Array([5, 6, 7, 8])],
 *   height: 2, width: 2, columns: 2, range: [0, 8], colorscale: [[0, "white"], [1, "black"]],
 * });
 * const z = (figure.data[0] as { z: (number | null)[][] }).z;
 * assert.deepEqual(z, [[1, 2, null, 5, 6], [3, 4, null, 7, 8]]);
 * ```
 */
export function heatmapGridFigure(options: HeatmapGridOptions): Figure {
  const { tiles, height, width } = options;
  const columns = Math.max(1, Math.min(options.columns, tiles.length));
  const rows = Math.ceil(tiles.length / columns);
  const z: (number | null)[][] = Array.from(
    { length: rows * (height + 1) - 1 },
    () => new Array<number | null>(columns * (width + 1) - 1).fill(null),
  );
  tiles.forEach((tile, k) => {
    if (tile.length !== height * width) {
      throw new RangeError(
        `Tile ${k} has ${tile.length} values; a ${height}x${width} tile needs ${height * width}.`,
      );
    }
    const top = Math.floor(k / columns) * (height + 1);
    const left = (k % columns) * (width + 1);
    for (let r = 0; r < height; r++) {
      for (let c = 0; c < width; c++) z[top + r][left + c] = tile[r * width + c];
    }
  });
  const scale = (options.tilePixels ?? 48) / width;
  const top = options.title ? 50 : 10;
  const right = options.colorbarTitle ? 90 : 10;
  return {
    data: [{
      type: "heatmap",
      z,
      zmin: options.range[0],
      zmax: options.range[1],
      colorscale: options.colorscale,
      showscale: options.colorbarTitle !== undefined,
      ...(options.colorbarTitle ? { colorbar: { title: { text: options.colorbarTitle } } } : {}),
      hovertemplate: "%{z:.3f}<extra></extra>",
    }],
    layout: {
      title: options.title ? { text: options.title } : undefined,
      width: Math.round(z[0].length * scale) + 10 + right,
      height: Math.round(z.length * scale) + top + 10,
      margin: { l: 10, r: right, t: top, b: 10 },
      xaxis: { visible: false, constrain: "domain" },
      yaxis: { visible: false, autorange: "reversed", scaleanchor: "x" },
      plot_bgcolor: "white",
    },
  };
}

/**
 * The filters of a convolution layer as small images: red weights add, blue weights subtract, so
 * a filter with red above blue answers to a horizontal edge, dark above light.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { filtersFigure } from "./figures.ts";
 * const weights = [new Float32Array(9).fill(0.5), new Float32Array(9).fill(-0.25)];
 * const figure = filtersFigure({ layer: "conv2d", height: 3, width: 3, weights });
 * const trace = figure.data[0] as { zmin: number; zmax: number };
 * assert.deepEqual([trace.zmin, trace.zmax], [-0.5, 0.5], "a colour range symmetric around 0");
 * ```
 */
export function filtersFigure(filters: ConvFilters, options: { columns?: number } = {}): Figure {
  const largest = Math.max(1e-9, ...filters.weights.map((w) => Math.max(...w.map(Math.abs))));
  return heatmapGridFigure({
    tiles: filters.weights,
    height: filters.height,
    width: filters.width,
    columns: options.columns ?? 8,
    range: [-largest, largest],
    colorscale: [[0, "#2166ac"], [0.5, "#f7f7f7"], [1, "#b2182b"]],
    tilePixels: 48,
    colorbarTitle: "weight",
    title: `The ${filters.weights.length} filters of ${filters.layer} ` +
      `(${filters.height}x${filters.width} weights each)`,
  });
}

/**
 * The feature maps of one convolution layer for one image: dark where a filter answers strongly.
 * Each map is scaled to its own strongest answer, so that weak but telling patterns show too.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { featureMapsFigure } from "./figures.ts";
 * const maps = [new Float32Array([0, 2, 4, 0]), new Float32Array(4)];
 * const figure = featureMapsFigure({ layer: "conv2d", height: 2, width: 2, maps });
 * const z = (figure.data[0] as { z: (number | null)[][] }).z;
 * assert.deepEqual(z[0].slice(0, 2), [0, 0.5], "each map scaled to its maximum");
 * ```
 */
export function featureMapsFigure(
  layer: FeatureMaps,
  options: { columns?: number; title?: string } = {},
): Figure {
  const scaled = layer.maps.map((map) => {
    const largest = Math.max(...map);
    return largest > 0 ? map.map((v) => v / largest) : new Float32Array(map.length);
  });
  return heatmapGridFigure({
    tiles: scaled,
    height: layer.height,
    width: layer.width,
    columns: options.columns ?? (layer.maps.length > 32 ? 16 : 8),
    range: [0, 1],
    colorscale: [[0, "#ffffff"], [1, "#08306b"]],
    tilePixels: layer.maps.length > 32 ? 44 : 72,
    title: options.title ??
      `${layer.layer}: ${layer.maps.length} feature maps of ${layer.height}x${layer.width}`,
  });
}

function range(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}
