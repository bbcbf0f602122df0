// lib/training/calibration.ts: confidences, the reliability table and its expected calibration
// error, accuracy against coverage, and the "not sure" threshold chosen on held-out images.
import assert from "node:assert/strict";
import {
  accuracyCoverage,
  confidences,
  coverageAt,
  describeNotSure,
  notSureThreshold,
  reliability,
} from "../../lib/training/calibration.ts";
import { createRandom } from "../../lib/random.ts";

/** Two-class probabilities: each image's top probability is `top`, on class `answer`. */
function answers(rows: readonly { top: number; answer: number }[]): Float32Array {
  const out = new Float32Array(rows.length * 2);
  rows.forEach(({ top, answer }, i) => {
    out[i * 2 + answer] = top;
    out[i * 2 + 1 - answer] = 1 - top;
  });
  return out;
}

Deno.test("confidences() takes each row's most probable class and its probability", () => {
  const { predicted, confidence } = confidences(
    Float32Array.of(0.1, 0.3, 0.6, 0.5, 0.25, 0.25),
    3,
  );
  assert.deepEqual([...predicted], [2, 0]);
  assert.deepEqual([...confidence], [Math.fround(0.6), 0.5]);
  assert.throws(
    () => confidences(new Float32Array(5), 3),
    /5 probabilities do not split into rows of 3/,
  );
});

Deno.test("reliability() bins by confidence and weighs each bin's gap by its share of answers", () => {
  // Bin [0.9, 1): 4 answers at 0.95, 3 right. Bin [0.6, 0.7): 2 at 0.65, 0 right.
  const rows = [
    ...Array.from({ length: 4 }, () => ({ top: 0.95, answer: 0 })),
    { top: 0.65, answer: 1 },
    { top: 0.65, answer: 1 },
  ];
  const labels = [0, 0, 0, 1, 0, 0];
  const table = reliability({ probabilities: answers(rows), labels, bins: 10 });
  assert.equal(table.bins.length, 10);
  assert.deepEqual(table.bins.map((b) => b.count), [0, 0, 0, 0, 0, 0, 2, 0, 0, 4]);
  assert.equal(table.bins[9].accuracy, 0.75);
  assert.ok(Math.abs(table.bins[9].confidence - 0.95) < 1e-6);
  assert.equal(table.bins[6].accuracy, 0);
  assert.deepEqual([table.bins[6].lower, table.bins[6].upper], [0.6, 0.7]);
  const expected = (4 / 6) * Math.abs(0.75 - 0.95) + (2 / 6) * Math.abs(0 - 0.65);
  assert.ok(Math.abs(table.ece - expected) < 1e-6, `${table.ece} vs ${expected}`);
  assert.equal(table.count, 6);
  assert.equal(table.accuracy, 3 / 6);
  // A confidence of exactly 1 falls in the last bin, not outside.
  assert.equal(reliability({ probabilities: Float32Array.of(1, 0), labels: [0] }).bins[9].count, 1);
  assert.throws(() => reliability({ probabilities: answers(rows), labels, bins: 0 }), /bins/);
});

Deno.test("reliability() of a calibrated model has an error near 0, of an overconfident one not", () => {
  const random = createRandom(7);
  const rows: { top: number; answer: number }[] = [];
  const labels: number[] = [];
  for (let i = 0; i < 20_000; i++) {
    const top = 0.5 + 0.5 * random();
    rows.push({ top, answer: 0 });
    labels.push(random() < top ? 0 : 1); // right with probability `top`: calibrated
  }
  const honest = reliability({ probabilities: answers(rows), labels });
  assert.ok(honest.ece < 0.015, `calibrated: ${honest.ece}`);
  const boasting = rows.map(({ top }) => ({ top: Math.min(1, top + 0.3), answer: 0 }));
  const overconfident = reliability({ probabilities: answers(boasting), labels });
  assert.ok(overconfident.ece > 0.15, `overconfident: ${overconfident.ece}`);
});

