/**
 * Plotly figures that render OFFLINE, both live in Jupyter and in the standalone HTML written by
 * `nbconvert --to html`: the plotly.js library (the minified build, from the npm package
 * `plotly.js-dist-min`) is inlined once per kernel session, by an explicit {@link loadPlotly}
 * cell or else by the first {@link showPlot}.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { gzipSync } from "node:zlib";
import { jupyterApi, type MediaBundle, scriptJson, showBundle } from "./jupyter.ts";

/** A Plotly figure: `data` traces, a `layout`, and optional `config` (plotly.js schema). */
export interface PlotlyFigure {
  /** Traces, e.g. `[{ type: "scatter", x: [1, 2], y: [3, 4] }]`. */
  data: readonly Record<string, unknown>[];
  /** Layout, e.g. `{ title: { text: "Loss" } }`. */
  layout?: Record<string, unknown>;
  /** Config, e.g. `{ displaylogo: false }`; merged over {@link DEFAULT_PLOT_CONFIG}. */
  config?: Record<string, unknown>;
}

/**
 * Plotly config applied to every figure: resized with the page, no Plotly logo. (plotly.js 4 has
 * no Chart Studio link any more, so no `showLink: false`.)
 */
export const DEFAULT_PLOT_CONFIG: Readonly<Record<string, unknown>> = {
  responsive: true,
  displaylogo: false,
};

/**
 * Plotly's MIME type for a figure object (`{data, layout, config}`), as plotly.py also emits it.
 * Frontends without a Plotly renderer skip it and show the `text/html` beside it.
 */
export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

/** Options for {@link PlotlyRenderer}. */
export interface PlotlyRendererOptions {
  /** Returns the plotly.js source; defaults to reading the npm package `plotly.js-dist-min`. */
  librarySource?: () => string;
  /** Produces unique element ids; defaults to `crypto.randomUUID()`. */
  newId?: () => string;
  /** Library characters per output; defaults to {@link LIBRARY_CHUNK_CHARS}. */
  chunkChars?: number;
}

/**
 * Reads the plotly.js bundle from the installed npm package `plotly.js-dist-min`
 * (pinned in deno.json), so plots never need the network.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readPlotlySource } from "./plotly.ts";
 * assert.ok(readPlotlySource().includes("window.Plotly = Plotly"));
 * ```
 */
export function readPlotlySource(): string {
  const url = new URL(import.meta.resolve("plotly.js-dist-min"));
  try {
    return Deno.readTextFileSync(url);
  } catch (error) {
    throw new Error(
      `Cannot read the plotly.js library at ${url.pathname} (${error}). ` +
        "Run `deno install` in the repository to populate node_modules.",
    );
  }
}

/**
 * Largest plotly.js slice per output. Deno 2.9.6's kernel sends IOPub messages of ~10 MB or
 * more with an invalid HMAC signature (jupyter_client then rejects them), and plotly.js-dist
 * is 11 MB, so the library is shipped in several outputs of at most this many characters.
 */
export const LIBRARY_CHUNK_CHARS = 2_000_000;

/**
 * Builds the Plotly outputs and remembers whether this kernel session has already emitted
 * the library. The state lives in the (per-kernel) module instance, so a kernel restart
 * starts over and the next figure inlines the library again.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PlotlyRenderer } from "./plotly.ts";
 * const renderer = new PlotlyRenderer({ librarySource: () => "window.Plotly = {};" });
 * const first = renderer.bundlesFor({ data: [{ y: [1, 2, 3] }] });
 * const second = renderer.bundlesFor({ data: [{ y: [3, 2, 1] }] });
 * // The library (one slice and the script that runs it) and the figure; then the figure only.
 * assert.deepEqual([first.length, second.length], [3, 1]);
 * ```
 */
export class PlotlyRenderer {
  #loaded = false;
  #librarySource: () => string;
  #newId: () => string;
  #chunkChars: number;

  /** Creates a renderer; see {@link PlotlyRendererOptions}. */
  constructor(options: PlotlyRendererOptions = {}) {
    this.#librarySource = options.librarySource ?? readPlotlySource;
    this.#newId = options.newId ?? (() => crypto.randomUUID());
    this.#chunkChars = options.chunkChars ?? LIBRARY_CHUNK_CHARS;
  }

  /** Whether the library has been emitted in this session. */
  get libraryLoaded(): boolean {
    return this.#loaded;
  }

  /** Forgets that the library was emitted (e.g. after clearing all outputs in JupyterLab). */
  reset(): void {
    this.#loaded = false;
  }

