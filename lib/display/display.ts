/**
 * Rich display helpers for notebook cells running in the Deno Jupyter kernel.
 *
 * - {@link showPlot}: a Plotly figure that renders OFFLINE, both live in JupyterLab and in the
 *   standalone HTML written by `nbconvert --to html`. The plotly.js library is inlined once per
 *   kernel session (by an explicit {@link loadPlotly} cell, or else by the first plot).
 * - {@link ProgressDisplay}: one live, throttled, in-place updating progress line/bar.
 * - {@link showHtml}, {@link showSvg}, {@link showText}: small conveniences.
 *
 * Everything is importable outside Jupyter (tests, scripts): there `Deno.jupyter` throws on
 * access, so the helpers fall back to plain text on stdout / an updating line on stderr.
 *
 * @module
 */

/** A MIME bundle as understood by Jupyter frontends (`{"text/html": "...", ...}`). */
export type MediaBundle = Deno.jupyter.MediaBundle;

/** Sends a Jupyter IOPub message; {@link Deno.jupyter.broadcast} in the kernel. */
export type Broadcast = (msgType: string, content: Record<string, unknown>) => Promise<void>;

/**
 * Returns `Deno.jupyter` inside the Deno kernel, `undefined` elsewhere.
 *
 * Accessing `Deno.jupyter` outside `deno jupyter` throws, hence the try/catch.
 *
 * @example
 * ```ts
 * import { jupyterApi } from "./display.ts";
 * console.log(jupyterApi() === undefined ? "plain Deno" : "Jupyter kernel");
 * ```
 */
export function jupyterApi(): typeof Deno.jupyter | undefined {
  try {
    return Deno.jupyter;
  } catch {
    return undefined;
  }
}

/**
 * Escapes text for use inside HTML element content or a double-quoted attribute.
 *
 * @example
 * ```ts
 * import { escapeHtml } from "./display.ts";
 * console.log(escapeHtml(`<b title="x">&</b>`)); // &lt;b title=&quot;x&quot;&gt;&amp;&lt;/b&gt;
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;").replaceAll("'", "&#39;");
}

/**
 * Serialises a value as JSON that is safe to embed inside an HTML `<script>` element:
 * `<`, `>`, `&` and the JS line separators are \u-escaped, so a string such as `"</script>"`
 * in a plot title cannot end the script early.
 *
 * @example
 * ```ts
 * import { scriptJson } from "./display.ts";
 * console.log(scriptJson({ title: "</script>" })); // {"title":"\u003c/script\u003e"}
 * ```
 */
export function scriptJson(value: unknown): string {
  const json = JSON.stringify(value ?? null);
  return json.replaceAll("<", "\\u003c").replaceAll(">", "\\u003e").replaceAll("&", "\\u0026")
    .replaceAll("\u2028", "\\u2028").replaceAll("\u2029", "\\u2029");
}

/**
 * Displays a MIME bundle in the current cell; outside Jupyter prints its `text/plain`.
 *
 * @example
 * ```ts
 * import { showBundle } from "./display.ts";
 * await showBundle({ "text/plain": "hello", "text/html": "<b>hello</b>" });
 * ```
 */
export async function showBundle(bundle: MediaBundle): Promise<void> {
  const jupyter = jupyterApi();
  if (jupyter === undefined) {
    console.log(bundle["text/plain"] ?? "[rich output: only visible in Jupyter]");
    return;
  }
  await jupyter.display(bundle, { raw: true });
}

/**
 * Displays raw HTML (trusted: it is not sanitised) with a plain-text fallback.
 *
 * @example
 * ```ts
 * import { showHtml } from "./display.ts";
 * await showHtml("<p>Test accuracy: <b>98.9%</b></p>", "Test accuracy: 98.9%");
 * ```
 */
export async function showHtml(html: string, text = "[HTML output]"): Promise<void> {
  await showBundle({ "text/html": html, "text/plain": text });
}

/**
 * Displays an SVG image. It is sent as `image/svg+xml` AND inline in `text/html`, because
 * nbconvert 6.5's HTML export drops a bare `image/svg+xml` output.
 *
 * @example
 * ```ts
 * import { showSvg } from "./display.ts";
 * await showSvg('<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20"><circle cx="10" cy="10" r="8"/></svg>');
 * ```
 */
