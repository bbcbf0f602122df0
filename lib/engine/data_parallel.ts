/**
 * Synchronous data-parallel training over worker replicas, so every core works for the whole step.
 *
 * Each worker ({@link ./replica_worker.ts}) holds a replica of the model on a single-threaded wasm
 * backend. A step splits the batch into contiguous shares, one per replica; each replica computes
 * the gradient of the mean loss over its share, scaled by its share of the batch, into its own
 * slot of a SharedArrayBuffer. Every replica then sums the slots in replica order (0, 1, ...) and
 * applies the same optimizer step (`flat_optimizer.ts`), so the replicas stay identical bit for bit and a run is repeatable.
 * The sum is the gradient of the mean loss over the whole batch, as in one-process training; only
 * the order of the floating-point additions differs.
 *
 * Rules for the layers that are not plain functions of the weights:
 * - Batch Normalization normalizes each share with that share's statistics (as PyTorch's
 *   DistributedDataParallel does without SyncBatchNorm); after each step every replica sets its
 *   moving mean and variance to the mean over the replicas, in replica order.
 * - Dropout: replica r draws its masks from the layer's seed + 7,919 r, advancing every step as the
 *   variants do (`variants.ts`), so masks are repeatable and differ between replicas.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { getThreadsCount } from "@tensorflow/tfjs-backend-wasm";
import { WebWorker } from "./backend.ts";
import type { ReplicaInit, ReplicaReply, ReplicaRequest, StepPhase } from "./replica_worker.ts";
import type { KernelStats } from "./kernel_profile.ts";
import { isOutOfMemory } from "./kernels/heap_module.ts";
import { EngineError } from "./errors.ts";
import { optimizerState, setOptimizerState } from "./optimizer_state.ts";
import { flatOptimizerSettings } from "./flat_optimizer.ts";

/** Options of {@linkcode startReplicas}. */
export interface ReplicaOptions {
  /** Number of worker replicas (at least 1). */
  workers: number;
  /** Largest batch the replicas will be given. */
  batchCapacity: number;
  /** Time every kernel in the replicas (read with {@linkcode Replicas.kernelProfile}). */
  profileKernels?: { byShape?: boolean };
  /**
   * Keep an exponential moving average of the trainable weights, as Keras' `use_ema` with
   * `ema_momentum`: after every step, `average = momentum * average + (1 - momentum) * weights`
   * (momentum 0 at the first step), beside the weights in every replica. Read it with
   * {@linkcode Replicas.copyAverageTo}.
   */
  ema?: { momentum: number };
}

/** Options of {@linkcode Replicas.predict}. */
export interface PredictOptions {
  /**
   * Turns a chunk of byte inputs into the floats the network takes, as many values as it was
   * given (e.g. each value / 255). Needed when the inputs are bytes.
   */
  toFloats?: (bytes: Uint8Array) => Float32Array;
}

/** What one data-parallel step achieved. */
export interface ReplicaStep {
  /** Mean loss over the batch. */
  loss: number;
  /** Accuracy over the batch. */
  accuracy: number;
  /** Whether every weight is still finite after the step. */
  finite: boolean;
}

/**
 * Where the training steps' wall time went, in milliseconds per step, replica 0's view (the
 * replicas work in lockstep): its phases (see `StepPhase` in `replica_worker.ts`; `kernels` and
 * `tape` are told apart only when the kernels are profiled, else `tape` holds both), the main
 * thread's copy of the batch into shared memory, and `waiting`: the rest of the step's wall time,
 * spent on messages and on waiting for the slowest replica.
 */
export interface StepProfile {
  steps: number;
  /** Wall milliseconds per step, as the main thread saw them. */
  stepMs: number;
  /** Milliseconds per step of each part; together they make `stepMs`. */
  parts: Record<StepPhase | "batch copy" | "waiting", number>;
}

/** The losses a replica computes, by the name `compile` takes. */
export type ReplicaLoss = "sparseCategoricalCrossentropy" | "categoricalCrossentropy";

const LOSSES: readonly ReplicaLoss[] = ["sparseCategoricalCrossentropy", "categoricalCrossentropy"];

