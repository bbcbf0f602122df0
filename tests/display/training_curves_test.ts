// lib/display/training_curves.ts without a Jupyter kernel: the messages a live figure sends (one
// display, then throttled updates of it, the last one complete), every trace of the figure, the
// bounded per-batch series, and the callbacks driven by tfjs' own model.fit.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { figureOf, type PlotlyFigure, PlotlyRenderer } from "../../lib/display/plotly.ts";
import {
  BatchSeries,
  liveTrainingCurves,
  TrainingCurves,
  trainingCurvesFigure,
  type TrainingCurvesOptions,
} from "../../lib/display/training_curves.ts";

/** One IOPub message as the kernel would send it. */
interface Sent {
  type: string;
  at: number;
  displayId?: string;
  figure?: PlotlyFigure;
  text: string;
}

/** A TrainingCurves whose clock the test moves and whose messages it records. */
function recorded(options: TrainingCurvesOptions = {}) {
  const sent: Sent[] = [];
  const clock = { now: 0 };
  const curves = new TrainingCurves({
    now: () => clock.now,
    renderer: new PlotlyRenderer({ librarySource: () => "window.Plotly = {};" }),
    broadcast: (type, content) => {
      const data = content.data as Record<string, string>;
      const transient = content.transient as { display_id?: string };
      sent.push({
        type,
        at: clock.now,
        displayId: transient.display_id,
        figure: figureOf(data),
        text: data["text/plain"],
      });
      return Promise.resolve();
    },
    ...options,
  });
  return { curves, sent, clock };
}

/** The figure messages: those with a display id (the library's slices have none). */
function figureMessages(sent: readonly Sent[]): Sent[] {
  return sent.filter((m) => m.displayId !== undefined);
}

function tracesOf(figure: PlotlyFigure) {
  return figure.data.map((t) => ({ name: t.name, x: t.x, y: t.y, xaxis: t.xaxis, yaxis: t.yaxis }));
}

Deno.test("a live figure is one display updated in place, at most twice a second, ending complete", async () => {
  const { curves, sent, clock } = recorded({ epochs: 3, batchesPerEpoch: 100 });
  for (let epoch = 0; epoch < 3; epoch++) {
    for (let batch = 0; batch < 100; batch++) {
      clock.now += 20; // 50 batches a second: 6 seconds in all
      await curves.batchEnd(batch, { loss: 1 / (epoch * 100 + batch + 1), acc: 0.5 });
    }
    clock.now += 300; // validation
    await curves.epochEnd(epoch, { loss: 0.1, acc: 0.9, val_loss: 0.2, val_acc: 0.8 });
  }
  await curves.trainEnd();
  await curves.trainEnd(); // a second end changes nothing

  const library = sent.filter((m) => m.displayId === undefined);
  assert.ok(library.length >= 2, "the first update carries plotly.js, as showPlot does");
  assert.ok(sent.indexOf(library.at(-1)!) < sent.findIndex((m) => m.displayId), "library first");
  const figures = figureMessages(sent);
  assert.equal(figures[0].type, "display_data");
  assert.ok(figures.slice(1).every((m) => m.type === "update_display_data"), "no new output");
  assert.equal(new Set(figures.map((m) => m.displayId)).size, 1, "one display id");
  // 6.9 s of training at one update per 500 ms at most: 14 updates and the final one.
  const gaps = figures.slice(1, -1).map((m, i) => m.at - figures[i].at);
  assert.ok(gaps.every((gap) => gap >= 500), `updates ${JSON.stringify(gaps)} ms apart`);
  assert.ok(figures.length >= 10 && figures.length <= 16, `${figures.length} updates`);
  // The curves grow from update to update.
  const points = figures.map((m) => (m.figure!.data[0].x as number[]).length);
  assert.deepEqual(points, points.toSorted((a, b) => a - b));
  assert.ok(points[0] < 5 && points.at(-1) === 300, JSON.stringify(points));
  // The final update is the complete figure.
  const final = figures.at(-1)!.figure!;
  assert.deepEqual(final.data, curves.figure().data);
  assert.equal((final.data[2].y as number[]).length, 3, "every epoch's validation loss");
  assert.match(figures.at(-1)!.text, /Training: done, 3 epochs, validation accuracy 0\.8/);
});

