/**
 * Showing the model's answer for one image of your own: the image, the 28x28 the model received
 * (after MNIST-style preprocessing) and a bar per class.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { DIGIT_SIZE, type RasterImage } from "../data/digit_image.ts";
import { encodePng } from "../data/image_file.ts";
import { type DigitPrediction, formatPrediction } from "../models/predict_digit.ts";
import { escapeHtml, type MediaBundle, showBundle } from "./jupyter.ts";

/** Options for {@link digitPredictionBundle}. */
export interface DigitPredictionOptions {
  /** Where the image came from, e.g. its file name. */
  source: string;
  /** The original image, shown first when given (and at most 4 megapixels). */
  image?: RasterImage;
}

function pngDataUrl(image: RasterImage): string {
  return `data:image/png;base64,${Buffer.from(encodePng(image)).toString("base64")}`;
}

/**
 * The output for one prediction: `text/html` with the images and the bars, `text/plain` with the
 * top three. `undefined` (no ink in the image) says "no digit found" and shows no guess.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { digitPredictionBundle } from "./digit_prediction.ts";
 *
 * const probabilities = new Float32Array(10).fill(0.01);
 * probabilities[7] = 0.91;
 * const ranking = [...probabilities].map((probability, index) => ({ index, name: String(index), probability }))
 *   .sort((a, b) => b.probability - a.probability);
 * const digit = { pixels: new Float32Array(784), inverted: true, box: { x: 0, y: 0, width: 1, height: 1 } };
 * const bundle = digitPredictionBundle({ digit, probabilities, ranking }, { source: "seven.png" });
 * assert.equal(bundle["text/plain"], "seven.png: 7   (7 91.00%, 0 1.00%, 1 1.00%)");
 * assert.equal(digitPredictionBundle(undefined, { source: "blank.png" })["text/plain"], "no digit found in blank.png");
 * ```
 */
export function digitPredictionBundle(
  prediction: DigitPrediction | undefined,
  options: DigitPredictionOptions,
): MediaBundle {
  const source = escapeHtml(options.source);
  if (prediction === undefined) {
    return {
      "text/plain": `no digit found in ${options.source}`,
      "text/html": `<p>No digit found in <code>${source}</code>: it is blank or too faint, so ` +
        `there is nothing to predict.</p>`,
    };
  }
  const { ranking, probabilities, digit } = prediction;
  const best = ranking[0];
  const seen = Uint8Array.from(digit.pixels, (v) => Math.round(255 * v));
  const picture = (src: string, caption: string, height: number) =>
    `<figure style="margin:0;text-align:center"><img src="${src}" alt="${escapeHtml(caption)}" ` +
    `style="height:${height}px;image-rendering:pixelated;border:1px solid #999"><figcaption ` +
    `style="color:#666;font-size:12px">${escapeHtml(caption)}</figcaption></figure>`;
  const original = options.image && options.image.width * options.image.height <= 4e6
    ? picture(pngDataUrl(options.image), options.source, 112)
    : "";
  const names = ranking.toSorted((a, b) => a.index - b.index);
  const rows = names.map((c) =>
    `<span style="text-align:right;${c === best ? "font-weight:bold" : ""}">${
      escapeHtml(c.name)
    }</span><span style="height:14px;background:#eee;width:160px"><span style="display:block;` +
    `height:100%;width:${(100 * probabilities[c.index]).toFixed(1)}%;background:${
      c === best ? "#e8684a" : "#5b8ff9"
    }"></span></span><span style="text-align:right">${
      (100 * probabilities[c.index]).toFixed(1)
    }%</span>`
  ).join("");
  const html = `<div style="display:flex;gap:24px;align-items:center;font-family:system-ui,` +
    `sans-serif;font-size:14px">${original}${
      picture(
        pngDataUrl({ width: DIGIT_SIZE, height: DIGIT_SIZE, channels: 1, data: seen }),
        "what the model sees",
        112,
      )
    }<div style="text-align:center"><b style="font-size:44px">${escapeHtml(best.name)}</b>` +
    `<br>${
      (100 * best.probability).toFixed(1)
    }% sure<br><code style="font-size:12px">${source}</code></div><div style="display:grid;` +
    `grid-template-columns:auto 160px 4em;gap:3px 8px;align-items:center">${rows}</div></div>`;
  return {
    "text/plain": formatPrediction(options.source, ranking),
    "text/html": html,
  };
}

/**
 * Shows one prediction in the current cell (outside Jupyter, its text line).
 *
 * @example
 * ```ts ignore
 * import { showDigitPrediction } from "./digit_prediction.ts";
 * const image = await readImageFile("images/sample_digit.png");
 * await showDigitPrediction(predictDigit(model, image), { source: "images/sample_digit.png", image });
 * ```
 */
export async function showDigitPrediction(
  prediction: DigitPrediction | undefined,
  options: DigitPredictionOptions,
): Promise<void> {
  await showBundle(digitPredictionBundle(prediction, options));
}
