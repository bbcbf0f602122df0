/**
 * How sure a classifier is, and whether that sureness is honest: the confidence of each answer
 * (its top softmax probability), a reliability table with the expected calibration error, accuracy
 * against coverage when low-confidence answers become "not sure", and the "not sure" threshold
 * chosen on held-out images.
 *
 * @module
 */
import { argMax } from "./metrics.ts";

/** Each image's answer and the probability the model gave it. */
export interface Confidences {
  /** The answer: the most probable class. */
  predicted: Uint8Array;
  /** The answer's probability, the model's "confidence". */
  confidence: Float32Array;
}

/**
 * The answer and its probability for each row of `probabilities` (`count` x `classes`).
 *
 * @throws {RangeError} when the probabilities do not split into rows of `classes`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { confidences } from "./calibration.ts";
 * const { predicted, confidence } = confidences(Float32Array.of(0.2, 0.8, 0.6, 0.4), 2);
 * assert.deepEqual([...predicted], [1, 0]);
 * assert.deepEqual([...confidence], [Math.fround(0.8), Math.fround(0.6)]);
 * ```
 */
export function confidences(probabilities: Float32Array, classes: number): Confidences {
  if (!Number.isInteger(classes) || classes < 1 || probabilities.length % classes !== 0) {
    throw new RangeError(
      `${probabilities.length} probabilities do not split into rows of ${classes} classes.`,
    );
  }
  const count = probabilities.length / classes;
  const predicted = new Uint8Array(count);
  const confidence = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    predicted[i] = argMax(probabilities, { start: i * classes, length: classes });
    confidence[i] = probabilities[i * classes + predicted[i]];
  }
  return { predicted, confidence };
}

/** Scored answers: what {@linkcode reliability}, {@linkcode accuracyCoverage} and
 * {@linkcode notSureThreshold} take. */
export interface ScoredAnswers {
  /** The class probabilities, `labels.length` x classes, row-major. */
  probabilities: Float32Array;
  /** The true class of each image. */
  labels: ArrayLike<number>;
}

/** Per image: its confidence and whether its answer is right. */
function scored(options: ScoredAnswers): { confidence: Float32Array; correct: Uint8Array } {
  const count = options.labels.length;
  if (count === 0) return { confidence: new Float32Array(), correct: new Uint8Array() };
  const { predicted, confidence } = confidences(
    options.probabilities,
    options.probabilities.length / count,
  );
  const correct = predicted.map((p, i) => p === options.labels[i] ? 1 : 0);
  return { confidence, correct };
}

/** One confidence bin of a reliability diagram. */
export interface ReliabilityBin {
  /** The bin holds the confidences in [lower, upper) (the last one includes 1). */
  lower: number;
  upper: number;
  /** How many answers fall in it. */
  count: number;
  /** Their mean confidence (0 for an empty bin). */
  confidence: number;
  /** The share of them that is right (0 for an empty bin). */
  accuracy: number;
}

/** A reliability table: confidence against accuracy, bin by bin. */
export interface Reliability {
  bins: ReliabilityBin[];
  /**
   * The expected calibration error: the mean over answers of |accuracy - confidence| of their
   * bin, i.e. the sum over bins of (count / total) x |accuracy - confidence|.
   */
  ece: number;
  /** All answers, and the share of them that is right. */
  count: number;
  accuracy: number;
}

/**
 * Sorts the answers into `bins` equal confidence bins over [0, 1] and compares, in each, how sure
 * the model was with how often it was right (Guo et al. 2017). A calibrated model is right 90% of
 * the time when it says 90%.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { reliability } from "./calibration.ts";
 * // Two answers at 0.95 (one right), two at 0.65 (both right).
 * const probabilities = Float32Array.of(0.95, 0.05, 0.95, 0.05, 0.35, 0.65, 0.35, 0.65);
 * const table = reliability({ probabilities, labels: [0, 1, 1, 1], bins: 10 });
 * assert.equal(table.bins[9].count, 2);
 * assert.equal(table.bins[9].accuracy, 0.5);
 * assert.equal(table.bins[6].accuracy, 1);
 * assert.ok(Math.abs(table.ece - (0.5 * 0.45 + 0.5 * 0.35)) < 1e-6);
 * ```
 */
