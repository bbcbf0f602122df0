/**
 * What a trained convolutional network has learned, as plain arrays for figures: the filters of
 * a convolution layer, and the feature maps each convolution layer produces for one image. Every
 * tensor made here is released before returning (tf.tidy).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { IMAGE_SHAPE } from "../data/mnist.ts";

/** The filters of one convolution layer, for its first input channel. */
export interface ConvFilters {
  /** The layer's name, e.g. `conv2d`. */
  layer: string;
  /** Filter height and width in pixels (3 and 3 for the tutorial's CNN). */
  height: number;
  width: number;
  /** One array of `height * width` weights (row-major) per filter. */
  weights: Float32Array[];
}

/** The output of one convolution layer for one image. */
export interface FeatureMaps {
  /** The layer's name, e.g. `conv2d_1`. */
  layer: string;
  /** Map height and width in pixels. */
  height: number;
  width: number;
  /** One array of `height * width` activations (row-major) per channel. */
  maps: Float32Array[];
}

function convolutionLayers(model: tf.LayersModel): tf.layers.Layer[] {
  const layers = model.layers.filter((layer) => layer.getClassName() === "Conv2D");
  if (layers.length === 0) {
    throw new Error(`The model ${model.name} has no Conv2D layer to inspect.`);
  }
  return layers;
}

/**
 * The filters of a model's convolution layer (by default its first), as images of weights: for
 * the first layer of an MNIST network, 32 little 3x3 pictures of what each filter responds to.
 * Only the first input channel is returned (MNIST images have one).
 *
 * @throws {Error} when the model has no such convolution layer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { convolutionFilters } from "./inspect.ts";
 * const model = tf.sequential({ layers: [
 *   tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 4, kernelSize: 3 }),
 * ] });
 * const filters = convolutionFilters(model);
 * assert.deepEqual([filters.weights.length, filters.height, filters.width], [4, 3, 3]);
 * model.dispose();
 * ```
 */
export function convolutionFilters(
  model: tf.LayersModel,
  options: { index?: number } = {},
): ConvFilters {
  const layers = convolutionLayers(model);
  const index = options.index ?? 0;
  const layer = layers[index];
  if (layer === undefined) {
    throw new RangeError(
      `The model ${model.name} has ${layers.length} convolution layers; there is no number ${index}.`,
    );
  }
  const [kernel] = layer.getWeights(); // [height, width, inChannels, filters]; not to be disposed
  const [height, width, inChannels, count] = kernel.shape;
  const values = kernel.dataSync();
  const weights = Array.from({ length: count }, (_, f) => {
    const filter = new Float32Array(height * width);
    for (let p = 0; p < height * width; p++) filter[p] = values[p * inChannels * count + f];
    return filter;
  });
  return { layer: layer.name, height, width, weights };
}

/**
 * The feature maps of every convolution layer of `model` for one image: what each filter finds
 * where. The image is 28x28 pixels scaled to [0, 1], as the model was trained on.
 *
 * @throws {RangeError} when the image does not have 28x28 pixels.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { featureMaps } from "./inspect.ts";
 * const model = tf.sequential({ layers: [
 *   tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 2, kernelSize: 3, activation: "relu" }),
 *   tf.layers.maxPooling2d({ poolSize: 2 }),
 *   tf.layers.conv2d({ filters: 3, kernelSize: 3, activation: "relu" }),
 * ] });
 * const layers = featureMaps(model, new Float32Array(784).fill(0.5));
 * assert.deepEqual(layers.map((l) => [l.maps.length, l.height, l.width]), [[2, 26, 26], [3, 11, 11]]);
 * model.dispose();
 * ```
 */
export function featureMaps(model: tf.LayersModel, image: Float32Array): FeatureMaps[] {
  const [rows, columns] = IMAGE_SHAPE;
  if (image.length !== rows * columns) {
    throw new RangeError(
      `featureMaps() takes one ${rows}x${columns} image (${rows * columns} pixels), got ` +
        `${image.length} values.`,
    );
  }
  const wanted = new Set(convolutionLayers(model));
  const found: FeatureMaps[] = [];
  tf.tidy(() => {
    let x: tf.Tensor = tf.tensor4d(image, [1, rows, columns, 1]);
    for (const layer of model.layers) {
      if (found.length === wanted.size) break; // nothing after the last convolution is needed
      x = layer.apply(x, { training: false }) as tf.Tensor;
      if (!wanted.has(layer)) continue;
      const [, height, width, channels] = x.shape;
      // Channels first, so that each map is one contiguous slice.
      const values = x.transpose([0, 3, 1, 2]).dataSync() as Float32Array;
      found.push({
        layer: layer.name,
        height,
        width,
        maps: Array.from(
          { length: channels },
          (_, c) => values.slice(c * height * width, (c + 1) * height * width),
        ),
      });
    }
  });
  return found;
}