/**
 * The loss `model` was compiled with, when a replica can compute it: sparse or one-hot
 * categorical cross-entropy, as the string `compile` takes, tfjs' function
 * `tf.metrics.categoricalCrossentropy`, or either in a one-element array or output map.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { replicaLoss } from "./data_parallel.ts";
 * await tf.setBackend("cpu");
 * const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 2 })] });
 * model.compile({ optimizer: "sgd", loss: tf.metrics.categoricalCrossentropy });
 * assert.equal(replicaLoss(model), "categoricalCrossentropy");
 * model.compile({ optimizer: "sgd", loss: "meanSquaredError" });
 * assert.equal(replicaLoss(model), undefined);
 * model.dispose();
 * ```
 */
export function replicaLoss(model: tf.LayersModel): ReplicaLoss | undefined {
  let loss = (model as unknown as { loss: unknown }).loss;
  if (Array.isArray(loss) && loss.length === 1) loss = loss[0];
  else if (typeof loss === "object" && loss !== null && !Array.isArray(loss)) {
    const values = Object.values(loss);
    if (values.length === 1) loss = values[0];
  }
  if (loss === tf.metrics.categoricalCrossentropy) return "categoricalCrossentropy";
  return LOSSES.find((name) => name === loss);
}

/** How a refusal names the loss `model` was compiled with. */
function describeLoss(model: tf.LayersModel): string {
  const loss = (model as unknown as { loss: unknown }).loss;
  if (typeof loss === "function") return `the function ${loss.name || "(anonymous)"}`;
  return typeof loss === "string" ? loss : JSON.stringify(loss) ?? String(loss);
}

/**
 * Why {@linkcode startReplicas} cannot train `model`, or undefined when it can. The replicas
 * train any model of tfjs' built-in layers with one input and one output, compiled with Adam,
 * SGD, Momentum or RMSProp and sparse or one-hot categorical cross-entropy.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { replicaUnsupportedReason } from "./data_parallel.ts";
 * await tf.setBackend("cpu");
 * const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 2 })] });
 * assert.equal(replicaUnsupportedReason(model), "the model is not compiled");
 * model.compile({ optimizer: "sgd", loss: "categoricalCrossentropy" });
 * assert.equal(replicaUnsupportedReason(model), undefined);
 * model.compile({ optimizer: "adagrad", loss: "categoricalCrossentropy" });
 * assert.match(replicaUnsupportedReason(model) ?? "", /^its optimizer is Adagrad; /);
 * model.dispose();
 * ```
 */
export function replicaUnsupportedReason(model: tf.LayersModel): string | undefined {
  const optimizer = model.optimizer;
  if (optimizer === undefined) return "the model is not compiled";
  if (flatOptimizerSettings(optimizer) === undefined) {
    return `its optimizer is ${optimizer.getClassName()}; the replicas step Adam, SGD, ` +
      "Momentum and RMSProp";
  }
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    return `it has ${model.inputs.length} inputs and ${model.outputs.length} outputs; the ` +
      "replicas feed one input and score one output";
  }
  if (replicaLoss(model) === undefined) {
    return `its loss is ${describeLoss(model)}; the replicas compute ` +
      "sparseCategoricalCrossentropy and categoricalCrossentropy";
  }
  return undefined;
}

/** The memory the main thread and the replicas share. */
interface SharedBuffers {
  inputs: SharedArrayBuffer;
  labels: SharedArrayBuffer;
  outputs: SharedArrayBuffer;
  /** Largest training batch (0: the replicas only predict). */
  batchCapacity: number;
}

/** One worker and the reply it owes. */
interface Replica {
  index: number;
  worker: Worker;
  pending?: { resolve: (reply: ReplicaReply) => void; reject: (e: Error) => void };
}

/**
 * Replicas of a compiled model in workers, trained in lockstep. Make them with
 * {@linkcode startReplicas}; always {@linkcode Replicas.close} them (a `try`/`finally`).
 */
