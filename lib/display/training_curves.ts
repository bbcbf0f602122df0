/**
 * Curves that grow while a model trains: {@link liveTrainingCurves} returns callbacks with the
 * names and arguments of tfjs' `model.fit` (`onBatchEnd(batch, logs)`, `onEpochEnd(epoch, logs)`,
 * `onTrainEnd()`, logs keyed `loss`, `acc`, `val_loss`, `val_acc`; `setParams({ epochs, steps })`
 * when the training call gives it) that keep ONE Plotly figure of loss and accuracy, training and
 * validation, up to date in the notebook.
 *
 * The figure is one output: `display_data` once, then `update_display_data` with the same display
 * id, at most every `minIntervalMs`, so the cell never gains outputs while it trains. The last
 * update, sent by `onTrainEnd`, carries the complete figure: an executed notebook keeps it (the
 * frontends and `jupyter/execute_notebook.py` replace an output by display id), and the figure
 * object travels in the HTML, so `deno task publish` draws it as a picture like any other figure.
 * Memory stays bounded: per-batch points are averaged in pairs whenever there are more than
 * `maxBatchPoints`, so a long run keeps at most that many, each the mean of its batches.
 *
 * Outside Jupyter nothing is shown until training ends, then one line describes the figure; a
 * terminal's progress bar is `trainingProgress` in `./progress.ts`.
 *
 * @module
 */
import { type Broadcast, jupyterApi, type MediaBundle } from "./jupyter.ts";
import { plotly, type PlotlyFigure, type PlotlyRenderer } from "./plotly.ts";

/**
 * Logs as tfjs' `model.fit` passes them to callbacks. Only these keys are read; the type lists
 * them (rather than any string) so that a training call's own log interfaces fit it too.
 */
export interface FitLogs {
  readonly loss?: number;
  /** tfjs names accuracy `acc`; Keras `accuracy`. */
  readonly acc?: number;
  readonly accuracy?: number;
  readonly val_loss?: number;
  readonly val_acc?: number;
  readonly val_accuracy?: number;
}

/** What a run is, as tfjs' `callback.setParams` gets it: epochs, and batches (`steps`) each. */
export interface FitParams {
  readonly epochs?: number;
  readonly steps?: number;
}

/** The callbacks of {@link liveTrainingCurves}, with tfjs' `CustomCallbackArgs` signatures. */
export interface FitCallbacks {
  /** Takes the epochs and batches per epoch, unless the options gave them. */
  setParams: (params: FitParams) => void;
  /** Marks the start of an epoch (0-based); optional, since `onEpochEnd` also counts epochs. */
  onEpochBegin: (epoch: number, logs?: unknown) => Promise<void>;
  /** Adds the point of a 0-based batch of the current epoch. */
  onBatchEnd: (batch: number, logs?: FitLogs) => Promise<void>;
  /** Adds the training and validation points of a 0-based epoch. */
  onEpochEnd: (epoch: number, logs?: FitLogs) => Promise<void>;
  /** Sends the complete figure, whatever the throttle. */
  onTrainEnd: (logs?: unknown) => Promise<void>;
}

/** Options of {@link TrainingCurves} and {@link liveTrainingCurves}. */
export interface TrainingCurvesOptions {
  /** The start of the figure's title. Default "Training". */
  title?: string;
  /** Epochs of the run: the title says "epoch 2/5" and the x axis spans them from the start. */
  epochs?: number;
  /**
   * Batches per epoch, to place batches along the epoch axis. Without it the first epoch spreads
   * its batches over [0, 1] as they come, and later epochs use the first one's count.
   */
  batchesPerEpoch?: number;
  /** Minimum milliseconds between two updates (default 500: two a second). */
  minIntervalMs?: number;
  /** Most per-batch points kept (default 400); beyond it neighbours are averaged in pairs. */
  maxBatchPoints?: number;
  /** Clock in ms; injectable for tests. Defaults to `performance.now()`. */
  now?: () => number;
  /** IOPub sender; defaults to `Deno.jupyter.broadcast` inside the kernel. */
  broadcast?: Broadcast;
  /** Display id; defaults to a random one. */
  displayId?: string;
  /** Builds the figure's outputs; defaults to the session's `plotly` (library sent once). */
  renderer?: PlotlyRenderer;
}

