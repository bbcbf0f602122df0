/**
 * The worker behind {@linkcode startReplicas} (`data_parallel.ts`): one replica of the model on a
 * single-threaded wasm backend. Each step it computes the gradients of its share of the batch,
 * writes them (scaled by its share of the batch) into its slot of shared memory, and, once every
 * replica has written, sums the slots in replica order and applies the same optimizer step as
 * every other replica, so all replicas hold the same weights bit for bit.
 *
 * Messages are {@linkcode ReplicaRequest}s; every request gets exactly one
 * {@linkcode ReplicaReply}. Not meant to be imported: `startReplicas` starts it.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { setupWasmBackend } from "./backend.ts";
import { type KernelProfile, type KernelStats, startKernelProfile } from "./kernel_profile.ts";
import type { OptimizerState } from "./optimizer_state.ts";
import {
  type FlatOptimizerSettings,
  type FlatOptimizerState,
  flatOptimizerState,
  flatStep,
  toOptimizerState,
} from "./flat_optimizer.ts";
import type { ReplicaLoss } from "./data_parallel.ts";
import { predictPlan } from "./predict_plan.ts";
import { trainPlan } from "./train_plan.ts";

/** Everything a replica needs to build its model and find its shared memory. */
export interface ReplicaInit {
  type: "init";
  /** 0-based; replica 0 sums first and reports the weights. */
  index: number;
  replicas: number;
  /** `model.toJSON(null, false)` of the main model. */
  topology: string;
  /** The values of `model.weights`, in order. */
  weights: Float32Array[];
  /** The optimizer's settings; absent for a replica that only predicts (no gradient slots then). */
  optimizer?: FlatOptimizerSettings;
  /** The loss to train on (labels arrive as class numbers; one-hot ones are made here). */
  loss?: ReplicaLoss;
  /** The optimizer's state when the model has trained before (see {@linkcode OptimizerState}). */
  optimizerState?: OptimizerState;
  /** The first seed of each Dropout layer, in layer order. */
  dropoutSeeds: number[];
  /** Input pixels of a batch, or of the images to predict: `capacity` x `inputSize` floats. */
  inputs: SharedArrayBuffer;
  /** Labels of the batch, `capacity` floats. */
  labels: SharedArrayBuffer;
  /** Predicted probabilities, `capacity` x classes floats. */
  outputs: SharedArrayBuffer;
  /** `replicas` slots of the trainable parameter count, then `replicas` slots of the rest. */
  gradients?: SharedArrayBuffer;
  /** Time every kernel from now on (see {@linkcode ProfileRequest}). */
  profileKernels?: { byShape?: boolean };
  /**
   * Keep an exponential moving average of the trainable weights with this momentum (see
   * {@linkcode AverageRequest}); absent: none.
   */
  emaMomentum?: number;
}

/** Asks for the kernel times so far (when started with `profileKernels`). */
export interface ProfileRequest {
  type: "profile";
}

/** Predict samples `start`..`start + count - 1` of `inputs` into the same rows of `outputs`. */
export interface PredictRequest {
  type: "predict";
  start: number;
  count: number;
}

/** A training step's first half: the gradients of samples `start`..`start + count - 1`. */
export interface GradientsRequest {
  type: "gradients";
  start: number;
  count: number;
  /** Samples in the whole batch, over all replicas. */
  total: number;
}

/** A training step's second half: sum the slots of the first `active` replicas and step. */
export interface ApplyRequest {
  type: "apply";
  active: number;
  learningRate: number;
}

/** Asks replica for the values of `model.weights`. */
export interface WeightsRequest {
  type: "weights";
}

/**
 * Asks a replica started with `emaMomentum` for the moving average of its trainable weights.
 * After every step, `apply` folds the weights in: `average = momentum * average + (1 - momentum)
 * * weights`, with momentum 0 at the first step (Keras' `use_ema` rule), in float64, so every
 * replica keeps the same average.
 */
export interface AverageRequest {
  type: "average";
}

