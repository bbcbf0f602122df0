/**
 * The drawing pad page's library, as one browser script: TensorFlow.js' core, layers and CPU
 * backend (what inference and a saliency map need, without WebGL, the converter or the data API),
 * this project's {@linkcode toDigitImage} and {@linkcode saliencyMap}, and the pad's own code
 * ({@linkcode startDrawingPad}). `drawing_pad.ts` bundles this file with `deno bundle`; it is never
 * imported by Deno code.
 *
 * @module
 */
import * as core from "@tensorflow/tfjs-core";
import * as layers from "@tensorflow/tfjs-layers";
import "@tensorflow/tfjs-backend-cpu";
import { toDigitImage } from "../data/digit_image.ts";
import { saliencyMap } from "../models/saliency.ts";
import { type PadConfig, type PadLibrary, startDrawingPad } from "./drawing_pad_view.ts";

/** What the page's script finds on `window.__digitPadLib`. */
export interface DigitPadLibrary extends PadLibrary {
  /** Starts the pad whose root element is given. */
  start: (root: HTMLElement, config: PadConfig) => void;
}

const parts: PadLibrary = { tf: { ...core, ...layers }, toDigitImage, saliencyMap };
const library: DigitPadLibrary = {
  ...parts,
  start: (root, config) => startDrawingPad(root, config, parts),
};
(globalThis as { __digitPadLib?: DigitPadLibrary }).__digitPadLib = library;
