/**
 * A drawing pad for a trained model, as ONE self-contained `text/html` output: the reader draws a
 * digit with the mouse, a finger or a pen and sees the 28x28 image the model receives, the
 * predicted class (or "not sure" below a threshold), a bar per class and the saliency map of the
 * answer (which strokes pushed it there), updated while drawing.
 *
 * Deno's Jupyter kernel cannot receive messages from the page, so the page does the work: the
 * model's weights, TensorFlow.js (core, layers and the CPU backend), {@linkcode toDigitImage} (the
 * same preprocessing as `deno task predict`), `saliencyMap` and the pad's code
 * (`drawing_pad_view.ts`), bundled with `deno bundle`, are inlined, and nothing is fetched. It
 * works in JupyterLab, the classic Notebook and the HTML that `deno task notebook` exports.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { Buffer } from "node:buffer";
import { fileURLToPath } from "node:url";
import { escapeHtml, type MediaBundle, scriptJson, showBundle } from "./jupyter.ts";
import type { PadConfig, PageModel } from "./drawing_pad_view.ts";

/** The model as the page loads it with `tf.io.fromMemory`, weights in base64. */
export type InlineModel = PageModel;

/** Options for {@link drawingPadBundle} and {@link showDrawingPad}. */
export interface DrawingPadOptions {
  /** A name per class, shown beside its bar; default the digits 0 to 9. */
  classNames?: readonly string[];
  /** Produces the pad's element id; defaults to `crypto.randomUUID()`. */
  newId?: () => string;
  /** The page's library script; defaults to {@link bundlePadLibrary}. */
  library?: string;
  /**
   * Below this probability the pad answers "not sure" (still showing its two top answers), e.g.
   * the threshold chosen on the validation images. Default 0: it always answers.
   */
  notSureBelow?: number;
}

const DIGITS = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"] as const;

/**
 * The model's topology and weights, ready to inline in a page.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildBaselineModel } from "../models/variants.ts";
 * import { inlineModel } from "./drawing_pad.ts";
 *
 * const model = buildBaselineModel({ seed: 1 });
 * const inline = await inlineModel(model);
 * assert.equal(atob(inline.weightData).length, 121_930 * 4);
 * model.dispose();
 * ```
 */
export async function inlineModel(model: tf.LayersModel): Promise<InlineModel> {
  let inline: InlineModel | undefined;
  await model.save(tf.io.withSaveHandler((artifacts) => {
    if (artifacts.modelTopology === undefined || artifacts.weightSpecs === undefined) {
      throw new Error("The model gave no topology or weights to inline.");
    }
    const weights = new Uint8Array(tf.io.concatenateArrayBuffers(artifacts.weightData ?? []));
    inline = {
      modelTopology: artifacts.modelTopology,
      weightSpecs: artifacts.weightSpecs,
      weightData: Buffer.from(weights.buffer, weights.byteOffset, weights.byteLength)
        .toString("base64"),
    };
    return Promise.resolve({
      modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" },
    });
  }));
  if (inline === undefined) throw new Error("The model could not be saved for the page.");
  return inline;
}

let cachedLibrary: Promise<string> | undefined;

/**
 * The page's library (`drawing_pad_page.ts`: TensorFlow.js core + layers + CPU backend and
 * `toDigitImage`) as one minified browser script, made once per process with the running Deno's
 * `deno bundle`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bundlePadLibrary } from "./drawing_pad.ts";
 *
 * const script = await bundlePadLibrary();
 * assert.ok(script.includes("__digitPadLib") && !script.includes("</script"));
 * ```
 */
export function bundlePadLibrary(): Promise<string> {
  cachedLibrary ??= (async () => {
    const entry = fileURLToPath(new URL("./drawing_pad_page.ts", import.meta.url));
    const config = fileURLToPath(new URL("../../deno.json", import.meta.url));
    const result = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--quiet",
        "--config",
        config,
        "--platform",
        "browser",
        "--format",
        "iife",
        "--minify",
        entry,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const script = new TextDecoder().decode(result.stdout);
    if (!result.success || script.length === 0) {
      cachedLibrary = undefined;
      throw new Error(
        `Cannot bundle the drawing pad's script with \`deno bundle\` (exit code ${result.code}): ` +
          `${new TextDecoder().decode(result.stderr).trim()} Run \`deno install\` in the ` +
          "repository, then try again.",
      );
    }
    // A script element ends at the first "</script", wherever it is.
    return script.replaceAll("</script", "<\\/script");
  })();
  return cachedLibrary;
}