export async function showSvg(svg: string, text = "[SVG image]"): Promise<void> {
  await showBundle({ "image/svg+xml": svg, "text/html": svg, "text/plain": text });
}

/**
 * Displays preformatted text (monospace), e.g. a model summary.
 *
 * @example
 * ```ts
 * import { showText } from "./display.ts";
 * await showText("Layer  Params\nconv1  320");
 * ```
 */
export async function showText(text: string): Promise<void> {
  await showBundle({ "text/plain": text });
}

// ---------------------------------------------------------------------------------------------
// Plotly

/** A Plotly figure: `data` traces, a `layout`, and optional `config` (plotly.js schema). */
export interface PlotlyFigure {
  /** Traces, e.g. `[{ type: "scatter", x: [1, 2], y: [3, 4] }]`. */
  data: readonly Record<string, unknown>[];
  /** Layout, e.g. `{ title: { text: "Loss" } }`. */
  layout?: Record<string, unknown>;
  /** Config, e.g. `{ displaylogo: false }`; merged over {@link DEFAULT_PLOT_CONFIG}. */
  config?: Record<string, unknown>;
}

/** Plotly config applied to every figure (no network: no "edit in Chart Studio" link). */
export const DEFAULT_PLOT_CONFIG: Readonly<Record<string, unknown>> = {
  responsive: true,
  displaylogo: false,
  showLink: false,
};

/** Options for {@link PlotlyRenderer}. */
export interface PlotlyRendererOptions {
  /** Returns the plotly.js source; defaults to reading the npm package `plotly.js-dist`. */
  librarySource?: () => string;
  /** Produces unique element ids; defaults to `crypto.randomUUID()`. */
  newId?: () => string;
  /** Library characters per output; defaults to {@link LIBRARY_CHUNK_CHARS}. */
  chunkChars?: number;
}

/**
 * Reads the plotly.js bundle from the installed npm package `plotly.js-dist`
 * (pinned in deno.json), so plots never need the network.
 *
 * @example
 * ```ts
 * import { readPlotlySource } from "./display.ts";
 * console.log(readPlotlySource().length > 1_000_000);
 * ```
 */
