/**
 * What a `tf.layers` model needs beyond tfjs to be reproducible and tidy here: seeded initial
 * weights and Dropout masks ({@linkcode seedModel}), the tutorial's compile settings
 * ({@linkcode compileModel}) and a dispose that frees the optimizer too ({@linkcode disposeModel}).
 * The models themselves are written in `tf.layers`, in the notebook and in `variants.ts`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { checkSeed } from "../random.ts";

/** A layer with a kernel (Conv2D, Dense, ...), as tfjs keeps it. */
interface KernelLayer {
  kernel: { shape: number[]; write(value: tf.Tensor): void } | null;
}

/**
 * Makes a model's start reproducible and Keras' own: every layer with a kernel gets it drawn from
 * Glorot uniform (Keras' default; tfjs' layers default to Glorot normal) with the next seed,
 * `seed`, `seed + 1`, ... in layer order, and every Dropout layer draws its masks from the next
 * seed, a new mask each training step. Biases start at zero already. The same seed gives the same
 * weights.
 *
 * tfjs initializers take a seed each, which would mean one option per layer in the model's code;
 * one call after building keeps the model as a Keras reader writes it.
 *
 * @throws {RangeError} for a seed that is not a whole number of 0 or more.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { seedModel } from "./model.ts";
 * const build = () =>
 *   seedModel(tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 3 })] }), 7);
 * const [a, b] = [build(), build()];
 * assert.deepEqual(a.getWeights()[0].arraySync(), b.getWeights()[0].arraySync());
 * a.dispose();
 * b.dispose();
 * ```
 */
export function seedModel<M extends tf.LayersModel>(model: M, seed: number): M {
  checkSeed(seed);
  let next = seed;
  for (const layer of model.layers) {
    if (layer.getClassName() === "Dropout") {
      advancingSeed(layer, next++, model);
      continue;
    }
    if (!("kernel" in layer)) continue;
    const { kernel } = layer as unknown as KernelLayer;
    if (!kernel) continue; // a layer not built yet, which a built model does not hold
    const value = tf.initializers.glorotUniform({ seed: next++ }).apply(kernel.shape, "float32");
    kernel.write(value);
    value.dispose();
  }
  return model;
}

/**
 * Compiles `model` as the tutorial does: Adam at `learningRate` (Keras' defaults otherwise),
 * sparse categorical cross-entropy, accuracy.
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
 * assert.equal(model.optimizer.getConfig().learningRate, 0.01);
 * disposeModel(model);
 * ```
 */
export function compileModel<M extends tf.LayersModel>(model: M, learningRate: number): M {
  model.compile({
    optimizer: tf.train.adam(checkLearningRate(learningRate), 0.9, 0.999, 1e-7),
    loss: "sparseCategoricalCrossentropy",
    metrics: ["accuracy"],
  });
  return model;
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
 * when the optimizer was passed as an object, not a name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { compileModel, disposeModel } from "./model.ts";
 * const before = tf.memory().numTensors;
 * const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 2 })] });
 * disposeModel(compileModel(model, 1e-3));
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
 * same units at every step. The getter gives step `k` (the optimizer's iteration count, which
 * advances after each step's forward pass) the seed `seed + 1,000,003 k`: each step its own
 * mask, and a second `fit` call continues where the first stopped, as in Keras. Reading it has no
 * side effect, so saving the model (`getConfig` reads it) or starting replicas, which take it as
 * the start of their own count (`engine/replica_worker.ts`), cannot shift the masks.
 */
function advancingSeed(layer: tf.layers.Layer, seed: number, model: tf.LayersModel): void {
  Object.defineProperty(layer, "seed", {
    get: () => seed + 1_000_003 * (model.optimizer?.iterations ?? 0),
    configurable: true,
  });
}
