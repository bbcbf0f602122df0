/**
 * Building models from a plain description: a list of layers (convolution, pooling, Dropout, ...)
 * becomes a compiled tfjs model with Keras-style layer names and seeded initial weights. The
 * tutorial's CNN and every variant of the "Going further" section are such descriptions, in
 * `variants.ts`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { IMAGE_SHAPE } from "../data/mnist.ts";
import { checkSeed } from "../random.ts";

/** One layer of a model description. */
export type LayerSpec =
  /** 3x3 (or `kernelSize`) convolution, then ReLU; with `batchNorm`, Batch Normalization first. */
  | { kind: "conv"; filters: number; kernelSize?: number; batchNorm?: boolean }
  /** 2x2 max pooling. */
  | { kind: "pool" }
  /** Dropout of `rate` while training; a new, seeded mask every step. */
  | { kind: "dropout"; rate: number }
  | { kind: "flatten" }
  /** Fully connected, then ReLU; with `batchNorm`, Batch Normalization first. */
  | { kind: "dense"; units: number; batchNorm?: boolean };

/** A model: its layers before the softmax output, and Adam's learning rate. */
export interface ModelSpec {
  /** The model's name, as its summary shows it. */
  name: string;
  /** The hidden layers; a softmax layer with one unit per class is added after them. */
  layers: readonly LayerSpec[];
  /** Adam's (initial) learning rate. */
  learningRate: number;
}

/** Options of {@linkcode buildModel}. */
export interface BuildOptions {
  /** Fixes the initial weights and the Dropout masks: the same seed builds the same model. */
  seed: number;
  /** The number of classes. Default 10. */
  classes?: number;
}

/**
 * Builds and compiles a model from its description. Layers get Keras' names (`conv2d`,
 * `conv2d_1`, ...), so the summary reads like the original tutorial's, and every layer with random
 * initial weights gets the next seed after the previous one's.
 *
 * @throws {RangeError} for a seed that is not a whole number, or a bad learning rate.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildModel, disposeModel } from "./model.ts";
 * const model = buildModel(
 *   { name: "tiny", layers: [{ kind: "flatten" }, { kind: "dense", units: 8 }], learningRate: 1e-3 },
 *   { seed: 1, classes: 3 },
 * );
 * assert.equal(model.countParams(), 784 * 8 + 8 + 8 * 3 + 3);
 * disposeModel(model);
 * ```
 */
export function buildModel(spec: ModelSpec, options: BuildOptions): tf.Sequential {
  checkSeed(options.seed);
  checkLearningRate(spec.learningRate);
  const builder = new Builder(spec.name, options.seed);
  for (const layer of spec.layers) builder.add(layer);
  const model = builder.output(options.classes ?? 10);
  compileModel(model, spec.learningRate);
  return model;
}

/**
 * Compiles `model` as the tutorial does: Adam, sparse categorical cross-entropy, accuracy.
 *
 * @throws {RangeError} for a learning rate that is not a positive number.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { compileModel, disposeModel } from "./model.ts";
 * const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 10 })] });
 * compileModel(model, 0.01);
 * assert.ok(model.optimizer !== undefined);
 * disposeModel(model);
 * ```
 */
export function compileModel(model: tf.LayersModel, learningRate: number): void {
  model.compile({
    // Keras' Adam defaults: beta1 0.9, beta2 0.999, epsilon 1e-7.
    optimizer: tf.train.adam(checkLearningRate(learningRate), 0.9, 0.999, 1e-7),
    loss: "sparseCategoricalCrossentropy",
    metrics: ["accuracy"],
  });
}

/**
 * Checks a learning rate: a positive, finite number.
 *
 * @throws {RangeError} naming the rate.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkLearningRate } from "./model.ts";
 * assert.equal(checkLearningRate(0.001), 0.001);
 * assert.throws(() => checkLearningRate(0), /must be a positive number/);
 * ```
 */
export function checkLearningRate(rate: number): number {
  if (!(rate > 0 && Number.isFinite(rate))) {
    throw new RangeError(`The learning rate must be a positive number, got ${rate}.`);
  }
  return rate;
}

