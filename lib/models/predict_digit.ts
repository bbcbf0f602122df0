/**
 * Asking a trained model about one image of your own: MNIST-style preprocessing
 * ({@linkcode toDigitImage}), then the class probabilities, ranked. Also loading a saved model for
 * it, with a clear error when the folder is missing or the model wants other images.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import {
  DIGIT_SIZE,
  type DigitImage,
  type RasterImage,
  toDigitImage,
} from "../data/digit_image.ts";
import { loadModel } from "./model_files.ts";

/** One class and its probability. */
export interface RankedClass {
  /** The class number (the label). */
  index: number;
  /** Its display name, e.g. "7" or "Sneaker". */
  name: string;
  probability: number;
}

/** The model's answer for one image. */
export interface DigitPrediction {
  /** The 28x28 image the model received. */
  digit: DigitImage;
  /** One probability per class, by label. */
  probabilities: Float32Array;
  /** Every class, most probable first. */
  ranking: RankedClass[];
}

/**
 * Throws unless `model` takes 28x28x1 images, as every model of this project does; `source` names
 * where the model came from in the message.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { checkDigitModel } from "./predict_digit.ts";
 *
 * const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [10], units: 2 })] });
 * assert.throws(() => checkDigitModel(model, "m/"), /m\/ holds a model for inputs of shape \[10\]/);
 * model.dispose();
 * ```
 */
export function checkDigitModel(model: tf.LayersModel, source: string): void {
  const shape = model.inputs[0]?.shape.slice(1);
  if (model.inputs.length !== 1 || shape?.join() !== [DIGIT_SIZE, DIGIT_SIZE, 1].join()) {
    throw new Error(
      `${source} holds a model for inputs of shape [${shape?.join(", ")}], not the ` +
        `[28, 28, 1] images of MNIST: use a model trained by this project.`,
    );
  }
}

/**
 * Loads a model saved by the notebook or `deno task train` (`DIR/model.json` + weights) and checks
 * that it takes 28x28x1 images.
 *
 * @throws {Error} when the folder or its files are missing or the model wants other inputs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadDigitModel } from "./predict_digit.ts";
 *
 * await assert.rejects(loadDigitModel("no/such/model"), /No model folder at no\/such\/model/);
 * ```
 */
export async function loadDigitModel(dir: string): Promise<tf.LayersModel> {
  try {
    if (!(await Deno.stat(dir)).isDirectory) throw new Deno.errors.NotFound();
  } catch {
    throw new Error(
      `No model folder at ${dir}: train one first (run the notebook, or deno task train --out ` +
        `DIR and use DIR/model), or name another with --model.`,
    );
  }
  const model = await loadModel(dir);
  try {
    checkDigitModel(model, join(dir, "model.json"));
  } catch (error) {
    model.dispose();
    throw error;
  }
  return model;
}

/**
 * The class probabilities for 28x28 pixels (light ink on dark, 0..1), with no tensor left behind.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildBaselineModel } from "./variants.ts";
 * import { predictPixels } from "./predict_digit.ts";
 *
 * const model = buildBaselineModel({ seed: 1 });
 * const probabilities = predictPixels(model, new Float32Array(784));
 * assert.equal(probabilities.length, 10);
 * assert.ok(Math.abs(probabilities.reduce((a, b) => a + b) - 1) < 1e-5);
 * model.dispose();
 * ```
 */
export function predictPixels(model: tf.LayersModel, pixels: Float32Array): Float32Array {
  if (pixels.length !== DIGIT_SIZE * DIGIT_SIZE) {
    throw new RangeError(`A digit has 784 pixels (28x28), got ${pixels.length}.`);
  }
  return tf.tidy(() => {
    const input = tf.tensor4d(pixels, [1, DIGIT_SIZE, DIGIT_SIZE, 1]);
    const output = model.predict(input) as tf.Tensor;
    return output.dataSync() as Float32Array;
  });
}

/**
 * Classes from the most to the least probable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rankClasses } from "./predict_digit.ts";
 *
 * const ranking = rankClasses(new Float32Array([0.1, 0.7, 0.2]), ["a", "b", "c"]);
 * assert.deepEqual(ranking.map((c) => c.name), ["b", "c", "a"]);
 * ```
 */
export function rankClasses(
  probabilities: Float32Array,
  classNames: readonly string[],
): RankedClass[] {
  return [...probabilities]
    .map((probability, index) => ({ index, name: classNames[index] ?? String(index), probability }))
    .sort((a, b) => b.probability - a.probability || a.index - b.index);
}

/**
 * One line for a prediction: the class, then the top three with their probabilities. Below the
 * model's "not sure" threshold (`notSureBelow`, from the run's `metrics.json`) the class gives way
 * to "not sure", and the top three still follow.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatPrediction } from "./predict_digit.ts";
 *
 * const ranking = [
 *   { index: 7, name: "7", probability: 0.9712 },
 *   { index: 1, name: "1", probability: 0.015 },
 *   { index: 9, name: "9", probability: 0.008 },
 * ];
 * assert.equal(
 *   formatPrediction("seven.png", ranking),
 *   "seven.png: 7   (7 97.12%, 1 1.50%, 9 0.80%)",
 * );
 * assert.equal(
 *   formatPrediction("seven.png", ranking, { notSureBelow: 0.99 }),
 *   "seven.png: not sure   (7 97.12%, 1 1.50%, 9 0.80%)",
 * );
 * ```
 */
export function formatPrediction(
  source: string,
  ranking: readonly RankedClass[],
  options: { notSureBelow?: number } = {},
): string {
  const top = ranking.slice(0, 3).map((c) => `${c.name} ${(100 * c.probability).toFixed(2)}%`);
  const sure = options.notSureBelow === undefined || ranking[0].probability >= options.notSureBelow;
  return `${source}: ${sure ? ranking[0].name : "not sure"}   (${top.join(", ")})`;
}

/**
 * Preprocesses an image as MNIST's digits were made and asks the model about it. Returns
 * `undefined` when the image holds no digit (blank, or too faint): there is nothing to guess.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildBaselineModel } from "./variants.ts";
 * import { predictDigit } from "./predict_digit.ts";
 *
 * const model = buildBaselineModel({ seed: 1 });
 * const blank = { width: 8, height: 8, channels: 1 as const, data: new Uint8Array(64).fill(255) };
 * assert.equal(predictDigit(model, blank), undefined);
 *
 * const data = new Uint8Array(64).fill(255);
 * for (let y = 1; y < 7; y++) data[y * 8 + 4] = 0; // a vertical stroke
 * const prediction = predictDigit(model, { width: 8, height: 8, channels: 1, data });
 * assert.equal(prediction?.ranking.length, 10);
 * model.dispose();
 * ```
 */
export function predictDigit(
  model: tf.LayersModel,
  image: RasterImage,
  classNames: readonly string[] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
): DigitPrediction | undefined {
  const digit = toDigitImage(image);
  if (digit === undefined) return undefined;
  const probabilities = predictPixels(model, digit.pixels);
  return { digit, probabilities, ranking: rankClasses(probabilities, classNames) };
}
