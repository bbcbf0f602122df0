/**
 * Scoring a classifier's predictions: the confusion matrix, the classification report with the same
 * definitions as scikit-learn's `classification_report`, and the most confident mistakes.
 *
 * @module
 */

/**
 * Counts, for every true class (row) and predicted class (column), how many images fall there.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { confusionMatrix } from "./metrics.ts";
 * const m = confusionMatrix({ actual: [0, 1, 1], predicted: [0, 1, 0], classes: 2 });
 * assert.equal(m[1][0], 1);
 * assert.equal(m[1][1], 1);
 * ```
 */
export function confusionMatrix(
  options: { actual: ArrayLike<number>; predicted: ArrayLike<number>; classes: number },
): number[][] {
  const { actual, predicted, classes } = options;
  if (actual.length !== predicted.length) {
    throw new RangeError(
      `There are ${actual.length} true labels but ${predicted.length} predictions; ` +
        `pass one prediction per label.`,
    );
  }
  const matrix = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const p = predicted[i];
    if (!(a >= 0 && a < classes && p >= 0 && p < classes)) {
      throw new RangeError(
        `Label ${a} or prediction ${p} at index ${i} is outside 0..${classes - 1}.`,
      );
    }
    matrix[a][p]++;
  }
  return matrix;
}

/** One row of a classification report. */
export interface ReportRow {
  /** A class name, or "accuracy", "macro avg", "weighted avg". */
  label: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/**
 * The classification report of a confusion matrix: precision, recall, F1 and support per class, then
 * accuracy, macro average and weighted average, as scikit-learn defines them (a ratio with a zero
 * denominator counts as 0). The accuracy row carries the accuracy in all three score columns.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { classificationReport } from "./metrics.ts";
 * const rows = classificationReport([[2, 0], [1, 1]], ["cat", "dog"]);
 * assert.equal(rows[0].precision, 2 / 3);
 * assert.equal(rows[2].label, "accuracy");
 * ```
 */
export function classificationReport(
  matrix: number[][],
  classNames: readonly string[],
): ReportRow[] {
  const classes = matrix.length;
  if (classNames.length !== classes) {
    throw new RangeError(
      `The confusion matrix has ${classes} classes but ${classNames.length} names were given.`,
    );
  }
  const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);
  const rows: ReportRow[] = [];
  let total = 0;
  let correct = 0;
  for (let c = 0; c < classes; c++) {
    const truePositives = matrix[c][c];
    const support = matrix[c].reduce((s, v) => s + v, 0);
    const predictedAs = matrix.reduce((s, row) => s + row[c], 0);
    const precision = ratio(truePositives, predictedAs);
    const recall = ratio(truePositives, support);
    rows.push({
      label: classNames[c],
      precision,
      recall,
      f1: ratio(2 * precision * recall, precision + recall),
      support,
    });
    total += support;
    correct += truePositives;
  }
  const perClass = rows.slice();
  const accuracy = ratio(correct, total);
  const average = (weight: (row: ReportRow) => number, label: string): ReportRow => {
    const weights = perClass.map(weight);
    const sum = weights.reduce((s, w) => s + w, 0);
    const mean = (key: "precision" | "recall" | "f1") =>
      ratio(perClass.reduce((s, row, i) => s + row[key] * weights[i], 0), sum);
    return {
      label,
      precision: mean("precision"),
      recall: mean("recall"),
      f1: mean("f1"),
      support: total,
    };
  };
  rows.push({
    label: "accuracy",
    precision: accuracy,
    recall: accuracy,
    f1: accuracy,
    support: total,
  });
  rows.push(average(() => 1, "macro avg"));
  rows.push(average((row) => row.support, "weighted avg"));
  return rows;
}

/**
 * The index, counted from `start`, of the largest of `length` values from `start`: the class a
 * row of probabilities predicts (the first one on a tie).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { argMax } from "./metrics.ts";
 * assert.equal(argMax([0.1, 0.7, 0.2]), 1);
 * assert.equal(argMax([9, 9, 0.5, 0.5, 0.1], { start: 2, length: 3 }), 0);
 * ```
 */
export function argMax(
  values: ArrayLike<number>,
  range: { start?: number; length?: number } = {},
): number {
  const start = range.start ?? 0;
  const length = range.length ?? values.length - start;
  let best = 0;
  for (let i = 1; i < length; i++) if (values[start + i] > values[start + best]) best = i;
  return best;
}

/** A wrong prediction and how sure the model was of it. */
export interface Mistake {
  /** The image's index in the split. */
  index: number;
  actual: number;
  predicted: number;
  /** The probability the model gave its (wrong) prediction. */
  confidence: number;
}

/**
 * The wrong predictions the model was surest of, most confident first.
 *
 * @param probabilities `count` x classes, row-major.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mostConfidentMistakes } from "./metrics.ts";
 * const probabilities = new Float32Array([0.9, 0.1, 0.2, 0.8, 0.3, 0.7]);
 * const [worst] = mostConfidentMistakes({ probabilities, actual: [1, 1, 0], limit: 1 });
 * assert.equal(worst.index, 0);
 * assert.equal(worst.predicted, 0);
 * ```
 */
export function mostConfidentMistakes(
  options: { probabilities: Float32Array; actual: ArrayLike<number>; limit: number },
): Mistake[] {
  const { probabilities, actual, limit } = options;
  const count = actual.length;
  const classes = count === 0 ? 0 : probabilities.length / count;
  if (!Number.isInteger(classes)) {
    throw new RangeError(
      `${probabilities.length} probabilities do not split into ${count} rows of classes.`,
    );
  }
  const mistakes: Mistake[] = [];
  for (let i = 0; i < count; i++) {
    const predicted = argMax(probabilities, { start: i * classes, length: classes });
    if (predicted !== actual[i]) {
      mistakes.push({
        index: i,
        actual: actual[i],
        predicted,
        confidence: probabilities[i * classes + predicted],
      });
    }
  }
  return mistakes.sort((a, b) => b.confidence - a.confidence || a.index - b.index).slice(0, limit);
}
