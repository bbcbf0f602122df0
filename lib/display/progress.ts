/**
 * Live progress: {@link ProgressDisplay} is one output in the notebook (or one line on a terminal)
 * that updates in place, and {@link trainingProgress} drives it from {@linkcode trainModel} with
 * the epoch, batch, loss, accuracy, speed and time left.
 *
 * @module
 */
import { type Broadcast, escapeHtml, jupyterApi, type MediaBundle } from "./jupyter.ts";
import type { BatchLogs, TrainCallbacks, TrainParams } from "../training/train.ts";

/** Values shown after the bar, in insertion order, e.g. `{ epoch: "1/3", loss: 0.41 }`. */
export type ProgressFields = Record<string, string | number>;

/** One progress state: `value` out of `total` plus labelled fields. */
export interface ProgressState {
  /** Work done so far (e.g. samples or batches seen). */
  value: number;
  /** Total work; the bar shows `value / total`. */
  total: number;
  /** Labelled values such as epoch, batch, loss, accuracy, samples/s, ETA. */
  fields?: ProgressFields;
}

/** Options for {@link ProgressDisplay}. */
export interface ProgressOptions {
  /** Label shown before the bar, e.g. "Training". */
  title?: string;
  /** Minimum milliseconds between two published updates (default 250, i.e. <= 4/s). */
  minIntervalMs?: number;
  /** Clock in ms; injectable for tests. Defaults to `performance.now()`. */
  now?: () => number;
  /** IOPub sender; defaults to `Deno.jupyter.broadcast` inside the kernel. */
  broadcast?: Broadcast;
  /** Terminal writer used outside Jupyter; defaults to writing to stderr. */
  write?: (text: string) => void;
  /** Display id; defaults to a random one. */
  displayId?: string;
}

/**
 * Formats a field value: integers as they are, large numbers without decimals, others with
 * four significant digits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatValue } from "./progress.ts";
 * assert.deepEqual([0.412345, 1450.7, 12].map(formatValue), ["0.4123", "1451", "12"]);
 * ```
 */
export function formatValue(value: string | number): string {
  if (typeof value === "string") return value;
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return String(value);
  if (Math.abs(value) >= 100) return value.toFixed(0);
  return String(Number(value.toPrecision(4)));
}

/**
 * Renders a progress state as text/plain and text/html.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { progressBundle } from "./progress.ts";
 * const bundle = progressBundle("Training", { value: 30, total: 60, fields: { loss: 0.5 } });
 * assert.equal(bundle["text/plain"], "Training [##########..........]  50% | loss 0.5");
 * ```
 */
export function progressBundle(title: string, state: ProgressState): MediaBundle {
  const fraction = state.total > 0 ? Math.min(1, Math.max(0, state.value / state.total)) : 0;
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  const width = 20;
  const filled = Math.round(fraction * width);
  const fields = Object.entries(state.fields ?? {});
  const plainFields = fields.map(([k, v]) => `${k} ${formatValue(v)}`).join(" | ");
  const prefix = title ? `${title} ` : "";
  const text = `${prefix}[${"#".repeat(filled)}${".".repeat(width - filled)}] ${percent}` +
    (plainFields ? ` | ${plainFields}` : "");
  const htmlFields = fields.map(([k, v]) =>
    `<span style="margin-left:1em"><span style="color:#777">${escapeHtml(k)}</span> ` +
    `<b>${escapeHtml(formatValue(v))}</b></span>`
  ).join("");
  const html = `<div class="progress-display" style="font-family:monospace;font-size:13px">` +
    (title ? `<span style="margin-right:0.5em">${escapeHtml(title)}</span>` : "") +
    `<progress value="${fraction.toFixed(4)}" max="1" style="width:12em;vertical-align:middle">` +
    `</progress> <span>${percent.trim()}</span>${htmlFields}</div>`;
  return { "text/plain": text, "text/html": html };
}

/**
 * A single live progress display. Inside Jupyter it is one output that is replaced in place
 * (`display_data` once, then `update_display_data` with the same display id); outside it is
 * one `\r`-rewritten line on stderr. Updates closer than `minIntervalMs` are coalesced (the
 * latest state is kept, not queued); {@link ProgressDisplay.done} always publishes the final
 * state. Messages are sent in order even if the caller does not await.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ProgressDisplay } from "./progress.ts";
 * const lines: string[] = [];
 * const progress = new ProgressDisplay({ title: "Training", write: (text) => lines.push(text) });
 * for (let batch = 1; batch <= 10; batch++) {
 *   await progress.update({
 *     value: batch,
 *     total: 10,
 *     fields: { epoch: "1/1", batch: `${batch}/10`, loss: 1 / batch, "samples/s": 1200, ETA: "0s" },
 *   });
 * }
 * await progress.done();
 * // Outside Jupyter: the first state, then the final one (the rest came too fast), and a newline.
 * assert.equal(lines.length, 3);
 * assert.match(lines[1], /^\rTraining \[#{20}\] 100% \| epoch 1\/1 \| batch 10\/10/);
 * ```
 */
export class ProgressDisplay {
  readonly title: string;
  readonly displayId: string;
  #minIntervalMs: number;
  #now: () => number;
  #broadcast?: Broadcast;
  #write: (text: string) => void;
  #lastSent = Number.NEGATIVE_INFINITY;
  #shown = false;
  #finished = false;
  #latest?: ProgressState;
  #pending = false;
  #lastLineLength = 0;
  #chain: Promise<void> = Promise.resolve();

