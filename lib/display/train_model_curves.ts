/**
 * The live training curves of `./training_curves.ts` for today's `trainModel`
 * (`../training/train.ts`), whose callbacks take 1-based progress objects instead of tfjs'
 * arguments. Once `trainModel` takes tfjs-style `callbacks`, pass `liveTrainingCurves()` there
 * and this module goes.
 *
 * @module
 */
import type { TrainOptions } from "../training/train.ts";
import { TrainingCurves, type TrainingCurvesOptions } from "./training_curves.ts";

/**
 * The same live figure for today's `trainModel` (`../training/train.ts`), whose callbacks take
 * 1-based progress objects instead of tfjs' arguments; the epochs and batches per epoch come
 * from its progress reports.
 *
 * @example
 * ```ts ignore
 * import { liveCurvesForTrainModel } from "./train_model_curves.ts";
 * await trainModel(model, train, { epochs: 5, batchSize: 128, seed: 42, ...liveCurvesForTrainModel() });
 * ```
 */
export function liveCurvesForTrainModel(
  options: Omit<TrainingCurvesOptions, "epochs" | "batchesPerEpoch"> = {},
): Pick<TrainOptions, "onBatchEnd" | "onEpochEnd" | "onTrainEnd"> {
  let curves: TrainingCurves | undefined;
  return {
    onBatchEnd: async (p) => {
      curves ??= new TrainingCurves({ ...options, epochs: p.epochs, batchesPerEpoch: p.batches });
      if (p.batch === 1) await curves.epochBegin(p.epoch - 1);
      await curves.batchEnd(p.batch - 1, { loss: p.loss, acc: p.accuracy });
    },
    onEpochEnd: async (logs) => {
      await curves?.epochEnd(logs.epoch - 1, {
        loss: logs.loss,
        acc: logs.accuracy,
        val_loss: logs.valLoss,
        val_acc: logs.valAccuracy,
      });
    },
    onTrainEnd: async () => {
      await curves?.trainEnd();
    },
  };
}
