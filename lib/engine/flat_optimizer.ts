/**
 * The optimizers the replica workers (`replica_worker.ts`) step over one flat array of every
 * trainable weight: Adam (`adam.ts`), plain SGD, SGD with momentum (tfjs' `Momentum`, Nesterov or
 * not) and RMSProp (centered or not). tfjs' own optimizers spend several small kernels per weight
 * tensor on the same arithmetic, each allocating a tensor.
 *
 * The arithmetic is tfjs' (`tf.train.sgd`, `momentum`, `rmsprop`), with c = -rate:
 *
 *     SGD:       w = w + c g
 *     Momentum:  a = m a + g;  w = w + c a          (Nesterov: w = w + c (g + m a))
 *     RMSProp:   s = d s + (1 - d) g^2;  mom = k mom + rate g / sqrt(s + eps);  w = w - mom
 *                centered: mg = d mg + (1 - d) g;  the root is sqrt(s - (mg^2 + eps))
 *
 * rounded to float32 where tfjs stores, so the two agree to float rounding.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { type AdamSettings, adamStep } from "./adam.ts";
import { type OptimizerState, slotsToState, stateToSlots } from "./optimizer_state.ts";

/** An optimizer's settings as its tfjs `getConfig()` gives them, tagged with its kind. */
export type FlatOptimizerSettings =
  | ({ kind: "adam" } & AdamSettings)
  | { kind: "sgd"; learningRate: number }
  | { kind: "momentum"; learningRate: number; momentum: number; useNesterov: boolean }
  | {
    kind: "rmsprop";
    learningRate: number;
    decay: number;
    momentum: number;
    epsilon: number;
    centered: boolean;
  };

/** An optimizer's per-weight variables, one flat array per kind, and the steps taken. */
export interface FlatOptimizerState {
  /** In tfjs' `getWeights()` order: Adam m, v; Momentum the accumulation; RMSProp rms, momentum(, mg). */
  slots: Float32Array[];
  iterations: number;
}

/** tfjs' optimizer class names and the kind each is stepped as. */
const KINDS: Readonly<Record<string, FlatOptimizerSettings["kind"]>> = {
  Adam: "adam",
  SGD: "sgd",
  Momentum: "momentum",
  RMSProp: "rmsprop",
};

/**
 * The settings of `optimizer` when it is one the replicas can step (tfjs' Adam, SGD, Momentum or
 * RMSProp, made with `tf.train.*` or by `compile` from "adam", "sgd" or "rmsprop"), else
 * undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { flatOptimizerSettings } from "./flat_optimizer.ts";
 * assert.deepEqual(flatOptimizerSettings(tf.train.momentum(0.1, 0.9)), {
 *   kind: "momentum", learningRate: 0.1, momentum: 0.9, useNesterov: false,
 * });
 * assert.equal(flatOptimizerSettings(tf.train.adagrad(0.1)), undefined);
 * ```
 */
export function flatOptimizerSettings(
  optimizer: tf.Optimizer,
): FlatOptimizerSettings | undefined {
  const kind = KINDS[optimizer.getClassName()];
  if (kind === undefined) return undefined;
  const config = optimizer.getConfig() as Record<string, number | boolean>;
  const number = (key: string) => Number(config[key]);
  const learningRate = number("learningRate");
  switch (kind) {
    case "adam":
      return {
        kind,
        learningRate,
        beta1: number("beta1"),
        beta2: number("beta2"),
        epsilon: number("epsilon"),
      };
    case "sgd":
      return { kind, learningRate };
    case "momentum":
      return {
        kind,
        learningRate,
        momentum: number("momentum"),
        useNesterov: !!config.useNesterov,
      };
    case "rmsprop":
      return {
        kind,
        learningRate,
        decay: number("decay"),
        momentum: number("momentum"),
        epsilon: number("epsilon"),
        centered: !!config.centered,
      };
  }
}

/**
 * The suffixes tfjs gives each kind of per-weight variable of this optimizer (`NAME/SUFFIX`), in
 * its `getWeights()` order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { slotSuffixes } from "./flat_optimizer.ts";
 * assert.deepEqual(slotSuffixes({ kind: "sgd", learningRate: 0.1 }), []);
 * ```
 */
export function slotSuffixes(settings: FlatOptimizerSettings): string[] {
  switch (settings.kind) {
    case "adam":
      return ["m", "v"];
    case "sgd":
      return [];
    case "momentum":
      return ["momentum"];
    case "rmsprop":
      return settings.centered ? ["rms", "momentum", "mg"] : ["rms", "momentum"];
  }
}

/**
 * A fresh state (zeros, no step taken) for `size` parameters, or the state of a model that has
 * trained before (`state`, as `optimizerState` took it from tfjs).
 *
 * @throws RangeError when `state` holds another number of values than this optimizer keeps for
 * `size` parameters.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { flatOptimizerState } from "./flat_optimizer.ts";
 * const fresh = flatOptimizerState({ kind: "momentum", learningRate: 0.1, momentum: 0.9, useNesterov: false }, 3);
 * assert.deepEqual(fresh, { slots: [new Float32Array(3)], iterations: 0 });
 * ```
 */
