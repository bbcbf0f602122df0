/** The replicas' flat optimizers (lib/engine/flat_optimizer.ts) against tfjs' own. */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  flatOptimizerSettings,
  flatOptimizerState,
  flatStep,
  toOptimizerState,
} from "../../lib/engine/flat_optimizer.ts";
import { optimizerState, setOptimizerState } from "../../lib/engine/optimizer_state.ts";
import { createRandom } from "../../lib/random.ts";

await tf.setBackend("cpu");

const SHAPES = [[3, 4], [4], [5]];
const SIZES = SHAPES.map((s) => s.reduce((a, b) => a * b, 1));
const TOTAL = SIZES.reduce((a, b) => a + b, 0);

function randomArray(n: number, next: () => number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => scale * (2 * next() - 1));
}

/** Variables holding `flat`, cut into {@linkcode SHAPES}. */
function variablesOf(flat: Float32Array): tf.Variable[] {
  let offset = 0;
  return SHAPES.map((shape, i) => {
    const values = tf.tensor(flat.slice(offset, offset + SIZES[i]), shape);
    offset += SIZES[i];
    const v = tf.variable(values);
    values.dispose();
    return v;
  });
}

function applyTo(optimizer: tf.Optimizer, variables: tf.Variable[], gradient: Float32Array) {
  tf.tidy(() => {
    let offset = 0;
    optimizer.applyGradients(variables.map((v, i) => {
      const g = tf.tensor(gradient.slice(offset, offset + SIZES[i]), v.shape);
      offset += SIZES[i];
      return { name: v.name, tensor: g };
    }));
  });
}

/** Disposes `optimizer`; tfjs' Momentum.dispose() forgets the -rate scalar SGD keeps (`c`). */
function disposeOptimizer(optimizer: tf.Optimizer): void {
  optimizer.dispose();
  if (optimizer.getClassName() === "Momentum") {
    (optimizer as unknown as { c: tf.Tensor }).c.dispose();
  }
}

function assertClose(ours: Float32Array, theirs: ArrayLike<number>, what: string): void {
  assert.equal(ours.length, theirs.length, `${what}: length`);
  for (let i = 0; i < ours.length; i++) {
    assert.ok(
      Math.abs(ours[i] - theirs[i]) <= 1e-6 * Math.max(1, Math.abs(theirs[i])),
      `${what} ${i}: ${ours[i]}, tfjs says ${theirs[i]}`,
    );
  }
}

/**
 * Steps `make()`'s optimizer and the flat one `steps` times on the same seeded gradients, then
 * moves tfjs' state into a fresh optimizer and ours through `toOptimizerState` and
 * `flatOptimizerState`, and steps both `steps` more: weights and state agree to 1e-6 throughout.
 */
async function assertMatchesTfjs(make: () => tf.Optimizer, steps = 4): Promise<void> {
  const before = tf.memory().numTensors;
  const next = createRandom(11);
  const start = randomArray(TOTAL, next);
  const variables = variablesOf(start);
  const names = variables.map((v) => ({ name: v.name, shape: v.shape }));
  let theirs = make();
  const settings = flatOptimizerSettings(theirs);
  assert.ok(settings !== undefined, theirs.getClassName());
  const flat = start.slice();
  let ours = flatOptimizerState(settings, TOTAL);
  for (let step = 0; step < 2 * steps; step++) {
    if (step === steps) {
      // A second training call: the state leaves through plain arrays and comes back.
      const saved = await optimizerState(theirs);
      const fresh = make();
      await setOptimizerState(fresh, saved);
      disposeOptimizer(theirs);
      theirs = fresh;
      ours = flatOptimizerState(settings, TOTAL, toOptimizerState(ours, settings, names));
    }
    const gradient = randomArray(TOTAL, next, step + 1);
    applyTo(theirs, variables, gradient);
    flatStep(flat, gradient, ours, settings);
    const want = Float32Array.from(variables.flatMap((v) => [...v.dataSync()]));
    assertClose(flat, want, `${settings.kind} step ${step + 1}, weight`);
  }
  assert.equal(ours.iterations, 2 * steps);
  const state = await optimizerState(theirs);
  assert.equal(state.iterations, 2 * steps);
  const mine = toOptimizerState(ours, settings, names);
  assert.deepEqual(mine.names, state.names);
  mine.values.forEach((v, i) => assertClose(v, state.values[i], `${state.names[i]}`));
  disposeOptimizer(theirs);
  tf.dispose(variables);
  assert.equal(tf.memory().numTensors, before, "no tensor left behind");
}

