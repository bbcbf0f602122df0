/**
 * Time to accuracy, as DAWNBench measures it: the wall time from the first training step until the
 * test accuracy measured after an epoch first reaches a target, evaluation time counted.
 * {@linkcode testAccuracyTimeline} is a `trainModel` callback that scores the model on the test
 * images after every epoch and notes the time; {@linkcode firstReached} reads the targets off it.
 * The test images are only measured: nothing in the training sees them or their scores.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import type { AnySplit } from "../data/preprocess.ts";
import { evaluateModel, type EvaluateOptions } from "./evaluate.ts";
import type { TrainCallbacks } from "./train.ts";

/** The test accuracy after one epoch and when it was known. */
export interface AccuracyPoint {
  /** 1-based. */
  epoch: number;
  testAccuracy: number;
  /** Wall seconds from the start of training until this epoch's test score was known. */
  seconds: number;
  /** Of which: this epoch's test evaluation. */
  evaluationSeconds: number;
}

/** What {@linkcode testAccuracyTimeline} gives: the callbacks to pass and the points they fill. */
export interface AccuracyTimeline {
  callbacks: TrainCallbacks;
  /** One point per epoch trained, in order. */
  points: AccuracyPoint[];
}

/**
 * A `trainModel` callback that, after every epoch, scores the model on `test` (timed, counted in
 * the elapsed time) and appends the point. The clock starts at `onTrainBegin`, just before the
 * first step. The scores go nowhere but `points`, so they cannot steer the run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { disposeModel } from "../models/model.ts";
 * import { buildBaselineModel } from "../models/variants.ts";
 * import { prepareSplit } from "../data/preprocess.ts";
 * import { trainModel } from "./train.ts";
 * import { testAccuracyTimeline } from "./time_to_accuracy.ts";
 * const split = { images: new Uint8Array(8 * 784), labels: new Uint8Array(8), count: 8 };
 * const timeline = testAccuracyTimeline(split, { workers: 1 });
 * const model = buildBaselineModel({ seed: 1 });
 * await trainModel(model, prepareSplit(split), { epochs: 2, batchSize: 4, seed: 1, workers: 0, callbacks: timeline.callbacks });
 * assert.deepEqual(timeline.points.map((p) => p.epoch), [1, 2]);
 * assert.ok(timeline.points[1].seconds >= timeline.points[0].seconds);
 * disposeModel(model);
 * ```
 */
export function testAccuracyTimeline(
  test: AnySplit,
  options: EvaluateOptions = {},
): AccuracyTimeline {
  const points: AccuracyPoint[] = [];
  let model: tf.LayersModel | undefined;
  let start = 0;
  const callbacks: TrainCallbacks = {
    setModel: (m) => model = m,
    onTrainBegin: () => {
      points.length = 0;
      start = performance.now();
    },
    onEpochEnd: async (epoch) => {
      if (model === undefined) {
        throw new Error(
          "testAccuracyTimeline's callbacks were used without setModel: pass them to trainModel.",
        );
      }
      const before = performance.now();
      // evaluateModel disposes what it makes: the scores are plain numbers.
      const { accuracy } = await evaluateModel(model, test, options);
      const now = performance.now();
      points.push({
        epoch: epoch + 1,
        testAccuracy: accuracy,
        seconds: (now - start) / 1000,
        evaluationSeconds: (now - before) / 1000,
      });
    },
  };
  return { callbacks, points };
}

/**
 * For each target accuracy, the first point that reaches it (accuracy >= target), or null when
 * none does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { firstReached } from "./time_to_accuracy.ts";
 * const points = [
 *   { epoch: 1, testAccuracy: 0.985, seconds: 20, evaluationSeconds: 1 },
 *   { epoch: 2, testAccuracy: 0.991, seconds: 41, evaluationSeconds: 1 },
 * ];
 * assert.deepEqual(firstReached([0.99, 0.995], points), [points[1], null]);
 * ```
 */
export function firstReached(
  targets: readonly number[],
  points: readonly AccuracyPoint[],
): (AccuracyPoint | null)[] {
  return targets.map((target) => points.find((p) => p.testAccuracy >= target) ?? null);
}

/**
 * Reads target accuracies written as `0.99,0.995`: each a fraction above 0 and at most 1.
 *
 * @throws {RangeError} naming the value and what to give.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTargets } from "./time_to_accuracy.ts";
 * assert.deepEqual(parseTargets("0.99, 0.995"), [0.99, 0.995]);
 * assert.throws(() => parseTargets("99"), /"99" is not a target accuracy/);
 * ```
 */
export function parseTargets(text: string, name = "--targets"): number[] {
  const parts = text.split(",").map((part) => part.trim());
  return parts.map((part) => {
    const value = Number(part);
    if (part === "" || !Number.isFinite(value) || value <= 0 || value > 1) {
      throw new RangeError(
        `${name} "${text}": "${part}" is not a target accuracy; give fractions above 0 and at ` +
          "most 1, separated by commas, such as 0.99,0.995.",
      );
    }
    return value;
  });
}