Deno.test("updates that come too fast are skipped, not queued, and the last is never lost", async () => {
  const { curves, sent, clock } = recorded({ minIntervalMs: 1000 });
  await curves.batchEnd(0, { loss: 2, acc: 0.1 });
  clock.now = 999;
  await curves.batchEnd(1, { loss: 1.5, acc: 0.2 });
  assert.equal(figureMessages(sent).length, 1, "999 ms later: nothing sent");
  clock.now = 1000;
  await curves.batchEnd(2, { loss: 1, acc: 0.3 });
  const [first, second] = figureMessages(sent).map((m) => m.figure!.data[0].y);
  assert.deepEqual([first, second], [[2], [2, 1.5, 1]], "the second update shows the skipped one");
  await curves.batchEnd(3, { loss: 0.5, acc: 0.4 });
  await curves.trainEnd(); // same clock: the throttle does not hold back the end
  assert.deepEqual(figureMessages(sent).at(-1)!.figure!.data[0].y, [2, 1.5, 1, 0.5]);
});

Deno.test("messages go out in order even when the callbacks are not awaited", async () => {
  const sent: string[] = [];
  let release = () => {};
  const gate = new Promise<void>((resolve) => release = resolve);
  const curves = new TrainingCurves({
    minIntervalMs: 0,
    renderer: new PlotlyRenderer({ librarySource: () => "" }),
    broadcast: async (type, content) => {
      await gate; // a slow socket
      const figure = figureOf(content.data as Record<string, unknown>);
      if (figure) sent.push(`${type} ${(figure.data[0].y as number[]).join(",")}`);
    },
  });
  const pending = [0, 1, 2].map((batch) => curves.batchEnd(batch, { loss: batch, acc: 0 }));
  pending.push(curves.trainEnd());
  release();
  await Promise.all(pending);
  assert.deepEqual(sent, [
    "display_data 0",
    "update_display_data 0,1",
    "update_display_data 0,1,2",
    "update_display_data 0,1,2",
  ]);
});

Deno.test("the figure draws every trace: loss and accuracy, per batch, per epoch, validation", () => {
  const figure = trainingCurvesFigure({
    batches: [
      { epoch: 0, batch: 1, loss: 2, acc: 0.2, count: 2 },
      { epoch: 0, batch: 3, loss: 1, acc: 0.5, count: 2 },
      { epoch: 1, batch: 1, loss: 0.6, acc: Number.NaN, count: 2 },
    ],
    epochs: [{ epoch: 0, loss: 1.5, acc: 0.35, valLoss: 0.9, valAcc: 0.7 }],
    batchesPerEpoch: 4,
    totalEpochs: 2,
    title: "Training: epoch 2/2, batch 2/4",
  });
  assert.deepEqual(tracesOf(figure), [
    { name: "training, per batch", x: [0.5, 1, 1.5], y: [2, 1, 0.6], xaxis: "x", yaxis: "y" },
    { name: "training, epoch mean", x: [1], y: [1.5], xaxis: "x", yaxis: "y" },
    { name: "validation", x: [1], y: [0.9], xaxis: "x", yaxis: "y" },
    {
      name: "training, per batch",
      x: [0.5, 1, 1.5],
      y: [0.2, 0.5, null],
      xaxis: "x2",
      yaxis: "y2",
    },
    { name: "training, epoch mean", x: [1], y: [0.35], xaxis: "x2", yaxis: "y2" },
    { name: "validation", x: [1], y: [0.7], xaxis: "x2", yaxis: "y2" },
  ]);
  // One legend entry per kind; colours and dashes tell training from validation.
  assert.deepEqual(figure.data.map((t) => t.showlegend), [true, true, true, false, false, false]);
  assert.deepEqual(
    figure.data.map((t) => (t.line as { dash?: string }).dash ?? "solid"),
    ["solid", "solid", "dash", "solid", "solid", "dash"],
  );
  const layout = figure.layout!;
  assert.deepEqual(layout.title, { text: "Training: epoch 2/2, batch 2/4" });
  assert.deepEqual((layout.xaxis as { range: number[] }).range, [0, 2], "the axis holds still");
  assert.deepEqual((layout.xaxis2 as { range: number[] }).range, [0, 2]);
  assert.deepEqual([layout.width, layout.height], [900, 400], "the rendered copy's picture size");
  // Each update replaces the plot: a responsive one would stay alive through its resize listener.
  assert.equal(figure.config?.responsive, false);
});

