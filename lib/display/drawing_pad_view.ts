/// <reference lib="dom" />
/**
 * The drawing pad's code in the page: drawing, MNIST-style preprocessing, inference with
 * TensorFlow.js' CPU backend, the bars, the answer ("not sure" below a threshold) and the saliency
 * map of the answer. `drawing_pad_page.ts` bundles it for the browser; `drawing_pad.ts` writes the
 * elements it finds (by their `dpad-` classes) and the call that starts it. Every result is also
 * written to `data-*` attributes of the pad, which the tests read.
 *
 * @module
 */
import type * as core from "@tensorflow/tfjs-core";
import type * as layers from "@tensorflow/tfjs-layers";
import type { toDigitImage } from "../data/digit_image.ts";
import type { saliencyMap } from "../models/saliency.ts";

/** The model as the page loads it with `tf.io.fromMemory`, weights in base64. */
export interface PageModel {
  modelTopology: unknown;
  weightSpecs: core.io.WeightsManifestEntry[];
  /** All weights, little-endian float32, base64. */
  weightData: string;
}

/** What the page's start call passes: the classes, the model and the "not sure" threshold. */
export interface PadConfig {
  /** A name per class, in label order. */
  names: readonly string[];
  model: PageModel;
  /** Below this probability the answer is "not sure" (with the top answers); 0 = never. */
  notSureBelow: number;
}

/** What the bundled library gives the pad: tfjs (core, layers, CPU) and the project's code. */
export interface PadLibrary {
  tf: Omit<typeof core, "default"> & Omit<typeof layers, "default">;
  toDigitImage: typeof toDigitImage;
  saliencyMap: typeof saliencyMap;
}

/** The pad's elements, found by class inside its root. */
interface PadElements {
  root: HTMLElement;
  canvas: HTMLCanvasElement;
  input: HTMLCanvasElement;
  why: HTMLCanvasElement;
  answer: HTMLElement;
  rows: HTMLElement[];
  clear: HTMLElement;
}

function find<T extends Element>(root: HTMLElement, name: string): T {
  const element = root.querySelector<T>(`.dpad-${name}`);
  if (element === null) throw new Error(`The drawing pad has no .dpad-${name} element.`);
  return element;
}

function padElements(root: HTMLElement): PadElements {
  return {
    root,
    canvas: find(root, "canvas"),
    input: find(root, "input"),
    why: find(root, "why"),
    answer: find(root, "answer"),
    rows: Array.from(root.querySelectorAll<HTMLElement>(".dpad-row")),
    clear: find(root, "clear"),
  };
}

/** Sets the answer's text (a big first part and a line under it) and the pad's state. */
function setAnswer(pad: PadElements, big: string, line: string, state: string): void {
  const bold = document.createElement("b");
  bold.textContent = big;
  const text = document.createElement("span");
  text.textContent = line;
  pad.answer.replaceChildren(bold, text);
  pad.root.setAttribute("data-state", state);
}

/** Fills each class's bar and percentage; returns the classes, most probable first. */
function showBars(pad: PadElements, probabilities: Float32Array | null): number[] {
  const ranking = probabilities === null
    ? []
    : Array.from(probabilities.keys()).sort((a, b) => probabilities[b] - probabilities[a]);
  pad.rows.forEach((row, i) => {
    const p = probabilities?.[i] ?? 0;
    find<HTMLElement>(row, "fill").style.width = `${(100 * p).toFixed(1)}%`;
    find<HTMLElement>(row, "pct").textContent = probabilities ? `${(100 * p).toFixed(1)}%` : "";
    row.classList.toggle("dpad-best", i === ranking[0]);
  });
  return ranking;
}

/** Paints 28x28 values with `color(i)` giving pixel i's red, green and blue. */
function paint(canvas: HTMLCanvasElement, color: (i: number) => [number, number, number]): void {
  const context = canvas.getContext("2d");
  if (context === null) return;
  const image = context.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    image.data.set([...color(i), 255], 4 * i);
  }
  context.putImageData(image, 0, 0);
}

/**
 * Colours of the saliency canvas: the ink in light grey, tinted red where it pushed towards the
 * answer and blue where it pushed away, in proportion to the largest push.
 */
export function saliencyColor(
  map: Float32Array,
  ink: Float32Array,
): (i: number) => [number, number, number] {
  const largest = map.reduce((m, v) => Math.max(m, Math.abs(v)), 0) || 1;
  return (i) => {
    const a = Math.min(1, Math.abs(map[i]) / largest);
    const base = 255 - 60 * ink[i];
    const tint: [number, number, number] = map[i] > 0 ? [214, 39, 40] : [31, 119, 180];
    return tint.map((c) => Math.round(base * (1 - a) + c * a)) as [number, number, number];
  };
}

/** The answer's words: the class and how sure, or "not sure" with the top two answers. */
export function answerWords(
  names: readonly string[],
  probabilities: Float32Array,
  ranking: readonly number[],
  notSureBelow: number,
): { big: string; line: string; sure: boolean } {
  const [best, second] = ranking;
  const percent = (i: number) => `${(100 * probabilities[i]).toFixed(1)}%`;
  if (probabilities[best] >= notSureBelow) {
    return { big: names[best], line: `${percent(best)} sure`, sure: true };
  }
  return {
    big: "?",
    line: `not sure: ${names[best]} (${percent(best)}) or ${names[second]} (${percent(second)})`,
    sure: false,
  };
}