  /**
   * The outputs that define `window.Plotly`: the source, as JSON string slices pushed onto
   * `window.__plotlyChunks`, then a script that joins and runs it with `define`, `module`
   * and `exports` shadowed, so the UMD wrapper never registers plotly as an AMD/CommonJS
   * module (classic Notebook and nbconvert pages may load require.js) and always sets the
   * global. It then fires `plotly-ready` for figures that were waiting. Marks the library
   * as loaded.
   */
  libraryBundles(): MediaBundle[] {
    // Gzipped and in base64, the 4.8 MB library takes 1.9 MB of the notebook instead of 5.4 MB
    // as an escaped string; the page unzips it with the browser's own DecompressionStream.
    const packed = Buffer.from(gzipSync(new TextEncoder().encode(this.#librarySource()))).toString(
      "base64",
    );
    const bundles: MediaBundle[] = [];
    const count = Math.max(1, Math.ceil(packed.length / this.#chunkChars));
    for (let i = 0; i < count; i++) {
      const slice = packed.slice(i * this.#chunkChars, (i + 1) * this.#chunkChars);
      bundles.push({
        "text/html": `<script type="text/javascript">(window.__plotlyChunks = ` +
          `window.__plotlyChunks || [])[${i}] = "${slice}";</script>`,
        "text/plain": `[plotly.js part ${i + 1}/${count}]`,
      });
    }
    bundles.push({
      "text/html": `<script type="text/javascript">(function () {
  var packed = atob(window.__plotlyChunks.slice(0, ${count}).join(""));
  window.__plotlyChunks = undefined;
  var bytes = new Uint8Array(packed.length);
  for (var i = 0; i < packed.length; i++) bytes[i] = packed.charCodeAt(i);
  var unzipped = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  new Response(unzipped).text().then(function (source) {
    new Function("define", "module", "exports", source).call(window);
    window.dispatchEvent(new Event("plotly-ready"));
  });
})();</script><div style="font-size:small;color:#777">plotly.js loaded (inlined for offline use)</div>`,
      "text/plain": "plotly.js loaded",
    });
    this.#loaded = true;
    return bundles;
  }

  /**
   * The HTML for one figure: a div plus a script that calls `Plotly.newPlot` as soon as
   * `window.Plotly` exists (now, on the `plotly-ready` event, or by polling for 10 s, after
   * which it explains how to reload the library).
   */
  figureHtml(figure: PlotlyFigure, id = `plotly-${this.#newId()}`): string {
    const hint = "plotly.js is not loaded in this page: run a cell with " +
      "<code>await loadPlotly()</code> (or re-run the notebook) and reload.";
    // The figure is stored once, as JSON the drawing script reads back and `figureOf` finds.
    return `<div id="${id}" class="plotly-figure" style="min-height:360px"></div>
<script type="application/json" class="${FIGURE_JSON_CLASS}" id="${id}-figure">${
      scriptJson(completeFigure(figure))
    }</script>
<script type="text/javascript">(function () {
  var id = ${scriptJson(id)}, done = false, tries = 0;
  function draw() {
    var el = document.getElementById(id);
    if (done || !el || !window.Plotly) return false;
    done = true;
    var figure = JSON.parse(document.getElementById(id + "-figure").textContent);
    window.Plotly.newPlot(el, figure.data, figure.layout, figure.config);
    return true;
  }
  if (draw()) return;
  window.addEventListener("plotly-ready", draw);
  var timer = setInterval(function () {
    if (draw() || ++tries > 100) {
      clearInterval(timer);
      var el = document.getElementById(id);
      if (!done && el) el.innerHTML = ${scriptJson(hint)};
    }
  }, 100);
})();</script>`;
  }

  /** The outputs to show for a figure: the library first if this session lacks it. */
  bundlesFor(figure: PlotlyFigure, options: FigureOutputOptions = {}): MediaBundle[] {
    const library = this.#loaded ? [] : this.libraryBundles();
    return [...library, this.figureBundle(figure, options)];
  }

  /**
   * The display bundle for a figure: the HTML above (which holds the figure object once, for the
   * page and for `deno task publish`, see {@link figureOf}), then `options.after`'s HTML, and a
   * plain-text description.
   */
  figureBundle(figure: PlotlyFigure, options: FigureOutputOptions = {}): MediaBundle {
    const id = `plotly-${this.#newId()}`;
    return {
      "text/html": this.figureHtml(figure, id) + (options.after?.(id) ?? ""),
      "text/plain": describeFigure(figure),
    };
  }
}

/** Options of {@link showPlot} and {@link PlotlyRenderer.figureBundle}. */
export interface FigureOutputOptions {
  /**
   * HTML shown after the figure in the same output, given the id of the figure's element: for
   * example a panel and a script that listens to the figure's `plotly_click` events. Viewers that
   * run no scripts get the figure's picture only (`deno task publish` replaces the whole output).
   */
  after?: (id: string) => string;
}

/** The class of the `<script type="application/json">` that holds a figure in its HTML. */
const FIGURE_JSON_CLASS = "plotly-figure-json";

/** A figure with its layout and the merged config filled in, as it is drawn. */
function completeFigure(figure: PlotlyFigure): Required<PlotlyFigure> {
  return {
    data: figure.data,
    layout: figure.layout ?? {},
    config: { ...DEFAULT_PLOT_CONFIG, ...figure.config },
  };
}

/**
 * The figure object an output shows: under Plotly's MIME type {@link PLOTLY_MIME}, or in the
 * HTML that {@link PlotlyRenderer.figureBundle} makes; `undefined` for other outputs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { figureOf, PlotlyRenderer } from "./plotly.ts";
 * const bundle = new PlotlyRenderer().figureBundle({ data: [{ y: [1, 2] }], layout: { width: 300 } });
 * assert.deepEqual(figureOf(bundle)?.layout, { width: 300 });
 * assert.equal(figureOf({ "text/plain": "hello" }), undefined);
 * ```
 */
export function figureOf(data: Record<string, unknown>): PlotlyFigure | undefined {
  if (data[PLOTLY_MIME] !== undefined) return data[PLOTLY_MIME] as PlotlyFigure;
  const html = data["text/html"];
  const text = Array.isArray(html) ? html.join("") : typeof html === "string" ? html : "";
  const match = new RegExp(
    `<script type="application/json" class="${FIGURE_JSON_CLASS}"[^>]*>` +
      "([^<]*)</script>",
  ).exec(text);
  return match ? JSON.parse(match[1]) as Required<PlotlyFigure> : undefined;
}

/** One-line text fallback for a figure: its title and trace count. */
function describeFigure(figure: PlotlyFigure): string {
  const title = figure.layout?.title;
  const text = typeof title === "string"
    ? title
    : typeof title === "object" && title !== null && "text" in title
    ? String(title.text)
    : "untitled";
  return `[Plotly figure: ${text}, ${figure.data.length} trace(s)]`;
}

/** The renderer used by {@link showPlot} and {@link loadPlotly} in this kernel session. */
export const plotly: PlotlyRenderer = new PlotlyRenderer();

/**
 * Inlines the plotly.js library into the current cell's output, every time it runs, and marks
 * it loaded for this kernel session so that {@link showPlot} does not repeat it. Optional:
 * without it the first figure carries the library. Recommended as an early cell: then
 * "Run All" without a kernel restart still saves a notebook whose plots render offline
 * (without it, the re-run first figure would skip the library, since the session already
 * emitted it into outputs that Run All has cleared).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadPlotly, plotly } from "./plotly.ts";
 * await loadPlotly(); // in Jupyter: the library, inlined; elsewhere a line saying so
 * assert.equal(plotly.libraryLoaded, false, "nothing is marked loaded outside Jupyter");
 * ```
 */
export async function loadPlotly(): Promise<void> {
  if (jupyterApi() === undefined) {
    console.log("[plotly.js is only loaded inside Jupyter]");
    return;
  }
  for (const bundle of plotly.libraryBundles()) await showBundle(bundle);
}

/**
 * Shows a Plotly figure inline (works offline in JupyterLab and in the nbconvert HTML).
 * Outside Jupyter it prints a one-line description instead.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { showPlot } from "./plotly.ts";
 * const printed: string[] = [];
 * const log = console.log;
 * console.log = (text: string) => printed.push(text);
 * await showPlot({
 *   data: [{ type: "scatter", mode: "lines", x: [1, 2, 3], y: [0.9, 0.5, 0.3], name: "loss" }],
 *   layout: { title: { text: "Training loss" }, xaxis: { title: { text: "epoch" } } },
 * }).finally(() => console.log = log);
 * assert.deepEqual(printed, ["[Plotly figure: Training loss, 1 trace(s)]"]);
 * ```
 */
export async function showPlot(
  figure: PlotlyFigure,
  options: FigureOutputOptions = {},
): Promise<void> {
  if (jupyterApi() === undefined) {
    console.log(describeFigure(figure));
    return;
  }
  for (const bundle of plotly.bundlesFor(figure, options)) await showBundle(bundle);
}