export class Replicas {
  readonly workers: number;
  #replicas: Replica[];
  #inputs: Float32Array;
  #labels: Float32Array;
  #outputs: Float32Array;
  #inputSize: number;
  /** Samples the shared buffers hold. */
  #capacity: number;
  #failure: Error | undefined;
  #closed = false;
  /** Largest training batch (0: the replicas only predict). */
  #batchCapacity: number;
  /** The main thread's milliseconds in batch copies and in whole steps, and the steps. */
  #mainMs = { batchCopy: 0, step: 0, steps: 0 };
  /** Whether the replicas keep a moving average of the weights (started with `ema`). */
  #averaging: boolean;

  /** @internal Use {@linkcode startReplicas}. */
  constructor(replicas: Replica[], buffers: SharedBuffers, options: { averaging?: boolean } = {}) {
    this.#averaging = options.averaging ?? false;
    this.workers = replicas.length;
    this.#replicas = replicas;
    this.#inputs = new Float32Array(buffers.inputs);
    this.#labels = new Float32Array(buffers.labels);
    this.#outputs = new Float32Array(buffers.outputs);
    this.#capacity = this.#labels.length;
    this.#inputSize = this.#inputs.length / this.#capacity;
    this.#batchCapacity = buffers.batchCapacity;
    for (const r of replicas) {
      r.worker.onmessage = (event: MessageEvent<ReplicaReply>) => {
        const pending = r.pending;
        r.pending = undefined;
        if (pending === undefined) return;
        const reply = event.data;
        if (reply.error !== undefined) {
          // The sentence names the worker and the error; the worker's stack goes to `cause`.
          const [first] = reply.error.split("\n");
          pending.reject(this.#fail(r, `failed at "${reply.type}": ${first}`, reply.error));
        } else pending.resolve(reply);
      };
      r.worker.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        const error = this.#fail(r, `died: ${event.message}`);
        for (const other of this.#replicas) {
          other.pending?.reject(error);
          other.pending = undefined;
        }
      };
      r.worker.onmessageerror = () => {
        r.pending?.reject(this.#fail(r, "sent a message that could not be read"));
        r.pending = undefined;
      };
    }
  }

  #fail(replica: Replica, what: string, detail?: string): Error {
    const task = this.#batchCapacity > 0 ? "train" : "predict";
    const outOfMemory = isOutOfMemory(what);
    const advice = outOfMemory
      ? "Its WebAssembly heap ran out of memory: lower {option}."
      : `Run again, or set {option} to 0 to ${task} in this process.`;
    this.#failure ??= new EngineError(
      `${task === "train" ? "Training" : "Prediction"} replica worker ${replica.index} of ` +
        `${this.workers} ${what}. ${advice}`,
      outOfMemory ? "batchCapacity" : "workers",
      detail === undefined ? undefined : { cause: detail },
    );
    this.close();
    return this.#failure;
  }

  #request(replica: Replica, request: ReplicaRequest, transfer: Transferable[] = []) {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#closed) {
      return Promise.reject(new Error("The training replicas are closed; start new ones."));
    }
    return new Promise<ReplicaReply>((resolve, reject) => {
      replica.pending = { resolve, reject };
      replica.worker.postMessage(request, transfer);
    });
  }

  /**
   * One training step on `count` samples: `inputs` holds `count` inputs (floats, row-major),
   * `labels` their class numbers. Every replica takes the same optimizer step.
   */
  async trainOnBatch(
    inputs: Float32Array,
    labels: ArrayLike<number>,
    count: number,
    learningRate: number,
  ): Promise<ReplicaStep> {
    if (this.#batchCapacity === 0) {
      throw new Error("These replicas were started to predict only; use startReplicas to train.");
    }
    if (count < 1 || count > this.#batchCapacity) {
      throw new RangeError(`A batch must hold 1 to ${this.#batchCapacity} samples, got ${count}.`);
    }
    const t0 = performance.now();
    this.#inputs.set(inputs.subarray(0, count * this.#inputSize));
    for (let i = 0; i < count; i++) this.#labels[i] = labels[i];
    this.#mainMs.batchCopy += performance.now() - t0;
    const active = Math.min(this.workers, count);
    const shares = this.#replicas.slice(0, active).map((r) => {
      const start = Math.floor((r.index * count) / active);
      const end = Math.floor(((r.index + 1) * count) / active);
      return this.#request(r, { type: "gradients", start, count: end - start, total: count });
    });
    const results = await Promise.all(shares);
    const applied = await Promise.all(
      this.#replicas.map((r) => this.#request(r, { type: "apply", active, learningRate })),
    );
    this.#mainMs.step += performance.now() - t0;
    this.#mainMs.steps++;
    let loss = 0;
    let accuracy = 0;
    for (let r = 0; r < active; r++) {
      const share = (Math.floor(((r + 1) * count) / active) - Math.floor((r * count) / active)) /
        count;
      loss += (results[r].loss ?? NaN) * share;
      accuracy += (results[r].accuracy ?? NaN) * share;
    }
    return { loss, accuracy, finite: applied[0].finite ?? false };
  }

  /**
   * The model's outputs (class probabilities) for `count` inputs, `count` x classes floats,
   * row-major: `inputs` holds floats ready for the network, or bytes that `options.toFloats`
   * turns into them one chunk at a time (so the floats of every input never exist at once).
   * Each replica predicts a contiguous share of every chunk.
   */
  async predict(
    inputs: Float32Array | Uint8Array,
    count: number,
    options: PredictOptions = {},
  ): Promise<Float32Array> {
    if (!Number.isInteger(count) || count < 0 || count * this.#inputSize > inputs.length) {
      throw new RangeError(
        `predict() needs ${count} inputs of ${this.#inputSize} values, got ${inputs.length} ` +
          "values.",
      );
    }
    const toFloats = inputs instanceof Float32Array ? undefined : options.toFloats;
    if (!(inputs instanceof Float32Array) && toFloats === undefined) {
      throw new TypeError(
        "predict() was given bytes (a Uint8Array) without options.toFloats: pass a function " +
          "that scales bytes to the network's inputs (e.g. value / 255), or pass a Float32Array.",
      );
    }
    const classes = this.#outputs.length / this.#capacity;
    const out = new Float32Array(count * classes);
    for (let first = 0; first < count; first += this.#capacity) {
      const n = Math.min(this.#capacity, count - first);
      const part = inputs.subarray(first * this.#inputSize, (first + n) * this.#inputSize);
      this.#inputs.set(toFloats === undefined ? part : toFloats(part as Uint8Array));
      const active = Math.min(this.workers, n);
      await Promise.all(
        this.#replicas.slice(0, active).map((r) => {
          const start = Math.floor((r.index * n) / active);
          const end = Math.floor(((r.index + 1) * n) / active);
          return this.#request(r, { type: "predict", start, count: end - start });
        }),
      );
      out.set(this.#outputs.subarray(0, n * classes), first * classes);
    }
    return out;
  }

  /**
   * Replica 0's self milliseconds and calls per kernel since it started, when started with
   * `profileKernels` (else empty). Replicas work in lockstep, so one stands for all.
   */
  async kernelProfile(): Promise<Map<string, KernelStats>> {
    const reply = await this.#request(this.#replicas[0], { type: "profile" });
    return new Map(reply.kernels ?? []);
  }

  /**
   * Where the training steps' time went so far, per step ({@linkcode StepProfile}); undefined
   * before the first step.
   */
  async stepProfile(): Promise<StepProfile | undefined> {
    const reply = await this.#request(this.#replicas[0], { type: "profile" });
    const { batchCopy, step, steps } = this.#mainMs;
    if (steps === 0) return undefined;
    const phases = new Map(reply.phases ?? []);
    const names: StepPhase[] = [
      "batch to tensors",
      "kernels",
      "tape",
      "gradients to shared memory",
      "all-reduce",
      "optimizer",
      "weights to tensors",
    ];
    const parts = { "batch copy": batchCopy / steps } as StepProfile["parts"];
    let accounted = batchCopy;
    for (const name of names) {
      const ms = phases.get(name) ?? 0;
      parts[name] = ms / steps;
      accounted += ms;
    }
    parts.waiting = (step - accounted) / steps;
    return { steps, stepMs: step / steps, parts };
  }

  /** The values of every replica's `model.weights` (to check that they agree). */
  async weightsOfEach(): Promise<Float32Array[][]> {
    const replies = await Promise.all(
      this.#replicas.map((r) => this.#request(r, { type: "weights" })),
    );
    return replies.map((reply) => reply.weights ?? []);
  }

  /**
   * The moving average of every replica's trainable weights, one array per weight in
   * `model.trainableWeights` order (to check that they agree). Replicas started without `ema`
   * refuse.
   */
  async averagesOfEach(): Promise<Float32Array[][]> {
    this.#checkAveraging();
    const replies = await Promise.all(
      this.#replicas.map((r) => this.#request(r, { type: "average" })),
    );
    return replies.map((reply) => reply.average ?? []);
  }

  /**
   * Writes replica 0's moving average of the trainable weights into `model`'s trainable weights;
   * its other weights (Batch Normalization's moving statistics) and optimizer state stay as they
   * are. Replicas started without `ema` refuse.
   */
  async copyAverageTo(model: tf.LayersModel): Promise<void> {
    this.#checkAveraging();
    const reply = await this.#request(this.#replicas[0], { type: "average" });
    const weights = model.trainableWeights;
    const average = reply.average ?? [];
    if (average.length !== weights.length) {
      throw new Error(
        `The replicas average ${average.length} weights, but the model has ${weights.length} ` +
          "trainable weights: copy the average into the model the replicas were started from.",
      );
    }
    weights.forEach((weight, i) => {
      const value = tf.tensor(average[i], weight.read().shape);
      try {
        weight.write(value);
      } finally {
        value.dispose();
      }
    });
  }

  #checkAveraging(): void {
    if (!this.#averaging) {
      throw new Error(
        "These replicas keep no moving average of the weights: start them with the ema option.",
      );
    }
  }

  /** Live tensors in each worker (flat over steps when nothing leaks). */
  async tensorsOfEach(): Promise<number[]> {
    const replies = await Promise.all(
      this.#replicas.map((r) => this.#request(r, { type: "weights" })),
    );
    return replies.map((reply) => reply.tensors ?? NaN);
  }

  /**
   * Copies replica 0's weights (trainable or not) and optimizer state into `model`, which then
   * holds what training in one process would have left there.
   */
  async copyWeightsTo(model: tf.LayersModel): Promise<void> {
    const reply = await this.#request(this.#replicas[0], { type: "weights" });
    const values = (reply.weights ?? []).map((w, i) => tf.tensor(w, model.weights[i].read().shape));
    try {
      model.setWeights(values);
    } finally {
      tf.dispose(values);
    }
    if (reply.optimizerState) await setOptimizerState(model.optimizer, reply.optimizerState);
  }

  /** @internal Sends each replica its `init` request; closes every worker when one fails. */
  async initialize(init: (index: number) => ReplicaInit): Promise<void> {
    try {
      await Promise.all(this.#replicas.map((r) => this.#request(r, init(r.index))));
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** Ends every worker. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const r of this.#replicas) r.worker.terminate();
  }
}

/**
 * Starts `options.workers` replicas of a compiled model (see {@linkcode replicaUnsupportedReason}
 * for which), each in a worker with its own single-threaded wasm backend. A model that has trained
 * before brings its optimizer's state: training continues where it stopped.
 *
 * @throws Error naming the worker when one cannot start, and what the model lacks when
 * {@linkcode replicaUnsupportedReason} finds a reason.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { setupWasmBackend } from "./backend.ts";
 * import { startReplicas } from "./data_parallel.ts";
 * await setupWasmBackend({ threads: 1 });
 * const model = tf.sequential({
 *   layers: [tf.layers.dense({ inputShape: [6], units: 4, activation: "softmax" })],
 * });
 * model.compile({ optimizer: tf.train.adam(0.01), loss: "sparseCategoricalCrossentropy" });
 * const replicas = await startReplicas(model, { workers: 2, batchCapacity: 4 });
 * try {
 *   const inputs = Float32Array.from({ length: 4 * 6 }, (_, i) => (i % 7) / 7);
 *   const step = await replicas.trainOnBatch(inputs, [0, 1, 2, 3], 4, 0.001);
 *   assert.ok(step.finite && step.loss > 0);
 * } finally {
 *   replicas.close();
 *   model.dispose();
 * }
 * ```
 */
export async function startReplicas(
  model: tf.LayersModel,
  options: ReplicaOptions,
): Promise<Replicas> {
  const { workers, batchCapacity } = options;
  checkWorkers(workers);
  const ema = options.ema === undefined ? undefined : checkMomentum(options.ema.momentum);
  const reason = replicaUnsupportedReason(model);
  if (reason !== undefined) {
    throw new Error(`Cannot train this model on replicas: ${reason}. Train it in one process.`);
  }
  const size = (ws: tf.LayerVariable[]) => ws.reduce((s, w) => s + w.read().size, 0);
  const gradients = new SharedArrayBuffer(
    workers * (size(model.trainableWeights) + size(model.nonTrainableWeights)) * 4,
  );
  return await start(model, workers, batchCapacity, {
    optimizer: flatOptimizerSettings(model.optimizer),
    loss: replicaLoss(model),
    optimizerState: model.optimizer.iterations > 0
      ? await optimizerState(model.optimizer)
      : undefined,
    gradients,
    profileKernels: options.profileKernels,
    emaMomentum: ema,
  });
}

/**
 * Starts `workers` replicas of `model` (compiled or not) that only predict, each in a worker with
 * its own single-threaded wasm backend: {@linkcode Replicas.predict} spreads the images over
 * them. Always {@linkcode Replicas.close} them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { setupWasmBackend } from "./backend.ts";
 * import { startPredictors } from "./data_parallel.ts";
 * await setupWasmBackend({ threads: 1 });
 * const model = tf.sequential({
 *   layers: [
 *     tf.layers.flatten({ inputShape: [2, 2, 1] }),
 *     tf.layers.dense({ units: 3, activation: "softmax" }),
 *   ],
 * });
 * const images = Uint8Array.of(0, 50, 100, 150, 200, 250, 10, 20, 30, 40, 50, 60);
 * const predictors = await startPredictors(model, { workers: 2 });
 * try {
 *   const toFloats = (bytes: Uint8Array) => Float32Array.from(bytes, (v) => v / 255);
 *   const ours = await predictors.predict(images, 3, { toFloats });
 *   const theirs = tf.tidy(() =>
 *     (model.predict(tf.tensor4d(images, [3, 2, 2, 1]).div(255)) as tf.Tensor).dataSync()
 *   );
 *   assert.equal(ours.length, 9);
 *   assert.ok(ours.every((p, i) => Math.abs(p - theirs[i]) < 1e-5));
 * } finally {
 *   predictors.close();
 *   model.dispose();
 * }
 * ```
 */
export async function startPredictors(
  model: tf.LayersModel,
  options: { workers: number },
): Promise<Replicas> {
  checkWorkers(options.workers);
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new Error(
      "Cannot predict on replicas with a model of more than one input or output; " +
        "call model.predict instead.",
    );
  }
  return await start(model, options.workers, 0, {});
}