Deno.test("accuracyCoverage() answers fewer, surer images as the threshold rises; ties go together", () => {
  // Confidences 0.99 (right), 0.9 twice (one right), 0.7 (wrong), 0.6 (right).
  const rows = [0.99, 0.9, 0.9, 0.7, 0.6].map((top) => ({ top, answer: 0 }));
  const labels = [0, 0, 1, 1, 0];
  const curve = accuracyCoverage({ probabilities: answers(rows), labels });
  assert.deepEqual(
    curve.map((p) => [Number(p.threshold.toFixed(2)), p.answered, p.accuracy]),
    [[0, 5, 3 / 5], [0.7, 4, 2 / 4], [0.9, 3, 2 / 3], [0.99, 1, 1]],
  );
  assert.deepEqual(curve.map((p) => p.coverage), [1, 0.8, 0.6, 0.2]);
  // A coarse curve whose step lands inside a run of equal confidences answers the whole run.
  const tied = [0.99, 0.9, 0.9, 0.9, 0.9, 0.9, 0.7, 0.7, 0.7, 0.7].map((top) => ({
    top,
    answer: 0,
  }));
  const coarse = accuracyCoverage({
    probabilities: answers(tied),
    labels: tied.map(() => 0),
    points: 3,
  });
  assert.deepEqual(coarse.map((p) => p.answered), [10, 6], "the 5th most confident ties 4 others");
  // Many images: at most `points` points, coverage falling all the way.
  const random = createRandom(3);
  const many = Array.from({ length: 5000 }, () => ({ top: 0.5 + 0.5 * random(), answer: 0 }));
  const long = accuracyCoverage({
    probabilities: answers(many),
    labels: many.map(() => 0),
    points: 50,
  });
  assert.ok(long.length <= 50 && long.length >= 45, `${long.length} points`);
  for (let k = 1; k < long.length; k++) {
    assert.ok(long[k].coverage < long[k - 1].coverage && long[k].threshold > long[k - 1].threshold);
  }
});

Deno.test("notSureThreshold() takes the lowest confidence whose answers reach the target accuracy", () => {
  // Sorted by confidence: right, right, right, wrong, right, right, wrong, wrong.
  const tops = [0.99, 0.98, 0.97, 0.96, 0.9, 0.8, 0.7, 0.6];
  const labels = [0, 0, 0, 1, 0, 0, 1, 1];
  const probabilities = answers(tops.map((top) => ({ top, answer: 0 })));
  const strict = notSureThreshold({ probabilities, labels, targetAccuracy: 1 });
  assert.equal(strict.threshold, Math.fround(0.97));
  assert.equal(strict.coverage, 3 / 8);
  assert.equal(strict.reached, true);
  // 80%: at 0.8 the 6 answered are 5/6 right; at 0.7, 5/7 is not enough.
  const loose = notSureThreshold({ probabilities, labels, targetAccuracy: 0.8 });
  assert.equal(loose.threshold, Math.fround(0.8));
  assert.equal(loose.accuracy, 5 / 6);
  // Reached by every threshold: the model always answers.
  const easy = notSureThreshold({ probabilities, labels, targetAccuracy: 0.5 });
  assert.deepEqual([easy.threshold, easy.coverage], [0, 1]);
});

Deno.test("notSureThreshold() says when no threshold reaches the target, and refuses bad input", () => {
  const probabilities = answers([{ top: 0.9, answer: 0 }, { top: 0.8, answer: 0 }]);
  const rule = notSureThreshold({ probabilities, labels: [1, 0], targetAccuracy: 0.99 });
  assert.equal(rule.reached, false);
  assert.equal(rule.accuracy, 0.5, "the most accurate threshold, answering everything");
  assert.throws(
    () => notSureThreshold({ probabilities: new Float32Array(), labels: [], targetAccuracy: 0.9 }),
    /no held-out images .*VALIDATION_SPLIT above 0/,
  );
  assert.throws(
    () => notSureThreshold({ probabilities, labels: [1, 0], targetAccuracy: 99.5 }),
    /target accuracy must be a share in \(0, 1\], such as 0.995; got 99.5/,
  );
});

Deno.test("coverageAt() answers the images at or above the threshold, as the curve does", () => {
  const tops = [0.99, 0.9, 0.9, 0.7, 0.6];
  const labels = [0, 0, 1, 1, 0];
  const probabilities = answers(tops.map((top) => ({ top, answer: 0 })));
  const curve = accuracyCoverage({ probabilities, labels });
  for (const point of curve) {
    assert.deepEqual(coverageAt({ probabilities, labels, threshold: point.threshold }), point);
  }
  assert.deepEqual(coverageAt({ probabilities, labels, threshold: 1 }), {
    threshold: 1,
    coverage: 0,
    accuracy: 1,
    answered: 0,
  });
});

Deno.test("describeNotSure() states the threshold, what it gives, and when the target is missed", () => {
  const rule = { threshold: 0.5, targetAccuracy: 0.99, coverage: 1, accuracy: 0.5, reached: false };
  assert.equal(
    describeNotSure(rule, "2 validation images"),
    "Not sure below a confidence of 0.5000: on the 2 validation images the model then answers " +
      "100.0% of them, and 50.00% of its answers are right (asked: 99.00%). No threshold " +
      "reaches that; this one comes closest.",
  );
  assert.match(describeNotSure(undefined, "x"), /no validation images .*always answers/);
});