export function readPlotlySource(): string {
  const url = new URL(import.meta.resolve("plotly.js-dist"));
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
 * import { PlotlyRenderer } from "./display.ts";
 * const renderer = new PlotlyRenderer({ librarySource: () => "window.Plotly = {};" });
 * const first = renderer.bundlesFor({ data: [{ y: [1, 2, 3] }] });
 * const second = renderer.bundlesFor({ data: [{ y: [3, 2, 1] }] });
 * console.log(first.length, second.length); // 2 1  (library + figure, then figure only)
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
    const source = this.#librarySource();
    const bundles: MediaBundle[] = [];
    const count = Math.max(1, Math.ceil(source.length / this.#chunkChars));
    for (let i = 0; i < count; i++) {
      const slice = source.slice(i * this.#chunkChars, (i + 1) * this.#chunkChars);
      bundles.push({
        "text/html": `<script type="text/javascript">(window.__plotlyChunks = ` +
          `window.__plotlyChunks || [])[${i}] = ${scriptJson(slice)};</script>`,
        "text/plain": `[plotly.js part ${i + 1}/${count}]`,
      });
    }
    bundles.push({
      "text/html": `<script type="text/javascript">(function () {
  var source = window.__plotlyChunks.slice(0, ${count}).join("");
  window.__plotlyChunks = undefined;
  new Function("define", "module", "exports", source).call(window);
  window.dispatchEvent(new Event("plotly-ready"));
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
  figureHtml(figure: PlotlyFigure): string {
    const id = `plotly-${this.#newId()}`;
    const data = scriptJson(figure.data);
    const layout = scriptJson(figure.layout ?? {});
    const config = scriptJson({ ...DEFAULT_PLOT_CONFIG, ...figure.config });
    const hint = "plotly.js is not loaded in this page: run a cell with " +
      "<code>await loadPlotly()</code> (or re-run the notebook) and reload.";
    return `<div id="${id}" class="plotly-figure" style="min-height:360px"></div>
<script type="text/javascript">(function () {
  var id = ${scriptJson(id)}, done = false, tries = 0;
  function draw() {
    var el = document.getElementById(id);
    if (done || !el || !window.Plotly) return false;
    done = true;
    window.Plotly.newPlot(el, ${data}, ${layout}, ${config});
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
  bundlesFor(figure: PlotlyFigure): MediaBundle[] {
    const library = this.#loaded ? [] : this.libraryBundles();
    return [...library, this.figureBundle(figure)];
  }

  /** The display bundle for a figure: the HTML above plus a plain-text description. */
  figureBundle(figure: PlotlyFigure): MediaBundle {
    return { "text/html": this.figureHtml(figure), "text/plain": describeFigure(figure) };
  }
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
 * import { loadPlotly } from "./display.ts";
 * await loadPlotly();
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
 * import { showPlot } from "./display.ts";
 * await showPlot({
 *   data: [{ type: "scatter", mode: "lines", x: [1, 2, 3], y: [0.9, 0.5, 0.3], name: "loss" }],
 *   layout: { title: { text: "Training loss" }, xaxis: { title: { text: "epoch" } } },
 * });
 * ```
 */
export async function showPlot(figure: PlotlyFigure): Promise<void> {
  if (jupyterApi() === undefined) {
    console.log(describeFigure(figure));
    return;
  }
  for (const bundle of plotly.bundlesFor(figure)) await showBundle(bundle);
}

// ---------------------------------------------------------------------------------------------
// Progress

/** Values shown after the bar, in insertion order, e.g. `{ epoch: "1/3", loss: 0.41 }`. */
export type ProgressFields = Record<string, string | number>;

/** One progress state: `value` out of `total` plus labelled fields. */
export interface ProgressState {
  /** Work done so far (e.g. samples or batches seen). */
  value: number;
  /** Total work; the bar shows `value / total`. */
  total: number;
  /** Labelled values such as epoch, batch, loss, accuracy, samples/s, ETA. */
  fields?: ProgressFields;
}

/** Options for {@link ProgressDisplay}. */
export interface ProgressOptions {
  /** Label shown before the bar, e.g. "Training". */
  title?: string;
  /** Minimum milliseconds between two published updates (default 250, i.e. <= 4/s). */
  minIntervalMs?: number;
  /** Clock in ms; injectable for tests. Defaults to `performance.now()`. */
  now?: () => number;
  /** IOPub sender; defaults to `Deno.jupyter.broadcast` inside the kernel. */
  broadcast?: Broadcast;
  /** Terminal writer used outside Jupyter; defaults to writing to stderr. */
  write?: (text: string) => void;
  /** Display id; defaults to a random one. */
  displayId?: string;
}

/**
 * Formats a field value: integers as they are, large numbers without decimals, others with
 * four significant digits.
 *
 * @example
 * ```ts
 * import { formatValue } from "./display.ts";
 * console.log(formatValue(0.412345), formatValue(1450.7), formatValue(12)); // 0.4123 1451 12
 * ```
 */
export function formatValue(value: string | number): string {
  if (typeof value === "string") return value;
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return String(value);
  if (Math.abs(value) >= 100) return value.toFixed(0);
  return String(Number(value.toPrecision(4)));
}

/**
 * Renders a progress state as text/plain and text/html.
 *
 * @example
 * ```ts
 * import { progressBundle } from "./display.ts";
 * const bundle = progressBundle("Training", { value: 30, total: 60, fields: { loss: 0.5 } });
 * console.log(bundle["text/plain"]); // Training [##########..........]  50% | loss 0.5
 * ```
 */
export function progressBundle(title: string, state: ProgressState): MediaBundle {
  const fraction = state.total > 0 ? Math.min(1, Math.max(0, state.value / state.total)) : 0;
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  const width = 20;
  const filled = Math.round(fraction * width);
  const fields = Object.entries(state.fields ?? {});
  const plainFields = fields.map(([k, v]) => `${k} ${formatValue(v)}`).join(" | ");
  const prefix = title ? `${title} ` : "";
  const text = `${prefix}[${"#".repeat(filled)}${".".repeat(width - filled)}] ${percent}` +
    (plainFields ? ` | ${plainFields}` : "");
  const htmlFields = fields.map(([k, v]) =>
    `<span style="margin-left:1em"><span style="color:#777">${escapeHtml(k)}</span> ` +
    `<b>${escapeHtml(formatValue(v))}</b></span>`
  ).join("");
  const html = `<div class="progress-display" style="font-family:monospace;font-size:13px">` +
    (title ? `<span style="margin-right:0.5em">${escapeHtml(title)}</span>` : "") +
    `<progress value="${fraction.toFixed(4)}" max="1" style="width:12em;vertical-align:middle">` +
    `</progress> <span>${percent.trim()}</span>${htmlFields}</div>`;
  return { "text/plain": text, "text/html": html };
}

/**
 * A single live progress display. Inside Jupyter it is one output that is replaced in place
 * (`display_data` once, then `update_display_data` with the same display id); outside it is
 * one `\r`-rewritten line on stderr. Updates closer than `minIntervalMs` are coalesced (the
 * latest state is kept, not queued); {@link ProgressDisplay.done} always publishes the final
 * state. Messages are sent in order even if the caller does not await.
 *
 * @example
 * ```ts
 * import { ProgressDisplay } from "./display.ts";
 * const progress = new ProgressDisplay({ title: "Training" });
 * for (let batch = 1; batch <= 10; batch++) {
 *   await progress.update({
 *     value: batch,
 *     total: 10,
 *     fields: { epoch: "1/1", batch: `${batch}/10`, loss: 1 / batch, "samples/s": 1200, ETA: "0s" },
 *   });
 * }
 * await progress.done();
 * ```
 */
export class ProgressDisplay {
  readonly title: string;
  readonly displayId: string;
  #minIntervalMs: number;
  #now: () => number;
  #broadcast?: Broadcast;
  #write: (text: string) => void;
  #lastSent = Number.NEGATIVE_INFINITY;
  #shown = false;
  #finished = false;
  #latest?: ProgressState;
  #pending = false;
  #lastLineLength = 0;
  #chain: Promise<void> = Promise.resolve();

  /** Creates the display; nothing is shown until the first {@link update}. */
  constructor(options: ProgressOptions = {}) {
    this.title = options.title ?? "";
    this.displayId = options.displayId ?? `progress-${crypto.randomUUID()}`;
    this.#minIntervalMs = options.minIntervalMs ?? 250;
    this.#now = options.now ?? (() => performance.now());
    const jupyter = jupyterApi();
    this.#broadcast = options.broadcast ??
      (jupyter ? (type, content) => jupyter.broadcast(type, content) : undefined);
    this.#write = options.write ??
      ((text) => Deno.stderr.writeSync(new TextEncoder().encode(text)));
  }

  /**
   * Records a new state and publishes it unless the previous publication was less than
   * `minIntervalMs` ago. Returns when the publication (if any) has been sent.
   */
  update(state: ProgressState): Promise<void> {
    if (this.#finished) return this.#chain;
    this.#latest = state;
    this.#pending = true;
    const now = this.#now();
    if (now - this.#lastSent < this.#minIntervalMs) return this.#chain;
    this.#lastSent = now;
    return this.#publish(false);
  }

  /** Publishes the final state (optionally replacing it with `state`) and ends the line. */
  done(state?: ProgressState): Promise<void> {
    if (this.#finished) return this.#chain;
    if (state) {
      this.#latest = state;
      this.#pending = true;
    }
    this.#finished = true;
    return this.#publish(true);
  }

  #publish(final: boolean): Promise<void> {
    const state = this.#latest;
    const pending = this.#pending;
    this.#pending = false;
    this.#chain = this.#chain.then(async () => {
      if (state && pending) {
        const bundle = progressBundle(this.title, state);
        if (this.#broadcast) {
          const type = this.#shown ? "update_display_data" : "display_data";
          this.#shown = true;
          await this.#broadcast(type, {
            data: bundle,
            metadata: {},
            transient: { display_id: this.displayId },
          });
        } else {
          const line = String(bundle["text/plain"]);
          const pad = " ".repeat(Math.max(0, this.#lastLineLength - line.length));
          this.#lastLineLength = line.length;
          this.#write(`\r${line}${pad}`);
        }
      }
      if (final && !this.#broadcast && this.#lastLineLength > 0) this.#write("\n");
    });
    return this.#chain;
  }
}