/** Images a {@linkcode Replicas.predict} call hands the replicas at once. */
const PREDICT_CHUNK = 2_048;

/** The EMA momentum, when it is from 0 to below 1. */
function checkMomentum(momentum: number): number {
  if (!(typeof momentum === "number" && momentum >= 0 && momentum < 1)) {
    throw new RangeError(
      `The moving average's momentum (ema.momentum) must be at least 0 and below 1, got ${momentum}.`,
    );
  }
  return momentum;
}

function checkWorkers(workers: number): void {
  if (!Number.isInteger(workers) || workers < 1) {
    throw new RangeError(`The number of replica workers must be at least 1, got ${workers}.`);
  }
}

/** Starts the workers and sends each its `init` (training needs the optimizer fields). */
async function start(
  model: tf.LayersModel,
  workers: number,
  batchCapacity: number,
  training: Pick<
    ReplicaInit,
    "optimizer" | "loss" | "optimizerState" | "gradients" | "profileKernels" | "emaMomentum"
  >,
): Promise<Replicas> {
  const inputSize = (model.inputs[0].shape.slice(1) as number[]).reduce((a, b) => a * b, 1);
  const classes = model.outputs[0].shape.at(-1) ?? 1;
  const capacity = Math.max(batchCapacity, PREDICT_CHUNK);
  const buffers: SharedBuffers = {
    inputs: new SharedArrayBuffer(capacity * inputSize * 4),
    labels: new SharedArrayBuffer(capacity * 4),
    outputs: new SharedArrayBuffer(capacity * classes * 4),
    batchCapacity,
  };
  const dropoutSeeds = model.layers
    .filter((layer) => layer.getClassName() === "Dropout")
    .map((layer) => Number((layer as unknown as { seed?: number }).seed ?? 0));
  const topology = JSON.stringify(model.toJSON(null, false));
  const weights = model.weights.map((w) => w.read().dataSync() as Float32Array);
  const replicas: Replica[] = Array.from({ length: workers }, (_, index) => ({
    index,
    worker: new WebWorker(new URL("./replica_worker.ts", import.meta.url).href, {
      type: "module",
    }),
  }));
  const group = new Replicas(replicas, buffers, {
    averaging: training.emaMomentum !== undefined,
  });
  await group.initialize((index) => ({
    type: "init",
    index,
    replicas: workers,
    topology,
    weights,
    dropoutSeeds,
    inputs: buffers.inputs,
    labels: buffers.labels,
    outputs: buffers.outputs,
    ...training,
  }));
  return group;
}