Deno.test("flatStep() takes tf.train.sgd's steps, and its state (the step count) carries over", async () => {
  await assertMatchesTfjs(() => tf.train.sgd(0.05));
});

Deno.test("flatStep() takes tf.train.momentum's steps (Nesterov off by default), across a state round trip", async () => {
  await assertMatchesTfjs(() => tf.train.momentum(0.05, 0.9));
});

Deno.test("flatStep() takes tf.train.momentum's Nesterov steps", async () => {
  await assertMatchesTfjs(() => tf.train.momentum(0.02, 0.8, true));
});

Deno.test("flatStep() takes tf.train.rmsprop's steps with its defaults (decay 0.9, no momentum, epsilon, not centered)", async () => {
  const settings = flatOptimizerSettings(tf.train.rmsprop(0.01));
  assert.deepEqual(settings, {
    kind: "rmsprop",
    learningRate: 0.01,
    decay: 0.9,
    momentum: 0,
    epsilon: 1e-7,
    centered: false,
  });
  await assertMatchesTfjs(() => tf.train.rmsprop(0.01));
});

Deno.test("flatStep() takes tf.train.rmsprop's steps with momentum, and centered", async () => {
  await assertMatchesTfjs(() => tf.train.rmsprop(0.01, 0.8, 0.5, 1e-6));
  await assertMatchesTfjs(() => tf.train.rmsprop(0.005, 0.9, 0.3, 1e-6, true));
});

Deno.test("flatStep() takes tf.train.adam's steps, across a state round trip", async () => {
  await assertMatchesTfjs(() => tf.train.adam(0.01));
});

Deno.test("flatStep() follows a changed learning rate", () => {
  const settings = { kind: "sgd", learningRate: 0.1 } as const;
  const w = Float32Array.of(1, 1);
  flatStep(w, Float32Array.of(1, -2), flatOptimizerState(settings, 2), settings, 0.25);
  assertClose(w, [0.75, 1.5], "weight");
});

Deno.test("flatOptimizerSettings() reads compile's string optimizers and refuses others", () => {
  const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 2 })] });
  const kinds = ["adam", "sgd", "rmsprop"].map((optimizer) => {
    model.compile({ optimizer, loss: "categoricalCrossentropy" });
    return flatOptimizerSettings(model.optimizer)?.kind;
  });
  assert.deepEqual(kinds, ["adam", "sgd", "rmsprop"]);
  for (const other of [tf.train.adagrad(0.1), tf.train.adadelta(), tf.train.adamax()]) {
    assert.equal(flatOptimizerSettings(other), undefined, other.getClassName());
    other.dispose();
  }
  model.dispose();
});

Deno.test("flatStep() and flatOptimizerState() reject arrays and states of another size", () => {
  const settings = {
    kind: "momentum",
    learningRate: 0.1,
    momentum: 0.9,
    useNesterov: false,
  } as const;
  assert.throws(
    () =>
      flatStep(new Float32Array(3), new Float32Array(3), flatOptimizerState(settings, 2), settings),
    /momentum step needs as many gradients \(3\) and values per slot \(2\) as weights \(3\)/,
  );
  const state = toOptimizerState(flatOptimizerState(settings, 2), settings, [{
    name: "w",
    shape: [2],
  }]);
  assert.throws(() => flatOptimizerState(settings, 3, state), /belongs to another model/);
});