function clearResults(pad: PadElements): void {
  paint(pad.input, () => [0, 0, 0]);
  paint(pad.why, () => [255, 255, 255]);
  showBars(pad, null);
  for (const name of ["input", "probabilities", "saliency", "verdict"]) {
    pad.root.removeAttribute(`data-${name}`);
  }
  pad.root.setAttribute("data-prediction", "");
  setAnswer(pad, "", "draw a digit first", "empty");
}

/** Reads the drawing and shows what the model makes of it (when the model has loaded). */
function predict(
  pad: PadElements,
  lib: PadLibrary,
  config: PadConfig,
  model: layers.LayersModel | null,
): void {
  const context = pad.canvas.getContext("2d", { willReadFrequently: true });
  if (context === null) return;
  const pixels = context.getImageData(0, 0, pad.canvas.width, pad.canvas.height);
  const digit = lib.toDigitImage({
    width: pixels.width,
    height: pixels.height,
    channels: 4,
    data: pixels.data,
  });
  if (digit === undefined) return clearResults(pad);
  paint(pad.input, (i) => {
    const v = Math.round(255 * digit.pixels[i]);
    return [v, v, v];
  });
  pad.root.setAttribute("data-input", JSON.stringify(Array.from(digit.pixels)));
  if (model === null) return;
  const { probabilities, map } = lib.saliencyMap(model, digit.pixels);
  const ranking = showBars(pad, probabilities);
  paint(pad.why, saliencyColor(map, digit.pixels));
  const words = answerWords(config.names, probabilities, ranking, config.notSureBelow);
  pad.root.setAttribute("data-probabilities", JSON.stringify(Array.from(probabilities)));
  pad.root.setAttribute("data-saliency", JSON.stringify(Array.from(map)));
  pad.root.setAttribute("data-prediction", config.names[ranking[0]]);
  pad.root.setAttribute("data-verdict", words.sure ? "sure" : "not-sure");
  setAnswer(pad, words.big, words.line, "predicted");
}

/** Connects the pointer to the drawing canvas; `changed(done)` runs after each stroke piece. */
function listenToStrokes(canvas: HTMLCanvasElement, changed: (done: boolean) => void): void {
  const context = canvas.getContext("2d", { willReadFrequently: true });
  if (context === null) return;
  let last: [number, number] | null = null;
  const point = (event: PointerEvent): [number, number] => {
    const box = canvas.getBoundingClientRect();
    return [
      (event.clientX - box.left) * canvas.width / box.width,
      (event.clientY - box.top) * canvas.height / box.height,
    ];
  };
  const line = (from: [number, number], to: [number, number]) => {
    context.beginPath();
    context.moveTo(...from);
    context.lineTo(...to);
    context.stroke();
  };
  canvas.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    last = point(event);
    line(last, last);
    changed(false);
  });
  canvas.addEventListener("pointermove", (event) => {
    if (last === null) return;
    const next = point(event);
    line(last, next);
    last = next;
    changed(false);
  });
  const end = () => {
    if (last === null) return;
    last = null;
    changed(true);
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
}

async function loadPageModel(lib: PadLibrary, model: PageModel): Promise<layers.LayersModel> {
  await lib.tf.setBackend("cpu");
  const weights = Uint8Array.from(atob(model.weightData), (c) => c.charCodeAt(0));
  return await lib.tf.loadLayersModel(lib.tf.io.fromMemory({
    modelTopology: model.modelTopology as core.io.ModelJSON["modelTopology"],
    weightSpecs: model.weightSpecs,
    weightData: weights.buffer,
  }));
}

/**
 * Starts the pad whose root element is `root` (once: a root not in state `loading` is left
 * alone, so a re-run output does not get two sets of listeners).
 */
export function startDrawingPad(root: HTMLElement, config: PadConfig, lib: PadLibrary): void {
  if (root.getAttribute("data-state") !== "loading") return;
  const pad = padElements(root);
  let model: layers.LayersModel | null = null;
  let scheduled = false;
  const run = () => {
    scheduled = false;
    predict(pad, lib, config, model);
  };
  listenToStrokes(pad.canvas, (done) => {
    if (done) return run();
    if (!scheduled) requestAnimationFrame(run);
    scheduled = true;
  });
  const context = pad.canvas.getContext("2d", { willReadFrequently: true });
  if (context === null) return setAnswer(pad, "", "this browser cannot draw on a canvas", "error");
  Object.assign(context, { lineWidth: 20, lineCap: "round", lineJoin: "round" });
  const clear = () => {
    context.fillStyle = "#fff";
    context.fillRect(0, 0, pad.canvas.width, pad.canvas.height);
    context.strokeStyle = "#000";
    run();
  };
  pad.clear.addEventListener("click", clear);
  clear();
  setAnswer(pad, "", "loading the model...", "loading");
  loadPageModel(lib, config.model).then((loaded) => {
    model = loaded;
    run();
  }).catch((error) => setAnswer(pad, "", `the model did not load: ${error}`, "error"));
}
