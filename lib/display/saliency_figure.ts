/**
 * Saliency maps ({@linkcode saliencyMap}) of a few images as a Plotly figure: each image in grey
 * on the top row, and under it its map in red (ink that pushed the model towards its answer) and
 * blue (ink that pushed it away), each map scaled to its own largest push.
 *
 * @module
 */
import type { LayersModel } from "@tensorflow/tfjs";
import type { MnistSplit } from "../data/mnist.ts";
import { normalizePixels } from "../data/preprocess.ts";
import { saliencyMap } from "../models/saliency.ts";
import type { Figure } from "./figures.ts";

/** One image to explain. */
export interface SaliencyExample {
  /** 28x28 bytes, row-major. */
  image: Uint8Array;
  /** Its saliency map (28x28, row-major), e.g. `saliencyMap(...).map`. */
  map: Float32Array;
  /** The caption above it, e.g. "true 4<br>answer 9". */
  caption: string;
  /** Draws the caption in red (a mistake). */
  flagged?: boolean;
}

const TILE = 28;
const GAP = 6;
/** Data rows above each image for its two caption lines. */
const CAPTION = 8;
/** The share of the plot's height between the two rows. */
const ROW_GAP = 0.04;

/** One row of tiles as heatmap rows, `null` in the gaps so Plotly leaves them blank. */
function tileRow(tiles: readonly ArrayLike<number>[]): (number | null)[][] {
  return Array.from({ length: TILE }, (_, r) => {
    const row: (number | null)[] = [];
    tiles.forEach((tile, k) => {
      if (k > 0) row.push(...new Array<null>(GAP).fill(null));
      for (let c = 0; c < TILE; c++) row.push(Number(Number(tile[r * TILE + c]).toFixed(3)));
    });
    return row;
  });
}

/**
 * The figure: images on top, their saliency maps below.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { saliencyFigure } from "./saliency_figure.ts";
 * const map = new Float32Array(784);
 * map[0] = -2;
 * map[1] = 1;
 * const figure = saliencyFigure([{ image: new Uint8Array(784), map, caption: "true 4, answer 9" }]);
 * const z = figure.data[1].z as number[][];
 * assert.deepEqual([z[0][0], z[0][1]], [-1, 0.5], "each map scaled to its largest push");
 * ```
 */
export function saliencyFigure(examples: readonly SaliencyExample[]): Figure {
  if (examples.length === 0) throw new RangeError("saliencyFigure() needs at least one example.");
  const scaled = examples.map(({ map }) => {
    const largest = map.reduce((m, v) => Math.max(m, Math.abs(v)), 0) || 1;
    return map.map((v) => v / largest);
  });
  const width = Math.min(1000, 110 * examples.length + 100);
  // Both rows at one scale: each row's height in the plot is in proportion to its data units
  // (the top row also holds the two caption lines), so neither row is shrunk to fit.
  const units = { x: examples.length * (TILE + GAP) - GAP, top: TILE + CAPTION, bottom: TILE };
  const share = (1 - ROW_GAP) / (units.top + units.bottom);
  const bottom = [0, share * units.bottom], top = [bottom[1] + ROW_GAP, 1];
  const plotHeight = (width - 100) / units.x * (units.top + units.bottom) / (1 - ROW_GAP);
  const axis = { visible: false, constrain: "domain" };
  return {
    data: [
      {
        type: "heatmap",
        z: tileRow(examples.map((e) => e.image)),
        colorscale: [[0, "#ffffff"], [1, "#000000"]],
        zmin: 0,
        zmax: 255,
        showscale: false,
        hoverinfo: "skip",
      },
      {
        type: "heatmap",
        z: tileRow(scaled),
        xaxis: "x2",
        yaxis: "y2",
        colorscale: [[0, "#1f77b4"], [0.5, "#ffffff"], [1, "#d62728"]],
        zmin: -1,
        zmax: 1,
        colorbar: { title: { text: "push" }, len: 0.45, y: 0.22, thickness: 12 },
        hovertemplate: "push %{z:.2f}<extra></extra>",
      },
    ],
    layout: {
      title: { text: "What made it say that: red ink pushed towards the answer, blue away" },
      width,
      height: Math.round(plotHeight) + 100,
      margin: { l: 20, r: 80, t: 90, b: 10 },
      xaxis: { ...axis, anchor: "y" },
      yaxis: { ...axis, range: [TILE - 0.5, -0.5 - CAPTION], scaleanchor: "x", domain: top },
      xaxis2: { ...axis, anchor: "y2" },
      yaxis2: { ...axis, range: [TILE - 0.5, -0.5], scaleanchor: "x2", domain: bottom },
      plot_bgcolor: "white",
      annotations: examples.map((e, k) => ({
        text: e.caption,
        x: k * (TILE + GAP) + TILE / 2 - 0.5,
        y: -CAPTION / 2 - 0.5,
        xref: "x",
        yref: "y",
        showarrow: false,
        font: { size: 11, color: e.flagged ? "#d62728" : "#222" },
      })),
    },
  };
}

/**
 * The examples for {@link saliencyFigure}: the saliency map of the model's answer for each of
 * `indices` in `split`, captioned with the true class and the answer (red when wrong).
 *
 * @example
 * ```ts ignore
 * const shown = [0, 1, 2, 3, ...mistakes.slice(0, 4).map((m) => m.index)];
 * saliencyExamples(model, data.test, { indices: shown, classNames: data.classNames });
 * ```
 */
export function saliencyExamples(
  model: LayersModel,
  split: Pick<MnistSplit, "images" | "labels">,
  options: { indices: readonly number[]; classNames: readonly string[] },
): SaliencyExample[] {
  return options.indices.map((i) => {
    const image = split.images.slice(i * 784, (i + 1) * 784);
    const { target, map } = saliencyMap(model, normalizePixels(image));
    const truth = options.classNames[split.labels[i]], answer = options.classNames[target];
    return { image, map, caption: `true ${truth}<br>answer ${answer}`, flagged: truth !== answer };
  });
}
