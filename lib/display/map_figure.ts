/**
 * The map of what the model learned ({@linkcode LearnedMap}) as a Plotly figure, two panels side
 * by side (the penultimate layer's activations, then the raw pixels), and as an output whose page
 * code shows the image under the pointer: the sampled images travel once, as one greyscale PNG
 * sprite, and a `plotly_hover` handler draws the hovered one at 4x with its true class and answer.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import * as pngjs from "pngjs";
import type { LearnedMap } from "../models/learned_map.ts";
import type { Figure } from "./figures.ts";
import { jupyterApi, type MediaBundle, scriptJson, showBundle } from "./jupyter.ts";
import { plotly } from "./plotly.ts";
import { attachImageHover, SPRITE_COLUMNS } from "./map_hover.ts";

const COLORS = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
];

/** One panel's traces: a trace per class (legend shared), then the mistakes marked with an x. */
function panelTraces(
  map: LearnedMap,
  xy: Float32Array,
  classNames: readonly string[],
  panel: 1 | 2,
): Record<string, unknown>[] {
  const axes = panel === 1 ? { xaxis: "x", yaxis: "y" } : { xaxis: "x2", yaxis: "y2" };
  const points = (keep: (k: number) => boolean) => {
    const ks = Array.from(map.labels.keys()).filter(keep);
    return {
      x: ks.map((k) => Number(xy[2 * k].toFixed(3))),
      y: ks.map((k) => Number(xy[2 * k + 1].toFixed(3))),
      // The sprite position, then the true class and the answer, for the hover box and handler.
      customdata: ks.map((k) => [k, classNames[map.labels[k]], classNames[map.predicted[k]]]),
    };
  };
  const hovertemplate = "true %{customdata[1]}, answer %{customdata[2]}<extra></extra>";
  const classes = classNames.map((name, c) => ({
    type: "scatter",
    mode: "markers",
    name,
    legendgroup: name,
    showlegend: panel === 1,
    marker: { size: 4, color: COLORS[c % COLORS.length], opacity: 0.75 },
    hovertemplate,
    ...axes,
    ...points((k) => map.labels[k] === c),
  }));
  const mistakes = {
    type: "scatter",
    mode: "markers",
    name: "mistakes",
    legendgroup: "mistakes",
    showlegend: panel === 1,
    marker: { size: 6, symbol: "x-thin-open", color: "rgba(0,0,0,0.8)", line: { width: 1 } },
    hovertemplate,
    ...axes,
    ...points((k) => map.labels[k] !== map.predicted[k]),
  };
  return [...classes, mistakes];
}

/**
 * The two maps side by side, coloured by true class, mistakes marked with an x; the title says
 * how many of the split's images are drawn.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { learnedMapFigure } from "./map_figure.ts";
 * const map = {
 *   indices: Uint32Array.of(0, 1), labels: Uint8Array.of(0, 1), predicted: Uint8Array.of(0, 0),
 *   activations: Float32Array.of(0, 0, 1, 1), pixels: Float32Array.of(1, 0, 0, 1),
 *   total: 10, mistakes: 1, layer: { name: "dense", units: 64 },
 * };
 * const figure = learnedMapFigure(map, { classNames: ["0", "1"] });
 * assert.equal(figure.data.length, 6, "per panel: two classes and the mistakes");
 * assert.deepEqual(figure.data[2].customdata, [[1, "1", "0"]]);
 * ```
 */
export function learnedMapFigure(
  map: LearnedMap,
  options: { classNames: readonly string[] },
): Figure {
  const { classNames } = options;
  const count = map.labels.length;
  const shown = Math.min(map.mistakes, count >> 2);
  const mistakes = shown === map.mistakes
    ? `its ${map.mistakes} mistakes`
    : `${shown} of its ${map.mistakes} mistakes`;
  const sampled = count < map.total
    ? `${count.toLocaleString("en-US")} of the ${map.total.toLocaleString("en-US")} test images ` +
      `(${mistakes} and a seeded sample of the rest)`
    : `all ${count.toLocaleString("en-US")} test images`;
  const axis = { showticklabels: false, zeroline: false, showgrid: false };
  return {
    data: [
      ...panelTraces(map, map.activations, classNames, 1),
      ...panelTraces(map, map.pixels, classNames, 2),
    ],
    layout: {
      title: { text: `UMAP of ${sampled}` },
      width: 980,
      height: 580,
      margin: { l: 20, r: 20, t: 90, b: 20 },
      hovermode: "closest",
      legend: { itemsizing: "constant" },
      xaxis: { ...axis, domain: [0, 0.47] },
      yaxis: { ...axis },
      xaxis2: { ...axis, domain: [0.5, 0.97] },
      yaxis2: { ...axis, anchor: "x2" },
      annotations: [
        [`what the network computes (${map.layer.name}, ${map.layer.units} numbers)`, 0.235],
        ["the raw pixels (784 numbers)", 0.735],
      ].map(([text, x]) => ({
        text,
        x,
        y: 1.02,
        xref: "paper",
        yref: "paper",
        xanchor: "center",
        showarrow: false,
        font: { size: 13 },
      })),
    },
  };
}

