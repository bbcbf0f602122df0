/**
 * Adam's update over every trainable weight in one pass over flat arrays, as the replica workers
 * (`replica_worker.ts`) apply it: tfjs' `AdamOptimizer` spends about a dozen small kernels per
 * weight tensor on the same arithmetic (53 Multiply and 37 Add calls per step for the tutorial's
 * CNN), each allocating a tensor.
 *
 * The arithmetic is tfjs' (and Keras'): with t the number of steps taken before this one,
 *
 *     m = beta1 m + (1 - beta1) g
 *     v = beta2 v + (1 - beta2) g^2
 *     w = w - rate (m / (1 - beta1^(t+1))) / (sqrt(v / (1 - beta2^(t+1))) + epsilon)
 *
 * rounded to float32 where tfjs stores, so the two agree to float rounding.
 *
 * @module
 */
import { type OptimizerState, slotsToState, stateToSlots } from "./optimizer_state.ts";

/** Adam's settings (tfjs' `AdamOptimizer.getConfig()`). */
export interface AdamSettings {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

/** Adam's moments over a flat parameter vector, and the number of steps taken. */
export interface AdamMoments {
  /** First moments, one per parameter. */
  m: Float32Array;
  /** Second moments, one per parameter. */
  v: Float32Array;
  /** Steps taken so far. */
  iterations: number;
}

/**
 * Fresh moments (zeros) for `size` parameters.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { adamMoments } from "./adam.ts";
 * assert.deepEqual(adamMoments(2), { m: new Float32Array(2), v: new Float32Array(2), iterations: 0 });
 * ```
 */
export function adamMoments(size: number): AdamMoments {
  return { m: new Float32Array(size), v: new Float32Array(size), iterations: 0 };
}

/**
 * One Adam step: updates `weights`, `moments.m` and `moments.v` in place from `gradient` and
 * counts the step. `learningRate` overrides `settings.learningRate` (a schedule's rate).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { adamMoments, adamStep } from "./adam.ts";
 * // Adam's first step moves every weight by the learning rate, against its gradient's sign.
 * const w = Float32Array.of(1, 1);
 * const moments = adamMoments(2);
 * adamStep(w, Float32Array.of(0.5, -3), moments, { learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 });
 * assert.ok(Math.abs(w[0] - 0.9) < 1e-6 && Math.abs(w[1] - 1.1) < 1e-6);
 * assert.equal(moments.iterations, 1);
 * ```
 */
export function adamStep(
  weights: Float32Array,
  gradient: Float32Array,
  moments: AdamMoments,
  settings: AdamSettings,
  learningRate = settings.learningRate,
): void {
  const { m, v } = moments;
  if (gradient.length !== weights.length || m.length !== weights.length) {
    throw new RangeError(
      `Adam needs as many gradients (${gradient.length}) and moments (${m.length}) as weights ` +
        `(${weights.length}).`,
    );
  }
  const { beta1, beta2, epsilon } = settings;
  const t = moments.iterations + 1;
  // tfjs keeps beta^t as a float32 product; float64 powers differ from it by float rounding.
  const correct1 = Math.fround(1 - Math.fround(beta1 ** t));
  const correct2 = Math.fround(1 - Math.fround(beta2 ** t));
  const keep1 = Math.fround(1 - beta1), keep2 = Math.fround(1 - beta2);
  for (let i = 0; i < weights.length; i++) {
    const g = gradient[i];
    const mi = beta1 * m[i] + keep1 * g;
    const vi = beta2 * v[i] + keep2 * g * g;
    m[i] = mi;
    v[i] = vi;
    weights[i] -= learningRate * (m[i] / correct1) / (Math.sqrt(v[i] / correct2) + epsilon);
  }
  moments.iterations = t;
}

/**
 * The moments as tfjs' `optimizer.getWeights()` lists them (every first moment, then every
 * second moment, one array per weight tensor named `NAME/m` and `NAME/v`), for
 * `setOptimizerState`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { adamMoments, momentsToState } from "./adam.ts";
 * const state = momentsToState(adamMoments(6), [{ name: "k", shape: [2, 2] }, { name: "b", shape: [2] }]);
 * assert.deepEqual(state.names, ["k/m", "b/m", "k/v", "b/v"]);
 * assert.deepEqual(state.values.map((v) => v.length), [4, 2, 4, 2]);
 * ```
 */
export function momentsToState(
  moments: AdamMoments,
  weights: readonly { name: string; shape: readonly number[] }[],
): OptimizerState {
  return slotsToState(moments.iterations, [["m", moments.m], ["v", moments.v]], weights);
}

/**
 * Flat moments from a state `optimizerState` took (the inverse of {@linkcode momentsToState});
 * `size` is the number of trainable parameters.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { adamMoments, momentsToState, stateToMoments } from "./adam.ts";
 * const moments = adamMoments(3);
 * moments.m.set([1, 2, 3]);
 * moments.iterations = 4;
 * const back = stateToMoments(momentsToState(moments, [{ name: "w", shape: [3] }]), 3);
 * assert.deepEqual(back, moments);
 * ```
 */
export function stateToMoments(state: OptimizerState, size: number): AdamMoments {
  const [m, v] = stateToSlots(state, 2, size);
  return { m, v, iterations: state.iterations };
}