/** Everything a replica is asked to do. */
export type ReplicaRequest =
  | ReplicaInit
  | GradientsRequest
  | ApplyRequest
  | WeightsRequest
  | AverageRequest
  | PredictRequest
  | ProfileRequest;

/** A replica's answer. `error` is set when the request failed. */
export interface ReplicaReply {
  type: string;
  error?: string;
  loss?: number;
  accuracy?: number;
  /** After `apply`: whether every weight is finite. */
  finite?: boolean;
  weights?: Float32Array[];
  /** After `weights`: the optimizer's state. */
  optimizerState?: OptimizerState;
  /** After `average`: the moving average of each trainable weight, in `trainableWeights` order. */
  average?: Float32Array[];
  /** After `init`: live tensors, to check for leaks. */
  tensors?: number;
  /** After `profile`: self milliseconds and calls per kernel. */
  kernels?: [string, KernelStats][];
  /** After `profile`: milliseconds per phase of the training steps (see {@linkcode StepPhase}). */
  phases?: [StepPhase, number][];
  /** After `profile`: training steps this replica took part in. */
  steps?: number;
}

/**
 * The phases of a replica's training step, timed every step (a few clock reads per step).
 * `kernels` is the kernels' time inside the forward and backward pass, known only when kernels
 * are profiled; `tape` is the rest of that pass: tfjs' tape, op dispatch and tensor allocation.
 */
export type StepPhase =
  | "batch to tensors"
  | "kernels"
  | "tape"
  | "gradients to shared memory"
  | "all-reduce"
  | "optimizer"
  | "weights to tensors";

