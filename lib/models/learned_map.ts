/**
 * A map of what a model learned: the activations of its penultimate layer (the Dense 64 before
 * the softmax) for a sample of test images, projected to two dimensions with UMAP (npm
 * `umap-js`, driven by the project's seeded random numbers, so the map is the same on every run),
 * and beside it the same projection of the raw pixels. Images the network finds alike land close
 * together: if training worked, the activations form ten clean islands where the pixels do not.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { UMAP } from "umap-js";
import type { MnistSplit } from "../data/mnist.ts";
import { normalizePixels } from "../data/preprocess.ts";
import { createRandom, shuffledIndices } from "../random.ts";

/** Options of {@linkcode learnedMap}. */
export interface LearnedMapOptions {
  /** The model's answer for each image of the split, e.g. `evaluateModel`'s `predicted`. */
  predicted: Uint8Array;
  /** How many test images to map (projections cost about 2 ms per image each). Default 2,000. */
  sample?: number;
  /** Fixes the sample and both projections. Default 1. */
  seed?: number;
  /** UMAP's neighbours per point. Default 15. */
  neighbors?: number;
  /** UMAP's optimisation epochs. Default 200. */
  epochs?: number;
}

/** The two maps of the same images. */
export interface LearnedMap {
  /** Which images of the split, ascending. */
  indices: Uint32Array;
  /** Their true classes and the model's answers. */
  labels: Uint8Array;
  predicted: Uint8Array;
  /** x, y per image: the projection of the penultimate layer's activations. */
  activations: Float32Array;
  /** x, y per image: the projection of the raw pixels. */
  pixels: Float32Array;
  /** How many images the split has. */
  total: number;
  /** How many of them the model got wrong (the sample holds them all, up to a quarter of it). */
  mistakes: number;
  /** The name and width of the layer whose activations were mapped, e.g. `dense` and 64. */
  layer: { name: string; units: number };
}

/**
 * The layer whose activations are mapped: the last one before the output layer that has a
 * vector per image (for the tutorial's CNN, the Dense 64; Dropout is skipped).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildBaselineModel } from "./variants.ts";
 * import { penultimateLayer } from "./learned_map.ts";
 * const model = buildBaselineModel({ seed: 1 });
 * assert.equal(penultimateLayer(model).getClassName(), "Dense");
 * assert.deepEqual(penultimateLayer(model).outputShape, [null, 64]);
 * model.dispose();
 * ```
 */
export function penultimateLayer(model: tf.LayersModel): tf.layers.Layer {
  const layers = model.layers.slice(0, -1).reverse();
  const found = layers.find((layer) =>
    layer.getClassName() !== "Dropout" && (layer.outputShape as number[]).length === 2
  );
  if (found === undefined) {
    throw new Error(
      `The model ${model.name} has no vector layer before its output to map: use a model ` +
        "with a Dense layer before the softmax, as this project's models have.",
    );
  }
  return found;
}

/**
 * Which images to map: every mistake (at most a quarter of the sample, so the map still shows
 * the classes) and a seeded draw of the rest, ascending.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mapSample } from "./learned_map.ts";
 * const labels = new Uint8Array(100), predicted = new Uint8Array(100);
 * predicted[42] = 3; // one mistake
 * const sample = mapSample(labels, predicted, { size: 10, seed: 1 });
 * assert.equal(sample.length, 10);
 * assert.ok(sample.includes(42), "the mistake is always in");
 * assert.deepEqual(sample, mapSample(labels, predicted, { size: 10, seed: 1 }));
 * ```
 */
export function mapSample(
  labels: Uint8Array,
  predicted: Uint8Array,
  options: { size: number; seed: number },
): Uint32Array {
  const size = Math.min(options.size, labels.length);
  if (!Number.isInteger(size) || size < 2) {
    throw new RangeError(`The map needs a sample of at least 2 images, got ${options.size}.`);
  }
  const order = shuffledIndices(labels.length, options.seed);
  const mistakes = order.filter((i) => labels[i] !== predicted[i]).slice(0, size >> 2);
  const chosen = new Set(mistakes);
  for (const i of order) {
    if (chosen.size >= size) break;
    chosen.add(i);
  }
  return Uint32Array.from(chosen).sort();
}

/** The penultimate layer's activations (n x units) for `images` (n x 784, normalized). */
function penultimateActivations(
  model: tf.LayersModel,
  images: Float32Array,
): { activations: Float32Array; units: number } {
  const layer = penultimateLayer(model);
  const inner = tf.model({ inputs: model.inputs, outputs: layer.output as tf.SymbolicTensor });
  return tf.tidy(() => {
    const hidden = inner.predict(tf.tensor4d(images, [images.length / 784, 28, 28, 1]), {
      batchSize: 256,
    }) as tf.Tensor;
    return { activations: hidden.dataSync() as Float32Array, units: hidden.shape[1] ?? 0 };
  });
}

/**
 * The 2-D UMAP projection of `rows` (n rows of `width` values), seeded: x, y per row.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { umapProjection } from "./learned_map.ts";
 * const rows = Float32Array.from({ length: 40 * 3 }, (_, i) => (i % 3) + (i >= 60 ? 10 : 0));
 * const map = umapProjection(rows, 3, { seed: 1, neighbors: 5, epochs: 50 });
 * assert.equal(map.length, 80);
 * assert.deepEqual(map, umapProjection(rows, 3, { seed: 1, neighbors: 5, epochs: 50 }));
 * ```
 */
export function umapProjection(
  rows: Float32Array,
  width: number,
  options: { seed: number; neighbors: number; epochs: number },
): Float32Array {
  const data = Array.from(
    { length: rows.length / width },
    (_, i) => Array.from(rows.subarray(i * width, (i + 1) * width)),
  );
  const umap = new UMAP({
    nComponents: 2,
    nNeighbors: options.neighbors,
    nEpochs: options.epochs,
    random: createRandom(options.seed),
  });
  return Float32Array.from(umap.fit(data).flat());
}

/**
 * The map of what `model` learned from a sample of `split`'s images: see {@link LearnedMap}.
 *
 * @example
 * ```ts ignore
 * const map = learnedMap(model, data.test, { predicted: evaluation.predicted, sample: 2000 });
 * ```
 */
export function learnedMap(
  model: tf.LayersModel,
  split: Pick<MnistSplit, "images" | "labels">,
  options: LearnedMapOptions,
): LearnedMap {
  const { predicted } = options;
  if (predicted.length !== split.labels.length) {
    throw new RangeError(
      `learnedMap() got ${predicted.length} answers for ${split.labels.length} images: pass ` +
        "the model's answers for this split (evaluateModel's predicted).",
    );
  }
  const seed = options.seed ?? 1;
  const umap = { seed, neighbors: options.neighbors ?? 15, epochs: options.epochs ?? 200 };
  const indices = mapSample(split.labels, predicted, { size: options.sample ?? 2000, seed });
  const pixels = new Uint8Array(indices.length * 784);
  indices.forEach((i, k) => pixels.set(split.images.subarray(i * 784, (i + 1) * 784), k * 784));
  const images = normalizePixels(pixels);
  const { activations, units } = penultimateActivations(model, images);
  return {
    indices,
    labels: Uint8Array.from(indices, (i) => split.labels[i]),
    predicted: Uint8Array.from(indices, (i) => predicted[i]),
    activations: umapProjection(activations, units, umap),
    pixels: umapProjection(images, 784, umap),
    total: split.labels.length,
    mistakes: split.labels.filter((label, i) => label !== predicted[i]).length,
    layer: { name: penultimateLayer(model).name, units },
  };
}