/** A per-batch point: the mean of `count` consecutive batches ending at (`epoch`, `batch`). */
export interface BatchPoint {
  /** 0-based epoch of the last batch averaged. */
  epoch: number;
  /** 0-based batch of the last batch averaged. */
  batch: number;
  loss: number;
  acc: number;
  count: number;
}

/** The points of one epoch, from its `onEpochEnd` logs. */
export interface EpochPoint {
  /** 0-based. */
  epoch: number;
  loss: number;
  acc: number;
  valLoss?: number;
  valAcc?: number;
}

/** What {@link trainingCurvesFigure} draws. */
export interface CurvesState {
  batches: readonly BatchPoint[];
  epochs: readonly EpochPoint[];
  /** Batches per epoch, to place batch points along the epoch axis. */
  batchesPerEpoch: number;
  /** The x axis spans [0, totalEpochs] when given. */
  totalEpochs?: number;
  title: string;
}

/** A log value, or NaN (drawn as a gap) when absent; tfjs names accuracy `acc`. */
function logValue(logs: FitLogs | undefined, ...keys: (keyof FitLogs)[]): number {
  for (const key of keys) {
    const value = logs?.[key];
    if (typeof value === "number") return value;
  }
  return Number.NaN;
}

/**
 * Per-batch points that never exceed `max`: when one more would, neighbours are averaged in
 * pairs and each later point averages twice as many batches as before.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BatchSeries } from "./training_curves.ts";
 * const series = new BatchSeries(4);
 * for (let batch = 0; batch < 10; batch++) series.add({ epoch: 0, batch, loss: batch, acc: 0 });
 * // Ten batches in at most 4 points: two means of 4 batches, then the last 2 so far.
 * assert.deepEqual(series.points().map((p) => [p.batch, p.loss, p.count]), [
 *   [3, 1.5, 4],
 *   [7, 5.5, 4],
 *   [9, 8.5, 2],
 * ]);
 * ```
 */
export class BatchSeries {
  #max: number;
  #stride = 1;
  #points: BatchPoint[] = [];
  #pending?: BatchPoint;

  /** Keeps at most `max` points (at least 2). */
  constructor(max: number) {
    if (!Number.isInteger(max) || max < 2) {
      throw new RangeError(`maxBatchPoints must be an integer of at least 2, got ${max}.`);
    }
    this.#max = max;
  }