Deno.test("without validation the figure has no validation traces", () => {
  const figure = trainingCurvesFigure({
    batches: [],
    epochs: [{ epoch: 0, loss: 1, acc: 0.5, valLoss: Number.NaN, valAcc: Number.NaN }],
    batchesPerEpoch: 1,
    title: "Training",
  });
  assert.deepEqual(figure.data.map((t) => `${t.name} ${t.yaxis}`), [
    "training, per batch y",
    "training, epoch mean y",
    "training, per batch y2",
    "training, epoch mean y2",
  ]);
  assert.equal((figure.layout!.xaxis as { rangemode: string }).rangemode, "tozero");
  const accuracyOnly = trainingCurvesFigure({
    batches: [],
    epochs: [{ epoch: 0, loss: 1, acc: 0.5, valLoss: Number.NaN, valAcc: 0.4 }],
    batchesPerEpoch: 1,
    title: "Training",
  });
  assert.deepEqual(accuracyOnly.data.map((t) => t.y), [[], [1], [null], [], [0.5], [0.4]]);
});

Deno.test("a long run keeps a bounded number of points, each the mean of its batches", () => {
  const series = new BatchSeries(100);
  let sum = 0;
  const batches = 100_003;
  for (let i = 0; i < batches; i++) {
    const loss = Math.sin(i) + 2;
    sum += loss;
    series.add({ epoch: Math.floor(i / 1000), batch: i % 1000, loss, acc: 1 });
  }
  const points = series.points();
  assert.ok(points.length <= 101, `${points.length} points`);
  assert.ok(points.length > 50, `${points.length} points: thinned, not emptied`);
  assert.equal(points.reduce((n, p) => n + p.count, 0), batches, "every batch counted once");
  const mean = points.reduce((s, p) => s + p.loss * p.count, 0) / batches;
  assert.ok(Math.abs(mean - sum / batches) < 1e-9, "the points average the batches");
  assert.deepEqual([points.at(-1)!.epoch, points.at(-1)!.batch], [100, 2], "ends at the last");
  assert.ok(points.every((p) => p.acc === 1));
  assert.throws(() => new BatchSeries(1), /maxBatchPoints must be an integer of at least 2, got 1/);
});

Deno.test("the live figure follows the batches of later epochs from the first one's count", async () => {
  const { curves, sent } = recorded({ minIntervalMs: 0 });
  for (let epoch = 0; epoch < 2; epoch++) {
    await curves.epochBegin(epoch);
    for (let batch = 0; batch < 4; batch++) await curves.batchEnd(batch, { loss: 1, acc: 0.5 });
    await curves.epochEnd(epoch, { loss: 1, acc: 0.5 });
  }
  await curves.trainEnd();
  const x = (m: Sent) => m.figure!.data[0].x;
  const figures = figureMessages(sent);
  assert.deepEqual(x(figures[1]), [0.5, 1], "two batches of an epoch of unknown length");
  assert.deepEqual(x(figures.at(-1)!), [0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2]);
  assert.match(figures.at(-1)!.text, /Training: done, 2 epochs, accuracy 0\.5/);
});

// Logs typed as a `model.fit`-like training call declares them: as interfaces, which (unlike type
// literals) do not fit a `Record<string, number>` parameter.
interface BatchLogsLike {
  batch: number;
  size: number;
  loss: number;
  acc: number;
}
interface EpochLogsLike {
  loss: number;
  acc: number;
  val_loss?: number;
  val_acc?: number;
  lr: number;
}
interface TrainEndLike {
  epochs: number;
  best_epoch: number;
}
interface ParamsLike {
  epochs: number;
  steps: number;
  samples: number;
}
interface FitLikeCallbacks {
  setParams?: (params: ParamsLike) => void;
  onEpochBegin?: (epoch: number) => void | Promise<void>;
  onBatchEnd?: (batch: number, logs: BatchLogsLike) => void | Promise<void>;
  onEpochEnd?: (epoch: number, logs: EpochLogsLike) => void | Promise<void>;
  onTrainEnd?: (logs: TrainEndLike) => void | Promise<void>;
}