/**
 * The number of replica workers training uses by default: the wasm backend's thread count (set by
 * `WASM_THREADS` or the machine's cores) for a compiled model, else 0 (train in this process). A
 * model the replicas refuse still gets them: {@linkcode startReplicas} then says why, and
 * {@linkcode startOrFallBack} prints that in one line and lets training go on in this process.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { setupWasmBackend } from "./backend.ts";
 * import { defaultWorkers } from "./data_parallel.ts";
 * await setupWasmBackend({ threads: 1 });
 * const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 2 })] });
 * model.compile({ optimizer: tf.train.adam(), loss: "sparseCategoricalCrossentropy" });
 * assert.equal(defaultWorkers(model), 1);
 * const uncompiled = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 1 })] });
 * assert.equal(defaultWorkers(uncompiled), 0);
 * model.dispose();
 * uncompiled.dispose();
 * ```
 */
export function defaultWorkers(model: tf.LayersModel): number {
  if (tf.getBackend() !== "wasm" || model.optimizer === undefined) return 0;
  return defaultPredictors();
}

/**
 * The number of workers prediction uses by default: the wasm backend's thread count (set by
 * `WASM_THREADS` or the machine's cores), 1 on any other backend.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { setupWasmBackend } from "./backend.ts";
 * import { defaultPredictors } from "./data_parallel.ts";
 * await setupWasmBackend({ threads: 1 });
 * assert.equal(defaultPredictors(), 1);
 * ```
 */
