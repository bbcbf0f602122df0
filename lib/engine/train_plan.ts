/**
 * How a replica runs its model forward for a training step: as `model.apply(x, { training: true })`
 * under tfjs' tape, layer by layer, except that a convolution with a bias and a ReLU followed by a
 * 2x2 max pool runs as the convolution alone, then its bias, ReLU and pool as one op
 * (`BiasReluMaxPool`) whose gradient is one op too (`BiasReluMaxPoolGrad`).
 *
 * In training, tfjs does not fuse a convolution's activation: it runs Conv2D, Add (the bias),
 * Relu and MaxPool, each writing a full-size tensor, and backward MaxPoolGrad and the ReLU
 * gradient, each writing another. For the tutorial's 26x26x32 first layer those passes cost more
 * than its convolution. Here the bias, ReLU and pool read the convolution's output once and write
 * only the pooled tensor; backward, one pass writes the convolution's gradient. The values and the
 * gradients are bit for bit those of the layers one after the other.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { BIAS_RELU_MAX_POOL, BIAS_RELU_MAX_POOL_GRAD } from "./kernels/kernels.ts";
import { heapKernelsAvailable } from "./kernels/heap_module.ts";
import { chain, convSettings, isMaxPool2x2 } from "./layer_chain.ts";

/** The op behind {@linkcode biasReluMaxPool}, its gradient written out. */
const fusedOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, bias, save] = args as [tf.Tensor4D, tf.Tensor1D, tf.GradSaveFunc];
  save([x, bias]);
  return {
    value: tf.engine().runKernel(BIAS_RELU_MAX_POOL, { x, bias }) as tf.Tensor4D,
    gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
      const [savedX, savedBias] = saved;
      const dx = tf.engine().runKernel(BIAS_RELU_MAX_POOL_GRAD, {
        dy,
        x: savedX,
        bias: savedBias,
      }) as tf.Tensor4D;
      // The bias' gradient as Add's gradient makes it: summed over every axis but the channels.
      return [dx, tf.reshape(tf.sum(dx, [0, 1, 2]), savedBias.shape)];
    },
  };
});

/**
 * `tf.maxPool(tf.relu(tf.add(x, bias)), 2, 2, "valid")` for NHWC float32 `x` (C a multiple of 4)
 * and a per-channel `bias`, as one op on a one-thread wasm backend with our kernels: the same
 * values, and under a gradient tape the same gradients for `x` and `bias`, bit for bit, in one
 * pass each way.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { setupWasmBackend, shutdownWasmBackend } from "./backend.ts";
 * import { biasReluMaxPool } from "./train_plan.ts";
 * await setupWasmBackend({ threads: 1 });
 * const x = tf.randomNormal([2, 6, 6, 8], 0, 1, "float32", 3);
 * const bias = tf.randomNormal([8], 0, 1, "float32", 4);
 * const unfused = (x: tf.Tensor, b: tf.Tensor) =>
 *   tf.maxPool(tf.relu(tf.add(x, b)) as tf.Tensor4D, 2, 2, "valid");
 * const grads = (f: (x: tf.Tensor, b: tf.Tensor) => tf.Tensor) =>
 *   tf.tidy(() => tf.grads(f)([x, bias]).map((g) => [...g.dataSync()]));
 * assert.deepEqual(grads((x, b) => biasReluMaxPool(x as tf.Tensor4D, b as tf.Tensor1D)), grads(unfused));
 * tf.dispose([x, bias]);
 * shutdownWasmBackend();
 * ```
 */
export function biasReluMaxPool(x: tf.Tensor4D, bias: tf.Tensor1D): tf.Tensor4D {
  return fusedOp(x, bias) as tf.Tensor4D;
}

/** Whether `layer` and `next` are a convolution with bias and ReLU and a 2x2 pool that fuse. */
function fuses(layer: tf.layers.Layer, next: tf.layers.Layer | undefined): boolean {
  if (layer.getClassName() !== "Conv2D" || !isMaxPool2x2(next)) return false;
  const conv = convSettings(layer);
  const [h, w] = (layer.outputShape as number[]).slice(1);
  return conv.activation === "relu" && conv.useBias && conv.dataFormat === "channelsLast" &&
    conv.filters % 4 === 0 && h >= 2 && w >= 2;
}

/**
 * A function that runs `model` forward in training mode on the active backend, for
 * `tf.variableGrads`: `model.apply(x, { training: true })`, or, on a one-thread wasm backend with
 * our kernels and a model whose layers form a chain, each layer in turn with every convolution's
 * bias and ReLU and the 2x2 max pool after it as one op. `fused` counts those pairs. Call it inside
 * `tf.tidy`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { setupWasmBackend, shutdownWasmBackend } from "./backend.ts";
 * import { trainPlan } from "./train_plan.ts";
 * await setupWasmBackend({ threads: 1 });
 * const model = tf.sequential({ layers: [
 *   tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, activation: "relu" }),
 *   tf.layers.maxPooling2d({ poolSize: 2 }),
 *   tf.layers.flatten(),
 *   tf.layers.dense({ units: 3, activation: "softmax" }),
 * ] });
 * const x = tf.randomUniform([5, 8, 8, 1], 0, 1, "float32", 7);
 * const plan = trainPlan(model);
 * assert.equal(plan.fused, 1);
 * const grads = (run: (x: tf.Tensor) => tf.Tensor) =>
 *   tf.tidy(() => tf.variableGrads(() => tf.sum(run(x)) as tf.Scalar).grads[model.weights[0].name].dataSync());
 * assert.deepEqual(grads(plan.run), grads((t) => model.apply(t, { training: true }) as tf.Tensor));
 * tf.dispose(x);
 * model.dispose();
 * shutdownWasmBackend();
 * ```
 */
export function trainPlan(
  model: tf.LayersModel,
): { run: (x: tf.Tensor) => tf.Tensor; fused: number } {
  const whole = {
    run: (x: tf.Tensor) => model.apply(x, { training: true }) as tf.Tensor,
    fused: 0,
  };
  const layers = chain(model);
  if (
    layers === undefined || tf.getBackend() !== "wasm" ||
    !heapKernelsAvailable(tf.backend() as BackendWasm) ||
    tf.getKernel(BIAS_RELU_MAX_POOL, "wasm") === undefined
  ) {
    return whole;
  }
  const steps: ((x: tf.Tensor) => tf.Tensor)[] = [];
  let fused = 0;
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i];
    if (fuses(layer, layers[i + 1])) {
      const conv = convSettings(layer);
      const [kernel, bias] = layer.weights;
      // As tfjs-layers runs a Conv2D layer in training: the convolution alone, then the bias
      // and the activation (which here go into the fused op with the pool).
      steps.push((x) =>
        biasReluMaxPool(
          tf.conv2d(
            x as tf.Tensor4D,
            kernel.read() as tf.Tensor4D,
            conv.strides as [number, number],
            conv.padding,
            "NHWC",
            conv.dilationRate as [number, number],
          ),
          bias.read() as tf.Tensor1D,
        )
      );
      fused++;
      i++;
      continue;
    }
    steps.push((x) => layer.apply(x, { training: true }) as tf.Tensor);
  }
  if (fused === 0) return whole;
  return { run: (x) => steps.reduce((t, step) => step(t), x), fused };
}
