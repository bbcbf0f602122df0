/**
 * The notebook's tables as polars DataFrames, which the Deno kernel shows as HTML tables.
 *
 * @module
 */
import pl from "nodejs-polars";
import type * as tf from "@tensorflow/tfjs";
import type { Mnist } from "../data/mnist.ts";
import type { ReportRow } from "../training/metrics.ts";
import type { TrainHistory } from "../training/train.ts";
import type { NotebookParameters } from "../training/run_parameters.ts";
import type { WasmBackendInfo } from "../engine/mod.ts";

const round = (value: number, digits = 4) => Number(value.toFixed(digits));

/**
 * How many images of each class the training and test sets hold.
 *
 * @example
 * ```ts ignore
 * import { classCountsTable } from "./tables.ts";
 * classCountsTable(mnist); // class | train | test
 * ```
 */
export function classCountsTable(data: Pick<Mnist, "classNames" | "train" | "test">): pl.DataFrame {
  const count = (labels: Uint8Array) => {
    const counts = new Array<number>(data.classNames.length).fill(0);
    for (const label of labels) counts[label]++;
    return counts;
  };
  return pl.DataFrame({
    label: data.classNames.map((_, i) => i),
    class: [...data.classNames],
    train: count(data.train.labels),
    test: count(data.test.labels),
  });
}

/**
 * The layers of a model: name, type, output shape and parameter count, with a total row.
 *
 * @example
 * ```ts ignore
 * import { modelSummaryTable } from "./tables.ts";
 * modelSummaryTable(buildBaselineModel({ seed: 42 })); // ... total 121,930
 * ```
 */
export function modelSummaryTable(model: tf.LayersModel): pl.DataFrame {
  const layers = model.layers;
  const shape = (layer: tf.layers.Layer) => {
    const out = layer.outputShape;
    const first = Array.isArray(out[0]) ? out[0] as (number | null)[] : out as (number | null)[];
    return `(${first.map((d) => d ?? "None").join(", ")})`;
  };
  return pl.DataFrame({
    layer: [...layers.map((l) => l.name), "total"],
    type: [...layers.map((l) => l.getClassName()), ""],
    "output shape": [...layers.map(shape), ""],
    parameters: [...layers.map((l) => l.countParams()), model.countParams()],
  });
}

/**
 * One row per epoch of a training `history` (as `model.fit` returns it): loss and accuracy on the
 * training and validation images, learning rate and time.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { historyTable } from "./tables.ts";
 * const table = historyTable({ loss: [0.3, 0.2], acc: [0.9, 0.95], lr: [1e-3, 1e-3], seconds: [9, 8] });
 * assert.deepEqual(table.getColumn("epoch").toArray(), [1, 2]);
 * ```
 */
export function historyTable(history: TrainHistory): pl.DataFrame {
  const optional = (values: number[] | undefined) =>
    history.loss.map((_, i) => (values?.[i] === undefined ? null : round(values[i])));
  return pl.DataFrame({
    epoch: history.loss.map((_, i) => i + 1),
    loss: history.loss.map((v) => round(v)),
    accuracy: history.acc.map((v) => round(v)),
    "val loss": optional(history.val_loss),
    "val accuracy": optional(history.val_acc),
    "learning rate": history.lr,
    seconds: history.seconds.map((v) => round(v, 1)),
  });
}

/**
 * A classification report as a table: precision, recall, F1, support.
 *
 * @example
 * ```ts ignore
 * import { classificationReportTable } from "./tables.ts";
 * classificationReportTable(classificationReport(matrix, mnist.classNames));
 * ```
 */
export function classificationReportTable(rows: readonly ReportRow[]): pl.DataFrame {
  return pl.DataFrame({
    "": rows.map((r) => r.label),
    precision: rows.map((r) => round(r.precision)),
    recall: rows.map((r) => round(r.recall)),
    "f1-score": rows.map((r) => round(r.f1)),
    support: rows.map((r) => r.support),
  });
}

/** A value a table cell can hold. */
export type Cell = string | number | boolean | null;

/**
 * The setup cell's one row: the Deno release, the backend as set up, and the run's parameters (the
 * variants as a list, "none" meaning recorded results; all training images as "all").
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { setupTable } from "./tables.ts";
 * import { NOTEBOOK_PARAMETERS, readRunParameters } from "../training/run_parameters.ts";
 * const params = readRunParameters({ names: NOTEBOOK_PARAMETERS, env: {} });
 * const backend = { backend: "wasm", simd: true, threads: 2, tfjsVersion: "4.22.0" };
 * const table = setupTable(backend, params);
 * assert.deepEqual(table.getColumn("variants").toArray(), ["none (recorded results)"]);
 * assert.deepEqual(table.getColumn("trainSamples").toArray(), ["all"]);
 * assert.deepEqual(table.getColumn("deno").toArray(), [Deno.version.deno]);
 * ```
 */
export function setupTable(backend: WasmBackendInfo, params: NotebookParameters): pl.DataFrame {
  return recordsTable([{
    deno: Deno.version.deno,
    ...backend,
    ...params,
    variants: params.variants.join(", ") || "none (recorded results)",
    trainSamples: params.trainSamples ?? "all",
  }]);
}

/**
 * A table from rows of plain records (one column per key of the first row, in its order); values
 * that are not strings, numbers or booleans are shown as text, missing ones as empty cells.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { recordsTable } from "./tables.ts";
 * assert.equal(recordsTable([{ a: 1, b: "x", c: true }]).shape.width, 3);
 * ```
 */
export function recordsTable(rows: readonly object[]): pl.DataFrame {
  if (rows.length === 0) return pl.DataFrame({});
  const cell = (value: unknown): Cell =>
    value === undefined || value === null
      ? null
      : typeof value === "string" || typeof value === "number" || typeof value === "boolean"
      ? value
      : String(value);
  const columns: Record<string, Cell[]> = {};
  for (const key of Object.keys(rows[0])) {
    columns[key] = rows.map((row) => cell((row as Record<string, unknown>)[key]));
  }
  return pl.DataFrame(columns);
}