export function reliability(options: ScoredAnswers & { bins?: number }): Reliability {
  const binCount = options.bins ?? 10;
  if (!Number.isInteger(binCount) || binCount < 1) {
    throw new RangeError(`The number of bins must be a positive integer, got ${binCount}.`);
  }
  const { confidence, correct } = scored(options);
  const counts = new Array<number>(binCount).fill(0);
  const sums = new Array<number>(binCount).fill(0);
  const rights = new Array<number>(binCount).fill(0);
  for (let i = 0; i < confidence.length; i++) {
    const bin = Math.min(binCount - 1, Math.floor(confidence[i] * binCount));
    counts[bin]++;
    sums[bin] += confidence[i];
    rights[bin] += correct[i];
  }
  const total = confidence.length;
  const bins = counts.map((count, b) => ({
    lower: b / binCount,
    upper: (b + 1) / binCount,
    count,
    confidence: count === 0 ? 0 : sums[b] / count,
    accuracy: count === 0 ? 0 : rights[b] / count,
  }));
  const ece = bins.reduce((s, b) => s + (b.count / total) * Math.abs(b.accuracy - b.confidence), 0);
  const right = rights.reduce((s, r) => s + r, 0);
  return {
    bins,
    ece: total === 0 ? 0 : ece,
    count: total,
    accuracy: total === 0 ? 0 : right / total,
  };
}

/** What answering only at confidence >= `threshold` gives. */
export interface CoveragePoint {
  /** Answers below this confidence become "not sure". */
  threshold: number;
  /** The share of images answered. */
  coverage: number;
  /** The share of the answered images that is right (1 when none is answered). */
  accuracy: number;
  /** How many images are answered. */
  answered: number;
}

/**
 * Accuracy against coverage: for thresholds at every answer's confidence (at most `points` of
 * them, spread evenly over the coverage), which share of images the model answers when it says
 * "not sure" below the threshold, and how many of those answers are right. The first point
 * answers everything (threshold 0); coverage falls and, for a model whose confidence means
 * something, accuracy rises along the list.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { accuracyCoverage } from "./calibration.ts";
 * // Confidences 0.9 (right), 0.8 (wrong), 0.6 (right).
 * const probabilities = Float32Array.of(0.9, 0.1, 0.2, 0.8, 0.6, 0.4);
 * const curve = accuracyCoverage({ probabilities, labels: [0, 0, 0] });
 * assert.deepEqual(curve.map((p) => [p.answered, p.accuracy]), [[3, 2 / 3], [2, 0.5], [1, 1]]);
 * ```
 */
export function accuracyCoverage(options: ScoredAnswers & { points?: number }): CoveragePoint[] {
  const { confidence, correct } = scored(options);
  const count = confidence.length;
  const order = Array.from({ length: count }, (_, i) => i)
    .sort((a, b) => confidence[b] - confidence[a]);
  // rightAbove[k]: right answers among the k most confident.
  const rightAbove = new Array<number>(count + 1).fill(0);
  order.forEach((image, k) => rightAbove[k + 1] = rightAbove[k] + correct[image]);
  const point = (threshold: number, answered: number): CoveragePoint => ({
    threshold,
    coverage: count === 0 ? 0 : answered / count,
    accuracy: answered === 0 ? 1 : rightAbove[answered] / answered,
    answered,
  });
  const points = [point(0, count)];
  const step = Math.max(1, count / Math.max(1, (options.points ?? 200) - 1));
  let previous = Number.NaN;
  for (let target = count - step; target >= 1; target -= step) {
    // The threshold is the confidence of the target-th most confident answer; ties with it
    // are answered too, so `answered` may exceed the target.
    const threshold = confidence[order[Math.ceil(target) - 1]];
    if (threshold === previous || threshold === 0) continue;
    previous = threshold;
    let answered = Math.ceil(target);
    while (answered < count && confidence[order[answered]] >= threshold) answered++;
    if (answered < points[points.length - 1].answered) points.push(point(threshold, answered));
  }
  return points;
}

/**
 * What answering only at confidence >= `threshold` gives on these answers: the share answered and
 * how many of those are right (1 when none is answered).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { coverageAt } from "./calibration.ts";
 * const probabilities = Float32Array.of(0.9, 0.1, 0.2, 0.8, 0.6, 0.4);
 * const point = coverageAt({ probabilities, labels: [0, 0, 0], threshold: 0.7 });
 * assert.deepEqual([point.answered, point.coverage, point.accuracy], [2, 2 / 3, 0.5]);
 * ```
 */
export function coverageAt(options: ScoredAnswers & { threshold: number }): CoveragePoint {
  const { confidence, correct } = scored(options);
  let answered = 0;
  let right = 0;
  for (let i = 0; i < confidence.length; i++) {
    if (confidence[i] >= options.threshold) {
      answered++;
      right += correct[i];
    }
  }
  return {
    threshold: options.threshold,
    coverage: confidence.length === 0 ? 0 : answered / confidence.length,
    accuracy: answered === 0 ? 1 : right / answered,
    answered,
  };
}

