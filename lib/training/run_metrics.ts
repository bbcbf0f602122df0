/**
 * The record of a training run that the notebook and the headless trainer both write to
 * `metrics.json`, beside the saved model.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { writeJson } from "../files.ts";
import { readJsonFile, type Shape } from "../json_file.ts";
import { saveModel } from "../models/model_files.ts";
import type { DatasetName } from "../data/mnist.ts";
import type { RunParameters } from "./run_parameters.ts";
import type { Evaluation } from "./evaluate.ts";
import type { TrainResult } from "./train.ts";
import type { WasmBackendInfo } from "../engine/mod.ts";

/** What `metrics.json` holds. Names are snake_case, as the files of Python tools. */
export interface RunMetrics {
  dataset: DatasetName;
  variant: string;
  /** `variantFingerprint()` of the variant's definition; absent in older records. */
  variant_fingerprint?: string;
  test_accuracy: number;
  test_loss: number;
  seed: number;
  epochs: number;
  epochs_run: number;
  batch_size: number;
  train_samples: number;
  validation_samples: number;
  parameters: number;
  train_seconds: number;
  train_samples_per_s: number;
  /**
   * Seconds spent scoring the test images, test-time augmentation included; absent in older
   * records.
   */
  test_seconds?: number;
  backend: string;
  simd: boolean;
  threads: number;
  /** Replica workers the training steps ran on, 0 in the process itself; absent in older records. */
  workers?: number;
  tfjs_version: string;
  deno_version: string;
  /**
   * The confidence below which the model says "not sure" (`deno task predict`, the drawing pad),
   * chosen on the validation images (`notSureThreshold` in `calibration.ts`); absent when there
   * were none, and in older records.
   */
  notSureBelow?: number;
  history: {
    epoch: number;
    loss: number;
    accuracy: number;
    val_loss: number | null;
    val_accuracy: number | null;
    /**
     * With a moving average of the weights (`ema`): the trained weights' own validation scores
     * (`val_loss` and `val_accuracy` score the averages); absent otherwise.
     */
    val_loss_raw?: number;
    val_accuracy_raw?: number;
    learning_rate: number;
    seconds: number;
  }[];
}

const NUMBER_OR_NULL: Shape = { anyOf: ["number", "null"], says: "a number or null" };

/** The shape of `metrics.json`, checked whenever one is read back. */
export const RUN_METRICS_SHAPE: Shape = {
  fields: {
    dataset: "string",
    variant: "string",
    variant_fingerprint: "string",
    test_accuracy: { range: [0, 1] },
    test_loss: "number",
    seed: "integer",
    epochs: "integer",
    epochs_run: "integer",
    batch_size: "integer",
    train_samples: "integer",
    validation_samples: "integer",
    parameters: "integer",
    train_seconds: "number",
    train_samples_per_s: "number",
    test_seconds: "number",
    backend: "string",
    simd: "boolean",
    threads: "integer",
    workers: "integer",
    tfjs_version: "string",
    deno_version: "string",
    notSureBelow: { range: [0, 1] },
    history: {
      list: {
        fields: {
          epoch: "integer",
          loss: "number",
          accuracy: "number",
          val_loss: NUMBER_OR_NULL,
          val_accuracy: NUMBER_OR_NULL,
          val_loss_raw: "number",
          val_accuracy_raw: "number",
          learning_rate: "number",
          seconds: "number",
        },
        optional: ["val_loss_raw", "val_accuracy_raw"],
      },
    },
  },
  optional: ["variant_fingerprint", "notSureBelow", "test_seconds", "workers"],
};