  /** Adds one batch's values. */
  add(point: Omit<BatchPoint, "count">): void {
    this.#pending = this.#pending ? merge(this.#pending, { ...point, count: 1 }) : {
      ...point,
      count: 1,
    };
    if (this.#pending.count < this.#stride) return;
    this.#points.push(this.#pending);
    this.#pending = undefined;
    if (this.#points.length > this.#max) {
      const pairs: BatchPoint[] = [];
      for (let i = 0; i < this.#points.length; i += 2) {
        const next = this.#points[i + 1];
        pairs.push(next ? merge(this.#points[i], next) : this.#points[i]);
      }
      // An odd last point becomes the start of the next, twice as wide, point.
      if (this.#points.length % 2 === 1) this.#pending = pairs.pop();
      this.#points = pairs;
      this.#stride *= 2;
    }
  }

  /** The points so far, the batches not yet averaged into a full point included. */
  points(): BatchPoint[] {
    return this.#pending ? [...this.#points, this.#pending] : [...this.#points];
  }
}

/** The mean of two consecutive points, weighted by their batch counts; placed at the later. */
function merge(a: BatchPoint, b: BatchPoint): BatchPoint {
  const count = a.count + b.count;
  return {
    epoch: b.epoch,
    batch: b.batch,
    loss: (a.loss * a.count + b.loss * b.count) / count,
    acc: (a.acc * a.count + b.acc * b.count) / count,
    count,
  };
}

/** A number for Plotly: non-finite values become `null`, which it draws as a gap. */
function finite(value: number | undefined): number | null {
  return value !== undefined && Number.isFinite(value) ? value : null;
}

/**
 * The figure of {@link TrainingCurves}: loss on the left, accuracy on the right, against the
 * epoch; per batch a thin training line, per epoch the training mean and the validation score.
 * The validation traces appear with the first epoch that has them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { trainingCurvesFigure } from "./training_curves.ts";
 * const figure = trainingCurvesFigure({
 *   batches: [{ epoch: 0, batch: 1, loss: 0.9, acc: 0.7, count: 1 }],
 *   epochs: [{ epoch: 0, loss: 0.8, acc: 0.75, valLoss: 0.5, valAcc: 0.85 }],
 *   batchesPerEpoch: 4,
 *   title: "Training",
 * });
 * assert.deepEqual(figure.data.map((trace) => [trace.name, trace.x, trace.y]), [
 *   ["training, per batch", [0.5], [0.9]],
 *   ["training, epoch mean", [1], [0.8]],
 *   ["validation", [1], [0.5]],
 *   ["training, per batch", [0.5], [0.7]],
 *   ["training, epoch mean", [1], [0.75]],
 *   ["validation", [1], [0.85]],
 * ]);
 * ```
 */
export function trainingCurvesFigure(state: CurvesState): PlotlyFigure {
  const batchX = state.batches.map((p) => p.epoch + (p.batch + 1) / state.batchesPerEpoch);
  const epochX = state.epochs.map((p) => p.epoch + 1);
  const blue = "#1f77b4";
  const styles = {
    batch: { mode: "lines", line: { color: blue, width: 1 }, opacity: 0.5 },
    epoch: { mode: "lines+markers", line: { color: blue } },
    validation: { mode: "lines+markers", line: { color: "#ff7f0e", dash: "dash" } },
  };
  const withValidation = state.epochs.some((p) =>
    finite(p.valLoss) !== null || finite(p.valAcc) !== null
  );
  const panel = (axis: 1 | 2, key: "loss" | "acc") => {
    const valKey = key === "loss" ? "valLoss" : "valAcc";
    const trace = (name: string, x: number[], y: (number | null)[], style: object) => ({
      type: "scatter",
      name,
      x,
      y,
      legendgroup: name,
      showlegend: axis === 1,
      xaxis: axis === 1 ? "x" : "x2",
      yaxis: axis === 1 ? "y" : "y2",
      ...style,
    });
    return [
      trace("training, per batch", batchX, state.batches.map((p) => finite(p[key])), styles.batch),
      trace("training, epoch mean", epochX, state.epochs.map((p) => finite(p[key])), styles.epoch),
      ...(withValidation
        ? [
          trace(
            "validation",
            epochX,
            state.epochs.map((p) => finite(p[valKey])),
            styles.validation,
          ),
        ]
        : []),
    ];
  };
  return {
    data: [...panel(1, "loss"), ...panel(2, "acc")],
    layout: curvesLayout(state),
    // A responsive plot registers a window resize listener that keeps it alive after the next
    // update replaced it; the layout's fixed size makes the option moot here anyway.
    config: { responsive: false },
  };
}

/** Two panels side by side, as `historyFigure` in `./figures.ts` draws them after training. */
function curvesLayout(state: CurvesState): Record<string, unknown> {
  const total = state.totalEpochs;
  // A fixed range keeps the axes still while the curves grow.
  const epochAxis = total === undefined
    ? { title: { text: "epoch" }, rangemode: "tozero" }
    : { title: { text: "epoch" }, range: [0, total], ...(total <= 10 ? { dtick: 1 } : {}) };
  return {
    title: { text: state.title },
    width: 900,
    height: 400,
    margin: { l: 60, r: 20, t: 80, b: 50 },
    xaxis: { domain: [0, 0.45], ...epochAxis },
    yaxis: { title: { text: "loss" }, rangemode: "tozero" },
    xaxis2: { domain: [0.55, 1], anchor: "y2", ...epochAxis },
    yaxis2: { title: { text: "accuracy" }, anchor: "x2" },
    annotations: [
      { text: "Loss", x: 0.225, y: 1.06, xref: "paper", yref: "paper", showarrow: false },
      { text: "Accuracy", x: 0.775, y: 1.06, xref: "paper", yref: "paper", showarrow: false },
    ],
    legend: { orientation: "h", x: 0.5, xanchor: "center", y: -0.2 },
  };
}

/** Four significant digits, as the progress bar shows values. */
function short(value: number): string {
  return String(Number(value.toPrecision(4)));
}

/**
 * One live figure of a training run. Feed it with {@link TrainingCurves.batchEnd} and
 * {@link TrainingCurves.epochEnd} (0-based indices, tfjs-style logs), end it with
 * {@link TrainingCurves.trainEnd}; {@link liveTrainingCurves} wraps it as `model.fit` callbacks.
 * Updates closer than `minIntervalMs` are skipped (the next one shows their points); messages
 * go out in order even if the caller does not await.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PlotlyRenderer } from "./plotly.ts";
 * import { TrainingCurves } from "./training_curves.ts";
 * const sent: string[] = [];
 * const curves = new TrainingCurves({
 *   epochs: 1,
 *   batchesPerEpoch: 100,
 *   now: () => 0, // every batch comes at once: only the first and the last update go out
 *   broadcast: (type) => Promise.resolve(void sent.push(type)),
 *   renderer: new PlotlyRenderer({ librarySource: () => "window.Plotly = {};" }),
 * });
 * for (let batch = 0; batch < 100; batch++) await curves.batchEnd(batch, { loss: 1, acc: 0.5 });
 * await curves.epochEnd(0, { loss: 1, acc: 0.5, val_loss: 0.9, val_acc: 0.6 });
 * await curves.trainEnd();
 * // The library (its slice and its loader), the figure, then its one final update.
 * assert.deepEqual(sent, ["display_data", "display_data", "display_data", "update_display_data"]);
 * assert.equal((curves.figure().data[0].x as number[]).length, 100, "every batch, in one point each");
 * ```
 */
export class TrainingCurves {
  /** The display id of the figure's output. */
  readonly displayId: string;
  #title: string;
  #totalEpochs?: number;
  #batchesPerEpoch?: number;
  #minIntervalMs: number;
  #now: () => number;
  #broadcast?: Broadcast;
  #renderer: PlotlyRenderer;
  #series: BatchSeries;
  #epochs: EpochPoint[] = [];
  #epoch = 0;
  #batchesInEpoch = 0;
  #status = "starting";
  #lastSent = Number.NEGATIVE_INFINITY;
  #shown = false;
  #finished = false;
  #chain: Promise<void> = Promise.resolve();

  /** Creates the figure; nothing is shown until the first batch or epoch. */
  constructor(options: TrainingCurvesOptions = {}) {
    this.displayId = options.displayId ?? `curves-${crypto.randomUUID()}`;
    this.#title = options.title ?? "Training";
    this.#totalEpochs = options.epochs;
    this.#batchesPerEpoch = options.batchesPerEpoch;
    this.#minIntervalMs = options.minIntervalMs ?? 500;
    this.#now = options.now ?? (() => performance.now());
    const jupyter = jupyterApi();
    this.#broadcast = options.broadcast ??
      (jupyter ? (type, content) => jupyter.broadcast(type, content) : undefined);
    this.#renderer = options.renderer ?? plotly;
    this.#series = new BatchSeries(options.maxBatchPoints ?? 400);
  }

  /** Takes the run's epochs and batches per epoch (tfjs' `steps`) unless the options gave them. */
  setParams(params: FitParams): void {
    this.#totalEpochs ??= params.epochs;
    this.#batchesPerEpoch ??= params.steps;
  }

  /** Starts a 0-based epoch (optional: {@link epochEnd} moves to the next one too). */
  epochBegin(epoch: number): Promise<void> {
    this.#epoch = epoch;
    this.#batchesInEpoch = 0;
    return this.#chain;
  }

  /** Adds a 0-based batch of the current epoch; publishes unless the last update is too recent. */
  batchEnd(batch: number, logs?: FitLogs): Promise<void> {
    this.#batchesInEpoch = Math.max(this.#batchesInEpoch, batch + 1);
    this.#series.add({
      epoch: this.#epoch,
      batch,
      loss: logValue(logs, "loss"),
      acc: logValue(logs, "acc", "accuracy"),
    });
    const batches = this.#batchesPerEpoch === undefined ? "" : `/${this.#batchesPerEpoch}`;
    this.#status = `${this.#epochText(this.#epoch)}, batch ${batch + 1}${batches}`;
    return this.#update(false);
  }

  /** Adds a 0-based epoch's training and validation points. */
  epochEnd(epoch: number, logs?: FitLogs): Promise<void> {
    const point: EpochPoint = {
      epoch,
      loss: logValue(logs, "loss"),
      acc: logValue(logs, "acc", "accuracy"),
      valLoss: logValue(logs, "val_loss"),
      valAcc: logValue(logs, "val_acc", "val_accuracy"),
    };
    this.#epochs.push(point);
    // Batches of later epochs are placed by the first epoch's count.
    if (this.#batchesPerEpoch === undefined && this.#batchesInEpoch > 0) {
      this.#batchesPerEpoch = this.#batchesInEpoch;
    }
    this.#epoch = epoch + 1;
    this.#batchesInEpoch = 0;
    this.#status = `${this.#epochText(epoch)}, ${this.#scoreText(point)}`;
    return this.#update(false);
  }

  /** Publishes the complete figure, whatever the throttle; later calls change nothing. */
  trainEnd(): Promise<void> {
    const last = this.#epochs.at(-1);
    const epochs = `${this.#epochs.length} epoch${this.#epochs.length === 1 ? "" : "s"}`;
    this.#status = `done, ${epochs}${last ? `, ${this.#scoreText(last)}` : ""}`;
    const sent = this.#update(true);
    this.#finished = true;
    return sent;
  }

  /** The figure as it stands. */
  figure(): PlotlyFigure {
    return trainingCurvesFigure({
      batches: this.#series.points(),
      epochs: this.#epochs,
      // In the first epoch of a run of unknown length its batches so far span [0, 1].
      batchesPerEpoch: this.#batchesPerEpoch ?? Math.max(1, this.#batchesInEpoch),
      totalEpochs: this.#totalEpochs,
      title: `${this.#title}: ${this.#status}`,
    });
  }

  #epochText(epoch: number): string {
    return `epoch ${epoch + 1}${this.#totalEpochs === undefined ? "" : `/${this.#totalEpochs}`}`;
  }

  #scoreText(point: EpochPoint): string {
    return Number.isFinite(point.valAcc)
      ? `validation accuracy ${short(point.valAcc!)}`
      : `accuracy ${short(point.acc)}`;
  }

