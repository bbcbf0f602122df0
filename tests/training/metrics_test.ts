import assert from "node:assert/strict";
import {
  argMax,
  classificationReport,
  confusionMatrix,
  mostConfidentMistakes,
} from "../../lib/training/metrics.ts";

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} != ${b}`);

Deno.test("confusionMatrix() counts true rows against predicted columns", () => {
  const m = confusionMatrix({
    actual: [0, 0, 1, 2, 2, 2],
    predicted: [0, 1, 1, 2, 0, 2],
    classes: 3,
  });
  assert.deepEqual(m, [[1, 1, 0], [0, 1, 0], [1, 0, 2]]);
});

Deno.test("confusionMatrix() rejects mismatched lengths and out-of-range classes", () => {
  assert.throws(
    () => confusionMatrix({ actual: [0], predicted: [], classes: 2 }),
    /1 true labels but 0 predictions/,
  );
  assert.throws(
    () => confusionMatrix({ actual: [3], predicted: [0], classes: 2 }),
    /outside 0\.\.1/,
  );
});

Deno.test("classificationReport() matches scikit-learn's classification_report", () => {
  // sklearn.metrics.classification_report([0,0,1,2,2,2], [0,1,1,2,0,2], output_dict=True):
  // 0: p .5 r .5 f1 .5 s 2; 1: p .5 r 1 f1 .6667 s 1; 2: p 1 r .6667 f1 .8 s 3; accuracy .6667;
  // macro: p .6667 r .7222 f1 .6556; weighted: p .75 r .6667 f1 .6667.
  const rows = classificationReport([[1, 1, 0], [0, 1, 0], [1, 0, 2]], ["a", "b", "c"]);
  assert.deepEqual(rows.map((r) => r.label), [
    "a",
    "b",
    "c",
    "accuracy",
    "macro avg",
    "weighted avg",
  ]);
  close(rows[1].f1, 2 / 3);
  close(rows[2].recall, 2 / 3);
  close(rows[2].f1, 0.8);
  close(rows[3].f1, 4 / 6);
  close(rows[4].precision, 2 / 3);
  close(rows[4].recall, (0.5 + 1 + 2 / 3) / 3);
  close(rows[4].f1, (0.5 + 2 / 3 + 0.8) / 3);
  close(rows[5].precision, (0.5 * 2 + 0.5 * 1 + 1 * 3) / 6);
  close(rows[5].f1, (0.5 * 2 + (2 / 3) * 1 + 0.8 * 3) / 6);
  assert.equal(rows[5].support, 6);
});

Deno.test("classificationReport() scores a never-predicted class as 0, not NaN", () => {
  const rows = classificationReport([[2, 0], [1, 0]], ["x", "y"]);
  assert.equal(rows[1].precision, 0);
  assert.equal(rows[1].f1, 0);
});

Deno.test("mostConfidentMistakes() lists wrong predictions, surest first", () => {
  const probabilities = new Float32Array([
    0.6,
    0.4, // predicts 0, true 1: wrong, 0.6
    0.1,
    0.9, // predicts 1, true 1: right
    0.05,
    0.95, // predicts 1, true 0: wrong, 0.95
  ]);
  const mistakes = mostConfidentMistakes({ probabilities, actual: [1, 1, 0], limit: 5 });
  assert.deepEqual(mistakes.map((m) => [m.index, m.actual, m.predicted]), [[2, 0, 1], [0, 1, 0]]);
  close(mistakes[0].confidence, Math.fround(0.95));
});

Deno.test("argMax() predicts the first of tied classes, as tf.argMax and numpy do", () => {
  assert.equal(argMax([0.2, 0.4, 0.4]), 1);
  assert.equal(argMax([0.5, 0.5]), 0);
  assert.equal(argMax([9, 0.1, 0.3, 0.3, 0.3], { start: 1, length: 4 }), 1);
});