/** Grey levels of the sprite: enough to read a digit, and the PNG is a third smaller than 256. */
export const SPRITE_GREYS = 16;

/** A byte as the sprite stores it: the nearest of {@link SPRITE_GREYS} levels from 0 to 255. */
export function spriteGrey(value: number): number {
  const top = SPRITE_GREYS - 1;
  return Math.round(Math.round(value / 255 * top) * 255 / top);
}

/**
 * The sampled images as one greyscale PNG, {@link SPRITE_COLUMNS} tiles of 28x28 a row, in
 * {@link SPRITE_GREYS} levels.
 */
export function imageSprite(images: Uint8Array, indices: Uint32Array): Uint8Array {
  const rows = Math.max(1, Math.ceil(indices.length / SPRITE_COLUMNS));
  const width = SPRITE_COLUMNS * 28, height = rows * 28;
  const data = new Uint8Array(width * height);
  const levels = Uint8Array.from({ length: 256 }, (_, v) => spriteGrey(v));
  indices.forEach((image, k) => {
    const left = (k % SPRITE_COLUMNS) * 28, top = Math.floor(k / SPRITE_COLUMNS) * 28;
    for (let r = 0; r < 28; r++) {
      const from = image * 784 + r * 28;
      for (let c = 0; c < 28; c++) data[(top + r) * width + left + c] = levels[images[from + c]];
    }
  });
  const png = (pngjs as unknown as {
    PNG: { sync: { write(png: object, options: object): Uint8Array } };
  }).PNG.sync.write({ width, height, data }, {
    colorType: 0,
    inputColorType: 0,
    inputHasAlpha: false,
  });
  return new Uint8Array(png);
}

/**
 * The map's output: the figure (as `showPlot` draws it, so the rendered copy shows it as a
 * picture), the sprite and the hover code, in one `text/html`.
 */
export function learnedMapBundle(
  figure: Figure,
  options: { images: Uint8Array; indices: Uint32Array; newId?: () => string },
): MediaBundle {
  const id = `learned-map-${(options.newId ?? (() => crypto.randomUUID()))()}`;
  const sprite = Buffer.from(imageSprite(options.images, options.indices)).toString("base64");
  const plot = plotly.figureBundle(figure);
  const html = `<div id="${id}" class="learned-map" style="position:relative;width:980px">
${plot["text/html"]}
<div class="learned-map-hover" style="position:absolute;left:862px;top:420px;width:118px;display:flex;flex-direction:column;gap:4px;font:13px system-ui,sans-serif;line-height:1.3;color:#222">
<canvas width="28" height="28" style="width:112px;height:112px;image-rendering:pixelated;border:1px solid #999;background:#000"></canvas>
<span>hover a point to see its image</span></div>
<img class="learned-map-sprite" alt="" style="display:none" src="data:image/png;base64,${sprite}">
</div>
<script type="text/javascript">(${attachImageHover.toString()})(${
    scriptJson(id)
  }, ${SPRITE_COLUMNS});</script>`;
  return { "text/html": html, "text/plain": plot["text/plain"] };
}

/**
 * Shows the map with its hover images in the current cell (plotly.js first if this kernel has
 * not inlined it); outside Jupyter, its one-line description.
 *
 * @example
 * ```ts ignore
 * await showLearnedMap(learnedMapFigure(map, data), { images: data.test.images, indices: map.indices });
 * ```
 */
export async function showLearnedMap(
  figure: Figure,
  options: { images: Uint8Array; indices: Uint32Array },
): Promise<void> {
  const bundle = learnedMapBundle(figure, options);
  if (jupyterApi() === undefined) return console.log(bundle["text/plain"]);
  if (!plotly.libraryLoaded) {
    for (const library of plotly.libraryBundles()) await showBundle(library);
  }
  await showBundle(bundle);
}
