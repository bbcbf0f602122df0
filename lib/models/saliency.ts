/**
 * What made a model give its answer: a saliency map of one 28x28 image, by gradient times input.
 * For each pixel, the gradient says how much the log-probability of the answer would rise if the
 * pixel had a little more ink; times the ink that is there, it says how much that stroke pushed the
 * model towards (positive) or away from (negative) its answer. One forward and one backward pass,
 * so it is quick enough to run live in the drawing pad's page, which bundles this module: it
 * imports only TensorFlow.js' core, never the full `@tensorflow/tfjs`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { LayersModel } from "@tensorflow/tfjs-layers";

/** The side of the images the maps are for. */
const SIDE = 28;

/** A saliency map and the answer it explains. */
export interface Saliency {
  /** The class the map explains: the model's answer unless a target was given. */
  target: number;
  /** The model's probability per class for the image. */
  probabilities: Float32Array;
  /** Per pixel (row-major 28x28): how much its ink pushed towards the target (+) or away (-). */
  map: Float32Array;
}

/** Options of {@linkcode saliencyMap}. */
export interface SaliencyOptions {
  /** The class to explain; default the model's answer (its most probable class). */
  target?: number;
}

/**
 * The gradient-times-input saliency map of one normalized 28x28 image (values in [0, 1]) for a
 * model that outputs class probabilities. Every tensor made here is released.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { saliencyMap } from "./saliency.ts";
 *
 * const model = tf.sequential({ layers: [
 *   tf.layers.flatten({ inputShape: [28, 28, 1] }),
 *   tf.layers.dense({ units: 2, activation: "softmax", kernelInitializer: "ones" }),
 * ] });
 * const image = new Float32Array(784);
 * image[0] = 1; // one pixel of ink
 * const { map, target } = saliencyMap(model, image, { target: 1 });
 * assert.equal(target, 1);
 * assert.equal(map[1], 0, "blank paper pushes nowhere");
 * assert.equal(map[0], 0, "equal weights for both classes: this ink favours neither");
 * model.dispose();
 * ```
 */
export function saliencyMap(
  model: LayersModel,
  pixels: Float32Array,
  options: SaliencyOptions = {},
): Saliency {
  if (pixels.length !== SIDE * SIDE) {
    throw new RangeError(
      `saliencyMap() takes one ${SIDE}x${SIDE} image (${SIDE * SIDE} pixels), got ` +
        `${pixels.length} values.`,
    );
  }
  return tf.tidy(() => {
    const input = tf.tensor4d(pixels, [1, SIDE, SIDE, 1]);
    const probabilities = (model.predict(input) as tf.Tensor).dataSync() as Float32Array;
    const classes = probabilities.length;
    const target = options.target ?? probabilities.indexOf(Math.max(...probabilities));
    if (!Number.isInteger(target) || target < 0 || target >= classes) {
      throw new RangeError(
        `The saliency target must be a class from 0 to ${classes - 1}, got ${target}.`,
      );
    }
    // The log keeps the gradient alive when the answer is nearly certain (softmax saturates).
    const logProbability = (x: tf.Tensor) => {
      const output = model.apply(x, { training: false }) as tf.Tensor;
      // Functions, not chained methods: the page's bundle leaves the chained ops out.
      return tf.sum(tf.log(tf.add(tf.slice(output, [0, target], [1, 1]), 1e-7)));
    };
    const gradient = tf.grad(logProbability)(input);
    const map = tf.mul(gradient, input).dataSync() as Float32Array;
    return { target, probabilities: Float32Array.from(probabilities), map: Float32Array.from(map) };
  });
}
