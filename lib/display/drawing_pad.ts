/**
 * A drawing pad for a trained model, as ONE self-contained `text/html` output: the reader draws a
 * digit with the mouse, a finger or a pen and sees the 28x28 image the model receives, the
 * predicted class and a bar per class, updated while drawing.
 *
 * Deno's Jupyter kernel cannot receive messages from the page, so the page does the work: the
 * model's weights, TensorFlow.js (core, layers and the CPU backend) and {@linkcode toDigitImage}
 * (the same preprocessing as `deno task predict`, bundled with `deno bundle`) are inlined, and
 * nothing is fetched. It works in JupyterLab and in the HTML that `deno task notebook` exports.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { Buffer } from "node:buffer";
import { fileURLToPath } from "node:url";
import { escapeHtml, type MediaBundle, scriptJson, showBundle } from "./jupyter.ts";

/** The model as the page loads it with `tf.io.fromMemory`, weights in base64. */
export interface InlineModel {
  modelTopology: unknown;
  weightSpecs: tf.io.WeightsManifestEntry[];
  /** All weights, little-endian float32, base64. */
  weightData: string;
}

/** Options for {@link drawingPadBundle} and {@link showDrawingPad}. */
export interface DrawingPadOptions {
  /** A name per class, shown beside its bar; default the digits 0 to 9. */
  classNames?: readonly string[];
  /** Produces the pad's element id; defaults to `crypto.randomUUID()`. */
  newId?: () => string;
  /** The page's library script; defaults to {@link bundlePadLibrary}. */
  library?: string;
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

const STYLE = `
#ID{font-family:system-ui,sans-serif;font-size:14px;padding:8px;background:#fff;display:inline-flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
#ID .pad{width:280px;height:280px;border:1px solid #999;border-radius:4px;cursor:crosshair;touch-action:none;background:#fff;display:block}
#ID .side{display:flex;flex-direction:column;gap:8px;align-items:center}
#ID .input{width:112px;height:112px;image-rendering:pixelated;border:1px solid #999;background:#000}
#ID .caption{color:#666;font-size:12px}
#ID .answer{font-size:20px;min-height:1.5em;text-align:center;max-width:150px}
#ID .answer b{font-size:44px;display:block}
#ID .bars{display:grid;grid-template-columns:auto 160px 4em;gap:3px 8px;align-items:center}
#ID .name{text-align:right;white-space:nowrap}
#ID .track{height:14px;background:#eee;border-radius:2px;overflow:hidden}
#ID .fill{height:100%;width:0;background:#5b8ff9}
#ID .best .fill{background:#e8684a}
#ID .best .name{font-weight:bold}
#ID .pct{font-variant-numeric:tabular-nums;color:#444;text-align:right}
#ID button{font:inherit;padding:4px 14px}
`;

// The page's code: drawing, preprocessing with the bundled toDigitImage, inference with tfjs' CPU
// backend, and the bars. Results are also written to data-* attributes, which tests read.
const PAGE_SCRIPT = `(function () {
  var root = document.getElementById(ID);
  if (!root || root.getAttribute("data-state") !== "loading") return;
  var lib = window.__digitPadLib, tf = lib && lib.tf;
  var canvas = root.querySelector(".pad"), view = root.querySelector(".input");
  var answer = root.querySelector(".answer");
  var rows = root.querySelectorAll(".row");
  var context = canvas.getContext("2d", { willReadFrequently: true });
  var viewContext = view.getContext("2d");
  var model = null, drawing = false, last = null, scheduled = false;

  function setAnswer(html, state) {
    answer.innerHTML = html;
    root.setAttribute("data-state", state);
  }
  function showBars(probabilities) {
    var best = -1;
    for (var i = 0; probabilities && i < probabilities.length; i++) {
      if (best < 0 || probabilities[i] > probabilities[best]) best = i;
    }
    rows.forEach(function (row, i) {
      var p = probabilities ? probabilities[i] : 0;
      row.querySelector(".fill").style.width = (100 * p).toFixed(1) + "%";
      row.querySelector(".pct").textContent = probabilities ? (100 * p).toFixed(1) + "%" : "";
      row.classList.toggle("best", i === best);
    });
    return best;
  }
  function showInput(pixels) {
    var image = viewContext.createImageData(28, 28);
    for (var i = 0; i < 784; i++) {
      var v = pixels ? Math.round(255 * pixels[i]) : 0;
      image.data[4 * i] = image.data[4 * i + 1] = image.data[4 * i + 2] = v;
      image.data[4 * i + 3] = 255;
    }
    viewContext.putImageData(image, 0, 0);
  }
  function predict() {
    scheduled = false;
    var pixels = context.getImageData(0, 0, canvas.width, canvas.height);
    var digit = lib.toDigitImage({
      width: pixels.width, height: pixels.height, channels: 4, data: pixels.data,
    });
    if (!digit) {
      showInput(null);
      showBars(null);
      root.removeAttribute("data-input");
      root.removeAttribute("data-probabilities");
      root.setAttribute("data-prediction", "");
      setAnswer("draw a digit first", "empty");
      return;
    }
    showInput(digit.pixels);
    root.setAttribute("data-input", JSON.stringify(Array.from(digit.pixels)));
    if (!model) return;
    var probabilities = tf.tidy(function () {
      return model.predict(tf.tensor4d(digit.pixels, [1, 28, 28, 1])).dataSync();
    });
    var best = showBars(probabilities);
    root.setAttribute("data-probabilities", JSON.stringify(Array.from(probabilities)));
    root.setAttribute("data-prediction", NAMES[best]);
    var name = document.createElement("b");
    name.textContent = NAMES[best];
    setAnswer(name.outerHTML + (100 * probabilities[best]).toFixed(1) + "% sure", "predicted");
  }
  function schedule() {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(predict);
  }
  function clear() {
    context.fillStyle = "#fff";
    context.fillRect(0, 0, canvas.width, canvas.height);
    predict();
  }
  function point(event) {
    var box = canvas.getBoundingClientRect();
    return [
      (event.clientX - box.left) * canvas.width / box.width,
      (event.clientY - box.top) * canvas.height / box.height,
    ];
  }
  function line(from, to) {
    context.beginPath();
    context.moveTo(from[0], from[1]);
    context.lineTo(to[0], to[1]);
    context.stroke();
  }
  canvas.addEventListener("pointerdown", function (event) {
    event.preventDefault();
    drawing = true;
    canvas.setPointerCapture(event.pointerId);
    last = point(event);
    line(last, last);
    schedule();
  });
  canvas.addEventListener("pointermove", function (event) {
    if (!drawing) return;
    var next = point(event);
    line(last, next);
    last = next;
    schedule();
  });
  function end() {
    if (!drawing) return;
    drawing = false;
    predict();
  }
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  root.querySelector("button").addEventListener("click", clear);

  context.lineWidth = 20;
  context.lineCap = "round";
  context.lineJoin = "round";
  context.strokeStyle = "#000";
  clear();
  if (!tf) {
    setAnswer("the pad's script did not load", "error");
    return;
  }
  setAnswer("loading the model...", "loading");
  tf.setBackend("cpu").then(function () {
    var bytes = atob(MODEL.weightData), weights = new Uint8Array(bytes.length);
    for (var i = 0; i < bytes.length; i++) weights[i] = bytes.charCodeAt(i);
    return tf.loadLayersModel(tf.io.fromMemory({
      modelTopology: MODEL.modelTopology,
      weightSpecs: MODEL.weightSpecs,
      weightData: weights.buffer,
    }));
  }).then(function (loaded) {
    model = loaded;
    predict();
  }).catch(function (error) {
    setAnswer("the model did not load: " + String(error).replace(/</g, "&lt;"), "error");
  });
})();`;

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
  const id = `digit-pad-${(options.newId ?? (() => crypto.randomUUID()))()}`;
  const library = options.library ?? await bundlePadLibrary();
  const rows = classNames.map((name) =>
    `<div class="row" style="display:contents"><span class="name">${
      escapeHtml(name)
    }</span><span class="track"><span class="fill" style="display:block"></span></span>` +
    `<span class="pct"></span></div>`
  ).join("");
  const style = STYLE.replaceAll("#ID", `#${id}`);
  const script = PAGE_SCRIPT
    .replace(
      "var root = document.getElementById(ID);",
      `var root = document.getElementById(${scriptJson(id)});`,
    )
    .replace(
      "(function () {",
      `(function () {\n  var NAMES = ${scriptJson(classNames)};\n  var MODEL = ${
        scriptJson(await inlineModel(model))
      };`,
    );
  const html = `<style>${style}</style>
<div id="${id}" class="digit-pad" data-state="loading">
<canvas class="pad" width="280" height="280"></canvas>
<div class="side"><span class="caption">what the model sees</span><canvas class="input" width="28" height="28"></canvas>
<div class="answer">loading the model...</div><button type="button">Clear</button></div>
<div class="bars">${rows}</div>
</div>
<script type="text/javascript">if (!window.__digitPadLib) {
${library}
}</script>
<script type="text/javascript">${script}</script>`;
  return {
    "text/html": html,
    "text/plain":
      `[Drawing pad: draw a digit and this ${model.countParams().toLocaleString("en-US")}-` +
      `parameter model reads it, in the page (TensorFlow.js and the weights are inlined). Open ` +
      `the notebook in JupyterLab or its exported HTML to use it.]`,
  };
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
