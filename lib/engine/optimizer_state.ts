/**
 * An optimizer's state (the step count and its per-weight variables: Adam's moments, Momentum's
 * accumulations, RMSProp's mean squares and moments) as plain arrays, so it can move between a
 * model and its training replicas (`data_parallel.ts`), and to and from flat arrays.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/**
 * An optimizer's state as `optimizer.getWeights()` gives it: the step count, then each kind of
 * per-weight variable (Adam: `NAME/m`, then `NAME/v`) over the model's trainable weights, in their
 * order.
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

/**
 * The fields in which tfjs' optimizers keep their per-weight variables (it does not export them):
 * Adam's moments, Momentum's accumulations, RMSProp's mean squares, moments and mean gradients.
 * `setWeights` replaces these arrays without disposing the variables they held.
 */
const SLOT_FIELDS = [
  "accumulatedFirstMoment",
  "accumulatedSecondMoment",
  "accumulations",
  "accumulatedMeanSquares",
  "accumulatedMoments",
  "accumulatedMeanGrads",
] as const;

type WithSlots = Partial<Record<(typeof SLOT_FIELDS)[number], { variable: tf.Variable }[]>>;

/**
 * Gives `optimizer` (Adam, SGD, Momentum or RMSProp) the state {@linkcode optimizerState} took,
 * replacing (and disposing) its own per-weight variables.
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
  const slots = optimizer as unknown as WithSlots;
  for (const field of SLOT_FIELDS) {
    const held = slots[field];
    if (held === undefined) continue;
    tf.dispose(held.map((m) => m.variable));
    slots[field] = [];
  }
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

/**
 * The state tfjs lists for per-weight variables kept flat: `slots` holds one flat array per kind
 * (each over every trainable weight, in order), named `NAME/SUFFIX` per weight, kind after kind,
 * as tfjs' `getWeights()` lists them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { slotsToState } from "./optimizer_state.ts";
 * const state = slotsToState(2, [["rms", new Float32Array(3)], ["momentum", new Float32Array(3)]], [
 *   { name: "k", shape: [2] },
 *   { name: "b", shape: [1] },
 * ]);
 * assert.deepEqual(state.names, ["k/rms", "b/rms", "k/momentum", "b/momentum"]);
 * assert.deepEqual(state.shapes, [[2], [1], [2], [1]]);
 * ```
 */
export function slotsToState(
  iterations: number,
  slots: readonly (readonly [string, Float32Array])[],
  weights: readonly { name: string; shape: readonly number[] }[],
): OptimizerState {
  const names: string[] = [], values: Float32Array[] = [], shapes: number[][] = [];
  for (const [suffix, flat] of slots) {
    let offset = 0;
    for (const w of weights) {
      const size = w.shape.reduce((a, b) => a * b, 1);
      names.push(`${w.name}/${suffix}`);
      values.push(flat.slice(offset, offset + size));
      shapes.push([...w.shape]);
      offset += size;
    }
    if (offset !== flat.length) {
      throw new RangeError(`The weights hold ${offset} values but the moments ${flat.length}.`);
    }
  }
  return { iterations, names, values, shapes };
}

/**
 * `kinds` flat arrays of `size` values from a state {@linkcode optimizerState} took (the inverse
 * of {@linkcode slotsToState}); `size` is the number of trainable parameters.
 *
 * @throws RangeError when the state holds another number of values: it belongs to another model
 * or another optimizer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { slotsToState, stateToSlots } from "./optimizer_state.ts";
 * const state = slotsToState(1, [["momentum", Float32Array.of(1, 2, 3)]], [{ name: "w", shape: [3] }]);
 * assert.deepEqual(stateToSlots(state, 1, 3), [Float32Array.of(1, 2, 3)]);
 * assert.throws(() => stateToSlots(state, 1, 4), /holds 3 values per kind \(1 kinds\) but the model has 4/);
 * ```
 */
export function stateToSlots(state: OptimizerState, kinds: number, size: number): Float32Array[] {
  const per = state.values.length / kinds;
  return Array.from({ length: kinds }, (_, kind) => {
    const group = Number.isInteger(per) ? state.values.slice(kind * per, (kind + 1) * per) : [];
    const held = group.reduce((s, v) => s + v.length, 0);
    if (held !== size) {
      throw new RangeError(
        `The optimizer state holds ${held} values per kind (${kinds} kinds) but the model has ` +
          `${size} trainable parameters: it belongs to another model or optimizer.`,
      );
    }
    const flat = new Float32Array(size);
    let offset = 0;
    for (const value of group) {
      flat.set(value, offset);
      offset += value.length;
    }
    return flat;
  });
}
