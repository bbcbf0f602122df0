import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  classCountsTable,
  classificationReportTable,
  historyTable,
  modelSummaryTable,
  recordsTable,
} from "../../lib/display/tables.ts";
import { buildBaselineModel } from "../../lib/models/variants.ts";
import { classificationReport } from "../../lib/training/metrics.ts";

tf.enableProdMode(); // no "use tfjs-node" banner in the test output
await tf.setBackend("cpu");

Deno.test("modelSummaryTable() lists the seed CNN's layers, shapes and 121,930 parameters", () => {
  const model = buildBaselineModel({ seed: 42 });
  const table = modelSummaryTable(model);
  assert.deepEqual(table.getColumn("output shape").toArray().slice(0, 7), [
    "(None, 26, 26, 32)",
    "(None, 13, 13, 32)",
    "(None, 11, 11, 64)",
    "(None, 5, 5, 64)",
    "(None, 1600)",
    "(None, 64)",
    "(None, 10)",
  ]);
  assert.deepEqual(table.getColumn("parameters").toArray(), [
    320,
    0,
    18496,
    0,
    0,
    102464,
    650,
    121930,
  ]);
  // tfjs names the layers it is not given names for by kind and a running number.
  assert.match(String(table.getColumn("layer").toArray()[0]), /^conv2d_Conv2D\d+$/);
  assert.equal(table.getColumn("type").toArray()[0], "Conv2D");
  model.dispose();
});

Deno.test("classCountsTable() counts each class in train and test", () => {
  const table = classCountsTable({
    classNames: ["a", "b"],
    train: { images: new Uint8Array(3 * 784), labels: new Uint8Array([0, 1, 1]), count: 3 },
    test: { images: new Uint8Array(784), labels: new Uint8Array([1]), count: 1 },
  });
  assert.deepEqual(table.getColumn("train").toArray(), [1, 2]);
  assert.deepEqual(table.getColumn("test").toArray(), [0, 1]);
});

Deno.test("historyTable() has one row per epoch and empty validation cells without validation", () => {
  const table = historyTable({ loss: [0.123456], acc: [0.9], lr: [0.001], seconds: [12.34] });
  assert.equal(table.height, 1);
  assert.deepEqual(table.getColumn("loss").toArray(), [0.1235]);
  assert.deepEqual(table.getColumn("val loss").toArray(), [null]);
});

Deno.test("classificationReportTable() keeps the report's rows and rounds to 4 digits", () => {
  const table = classificationReportTable(classificationReport([[2, 1], [0, 3]], ["x", "y"]));
  assert.deepEqual(table.getColumn("").toArray(), [
    "x",
    "y",
    "accuracy",
    "macro avg",
    "weighted avg",
  ]);
  assert.deepEqual(table.getColumn("precision").toArray()[1], 0.75);
  // x: 2 of its 3 images found, all 2 "x" predictions right; y: 3 of 3 found, 3 of 4 right.
  assert.deepEqual(table.getColumn("recall").toArray().slice(0, 2), [0.6667, 1]);
  assert.deepEqual(table.getColumn("f1-score").toArray().slice(0, 2), [0.8, 0.8571]);
  assert.deepEqual(table.getColumn("support").toArray(), [3, 3, 6, 6, 6]);
});

Deno.test("recordsTable() keeps column order and fills missing cells with null", () => {
  const table = recordsTable([{ b: 1, a: "x" }, { b: 2 }]);
  assert.deepEqual(table.columns, ["b", "a"]);
  assert.deepEqual(table.getColumn("a").toArray(), ["x", null]);
});