/**
 * Disposes a model together with its optimizer: `model.dispose()` leaves the Adam moments alive
 * because the optimizer was passed as an object, not a name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { buildModel, disposeModel } from "./model.ts";
 * const before = tf.memory().numTensors;
 * disposeModel(buildModel({ name: "m", layers: [{ kind: "flatten" }], learningRate: 1e-3 }, { seed: 1 }));
 * assert.equal(tf.memory().numTensors, before);
 * ```
 */
export function disposeModel(model: tf.LayersModel): void {
  const optimizer = model.optimizer;
  model.dispose();
  optimizer?.dispose();
}

/**
 * Makes a Dropout layer draw a new mask at every training step while staying reproducible.
 *
 * tfjs' Dropout passes its `seed` to `tf.dropout` on every call, so a fixed seed would drop the
 * same units at every step. The layer reads `this.seed` once per training forward pass (and never
 * when predicting), so a getter that counts up from `seed` gives each step its own, repeatable
 * mask. `getConfig` also reads it, which only changes the number saved in model.json.
 */
function advancingSeed(layer: tf.layers.Layer, seed: number): tf.layers.Layer {
  let calls = 0;
  Object.defineProperty(layer, "seed", {
    get: () => seed + 1_000_003 * calls++,
    configurable: true,
  });
  return layer;
}

/** Adds layers with Keras-style names and consecutive seeds. */
class Builder {
  readonly model: tf.Sequential;
  private nextSeed: number;
  private readonly counts = new Map<string, number>();

  constructor(name: string, seed: number) {
    this.model = tf.sequential({ name });
    this.nextSeed = seed;
  }

  add(layer: LayerSpec): void {
    switch (layer.kind) {
      case "conv":
        return this.weighted(
          tf.layers.conv2d({
            name: this.name("conv2d"),
            ...this.first(),
            filters: layer.filters,
            kernelSize: layer.kernelSize ?? 3,
            ...this.activation(layer.batchNorm),
          }),
          layer.batchNorm,
        );
      case "dense":
        return this.weighted(
          tf.layers.dense({
            name: this.name("dense"),
            ...this.first(),
            units: layer.units,
            ...this.activation(layer.batchNorm),
          }),
          layer.batchNorm,
        );
      case "pool":
        return this.push(tf.layers.maxPooling2d({
          name: this.name("max_pooling2d"),
          ...this.first(),
          poolSize: 2,
        }));
      case "flatten":
        return this.push(tf.layers.flatten({ name: this.name("flatten"), ...this.first() }));
      case "dropout": {
        const dropout = tf.layers.dropout({ name: this.name("dropout"), rate: layer.rate });
        return this.push(advancingSeed(dropout, this.nextSeed++));
      }
    }
  }

  output(classes: number): tf.Sequential {
    this.push(tf.layers.dense({
      name: this.name("dense"),
      ...this.first(),
      units: classes,
      activation: "softmax",
      kernelInitializer: this.init(),
    }));
    return this.model;
  }

  /** ReLU, or nothing when Batch Normalization follows (which makes a bias redundant). */
  private activation(batchNorm = false) {
    return {
      activation: batchNorm ? "linear" as const : "relu" as const,
      useBias: !batchNorm,
      kernelInitializer: this.init(),
    };
  }

  private weighted(layer: tf.layers.Layer, batchNorm = false): void {
    this.push(layer);
    if (!batchNorm) return;
    this.push(tf.layers.batchNormalization({ name: this.name("batch_normalization") }));
    this.push(tf.layers.activation({ name: this.name("activation"), activation: "relu" }));
  }

  private push(layer: tf.layers.Layer): void {
    this.model.add(layer);
  }

  private name(kind: string): string {
    const n = this.counts.get(kind) ?? 0;
    this.counts.set(kind, n + 1);
    return n === 0 ? kind : `${kind}_${n}`;
  }

  private init() {
    return tf.initializers.glorotUniform({ seed: this.nextSeed++ });
  }

  private first(): { inputShape?: number[] } {
    return this.model.layers.length === 0 ? { inputShape: [...IMAGE_SHAPE] } : {};
  }
}