Deno.test("liveTrainingCurves() fits a fit-like call's typed callbacks; setParams places batches from the start", async () => {
  const { sent, clock } = recorded();
  const callbacks: FitLikeCallbacks = liveTrainingCurves({
    minIntervalMs: 0,
    now: () => clock.now,
    renderer: new PlotlyRenderer({ librarySource: () => "" }),
    broadcast: (type, content) => {
      const figure = figureOf(content.data as Record<string, unknown>);
      sent.push({ type, at: 0, text: "", figure, displayId: figure && "x" });
      return Promise.resolve();
    },
  });
  callbacks.setParams?.({ epochs: 2, steps: 4, samples: 30 });
  for (let epoch = 0; epoch < 2; epoch++) {
    await callbacks.onEpochBegin?.(epoch);
    for (let batch = 0; batch < 4; batch++) {
      await callbacks.onBatchEnd?.(batch, { batch, size: 8, loss: 1, acc: 0.5 });
    }
    await callbacks.onEpochEnd?.(epoch, { loss: 1, acc: 0.5, val_loss: 1, val_acc: 0.5, lr: 1e-3 });
  }
  await callbacks.onTrainEnd?.({ epochs: 2, best_epoch: 2 });
  const figures = figureMessages(sent);
  assert.deepEqual(figures[0].figure!.data[0].x, [0.25], "the first batch at a quarter epoch");
  assert.deepEqual(figures.at(-1)!.figure!.data[0].x, [1, 2, 3, 4, 5, 6, 7, 8].map((b) => b / 4));
  assert.deepEqual(
    (figures[0].figure!.layout!.xaxis as { range: number[] }).range,
    [0, 2],
    "the axis spans the run from the start",
  );
  assert.match(
    String((figures[0].figure!.layout!.title as { text: string }).text),
    /epoch 1\/2, batch 1\/4/,
  );
});

Deno.test("liveTrainingCurves() takes tfjs' own model.fit callbacks and logs", async () => {
  await tf.setBackend("cpu");
  const model = tf.sequential({
    layers: [
      tf.layers.dense({
        inputShape: [4],
        units: 3,
        activation: "softmax",
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
    ],
  });
  model.compile({
    optimizer: "adam",
    loss: "sparseCategoricalCrossentropy",
    metrics: ["accuracy"],
  });
  const x = tf.tensor2d(Array.from({ length: 40 * 4 }, (_, i) => (i * 37 % 11) / 11), [40, 4]);
  const y = tf.tensor1d(Array.from({ length: 40 }, (_, i) => i % 3), "float32");
  // A first fit makes Adam's moment tensors, which stay with the model.
  await model.fit(x, y, { epochs: 1, batchSize: 8, validationSplit: 0.2, shuffle: false });
  const before = tf.memory().numTensors;
  const { sent, clock } = recorded();
  const callbacks = liveTrainingCurves({
    epochs: 3,
    minIntervalMs: 0,
    now: () => clock.now,
    renderer: new PlotlyRenderer({ librarySource: () => "" }),
    broadcast: (type, content) => {
      sent.push({
        type,
        at: 0,
        text: "",
        figure: figureOf(content.data as Record<string, unknown>),
        displayId: "x",
      });
      return Promise.resolve();
    },
  });
  const history = await model.fit(x, y, {
    epochs: 3,
    batchSize: 8,
    validationSplit: 0.2,
    shuffle: false,
    callbacks,
  });
  const final = figureMessages(sent).at(-1)!.figure!;
  // 32 training rows in batches of 8: 4 batches an epoch.
  assert.deepEqual(final.data[0].x, [0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.25, 2.5, 2.75, 3]);
  assert.deepEqual(final.data[1].y, history.history.loss);
  assert.deepEqual(final.data[2].y, history.history.val_loss);
  assert.deepEqual(final.data[4].y, history.history.acc);
  assert.deepEqual(final.data[5].y, history.history.val_acc);
  assert.equal(tf.memory().numTensors, before, "no tensor kept by the callbacks");
  tf.dispose([x, y]);
  model.dispose();
});
