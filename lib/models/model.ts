/**
 * The convolutional networks of the tutorial: the seed model of the original Colab notebook, and the
 * improved variants of the "Going further" section.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** Options of {@linkcode buildSeedModel}. */
export interface ModelOptions {
  /** Fixes the initial weights: the same seed builds the same model. Default 42. */
  seed?: number;
  /** Adam's learning rate. Default 0.001, as Keras. */
  learningRate?: number;
  /** The number of classes. Default 10. */
  classes?: number;
}

/**
 * Builds and compiles the tutorial's CNN: Conv2D 32 3x3 relu, MaxPool 2, Conv2D 64 3x3 relu,
 * MaxPool 2, Flatten, Dense 64 relu, Dense 10 softmax (121,930 parameters), with Adam and sparse
 * categorical cross-entropy, reporting accuracy.
 *
 * @example
 * ```ts
 * import { buildSeedModel } from "./model.ts";
 * const model = buildSeedModel({ seed: 1 });
 * console.assert(model.countParams() === 121_930);
 * model.dispose();
 * ```
 */
export function buildSeedModel(options: ModelOptions = {}): tf.Sequential {
  const init = initializers(options.seed ?? 42);
  const model = tf.sequential({ name: "seed_cnn" });
  // Layer names as Keras gives them, so the summary reads like the original tutorial's.
  model.add(tf.layers.conv2d({
    name: "conv2d",
    inputShape: [28, 28, 1],
    filters: 32,
    kernelSize: 3,
    activation: "relu",
    kernelInitializer: init(),
  }));
  model.add(tf.layers.maxPooling2d({ name: "max_pooling2d", poolSize: 2 }));
  model.add(tf.layers.conv2d({
    name: "conv2d_1",
    filters: 64,
    kernelSize: 3,
    activation: "relu",
    kernelInitializer: init(),
  }));
  model.add(tf.layers.maxPooling2d({ name: "max_pooling2d_1", poolSize: 2 }));
  model.add(tf.layers.flatten({ name: "flatten" }));
  model.add(
    tf.layers.dense({ name: "dense", units: 64, activation: "relu", kernelInitializer: init() }),
  );
  model.add(tf.layers.dense({
    name: "dense_1",
    units: options.classes ?? 10,
    activation: "softmax",
    kernelInitializer: init(),
  }));
  compileModel(model, options.learningRate ?? 0.001);
  return model;
}

/**
 * Compiles `model` as the tutorial does: Adam, sparse categorical cross-entropy, accuracy.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { compileModel } from "./model.ts";
 * const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 10 })] });
 * compileModel(model, 0.01);
 * model.dispose();
 * ```
 */
export function compileModel(model: tf.LayersModel, learningRate: number): void {
  if (!(learningRate > 0 && Number.isFinite(learningRate))) {
    throw new RangeError(`The learning rate must be a positive number, got ${learningRate}.`);
  }
  model.compile({
    // Keras' Adam defaults: beta1 0.9, beta2 0.999, epsilon 1e-7.
    optimizer: tf.train.adam(learningRate, 0.9, 0.999, 1e-7),
    loss: "sparseCategoricalCrossentropy",
    metrics: ["accuracy"],
  });
}

/** Glorot-uniform initializers with consecutive seeds, one per layer, so that layers differ. */
function initializers(seed: number): () => ReturnType<typeof tf.initializers.glorotUniform> {
  if (!Number.isInteger(seed)) throw new RangeError(`The seed must be an integer, got ${seed}.`);
  let next = seed;
  return () => tf.initializers.glorotUniform({ seed: next++ });
}
