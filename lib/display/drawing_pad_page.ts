/**
 * The drawing pad page's library, as one browser script: TensorFlow.js' core, layers and CPU
 * backend (what inference needs, without WebGL, the converter or the data API) and this project's
 * {@linkcode toDigitImage}. `drawing_pad.ts` bundles this file with `deno bundle`; it is never
 * imported by Deno code.
 *
 * @module
 */
import * as core from "@tensorflow/tfjs-core";
import * as layers from "@tensorflow/tfjs-layers";
import "@tensorflow/tfjs-backend-cpu";
import { toDigitImage } from "../data/digit_image.ts";

/** What the page's script finds on `window.__digitPadLib`. */
export interface DigitPadLibrary {
  /** TensorFlow.js' core and layers APIs, as `tf` has them. */
  tf: Omit<typeof core, "default"> & Omit<typeof layers, "default">;
  /** The project's MNIST-style preprocessing. */
  toDigitImage: typeof toDigitImage;
}

const library: DigitPadLibrary = { tf: { ...core, ...layers }, toDigitImage };
(globalThis as { __digitPadLib?: DigitPadLibrary }).__digitPadLib = library;
