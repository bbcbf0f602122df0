/**
 * An exponential moving average (EMA) of a model's trainable weights, kept while training in this
 * process, as Keras 3's optimizers keep it with `use_ema=True`: after every optimizer step,
 *
 *     average = momentum * average + (1 - momentum) * weights
 *
 * with momentum 0 at the run's first step (Keras' rule: the average starts at the weights after
 * that step, not at the random initial ones). Averaging the last few hundred steps' weights cancels
 * much of the noise of the final steps, as a lower learning rate would, without its cost.
 *
 * The averages are kept in float64, so that an increment of `(1 - momentum)` times a small change
 * is not lost to float32 rounding; they are rounded to float32 when written into the model. The
 * replica workers (`../engine/replica_worker.ts`) keep theirs with the same arithmetic.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** The average's option, as `trainModel`'s `ema` takes it: Keras' `ema_momentum`. */
export interface EmaOptions {
  /** The weight of the old average at every step, 0 to below 1 (Keras' default: 0.99). */
  momentum: number;
}

/**
 * Checks an EMA momentum and returns it.
 *
 * @throws {RangeError} naming the value when it is not a number from 0 to below 1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkEmaMomentum } from "./weight_average.ts";
 * assert.equal(checkEmaMomentum(0.999), 0.999);
 * assert.throws(() => checkEmaMomentum(1), /momentum \(ema.momentum\) must be at least 0 and below 1, got 1:/);
 * assert.throws(() => checkEmaMomentum(NaN), /got NaN/);
 * ```
 */
export function checkEmaMomentum(momentum: number): number {
  if (!(typeof momentum === "number" && momentum >= 0 && momentum < 1)) {
    throw new RangeError(
      `The moving average's momentum (ema.momentum) must be at least 0 and below 1, got ` +
        `${momentum}: Keras' default is 0.99 (an average over about the last 100 steps); 0.999 ` +
        "averages about the last 1,000.",
    );
  }
  return momentum;
}

/**
 * Folds `weights` into `average`, element by element: `momentum * average + (1 - momentum) *
 * weights`, in float64.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { foldIntoAverage } from "./weight_average.ts";
 * const average = Float64Array.of(2, 0);
 * foldIntoAverage(average, Float32Array.of(4, 1), 0.75);
 * assert.deepEqual([...average], [2.5, 0.25]);
 * ```
 */
export function foldIntoAverage(
  average: Float64Array,
  weights: ArrayLike<number>,
  momentum: number,
): void {
  const rest = 1 - momentum;
  for (let i = 0; i < average.length; i++) average[i] = momentum * average[i] + rest * weights[i];
}

/**
 * The moving average of a model's trainable weights while it trains in this process. Call
 * {@linkcode WeightAverage.update} after every optimizer step; {@linkcode WeightAverage.holdAverages}
 * puts the averages into the model (keeping the trained weights aside) and
 * {@linkcode WeightAverage.restoreTrained} puts the trained ones back, to train on. Call
 * {@linkcode WeightAverage.dispose} at the end.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { WeightAverage } from "./weight_average.ts";
 * const model = tf.sequential({
 *   layers: [tf.layers.dense({ inputShape: [1], units: 1, useBias: false })],
 * });
 * const average = new WeightAverage({ momentum: 0.5 });
 * for (const value of [2, 4, 8]) {
 *   model.setWeights([tf.tensor2d([[value]])]); // as if an optimizer step had left it there
 *   average.update(model);
 * }
 * // 2 (the first step's weights), then (2 + 4) / 2 = 3, then (3 + 8) / 2 = 5.5.
 * average.holdAverages(model);
 * assert.equal(model.getWeights()[0].dataSync()[0], 5.5);
 * average.restoreTrained(model);
 * assert.equal(model.getWeights()[0].dataSync()[0], 8);
 * average.dispose();
 * model.dispose();
 * ```
 */
export class WeightAverage {
  readonly momentum: number;
  /** Optimizer steps folded in so far. */
  steps = 0;
  #averages: Float64Array[] = [];
  /** The trained weights while the model holds the averages. */
  #trained: tf.Tensor[] | undefined;

  /** @throws {RangeError} for a momentum that is not from 0 to below 1. */
  constructor(options: EmaOptions) {
    this.momentum = checkEmaMomentum(options.momentum);
  }

  /** Folds the model's trainable weights, as an optimizer step left them, into the average. */
  update(model: tf.LayersModel): void {
    // Keras' rule: the first step's weights are the average (it starts from zeros otherwise).
    const momentum = this.steps === 0 ? 0 : this.momentum;
    model.trainableWeights.forEach((weight, i) => {
      const values = weight.read().dataSync();
      this.#averages[i] ??= new Float64Array(values.length);
      foldIntoAverage(this.#averages[i], values, momentum);
    });
    this.steps++;
  }

  /**
   * Writes the averages into the model's trainable weights (Batch Normalization's moving
   * statistics are not touched), keeping the trained weights until
   * {@linkcode WeightAverage.restoreTrained}. Does nothing before the first step.
   */
  holdAverages(model: tf.LayersModel): void {
    if (this.steps === 0) return;
    this.restoreTrained(model);
    this.#trained = model.trainableWeights.map((weight) => weight.read().clone());
    writeTrainable(model, this.#averages.map((average) => Float32Array.from(average)));
  }

  /** Puts the trained weights back, when the model holds the averages. */
  restoreTrained(model: tf.LayersModel): void {
    if (this.#trained === undefined) return;
    model.trainableWeights.forEach((weight, i) => weight.write(this.#trained![i]));
    tf.dispose(this.#trained);
    this.#trained = undefined;
  }

  /** Frees the copy of the trained weights (the model keeps what it holds). */
  dispose(): void {
    tf.dispose(this.#trained);
    this.#trained = undefined;
  }
}

/**
 * Writes `values` (one array per trainable weight, in `model.trainableWeights`' order) into the
 * model's trainable weights. (`Replicas.copyAverageTo` in the engine writes its averages with the
 * same loop: this module does not import the engine, whose loading registers the wasm backend, as
 * lib/training loads it only when a run starts replicas.)
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { writeTrainable } from "./weight_average.ts";
 * const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 1 })] });
 * writeTrainable(model, [Float32Array.of(3, 4), Float32Array.of(5)]);
 * assert.deepEqual(model.getWeights().map((w) => [...w.dataSync()]), [[3, 4], [5]]);
 * model.dispose();
 * ```
 */
export function writeTrainable(model: tf.LayersModel, values: Float32Array[]): void {
  const weights = model.trainableWeights;
  if (values.length !== weights.length) {
    throw new RangeError(
      `The model has ${weights.length} trainable weights but ${values.length} averages were given.`,
    );
  }
  weights.forEach((weight, i) => {
    const value = tf.tensor(values[i], weight.read().shape);
    try {
      weight.write(value);
    } finally {
      value.dispose();
    }
  });
}
