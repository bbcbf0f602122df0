// lib/display/train_model_curves.ts: today's trainModel drives the live training curves, its
// 1-based epochs and batches placed where tfjs' 0-based ones would be.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { figureOf, type PlotlyFigure, PlotlyRenderer } from "../../lib/display/plotly.ts";
import { liveCurvesForTrainModel } from "../../lib/display/train_model_curves.ts";
import { prepareSplit } from "../../lib/data/preprocess.ts";
import { trainModel } from "../../lib/training/train.ts";
import { syntheticSplit } from "../fixtures.ts";

Deno.test("liveCurvesForTrainModel() draws today's trainModel run, epochs and batches placed", async () => {
  await tf.setBackend("cpu");
  const model = tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [28, 28, 1] }),
      tf.layers.dense({
        units: 10,
        activation: "softmax",
        kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
      }),
    ],
  });
  model.compile({
    optimizer: "adam",
    loss: "sparseCategoricalCrossentropy",
    metrics: ["accuracy"],
  });
  const train = prepareSplit({ ...syntheticSplit(48), count: 48 });
  const validation = prepareSplit({ ...syntheticSplit(16), count: 16 });
  const sent: PlotlyFigure[] = [];
  const result = await trainModel(model, train, {
    epochs: 2,
    batchSize: 16,
    seed: 1,
    validation,
    workers: 0,
    ...liveCurvesForTrainModel({
      minIntervalMs: 0,
      renderer: new PlotlyRenderer({ librarySource: () => "" }),
      broadcast: (_type, content) => {
        const figure = figureOf(content.data as Record<string, unknown>);
        if (figure) sent.push(figure);
        return Promise.resolve();
      },
    }),
  });
  const final = sent.at(-1)!;
  assert.deepEqual(final.data[0].x, [0, 1].flatMap((e) => [1, 2, 3].map((b) => e + b / 3)));
  assert.deepEqual(final.data[1].x, [1, 2], "each epoch at its end");
  assert.deepEqual(final.data[1].y, result.history.map((h) => h.loss));
  assert.deepEqual(final.data[2].y, result.history.map((h) => h.valLoss));
  assert.deepEqual(final.data[5].y, result.history.map((h) => h.valAccuracy));
  assert.deepEqual((final.layout!.xaxis as { range: number[] }).range, [0, 2]);
  assert.match(String((final.layout!.title as { text: string }).text), /^Training: done, 2 epochs/);
  model.dispose();
});
