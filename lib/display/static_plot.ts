/**
 * Static pictures of Plotly figures, for viewers that run no scripts (GitHub, VS Code's preview,
 * nbviewer): one headless Chromium session loads the same plotly.js the notebook inlines and asks
 * it for `Plotly.toImage` of each figure object. There is no second plotting code: the picture is
 * what the interactive figure draws.
 *
 * @module
 */
import { Chromium, type ChromiumOptions } from "./chromium.ts";
import { DEFAULT_PLOT_CONFIG, type PlotlyFigure, readPlotlySource } from "./plotly.ts";

/** Options of {@link renderFigureImages}. */
export interface RenderImagesOptions extends ChromiumOptions {
  /** Device pixels per CSS pixel. Default 1: the picture has the figure's own size. */
  scale?: number;
  /** Returns the plotly.js source; defaults to the inlined library's {@link readPlotlySource}. */
  librarySource?: () => string;
}

/** Width and height of a figure's picture: its layout's, else Plotly's defaults. */
export function figureSize(figure: PlotlyFigure): { width: number; height: number } {
  const width = Number(figure.layout?.width);
  const height = Number(figure.layout?.height);
  return {
    width: Number.isFinite(width) && width > 0 ? width : 700,
    height: Number.isFinite(height) && height > 0 ? height : 450,
  };
}

/**
 * Draws each figure as a PNG in one Chromium session and returns the pictures as base64 strings
 * (what a Jupyter `image/png` output holds), in the order of the figures.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderFigureImages } from "./static_plot.ts";
 * const [png] = await renderFigureImages([{
 *   data: [{ type: "bar", x: ["a", "b"], y: [1, 2] }],
 *   layout: { width: 300, height: 200 },
 * }]);
 * const bytes = Uint8Array.from(atob(png), (c) => c.charCodeAt(0));
 * assert.deepEqual([...bytes.subarray(1, 4)], [80, 78, 71]); // "PNG"
 * ```
 */
export async function renderFigureImages(
  figures: readonly PlotlyFigure[],
  options: RenderImagesOptions = {},
): Promise<string[]> {
  if (figures.length === 0) return [];
  const browser = await Chromium.launch(options);
  try {
    await browser.evaluate(
      `(function (define, module, exports) {${(options.librarySource ?? readPlotlySource)()}
})(undefined, undefined, undefined); typeof window.Plotly.toImage`,
    );
    const images: string[] = [];
    for (const figure of figures) {
      const { width, height } = figureSize(figure);
      const spec = JSON.stringify({
        data: figure.data,
        layout: figure.layout ?? {},
        config: { ...DEFAULT_PLOT_CONFIG, ...figure.config, responsive: false },
      });
      const url = await browser.evaluate(
        `Plotly.toImage(${spec}, { format: "png", width: ${width}, height: ${height}, ` +
          `scale: ${options.scale ?? 1} })`,
      );
      const match = typeof url === "string" ? url.match(/^data:image\/png;base64,(.+)$/s) : null;
      if (match === null) throw new Error("Plotly.toImage did not return a PNG data URL.");
      images.push(match[1]);
    }
    return images;
  } finally {
    await browser.close();
  }
}