/**
 * The accuracy the notebook and `deno task train` ask of the answers the model still gives when
 * it may say "not sure": 99.5% on the validation images.
 */
export const NOT_SURE_TARGET_ACCURACY = 0.995;

/** The "not sure" rule chosen by {@linkcode notSureThreshold}. */
export interface NotSureRule {
  /** Answers below this confidence are "not sure" (0: the model always answers). */
  threshold: number;
  /** The accuracy asked of the answers kept. */
  targetAccuracy: number;
  /** On the images the rule was chosen on: the share answered and their accuracy. */
  coverage: number;
  accuracy: number;
  /** Whether some threshold reaches the target; if not, the most accurate one was taken. */
  reached: boolean;
}

/**
 * Chooses the "not sure" threshold on held-out images (the validation images, never the test
 * set): the LOWEST confidence c such that the images answered with confidence >= c are at least
 * `targetAccuracy` right. Lowest, so that the model answers as often as it can while keeping the
 * promise. When no threshold reaches the target, the one with the best accuracy is taken and
 * `reached` is false.
 *
 * @throws {RangeError} for no images, or a target outside (0, 1].
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { notSureThreshold } from "./calibration.ts";
 * // Confidences 0.9 (right), 0.8 (wrong), 0.6 (right): only >= 0.9 is 100% right.
 * const probabilities = Float32Array.of(0.9, 0.1, 0.2, 0.8, 0.6, 0.4);
 * const rule = notSureThreshold({ probabilities, labels: [0, 0, 0], targetAccuracy: 0.99 });
 * assert.equal(rule.threshold, Math.fround(0.9));
 * assert.equal(rule.coverage, 1 / 3);
 * ```
 */
export function notSureThreshold(
  options: ScoredAnswers & { targetAccuracy: number },
): NotSureRule {
  const { targetAccuracy } = options;
  if (!(targetAccuracy > 0 && targetAccuracy <= 1)) {
    throw new RangeError(
      `The target accuracy must be a share in (0, 1], such as 0.995; got ${targetAccuracy}.`,
    );
  }
  if (options.labels.length === 0) {
    throw new RangeError(
      "There are no held-out images to choose the not-sure threshold on: hold some out " +
        "(VALIDATION_SPLIT above 0).",
    );
  }
  // Every distinct confidence is a candidate: the exact lowest threshold, not a grid point.
  const curve = accuracyCoverage({ ...options, points: options.labels.length + 1 });
  const reaching = curve.filter((p) => p.answered > 0 && p.accuracy >= targetAccuracy);
  const best = reaching.length > 0
    ? reaching.reduce((a, b) => (b.threshold < a.threshold ? b : a))
    : curve.reduce((a, b) => (b.accuracy > a.accuracy ? b : a));
  return {
    threshold: best.threshold,
    targetAccuracy,
    coverage: best.coverage,
    accuracy: best.accuracy,
    reached: reaching.length > 0,
  };
}

/**
 * The "not sure" rule in a sentence: the threshold, and what it gives on the images it was chosen
 * on; for no rule (no validation images), that the model always answers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeNotSure } from "./calibration.ts";
 * const rule = { threshold: 0.9123, targetAccuracy: 0.995, coverage: 0.97, accuracy: 0.9951, reached: true };
 * assert.equal(
 *   describeNotSure(rule, "6,000 validation images"),
 *   "Not sure below a confidence of 0.9123: on the 6,000 validation images the model then " +
 *     "answers 97.0% of them, and 99.51% of its answers are right (asked: 99.50%).",
 * );
 * ```
 */
export function describeNotSure(rule: NotSureRule | undefined, images: string): string {
  if (rule === undefined) {
    return "No not-sure threshold: there are no validation images to choose it on " +
      "(VALIDATION_SPLIT=0), so the model always answers.";
  }
  const reached = rule.reached ? "" : " No threshold reaches that; this one comes closest.";
  return `Not sure below a confidence of ${rule.threshold.toFixed(4)}: on the ${images} the ` +
    `model then answers ${(100 * rule.coverage).toFixed(1)}% of them, and ` +
    `${(100 * rule.accuracy).toFixed(2)}% of its answers are right (asked: ` +
    `${(100 * rule.targetAccuracy).toFixed(2)}%).${reached}`;
}
