/**
 * How a prediction replica runs its model: layer by layer, as `model.predict` would, but with a
 * 3x3 "valid" convolution followed by a 2x2 max pool run as one kernel (`kernels/conv_pool.ts`:
 * grey first layers, and channel counts Winograd takes) whose result is bit for bit that of the
 * two layers, and without `model.predict`'s batching
 * and graph walk (one input, layers in a chain). Models of any other form predict as before.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { convMaxPool, convMaxPoolSupports } from "./kernels/conv_pool.ts";
import { chain, convSettings, isMaxPool2x2 } from "./layer_chain.ts";

/** One step of a plan: a layer, or a convolution and the max pool after it. */
type Step = (x: tf.Tensor) => tf.Tensor;

/** Whether `layer` and `next` are a 3x3 "valid" convolution and a 2x2 pool that fuse. */
function fuses(layer: tf.layers.Layer, next: tf.layers.Layer | undefined): boolean {
  if (layer.getClassName() !== "Conv2D" || !isMaxPool2x2(next)) return false;
  const conv = convSettings(layer);
  const ones = (v: number[]) => v.every((d) => d === 1);
  const filter = layer.getWeights()[0]?.shape ?? [];
  return ones(conv.strides) && ones(conv.dilationRate) && conv.padding === "valid" &&
    conv.dataFormat === "channelsLast" && ["relu", "linear"].includes(conv.activation) &&
    convMaxPoolSupports(inputShapeOf(layer), filter);
}

function inputShapeOf(layer: tf.layers.Layer): number[] {
  return (layer.input as tf.SymbolicTensor).shape.slice(1) as number[];
}

/**
 * A function that predicts with `model` on the active backend: `model.predict` for one batch,
 * or, for a chain of layers, each layer in turn, a 3x3 "valid" convolution and the 2x2 max pool
 * after it as one kernel. Call it inside `tf.tidy`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { setupWasmBackend, shutdownWasmBackend } from "./backend.ts";
 * import { predictPlan } from "./predict_plan.ts";
 * await setupWasmBackend({ threads: 1 });
 * const model = tf.sequential({ layers: [
 *   tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, activation: "relu" }),
 *   tf.layers.maxPooling2d({ poolSize: 2 }),
 *   tf.layers.flatten(),
 *   tf.layers.dense({ units: 3, activation: "softmax" }),
 * ] });
 * const x = tf.randomUniform([5, 8, 8, 1], 0, 1, "float32", 7);
 * const plan = predictPlan(model);
 * assert.equal(plan.fused, 1);
 * const ours = tf.tidy(() => plan.run(x).dataSync());
 * const theirs = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
 * assert.deepEqual(ours, theirs);
 * tf.dispose(x);
 * model.dispose();
 * shutdownWasmBackend();
 * ```
 */
export function predictPlan(model: tf.LayersModel): { run: Step; fused: number } {
  const layers = chain(model);
  if (layers === undefined) {
    return {
      run: (x) => model.predict(x, { batchSize: x.shape[0] }) as tf.Tensor,
      fused: 0,
    };
  }
  const steps: Step[] = [];
  let fused = 0;
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i];
    if (fuses(layer, layers[i + 1])) {
      const [filter, bias] = layerWeights(layer);
      const relu = convSettings(layer).activation === "relu";
      steps.push((x) => convMaxPool(x, filter.read(), { bias: bias?.read(), relu }));
      fused++;
      i++;
      continue;
    }
    steps.push((x) => layer.apply(x, { training: false }) as tf.Tensor);
  }
  return { run: (x) => steps.reduce((t, step) => step(t), x), fused };
}

/** A convolution layer's kernel and bias variables. */
function layerWeights(layer: tf.layers.Layer): [tf.LayerVariable, tf.LayerVariable | undefined] {
  const [kernel, bias] = layer.weights;
  return [kernel, convSettings(layer).useBias ? bias : undefined];
}
