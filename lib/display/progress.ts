/**
 * A live progress display for {@linkcode trainModel}: one output in the notebook (or one line on a
 * terminal) that updates in place with the epoch, batch, loss, accuracy, speed and time left.
 *
 * @module
 */
import { ProgressDisplay } from "./display.ts";
import type { BatchProgress, EpochLogs, TrainOptions } from "../training/train.ts";

/**
 * Formats seconds as `1m05s` or `42s`.
 *
 * @example
 * ```ts
 * import { formatDuration } from "./progress.ts";
 * console.assert(formatDuration(65) === "1m05s");
 * ```
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}

/**
 * Callbacks for {@linkcode trainModel} that drive one live progress display.
 *
 * @example
 * ```ts ignore
 * import { trainingProgress } from "./progress.ts";
 * await trainModel(model, train, { epochs: 5, batchSize: 128, seed: 42, ...trainingProgress() });
 * ```
 */
export function trainingProgress(
  options: { title?: string; display?: ProgressDisplay } = {},
): Pick<TrainOptions, "onBatchEnd" | "onEpochEnd" | "onTrainEnd"> {
  const display = options.display ?? new ProgressDisplay({ title: options.title ?? "Training" });
  let last: BatchProgress | undefined;
  let lastEpoch: EpochLogs | undefined;
  const fields = (p: BatchProgress) => {
    const out: Record<string, string | number> = {
      epoch: `${p.epoch}/${p.epochs}`,
      batch: `${p.batch}/${p.batches}`,
      loss: p.loss,
      accuracy: p.accuracy,
      "images/s": Math.round(p.samplesPerSecond),
      ETA: formatDuration(p.etaSeconds),
    };
    if (lastEpoch?.valAccuracy !== undefined) out["last val accuracy"] = lastEpoch.valAccuracy;
    return out;
  };
  const state = (p: BatchProgress) => ({
    value: (p.epoch - 1) * p.batches + p.batch,
    total: p.epochs * p.batches,
    fields: fields(p),
  });
  return {
    onBatchEnd: async (progress) => {
      last = progress;
      await display.update(state(progress));
    },
    onEpochEnd: async (logs) => {
      lastEpoch = logs;
      if (last !== undefined) await display.update(state(last));
    },
    onTrainEnd: async () => {
      if (last !== undefined) await display.done(state(last));
    },
  };
}