/** The loss and metric functions Keras' `compile` resolved, as tfjs-layers keeps them. */
interface CompiledInternals {
  lossFunctions: ((yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor)[];
}

interface State {
  init: ReplicaInit;
  model: tf.LayersModel;
  /** The trainable weights, flat, in `trainable`'s order: what the optimizer updates. */
  flat: Float32Array;
  optimizer: FlatOptimizerState;
  loss: (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor;
  inputShape: number[];
  inputSize: number;
  trainable: tf.Variable[];
  /** Non-trainable weights (Batch Normalization's moving statistics). */
  frozen: tf.LayerVariable[];
  trainableSize: number;
  frozenSize: number;
  profile?: KernelProfile;
  /** Milliseconds spent in each phase of the training steps so far. */
  phases: Map<StepPhase, number>;
  steps: number;
  /** How this replica predicts (made on the first prediction; see `predict_plan.ts`). */
  plan?: (x: tf.Tensor) => tf.Tensor;
  /** How this replica runs a training step forward (made on the first; see `train_plan.ts`). */
  trainPlan?: (x: tf.Tensor) => tf.Tensor;
  /** The moving average of `flat`, when started with `emaMomentum`, and the steps folded in. */
  average?: { values: Float64Array; steps: number };
}

/** Runs `work`, adding its wall time to `phase`. */
function timed<T>(s: State, phase: StepPhase, work: () => T): T {
  const t0 = performance.now();
  try {
    return work();
  } finally {
    s.phases.set(phase, (s.phases.get(phase) ?? 0) + performance.now() - t0);
  }
}

/** The kernels' self milliseconds so far, when they are profiled. */
function kernelMs(s: State): number {
  let ms = 0;
  for (const stats of s.profile?.stats.values() ?? []) ms += stats.ms;
  return ms;
}

let state: State | undefined;

async function initialize(init: ReplicaInit): Promise<ReplicaReply> {
  tf.enableProdMode();
  await setupWasmBackend({ threads: 1 });
  const topology = JSON.parse(init.topology);
  checkLayersKnown(topology);
  const model = await tf.models.modelFromJSON(topology);
  if (model.weights.length !== init.weights.length) {
    throw new Error(
      `the model has ${model.weights.length} weights but ${init.weights.length} were sent`,
    );
  }
  const values = init.weights.map((w, i) => tf.tensor(w, model.weights[i].read().shape));
  model.setWeights(values);
  tf.dispose(values);
  // Compiled for the loss function Keras resolves; the optimizer runs in apply(), on flat arrays.
  model.compile({ optimizer: tf.train.sgd(0), loss: init.loss ?? "sparseCategoricalCrossentropy" });
  let d = 0;
  for (const layer of model.layers) {
    if (layer.getClassName() !== "Dropout") continue;
    // Each replica draws its own masks for its own samples: the seed advances every step as in
    // the variants, offset by the replica index so replicas do not drop the same units.
    const base = init.dropoutSeeds[d++] + 7_919 * init.index;
    let calls = 0;
    Object.defineProperty(layer, "seed", {
      get: () => base + 1_000_003 * calls++,
      configurable: true,
    });
  }
  const trainable = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const frozen = model.nonTrainableWeights;
  const inputShape = model.inputs[0].shape.slice(1) as number[];
  const trainableSize = trainable.reduce((s, w) => s + w.size, 0);
  const flat = new Float32Array(trainableSize);
  let offset = 0;
  for (const w of trainable) {
    flat.set(w.dataSync() as Float32Array, offset);
    offset += w.size;
  }
  state = {
    init,
    model,
    flat,
    optimizer: init.optimizer === undefined
      ? { slots: [], iterations: 0 }
      : flatOptimizerState(init.optimizer, trainableSize, init.optimizerState),
    // A Sequential model keeps its compiled state in an inner functional model.
    loss: ((model as unknown as { model?: CompiledInternals }).model ??
      (model as unknown as CompiledInternals)).lossFunctions[0],
    inputShape,
    inputSize: inputShape.reduce((a, b) => a * b, 1),
    trainable,
    frozen,
    trainableSize,
    frozenSize: frozen.reduce((s, w) => s + w.read().size, 0),
    profile: init.profileKernels ? startKernelProfile("wasm", init.profileKernels) : undefined,
    phases: new Map(),
    steps: 0,
    average: init.emaMomentum === undefined
      ? undefined
      : { values: new Float64Array(trainableSize), steps: 0 },
  };
  return { type: "init", tensors: tf.memory().numTensors };
}

/**
 * Throws a sentence when the topology names a layer class this worker does not know: a custom
 * layer registered in the main thread only. tfjs' own error says it in several lines.
 */
function checkLayersKnown(topology: unknown): void {
  const known = tf.serialization.SerializationMap.getMap().classNameMap;
  const visit = (node: unknown): void => {
    if (typeof node !== "object" || node === null) return;
    if (Array.isArray(node)) return node.forEach(visit);
    const { class_name: name, config } = node as { class_name?: unknown; config?: unknown };
    if (typeof name === "string" && !(name in known) && isLayerConfig(config)) {
      throw new Error(
        `the layer class "${name}" is not one of tfjs' built-in layers, so a replica cannot ` +
          "rebuild the model",
      );
    }
    visit((config as { layers?: unknown } | undefined)?.layers);
  };
  visit(topology);
}

function isLayerConfig(config: unknown): boolean {
  return typeof config === "object" && config !== null && "name" in config;
}

function slots(s: State): { trainable: Float32Array[]; frozen: Float32Array[] } {
  const r = s.init.replicas;
  const buffer = s.init.gradients;
  if (buffer === undefined || s.init.optimizer === undefined) {
    throw new Error("this replica was started to predict only; start replicas to train");
  }
  const trainable = Array.from(
    { length: r },
    (_, i) => new Float32Array(buffer, i * s.trainableSize * 4, s.trainableSize),
  );
  const frozenBase = r * s.trainableSize * 4;
  const frozen = Array.from(
    { length: r },
    (_, i) => new Float32Array(buffer, frozenBase + i * s.frozenSize * 4, s.frozenSize),
  );
  return { trainable, frozen };
}

function gradients(s: State, request: GradientsRequest): ReplicaReply {
  const { start, count, total } = request;
  const mine = slots(s);
  const variables = s.trainable;
  let accuracy = NaN;
  s.steps++;
  const forward = s.trainPlan ??= trainPlan(s.model).run;
  const lossValue = tf.tidy(() => {
    const { x, y, target } = timed(s, "batch to tensors", () => batchTensors(s, start, count));
    const kernels0 = kernelMs(s);
    const t0 = performance.now();
    const { value, grads } = tf.variableGrads(() => {
      const out = forward(x);
      accuracy = tf.metrics.sparseCategoricalAccuracy(y, out).mean().dataSync()[0];
      return tf.mean(s.loss(target, out)) as tf.Scalar;
    }, variables);
    const kernels = kernelMs(s) - kernels0;
    s.phases.set("kernels", (s.phases.get("kernels") ?? 0) + kernels);
    s.phases.set("tape", (s.phases.get("tape") ?? 0) + performance.now() - t0 - kernels);
    // The batch loss is the mean over all replicas' samples: scale this share by count/total.
    timed(s, "gradients to shared memory", () => {
      const slot = mine.trainable[s.init.index];
      const scale = count / total;
      let offset = 0;
      for (const v of variables) {
        const g = grads[v.name].dataSync() as Float32Array;
        for (let i = 0; i < g.length; i++) slot[offset + i] = g[i] * scale;
        offset += g.length;
      }
    });
    return value.dataSync()[0];
  });
  // Batch Normalization updated its moving statistics from this share: publish them.
  timed(s, "gradients to shared memory", () => {
    let offset = 0;
    for (const w of s.frozen) {
      const v = w.read().dataSync() as Float32Array;
      mine.frozen[s.init.index].set(v, offset);
      offset += v.length;
    }
  });
  return { type: "gradients", loss: lossValue, accuracy };
}

/** Samples `start`..`start + count - 1` of the shared batch as tensors (inside a `tf.tidy`). */
function batchTensors(
  s: State,
  start: number,
  count: number,
): { x: tf.Tensor; y: tf.Tensor; target: tf.Tensor } {
  const pixels = new Float32Array(s.init.inputs, start * s.inputSize * 4, count * s.inputSize);
  const labels = new Float32Array(s.init.labels, start * 4, count);
  const x = tf.tensor(pixels, [count, ...s.inputShape]);
  const y = tf.tensor1d(labels);
  const classes = s.model.outputs[0].shape.at(-1) as number;
  const target = s.init.loss === "categoricalCrossentropy"
    ? tf.oneHot(tf.cast(y, "int32"), classes).toFloat()
    : y;
  return { x, y, target };
}

function apply(s: State, request: ApplyRequest): ReplicaReply {
  const all = slots(s);
  // Every replica sums the same slots in the same order: identical float results everywhere.
  const sum = timed(s, "all-reduce", () => {
    const sum = new Float32Array(s.trainableSize);
    for (let r = 0; r < request.active; r++) {
      const slot = all.trainable[r];
      for (let i = 0; i < sum.length; i++) sum[i] += slot[i];
    }
    return sum;
  });
  timed(s, "optimizer", () => {
    flatStep(s.flat, sum, s.optimizer, s.init.optimizer!, request.learningRate);
    if (s.average) foldIntoAverage(s.average, s.flat, s.init.emaMomentum!);
  });
  timed(s, "weights to tensors", () => {
    let at = 0;
    for (const w of s.trainable) {
      const next = tf.tensor(s.flat.subarray(at, at + w.size), w.shape);
      w.assign(next);
      next.dispose();
      at += w.size;
    }
    if (s.frozenSize > 0) writeMovingStatistics(s, all.frozen, request.active);
  });
  let finite = true;
  if (s.init.index === 0) {
    // Summed in float32, as the in-process check (a tfjs sum) does: weights near the float32
    // limit overflow it and count as diverged there too.
    let total = 0;
    for (let i = 0; i < s.flat.length; i++) total = Math.fround(total + s.flat[i]);
    finite = Number.isFinite(total);
  }
  return { type: "apply", finite };
}

/**
 * Folds the weights after a step into their moving average, in float64 (the arithmetic of
 * `lib/training/weight_average.ts`, which training in one process uses): momentum 0 at the first
 * step, so that the average starts at the trained weights, as Keras' does.
 */
function foldIntoAverage(
  average: { values: Float64Array; steps: number },
  weights: Float32Array,
  emaMomentum: number,
): void {
  const momentum = average.steps === 0 ? 0 : emaMomentum;
  const rest = 1 - momentum;
  const values = average.values;
  for (let i = 0; i < values.length; i++) values[i] = momentum * values[i] + rest * weights[i];
  average.steps++;
}

/** The moving average of the trainable weights, one float32 array per weight. */
function averageReply(s: State): ReplicaReply {
  if (s.average === undefined) {
    throw new Error("this replica keeps no moving average of the weights; start it with ema");
  }
  // Before the first step there is nothing to average: the weights are their own average.
  const values = s.average.steps === 0 ? s.flat : s.average.values;
  const average: Float32Array[] = [];
  let at = 0;
  for (const w of s.trainable) {
    average.push(Float32Array.from(values.subarray(at, at + w.size)));
    at += w.size;
  }
  return { type: "average", average };
}

/** Moving statistics: the mean over the replicas that trained, in replica order. */
function writeMovingStatistics(s: State, slots: Float32Array[], active: number): void {
  const mean = new Float32Array(s.frozenSize);
  for (let r = 0; r < active; r++) {
    const slot = slots[r];
    for (let i = 0; i < mean.length; i++) mean[i] += slot[i];
  }
  for (let i = 0; i < mean.length; i++) mean[i] /= active;
  let offset = 0;
  for (const w of s.frozen) {
    const { size, shape } = w.read();
    tf.tidy(() => {
      w.write(tf.tensor(mean.subarray(offset, offset + size), shape));
    });
    offset += size;
  }
}

/** Largest number of images one prediction call gets (bounds the heap a replica uses). */
const PREDICT_BATCH = 1_024;

function predict(s: State, request: PredictRequest): ReplicaReply {
  const { start, count } = request;
  const outputs = new Float32Array(s.init.outputs);
  const classes = s.model.outputs[0].shape.at(-1) as number;
  const plan = s.plan ??= predictPlan(s.model).run;
  for (let at = start; at < start + count; at += PREDICT_BATCH) {
    const n = Math.min(PREDICT_BATCH, start + count - at);
    const pixels = new Float32Array(s.init.inputs, at * s.inputSize * 4, n * s.inputSize);
    tf.tidy(() => {
      const out = plan(tf.tensor(pixels, [n, ...s.inputShape]));
      outputs.set(out.dataSync(), at * classes);
    });
  }
  return { type: "predict" };
}

function weights(s: State): ReplicaReply {
  return {
    type: "weights",
    weights: s.model.weights.map((w) => w.read().dataSync() as Float32Array),
    optimizerState: s.init.optimizer && toOptimizerState(
      s.optimizer,
      s.init.optimizer,
      s.trainable.map((w) => ({ name: w.name, shape: w.shape })),
    ),
    tensors: tf.memory().numTensors,
  };
}

async function handle(request: ReplicaRequest): Promise<ReplicaReply> {
  if (request.type === "init") return await initialize(request);
  if (state === undefined) throw new Error("the replica was asked to work before init");
  if (request.type === "gradients") return gradients(state, request);
  if (request.type === "apply") return apply(state, request);
  if (request.type === "predict") return predict(state, request);
  if (request.type === "average") return averageReply(state);
  if (request.type === "profile") {
    return {
      type: "profile",
      kernels: [...state.profile?.stats ?? []],
      phases: [...state.phases],
      steps: state.steps,
    };
  }
  return weights(state);
}

// Requests are handled one at a time, in order: the main thread never sends the next before the
// reply to the previous one, except `init`, which comes first.
let queue: Promise<void> = Promise.resolve();
/** This worker's global scope, as far as this module uses it. */
const scope = self as unknown as {
  onmessage: (event: MessageEvent<ReplicaRequest>) => void;
  postMessage: (message: ReplicaReply) => void;
};
scope.onmessage = (event) => {
  const request = event.data;
  queue = queue.then(async () => {
    let reply: ReplicaReply;
    try {
      reply = await handle(request);
    } catch (e) {
      reply = { type: request.type, error: e instanceof Error ? e.stack ?? e.message : String(e) };
    }
    scope.postMessage(reply);
  });
};