  /** Creates the display; nothing is shown until the first {@link update}. */
  constructor(options: ProgressOptions = {}) {
    this.title = options.title ?? "";
    this.displayId = options.displayId ?? `progress-${crypto.randomUUID()}`;
    this.#minIntervalMs = options.minIntervalMs ?? 250;
    this.#now = options.now ?? (() => performance.now());
    const jupyter = jupyterApi();
    this.#broadcast = options.broadcast ??
      (jupyter ? (type, content) => jupyter.broadcast(type, content) : undefined);
    this.#write = options.write ??
      ((text) => Deno.stderr.writeSync(new TextEncoder().encode(text)));
  }

  /**
   * Records a new state and publishes it unless the previous publication was less than
   * `minIntervalMs` ago. Returns when the publication (if any) has been sent.
   */
  update(state: ProgressState): Promise<void> {
    if (this.#finished) return this.#chain;
    this.#latest = state;
    this.#pending = true;
    const now = this.#now();
    if (now - this.#lastSent < this.#minIntervalMs) return this.#chain;
    this.#lastSent = now;
    return this.#publish(false);
  }

  /** Publishes the final state (optionally replacing it with `state`) and ends the line. */
  done(state?: ProgressState): Promise<void> {
    if (this.#finished) return this.#chain;
    if (state) {
      this.#latest = state;
      this.#pending = true;
    }
    this.#finished = true;
    return this.#publish(true);
  }

  #publish(final: boolean): Promise<void> {
    const state = this.#latest;
    const pending = this.#pending;
    this.#pending = false;
    this.#chain = this.#chain.then(async () => {
      if (state && pending) {
        const bundle = progressBundle(this.title, state);
        if (this.#broadcast) {
          const type = this.#shown ? "update_display_data" : "display_data";
          this.#shown = true;
          await this.#broadcast(type, {
            data: bundle,
            metadata: {},
            transient: { display_id: this.displayId },
          });
        } else {
          const line = String(bundle["text/plain"]);
          const pad = " ".repeat(Math.max(0, this.#lastLineLength - line.length));
          this.#lastLineLength = line.length;
          this.#write(`\r${line}${pad}`);
        }
      }
      if (final && !this.#broadcast && this.#lastLineLength > 0) this.#write("\n");
    });
    return this.#chain;
  }
}

/**
 * Formats seconds as `1m05s` or `42s`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatDuration } from "./progress.ts";
 * assert.equal(formatDuration(65), "1m05s");
 * ```
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}

/**
 * Callbacks for {@linkcode trainModel} (tfjs' names and arguments) that drive one live progress
 * display: epoch, batch, the epoch's loss and accuracy so far, images per second and time left.
 *
 * @example
 * ```ts ignore
 * import { trainingProgress } from "./progress.ts";
 * await trainModel(model, train, { epochs: 5, batchSize: 128, seed: 42, callbacks: trainingProgress() });
 * ```
 */
export function trainingProgress(
  options: { title?: string; display?: ProgressDisplay; now?: () => number } = {},
): TrainCallbacks {
  const display = options.display ?? new ProgressDisplay({ title: options.title ?? "Training" });
  const now = options.now ?? (() => performance.now());
  let params: TrainParams = { epochs: 1, steps: 1, samples: 1, batchSize: 1 };
  let epoch = 0;
  let epochStart = now();
  let last: Required<ProgressState> | undefined;
  let valAcc: number | undefined;
  const state = (batch: number, logs: BatchLogs): Required<ProgressState> => {
    const seen = Math.min((batch + 1) * params.batchSize, params.samples);
    const rate = seen / Math.max((now() - epochStart) / 1000, 1e-9);
    const remaining = (params.epochs - epoch - 1) * params.samples + params.samples - seen;
    const fields: ProgressFields = {
      epoch: `${epoch + 1}/${params.epochs}`,
      batch: `${batch + 1}/${params.steps}`,
      loss: logs.loss,
      accuracy: logs.acc,
      "images/s": Math.round(rate),
      ETA: formatDuration(remaining / rate),
    };
    if (valAcc !== undefined) fields["last val accuracy"] = valAcc;
    return { value: epoch * params.steps + batch + 1, total: params.epochs * params.steps, fields };
  };
  return {
    setParams: (p) => void (params = p),
    onEpochBegin: (e) => {
      epoch = e;
      epochStart = now();
    },
    onBatchEnd: async (batch, logs) => {
      last = state(batch, logs);
      await display.update(last);
    },
    onEpochEnd: async (_epoch, logs) => {
      valAcc = logs.val_acc;
      if (last === undefined) return;
      if (valAcc !== undefined) last.fields["last val accuracy"] = valAcc;
      await display.update(last);
    },
    onTrainEnd: async (end) => {
      if (last === undefined) return;
      if (end.stopped_early) {
        // A bar left at "60%, epoch 9/15" would look like a run that broke off.
        last.value = last.total;
        last.fields.stopped = `early at epoch ${end.epochs}: best validation loss ` +
          `at epoch ${end.best_epoch}, whose weights are kept`;
      }
      await display.done(last);
    },
  };
}