export function flatOptimizerState(
  settings: FlatOptimizerSettings,
  size: number,
  state?: OptimizerState,
): FlatOptimizerState {
  const kinds = slotSuffixes(settings).length;
  if (state === undefined) {
    return { slots: Array.from({ length: kinds }, () => new Float32Array(size)), iterations: 0 };
  }
  return { slots: stateToSlots(state, kinds, size), iterations: state.iterations };
}

/**
 * The state as tfjs' `getWeights()` lists it, for `setOptimizerState` (the inverse of
 * {@linkcode flatOptimizerState}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { flatOptimizerState, toOptimizerState } from "./flat_optimizer.ts";
 * const settings = { kind: "rmsprop", learningRate: 0.1, decay: 0.9, momentum: 0, epsilon: 1e-7, centered: false } as const;
 * const state = toOptimizerState(flatOptimizerState(settings, 2), settings, [{ name: "w", shape: [2] }]);
 * assert.deepEqual(state.names, ["w/rms", "w/momentum"]);
 * ```
 */
export function toOptimizerState(
  state: FlatOptimizerState,
  settings: FlatOptimizerSettings,
  weights: readonly { name: string; shape: readonly number[] }[],
): OptimizerState {
  const suffixes = slotSuffixes(settings);
  return slotsToState(state.iterations, suffixes.map((s, i) => [s, state.slots[i]]), weights);
}

/**
 * One step of the optimizer over flat arrays: updates `weights` and `state` in place from
 * `gradient` and counts the step. `learningRate` overrides `settings.learningRate` (a schedule's
 * rate).
 *
 * @throws RangeError when `gradient` or the state's slots are not as long as `weights`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { flatOptimizerState, flatStep } from "./flat_optimizer.ts";
 * const settings = { kind: "momentum", learningRate: 0.5, momentum: 0.9, useNesterov: false } as const;
 * const w = Float32Array.of(1);
 * const state = flatOptimizerState(settings, 1);
 * flatStep(w, Float32Array.of(1), state, settings); // a = 1, w = 1 - 0.5
 * flatStep(w, Float32Array.of(1), state, settings); // a = 1.9, w = 0.5 - 0.95
 * assert.ok(Math.abs(w[0] + 0.45) < 1e-6);
 * assert.equal(state.iterations, 2);
 * ```
 */
export function flatStep(
  weights: Float32Array,
  gradient: Float32Array,
  state: FlatOptimizerState,
  settings: FlatOptimizerSettings,
  learningRate = settings.learningRate,
): void {
  if (
    gradient.length !== weights.length || state.slots.some((s) => s.length !== weights.length)
  ) {
    throw new RangeError(
      `The ${settings.kind} step needs as many gradients (${gradient.length}) and values per ` +
        `slot (${state.slots.map((s) => s.length).join(", ")}) as weights (${weights.length}).`,
    );
  }
  const f = Math.fround;
  if (settings.kind === "adam") {
    const moments = { m: state.slots[0], v: state.slots[1], iterations: state.iterations };
    adamStep(weights, gradient, moments, settings, learningRate);
  } else if (settings.kind === "sgd") {
    const c = f(-learningRate);
    for (let i = 0; i < weights.length; i++) weights[i] = f(weights[i] + f(c * gradient[i]));
  } else if (settings.kind === "momentum") {
    momentumStep(weights, gradient, state.slots[0], settings, learningRate);
  } else rmspropStep(weights, gradient, state.slots, settings, learningRate);
  state.iterations++;
}

/** Momentum's step: `accumulation` a = m a + g, then w += c a (Nesterov: c (g + m a)). */
function momentumStep(
  weights: Float32Array,
  gradient: Float32Array,
  accumulation: Float32Array,
  settings: Extract<FlatOptimizerSettings, { kind: "momentum" }>,
  learningRate: number,
): void {
  const f = Math.fround;
  const m = f(settings.momentum), c = f(-learningRate), nesterov = settings.useNesterov;
  for (let i = 0; i < weights.length; i++) {
    const g = gradient[i];
    const a = f(f(m * accumulation[i]) + g);
    accumulation[i] = a;
    weights[i] = f(weights[i] + f(c * (nesterov ? f(g + f(a * m)) : a)));
  }
}

/** RMSProp's step over its slots: mean squares, moments and (centered) mean gradients. */
function rmspropStep(
  weights: Float32Array,
  gradient: Float32Array,
  [meanSquares, moments, meanGrads]: Float32Array[],
  settings: Extract<FlatOptimizerSettings, { kind: "rmsprop" }>,
  learningRate: number,
): void {
  const f = Math.fround;
  const decay = f(settings.decay), keep = f(1 - settings.decay);
  const momentum = f(settings.momentum), epsilon = f(settings.epsilon), rate = f(learningRate);
  for (let i = 0; i < weights.length; i++) {
    const g = gradient[i];
    const s = f(f(meanSquares[i] * decay) + f(f(g * g) * keep));
    meanSquares[i] = s;
    let root: number;
    if (settings.centered) {
      const mg = f(f(meanGrads[i] * decay) + f(g * keep));
      meanGrads[i] = mg;
      root = f(Math.sqrt(f(s - f(f(mg * mg) + epsilon))));
    } else root = f(Math.sqrt(f(s + epsilon)));
    const mom = f(f(moments[i] * momentum) + f(f(g * rate) / root));
    moments[i] = mom;
    weights[i] = f(weights[i] - mom);
  }
}
