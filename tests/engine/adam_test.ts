/** Adam on flat arrays (lib/engine/adam.ts) against tfjs' own AdamOptimizer. */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  adamMoments,
  type AdamSettings,
  adamStep,
  momentsToState,
  stateToMoments,
} from "../../lib/engine/adam.ts";
import { optimizerState, setOptimizerState } from "../../lib/engine/optimizer_state.ts";
import { createRandom } from "../../lib/random.ts";

await tf.setBackend("cpu");

const SETTINGS: AdamSettings = { learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };

function randomArray(n: number, next: () => number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => scale * (2 * next() - 1));
}

Deno.test("adamStep() takes tfjs' Adam steps to float rounding, with a changed learning rate", () => {
  const next = createRandom(7);
  const shapes = [[3, 4], [4], [5]];
  const sizes = shapes.map((s) => s.reduce((a, b) => a * b, 1));
  const total = sizes.reduce((a, b) => a + b, 0);
  const start = randomArray(total, next);
  const variables = shapes.map((shape, i) => {
    const offset = sizes.slice(0, i).reduce((a, b) => a + b, 0);
    return tf.variable(tf.tensor(start.slice(offset, offset + sizes[i]), shape));
  });
  const adam = tf.train.adam(
    SETTINGS.learningRate,
    SETTINGS.beta1,
    SETTINGS.beta2,
    SETTINGS.epsilon,
  );
  const flat = start.slice();
  const moments = adamMoments(total);
  for (let step = 0; step < 6; step++) {
    const rate = step < 3 ? SETTINGS.learningRate : 0.003;
    const gradient = randomArray(total, next, step + 1);
    (adam as unknown as { learningRate: number }).learningRate = rate;
    tf.tidy(() => {
      let offset = 0;
      adam.applyGradients(variables.map((v, i) => {
        const g = tf.tensor(gradient.slice(offset, offset + sizes[i]), v.shape);
        offset += sizes[i];
        return { name: v.name, tensor: g };
      }));
    });
    adamStep(flat, gradient, moments, SETTINGS, rate);
  }
  const want = Float32Array.from(variables.flatMap((v) => [...v.dataSync()]));
  for (let i = 0; i < total; i++) {
    assert.ok(
      Math.abs(flat[i] - want[i]) <= 1e-6 * Math.max(1, Math.abs(want[i])),
      `weight ${i}: ${flat[i]}, tfjs says ${want[i]}`,
    );
  }
  assert.equal(moments.iterations, 6);
  // The moments agree too, through the state tfjs itself lists.
  const names = variables.map((v) => ({ name: v.name, shape: v.shape }));
  return optimizerState(adam).then((theirs) => {
    const ours = momentsToState(moments, names);
    assert.deepEqual(ours.names, theirs.names);
    assert.equal(ours.iterations, theirs.iterations);
    ours.values.forEach((v, i) => {
      for (let j = 0; j < v.length; j++) {
        assert.ok(Math.abs(v[j] - theirs.values[i][j]) <= 1e-6 * Math.max(1e-3, Math.abs(v[j])));
      }
    });
    adam.dispose();
    tf.dispose(variables);
  });
});

Deno.test("momentsToState() gives a state tfjs' Adam takes, and stateToMoments() reads it back", async () => {
  const moments = adamMoments(7);
  moments.m.set([1, 2, 3, 4, 5, 6, 7]);
  moments.v.set([7, 6, 5, 4, 3, 2, 1]);
  moments.iterations = 12;
  const weights = [{ name: "a", shape: [2, 2] }, { name: "b", shape: [3] }];
  const variables = weights.map((w) => tf.variable(tf.zeros(w.shape), true, w.name));
  const adam = tf.train.adam(0.001);
  // tfjs creates its moments on the first step: take one, then replace its state with ours.
  tf.tidy(() =>
    adam.applyGradients(variables.map((v) => ({ name: v.name, tensor: tf.onesLike(v) })))
  );
  await setOptimizerState(adam, momentsToState(moments, weights));
  const back = stateToMoments(await optimizerState(adam), 7);
  assert.deepEqual(back, moments);
  adam.dispose();
  tf.dispose(variables);
});

Deno.test("stateToMoments() rejects the state of another model with a sentence", () => {
  const state = momentsToState(adamMoments(5), [{ name: "w", shape: [5] }]);
  assert.throws(
    () => stateToMoments(state, 6),
    /holds 5 values per kind \(2 kinds\) but the model has 6/,
  );
});

Deno.test("adamStep() rejects gradients of another length", () => {
  assert.throws(
    () => adamStep(new Float32Array(3), new Float32Array(2), adamMoments(3), SETTINGS),
    /as many gradients \(2\) and moments \(3\) as weights \(3\)/,
  );
});
