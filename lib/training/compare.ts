/**
 * The "Going further" comparison: every model variant trained on the same data and scored on the same
 * test set. Results are kept in `outputs/variants/`, so that running the notebook again shows them
 * without hours of retraining; the table says which were trained now and which earlier.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runExperiment } from "./experiment.ts";
import type { Mnist } from "../data/mnist.ts";
import { writeJson } from "../files.ts";
import type { NotebookParameters } from "../parameters.ts";
import { trainingProgress } from "../display/progress.ts";
import type { RunMetrics } from "./run_metrics.ts";
import { disposeModel } from "../models/model.ts";
import { getVariant, variantFingerprint, type VariantName, VARIANTS } from "../models/variants.ts";
import type { WasmBackendInfo } from "../wasm/backend.ts";

/** The repository's `outputs/variants/`, whatever the working directory. */
export const DEFAULT_RESULTS_DIR: string = fileURLToPath(
  new URL("../../outputs/variants/", import.meta.url),
);

/** One line of the comparison. */
export interface VariantResult {
  variant: string;
  "test accuracy": number;
  "test loss": number;
  parameters: number;
  epochs: number;
  "training seconds": number;
  /** "now"; "earlier" when read from a previous run with the same settings; "above" for the baseline. */
  trained: string;
}

/** Options of {@linkcode compareVariants}. */
export interface CompareOptions {
  data: Mnist;
  params: NotebookParameters;
  variants: readonly VariantName[];
  backend: WasmBackendInfo;
  /** Where results are kept. Default: `outputs/variants/`. */
  resultsDir?: string;
  /** Train again even when a result with the same settings exists. Default false. */
  retrain?: boolean;
  /**
   * The tutorial model's run from the notebook's own sections, made with the same parameters: the
   * `baseline` line then shows it instead of training the same model again.
   */
  baseline?: RunMetrics;
}

/**
 * The most epochs a variant trains for: its own, unless `EPOCHS` was set below the tutorial's 5 for a
 * quick run, which then caps every variant.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { epochsFor } from "./compare.ts";
 * assert.equal(epochsFor(15, 5), 15);
 * assert.equal(epochsFor(15, 1), 1);
 * ```
 */
export function epochsFor(variantEpochs: number, requested: number): number {
  return requested < VARIANTS.baseline.training.epochs
    ? Math.min(variantEpochs, requested)
    : variantEpochs;
}

/**
 * Trains (or reads back) each variant with the run's dataset, seed and subset, and returns one line
 * per variant, ready for `recordsTable`. Every model is disposed after it is scored.
 *
 * @example
 * ```ts ignore
 * import { compareVariants } from "./compare.ts";
 * const results = await compareVariants({ data, params, variants: ["baseline", "deep"], backend });
 * recordsTable(results);
 * ```
 */
export async function compareVariants(options: CompareOptions): Promise<VariantResult[]> {
  const { data, params, backend } = options;
  const dir = join(options.resultsDir ?? DEFAULT_RESULTS_DIR, data.dataset);
  const results: VariantResult[] = [];
  for (const name of options.variants) {
    const variant = getVariant(name);
    const epochs = epochsFor(variant.training.epochs, params.epochs);
    // Everything that changes the result is in the key, so an old result is never shown for
    // new settings or a changed definition.
    const key = `${name}-${await variantFingerprint(variant)}-seed${params.seed}` +
      `-${params.trainSamples ?? "all"}-e${epochs}-b${params.batchSize}-v${params.validationSplit}`;
    const path = join(dir, `${key}.json`);
    const fromAbove = name === "baseline" && options.baseline?.epochs === epochs &&
      options.baseline.seed === params.seed && options.baseline.batch_size === params.batchSize;
    let metrics = fromAbove
      ? options.baseline
      : options.retrain
      ? undefined
      : await readMetrics(path);
    const trained = fromAbove ? "above" : metrics ? "earlier" : "now";
    if (!metrics) {
      const run = await runExperiment({
        data,
        variant,
        seed: params.seed,
        epochs,
        batchSize: params.batchSize,
        trainSamples: params.trainSamples,
        validationSplit: params.validationSplit,
        backend,
        ...trainingProgress({ title: `Training ${name}` }),
      });
      disposeModel(run.model); // the model and its optimizer state
      metrics = run.metrics;
      await writeJson(path, metrics);
    }
    results.push({
      variant: name,
      "test accuracy": Number(metrics.test_accuracy.toFixed(4)),
      "test loss": Number(metrics.test_loss.toFixed(4)),
      parameters: metrics.parameters,
      epochs: metrics.epochs_run,
      "training seconds": Math.round(metrics.train_seconds),
      trained,
    });
  }
  return results;
}

async function readMetrics(path: string): Promise<RunMetrics | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as RunMetrics;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    if (error instanceof SyntaxError) return undefined; // a damaged result is trained again
    throw error;
  }
}