export function defaultPredictors(): number {
  return tf.getBackend() === "wasm" ? Math.max(1, getThreadsCount()) : 1;
}

/**
 * Starts workers with `start`. When that fails and the caller did not ask for workers
 * (`explicit` false), says so on the console and returns undefined, so that the caller does
 * the work in this process: a worker cannot rebuild a model holding a custom layer it does not
 * know, and the work still gets done, one core slower.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startOrFallBack } from "./data_parallel.ts";
 * const failing = () => Promise.reject(new Error("Unknown layer: Mine"));
 * const warn = console.warn;
 * console.warn = () => {};
 * try {
 *   assert.equal(await startOrFallBack(failing, { workers: 2, explicit: false, work: "Training" }), undefined);
 *   await assert.rejects(() => startOrFallBack(failing, { workers: 2, explicit: true, work: "Training" }), /Unknown layer/);
 * } finally {
 *   console.warn = warn;
 * }
 * ```
 */
export async function startOrFallBack(
  start: () => Promise<Replicas>,
  options: { workers: number; explicit: boolean; work: "Training" | "Predicting" },
): Promise<Replicas | undefined> {
  try {
    return await start();
  } catch (error) {
    if (options.explicit) throw error;
    const { workers } = options;
    console.warn(
      `${options.work} in this process instead of on ${workers} worker${
        workers === 1 ? "" : "s"
      }: ${error instanceof Error ? error.message.split("\n")[0] : error}`,
    );
    return undefined;
  }
}
