/**
 * Scoring a trained model: its class probabilities for images given as bytes or as prepared
 * floats, and the loss and accuracy they give against the labels, as Keras' `evaluate` reports
 * them.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { IMAGE_SHAPE, IMAGE_SIZE } from "../data/mnist.ts";
import { type AnySplit, normalizePixels } from "../data/preprocess.ts";
import { argMax } from "./metrics.ts";
import type { Replicas } from "../engine/mod.ts";
import { inTutorialTerms } from "./engine_errors.ts";
import {
  meanProbabilities,
  shiftImages,
  type TestTimeAugmentation,
  testTimeShifts,
} from "./test_time_augmentation.ts";

/** The predictions of a model on a split, with the loss and accuracy they give. */
export interface Evaluation {
  /** Mean sparse categorical cross-entropy (probabilities clipped to [1e-7, 1 - 1e-7], as Keras). */
  loss: number;
  accuracy: number;
  /** The predicted class of each image. */
  predicted: Uint8Array;
  /** The predicted probability of each class, `count` x classes, row-major. */
  probabilities: Float32Array;
}

/** Options of {@linkcode evaluateModel}. */
export interface EvaluateOptions {
  /** Images per `model.predict` call in this process (default 256). */
  batchSize?: number;
  /**
   * Worker replicas to predict on, each on one thread (`data_parallel.ts`); 1 predicts in this
   * process. Default: the wasm backend's thread count, 1 on any other backend.
   */
  workers?: number;
  /**
   * Also predict each image shifted by a few pixels and average the probabilities
   * (`test_time_augmentation.ts`); default: each image once, as it is.
   */
  testTimeAugmentation?: TestTimeAugmentation;
}

/**
 * Predicts every image of a split and scores the predictions against the labels. The split
 * holds bytes (normalized batch by batch) or floats already prepared for the network. On the
 * wasm backend the images are spread over one worker per thread, so every core predicts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { disposeModel } from "../models/model.ts";
 * import { buildBaselineModel } from "../models/variants.ts";
 * import { evaluateModel } from "./evaluate.ts";
 * const model = buildBaselineModel({ seed: 1 });
 * const split = { images: new Uint8Array(3 * 784), labels: new Uint8Array([0, 1, 2]), count: 3 };
 * const { accuracy, predicted } = await evaluateModel(model, split);
 * assert.equal(predicted.length, 3);
 * assert.ok(accuracy >= 0 && accuracy <= 1);
 * disposeModel(model);
 * ```
 */
export async function evaluateModel(
  model: tf.LayersModel,
  split: AnySplit,
  options: EvaluateOptions = {},
): Promise<Evaluation> {
  const workers = options.workers ??
    (tf.getBackend() === "wasm" ? (await import("../engine/mod.ts")).defaultPredictors() : 1);
  let predictors: Replicas | undefined;
  if (workers > 1 && split.count > 1) {
    // Loaded only here: it loads the wasm backend, which would outrank a program's cpu backend.
    const { startOrFallBack, startPredictors } = await import("../engine/mod.ts");
    predictors = await startOrFallBack(() => startPredictors(model, { workers }), {
      workers,
      explicit: options.workers !== undefined,
      work: "Predicting",
    });
  }
  const predict = predictors === undefined
    ? (images: AnySplit["images"]) => Promise.resolve(predictProbabilities(model, images, options))
    : (images: AnySplit["images"]) =>
      predictors.predict(images, split.count, { toFloats: normalizePixels });
  try {
    const views = options.testTimeAugmentation
      ? testTimeShifts(options.testTimeAugmentation).map(([dx, dy]) =>
        dx === 0 && dy === 0 ? split.images : shiftImages(split.images, { dx, dy })
      )
      : [split.images];
    const probabilities: Float32Array[] = [];
    for (const images of views) probabilities.push(await predict(images));
    return scoreProbabilities(
      probabilities.length === 1 ? probabilities[0] : meanProbabilities(probabilities),
      split,
    );
  } catch (error) {
    throw await inTutorialTerms(error);
  } finally {
    predictors?.close();
  }
}

/**
 * Scores class probabilities (`split.count` x classes, row-major) against the split's labels:
 * Keras' loss (probabilities clipped to [1e-7, 1 - 1e-7]) and accuracy.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scoreProbabilities } from "./evaluate.ts";
 * const probabilities = Float32Array.of(0.9, 0.1, 0.2, 0.8);
 * const scored = scoreProbabilities(probabilities, { labels: [0, 0], count: 2 });
 * assert.deepEqual([...scored.predicted], [0, 1]);
 * assert.equal(scored.accuracy, 0.5);
 * assert.ok(Math.abs(scored.loss - (-Math.log(0.9) - Math.log(0.2)) / 2) < 1e-6);
 * ```
 */
export function scoreProbabilities(
  probabilities: Float32Array,
  split: { labels: ArrayLike<number>; count: number },
): Evaluation {
  const classes = split.count === 0 ? 0 : probabilities.length / split.count;
  const predicted = new Uint8Array(split.count);
  let lossSum = 0;
  let correct = 0;
  for (let i = 0; i < split.count; i++) {
    predicted[i] = argMax(probabilities, { start: i * classes, length: classes });
    if (predicted[i] === split.labels[i]) correct++;
    const p = Math.min(Math.max(probabilities[i * classes + split.labels[i]], 1e-7), 1 - 1e-7);
    lossSum -= Math.log(p);
  }
  return {
    loss: lossSum / Math.max(split.count, 1),
    accuracy: correct / Math.max(split.count, 1),
    predicted,
    probabilities,
  };
}

/**
 * The model's class probabilities for 28x28 images given as bytes (scaled to [0, 1] here) or as
 * floats already scaled, `count` x classes, row-major.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { disposeModel } from "../models/model.ts";
 * import { buildBaselineModel } from "../models/variants.ts";
 * import { predictProbabilities } from "./evaluate.ts";
 * const model = buildBaselineModel({ seed: 1 });
 * const probabilities = predictProbabilities(model, new Uint8Array(2 * 784));
 * assert.equal(probabilities.length, 20);
 * assert.ok(Math.abs(probabilities.subarray(0, 10).reduce((a, b) => a + b) - 1) < 1e-5);
 * disposeModel(model);
 * ```
 */
export function predictProbabilities(
  model: tf.LayersModel,
  images: Uint8Array | Float32Array,
  options: { batchSize?: number } = {},
): Float32Array {
  const batchSize = options.batchSize ?? 256;
  const count = images.length / IMAGE_SIZE;
  const parts: Float32Array[] = [];
  for (let start = 0; start < count; start += batchSize) {
    const end = Math.min(start + batchSize, count);
    const part = images.subarray(start * IMAGE_SIZE, end * IMAGE_SIZE);
    const pixels = part instanceof Float32Array ? part : normalizePixels(part);
    const output = tf.tidy(() =>
      // One call per batch: model.predict would otherwise cut it into batches of 32.
      model.predict(tf.tensor4d(pixels, [end - start, ...IMAGE_SHAPE]), {
        batchSize: end - start,
      }) as tf.Tensor
    );
    parts.push(output.dataSync() as Float32Array);
    output.dispose();
  }
  const classes = parts.length === 0 ? 0 : parts[0].length / Math.min(batchSize, count);
  const out = new Float32Array(count * classes);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
