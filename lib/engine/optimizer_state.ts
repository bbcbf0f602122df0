/**
 * An optimizer's state (the step count and Adam's moments) as plain arrays, so it can move between
 * a model and its training replicas (`data_parallel.ts`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/**
 * An optimizer's state as `optimizer.getWeights()` gives it: the step count, then Adam's first
 * and second moments of each trainable weight, in the order of the model's trainable weights.
 */
export interface OptimizerState {
  iterations: number;
  names: string[];
  values: Float32Array[];
  shapes: number[][];
}

/**
 * The state of `optimizer` as plain arrays.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { optimizerState } from "./optimizer_state.ts";
 * const adam = tf.train.adam(0.01);
 * assert.equal((await optimizerState(adam)).iterations, 0);
 * adam.dispose();
 * ```
 */
export async function optimizerState(optimizer: tf.Optimizer): Promise<OptimizerState> {
  const named = await optimizer.getWeights();
  try {
    const [iterations, ...rest] = named;
    return {
      iterations: (await iterations.tensor.data())[0],
      names: rest.map((w) => w.name),
      values: rest.map((w) => w.tensor.dataSync() as Float32Array),
      shapes: rest.map((w) => w.tensor.shape),
    };
  } finally {
    // Only the step count is a new tensor: the moments are the optimizer's own variables.
    named[0]?.tensor.dispose();
  }
}

/** Adam's moments, which tfjs keeps in fields it does not export. */
interface AdamMoments {
  accumulatedFirstMoment?: { variable: tf.Variable }[];
  accumulatedSecondMoment?: { variable: tf.Variable }[];
}

/**
 * Gives `optimizer` (an Adam) the state {@linkcode optimizerState} took, replacing (and disposing)
 * its own moments.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { optimizerState, setOptimizerState } from "./optimizer_state.ts";
 * const adam = tf.train.adam(0.01);
 * await setOptimizerState(adam, { iterations: 3, names: [], values: [], shapes: [] });
 * assert.equal(adam.iterations, 3);
 * adam.dispose();
 * ```
 */
export async function setOptimizerState(
  optimizer: tf.Optimizer,
  state: OptimizerState,
): Promise<void> {
  const moments = optimizer as unknown as AdamMoments;
  tf.dispose((moments.accumulatedFirstMoment ?? []).map((m) => m.variable));
  tf.dispose((moments.accumulatedSecondMoment ?? []).map((m) => m.variable));
  moments.accumulatedFirstMoment = [];
  moments.accumulatedSecondMoment = [];
  const named = [
    { name: "iter", tensor: tf.scalar(state.iterations, "int32") },
    ...state.values.map((v, i) => ({
      name: state.names[i],
      tensor: tf.tensor(v, state.shapes[i]),
    })),
  ];
  try {
    await optimizer.setWeights(named);
  } finally {
    tf.dispose(named.map((w) => w.tensor));
  }
}