  #update(final: boolean): Promise<void> {
    if (this.#finished) return this.#chain;
    // Outside Jupyter only the final figure is described: no figure is built before.
    if (this.#broadcast === undefined && !final) return this.#chain;
    const now = this.#now();
    if (!final && now - this.#lastSent < this.#minIntervalMs) return this.#chain;
    this.#lastSent = now;
    const figure = this.figure(); // the state now, whenever the message goes out
    this.#chain = this.#chain.then(() => this.#send(figure));
    return this.#chain;
  }

  async #send(figure: PlotlyFigure): Promise<void> {
    const broadcast = this.#broadcast;
    if (broadcast === undefined) {
      console.log(this.#renderer.figureBundle(figure)["text/plain"]);
      return;
    }
    const bundles: MediaBundle[] = this.#shown
      ? [this.#renderer.figureBundle(figure)]
      : this.#renderer.bundlesFor(figure);
    const library = bundles.slice(0, -1);
    for (const bundle of library) {
      await broadcast("display_data", { data: bundle, metadata: {}, transient: {} });
    }
    const type = this.#shown ? "update_display_data" : "display_data";
    this.#shown = true;
    await broadcast(type, {
      data: bundles.at(-1),
      metadata: {},
      transient: { display_id: this.displayId },
    });
  }
}

/**
 * Callbacks for tfjs' `model.fit` (or a training call that takes its callbacks) that show one
 * live figure of loss and accuracy, training and validation; see {@link TrainingCurves}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { liveTrainingCurves } from "./training_curves.ts";
 * const printed: string[] = [];
 * const log = console.log;
 * console.log = (text: string) => printed.push(text);
 * const callbacks = liveTrainingCurves({ epochs: 2 });
 * for (let epoch = 0; epoch < 2; epoch++) {
 *   for (let batch = 0; batch < 3; batch++) await callbacks.onBatchEnd(batch, { loss: 1, acc: 0.5 });
 *   await callbacks.onEpochEnd(epoch, { loss: 1, acc: 0.5, val_loss: 1.1, val_acc: 0.45 });
 * }
 * await callbacks.onTrainEnd().finally(() => console.log = log);
 * // Outside Jupyter: one line when training ends.
 * assert.deepEqual(printed, [
 *   "[Plotly figure: Training: done, 2 epochs, validation accuracy 0.45, 6 trace(s)]",
 * ]);
 * ```
 */
export function liveTrainingCurves(options: TrainingCurvesOptions = {}): FitCallbacks {
  const curves = new TrainingCurves(options);
  return {
    setParams: (params) => curves.setParams(params),
    onEpochBegin: (epoch) => curves.epochBegin(epoch),
    onBatchEnd: (batch, logs) => curves.batchEnd(batch, logs),
    onEpochEnd: (epoch, logs) => curves.epochEnd(epoch, logs),
    onTrainEnd: () => curves.trainEnd(),
  };
}