/**
 * Reads a `metrics.json` back, its every field checked.
 *
 * @throws {Deno.errors.NotFound} when there is none; an error naming the file and the field when a
 * field is missing or of the wrong type.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readRunMetrics } from "./run_metrics.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/metrics.json`, '{"dataset": "mnist", "variant": 7}');
 * await assert.rejects(readRunMetrics(`${dir}/metrics.json`), /metrics\.json: the field "variant" should be a string, but it is 7/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readRunMetrics(path: string): Promise<RunMetrics> {
  return await readJsonFile<RunMetrics>(
    path,
    RUN_METRICS_SHAPE,
    "Train the run again (deno task train, or the notebook), or delete the file.",
  );
}

/** What a run is made of, for {@linkcode runMetrics}: the names the notebook's cells use. */
export interface RunRecord {
  params: Pick<RunParameters, "dataset" | "seed" | "epochs" | "batchSize">;
  /** Which model: `baseline` for the tutorial's, or an improved variant's name. */
  variant: string;
  /** `variantFingerprint()` of the variant's definition, when known. */
  fingerprint?: string;
  /** The training images (bytes or prepared floats): only their number is recorded. */
  train: { count: number };
  validation: { count: number };
  model: tf.LayersModel;
  training: TrainResult;
  evaluation: Pick<Evaluation, "loss" | "accuracy">;
  backend: WasmBackendInfo;
  /** The "not sure" threshold chosen on the validation images, if any. */
  notSureBelow?: number;
  /** Seconds spent scoring the test images, if measured. */
  testSeconds?: number;
}

/**
 * Builds the `metrics.json` record of a run.
 *
 * @example
 * ```ts ignore
 * import { runMetrics } from "./run_metrics.ts";
 * const metrics = runMetrics({ params, variant: "baseline", train, validation, model, training, evaluation, backend });
 * console.log(metrics.test_accuracy);
 * ```
 */
export function runMetrics(run: RunRecord): RunMetrics {
  return {
    dataset: run.params.dataset,
    variant: run.variant,
    ...(run.fingerprint ? { variant_fingerprint: run.fingerprint } : {}),
    test_accuracy: run.evaluation.accuracy,
    test_loss: run.evaluation.loss,
    seed: run.params.seed,
    epochs: run.params.epochs,
    epochs_run: run.training.epoch.length,
    batch_size: run.params.batchSize,
    train_samples: run.train.count,
    validation_samples: run.validation.count,
    parameters: run.model.countParams(),
    train_seconds: run.training.seconds,
    train_samples_per_s: run.training.samplesPerSecond,
    ...(run.testSeconds === undefined ? {} : { test_seconds: run.testSeconds }),
    backend: run.backend.backend,
    simd: run.backend.simd,
    threads: run.backend.threads,
    ...(run.training.workers === undefined ? {} : { workers: run.training.workers }),
    tfjs_version: run.backend.tfjsVersion,
    deno_version: Deno.version.deno,
    ...(run.notSureBelow === undefined ? {} : { notSureBelow: run.notSureBelow }),
    history: run.training.epoch.map((epoch) => {
      const h = run.training.history;
      return {
        epoch: epoch + 1,
        loss: h.loss[epoch],
        accuracy: h.acc[epoch],
        val_loss: h.val_loss?.[epoch] ?? null,
        val_accuracy: h.val_acc?.[epoch] ?? null,
        ...(h.val_loss_raw === undefined ? {} : {
          val_loss_raw: h.val_loss_raw[epoch],
          val_accuracy_raw: h.val_acc_raw![epoch],
        }),
        learning_rate: h.lr[epoch],
        seconds: h.seconds[epoch],
      };
    }),
  };
}

/**
 * Writes `<dir>/metrics.json` and the model (`<dir>/model/model.json` + `weights-<hash>.bin`).
 *
 * @returns the paths written.
 *
 * @example
 * ```ts ignore
 * import { saveRun } from "./run_metrics.ts";
 * await saveRun("outputs", model, metrics);
 * ```
 */
export async function saveRun(
  dir: string,
  model: tf.LayersModel,
  metrics: RunMetrics,
): Promise<{ metrics: string; model: string }> {
  const paths = { metrics: join(dir, "metrics.json"), model: join(dir, "model") };
  await saveModel(model, paths.model);
  await writeJson(paths.metrics, metrics);
  return paths;
}