// Every rule is scoped to the pad's id and every class starts with "dpad-", a name no frontend
// styles: the classic Notebook's Bootstrap gives any ".row" ::before/::after boxes (which became
// extra grid cells) and a 20 px line-height (which made the big answer overlap the preview). The
// reset line sets what a host page might change; the answer box has a fixed height, so Clear
// stays where it is when the first answer appears.
const STYLE = `
#ID,#ID *{box-sizing:border-box;margin:0;padding:0;line-height:1.25;float:none;font-family:system-ui,sans-serif}
#ID *::before,#ID *::after{content:none;display:none}
#ID{font-size:14px;padding:8px;background:#fff;color:#222;display:inline-flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
#ID .dpad-canvas{width:280px;height:280px;border:1px solid #999;border-radius:4px;cursor:crosshair;touch-action:none;background:#fff;display:block}
#ID .dpad-side{display:grid;grid-template-columns:112px 112px;gap:4px 8px;justify-items:center;width:232px}
#ID .dpad-input,#ID .dpad-why{width:112px;height:112px;image-rendering:pixelated;border:1px solid #999;display:block}
#ID .dpad-input{background:#000}
#ID .dpad-why{background:#fff}
#ID .dpad-caption{color:#666;font-size:12px;text-align:center;white-space:nowrap}
#ID .dpad-legend{grid-column:1 / 3;white-space:normal}
#ID .dpad-answer{grid-column:1 / 3;height:92px;overflow:hidden;text-align:center;font-size:16px;width:100%}
#ID .dpad-answer b{font-size:44px;line-height:52px;height:52px;display:block}
#ID .dpad-answer span{display:block}
#ID .dpad-bars{display:grid;grid-template-columns:auto 160px 4em;gap:3px 8px;align-items:center}
#ID .dpad-row{display:contents}
#ID .dpad-name{text-align:right;white-space:nowrap}
#ID .dpad-track{height:14px;background:#eee;border-radius:2px;overflow:hidden;display:block}
#ID .dpad-fill{height:100%;width:0;background:#5b8ff9;display:block}
#ID .dpad-best .dpad-fill{background:#e8684a}
#ID .dpad-best .dpad-name{font-weight:bold}
#ID .dpad-pct{font-variant-numeric:tabular-nums;color:#444;text-align:right}
#ID .dpad-clear{grid-column:1 / 3;font:inherit;padding:4px 14px;border:1px solid #888;border-radius:3px;background:#f4f4f4;color:#222}
`;

/**
 * The drawing pad's output: `text/html` with everything inlined, and a `text/plain` line saying
 * what it is for frontends without HTML.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildBaselineModel } from "../models/variants.ts";
 * import { drawingPadBundle } from "./drawing_pad.ts";
 *
 * const model = buildBaselineModel({ seed: 1 });
 * const bundle = await drawingPadBundle(model, { library: "window.__digitPadLib = null;" });
 * assert.match(String(bundle["text/plain"]), /^\[Drawing pad:/);
 * assert.ok(!/https?:\/\//.test(String(bundle["text/html"]).replaceAll("http://www.w3.org", "")));
 * model.dispose();
 * ```
 */
export async function drawingPadBundle(
  model: tf.LayersModel,
  options: DrawingPadOptions = {},
): Promise<MediaBundle> {
  const classNames = options.classNames ?? DIGITS;
  const outputs = model.outputs[0]?.shape.at(-1);
  if (outputs !== classNames.length) {
    throw new Error(
      `The model has ${outputs} outputs but ${classNames.length} class names were given: ` +
        "pass the dataset's classNames.",
    );
  }
  const notSureBelow = options.notSureBelow ?? 0;
  if (!(notSureBelow >= 0 && notSureBelow <= 1)) {
    throw new RangeError(
      `notSureBelow must be a probability from 0 to 1, got ${notSureBelow}: pass the threshold ` +
        "chosen on the validation images, or 0 to always answer.",
    );
  }
  const id = `digit-pad-${(options.newId ?? (() => crypto.randomUUID()))()}`;
  const config: PadConfig = { names: classNames, model: await inlineModel(model), notSureBelow };
  const library = options.library ?? await bundlePadLibrary();
  return {
    "text/html": padHtml(id, config, library),
    "text/plain":
      `[Drawing pad: draw a digit and this ${model.countParams().toLocaleString("en-US")}-` +
      `parameter model reads it, in the page (TensorFlow.js and the weights are inlined). Open ` +
      `the notebook in JupyterLab or its exported HTML to use it.]`,
  };
}

/** The pad's elements (found by `drawing_pad_view.ts` through their classes) and its scripts. */
function padHtml(id: string, config: PadConfig, library: string): string {
  const rows = config.names.map((name) =>
    `<div class="dpad-row"><span class="dpad-name">${escapeHtml(name)}</span>` +
    `<span class="dpad-track"><span class="dpad-fill"></span></span>` +
    `<span class="dpad-pct"></span></div>`
  ).join("");
  // The library (once per page) defines __digitPadLib; the second script starts this pad, or
  // says why it cannot.
  return `<style>${STYLE.replaceAll("#ID", `#${id}`)}</style>
<div id="${id}" class="digit-pad" data-state="loading">
<canvas class="dpad-canvas" width="280" height="280"></canvas>
<div class="dpad-side"><span class="dpad-caption">what the model sees</span>` +
    `<span class="dpad-caption">why it answers</span>` +
    `<canvas class="dpad-input" width="28" height="28"></canvas>` +
    `<canvas class="dpad-why" width="28" height="28"></canvas>` +
    `<span class="dpad-caption dpad-legend">red ink pushed it towards its answer, blue away</span>
<div class="dpad-answer"><b></b><span>loading the model...</span></div>` +
    `<button type="button" class="dpad-clear">Clear</button></div>
<div class="dpad-bars">${rows}</div>
</div>
<script type="text/javascript">if (!window.__digitPadLib || !window.__digitPadLib.start) {
${library}
}</script>
<script type="text/javascript">(function () {
  var root = document.getElementById(${scriptJson(id)}), lib = window.__digitPadLib;
  if (!root) return;
  if (lib && lib.start) return lib.start(root, ${scriptJson(config)});
  root.setAttribute("data-state", "error");
  root.querySelector(".dpad-answer span").textContent = "the pad's script did not load";
})();</script>`;
}

/**
 * Shows the drawing pad for `model` in the current cell (outside Jupyter, its text line).
 *
 * @example
 * ```ts ignore
 * import { showDrawingPad } from "./drawing_pad.ts";
 * await showDrawingPad(model, { classNames: data.classNames });
 * ```
 */
export async function showDrawingPad(
  model: tf.LayersModel,
  options: DrawingPadOptions = {},
): Promise<void> {
  await showBundle(await drawingPadBundle(model, options));
}
