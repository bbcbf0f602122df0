/**
 * A faster gradient for `Mean`, which `tf.moments` takes twice in every Batch Normalization layer
 * while training.
 *
 * tfjs-core 4.22's gradient multiplies `dy` by `tf.ones(x.shape)` and divides the product by the
 * number of averaged elements. `tf.ones` fills a JavaScript array one element at a time and copies
 * it into the backend: in `deep`'s training step on one wasm thread that fill alone took about 14%
 * of the time (V8's CPU profile), and its large arrays made the garbage collector stall steps
 * (median step 126-167 ms against 93-97 ms with this gradient, 2026-12-08). Here `dy / n`, still
 * reduced in shape, is broadcast against `tf.onesLike(x)`, a backend kernel: one multiplication at
 * full size instead of a JavaScript fill, a copy, a multiplication and a division. The same numbers
 * up to float rounding, on every backend.
 *
 * `registerWasmTrainingKernels` (`kernels.ts`) registers it when the wasm backend is set up (tfjs
 * keeps one gradient per kernel; this one replaces the stock one for the whole process).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/**
 * The gradient of `Mean` (`tf.mean`): each input element gets `dy` of the mean it went into,
 * divided by the number of elements averaged.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { meanGrad } from "./mean_grad.ts";
 * tf.registerGradient(meanGrad);
 * const dx = tf.grad((x: tf.Tensor) => tf.mean(x, 0).mul(tf.tensor1d([1, 2])).sum());
 * assert.deepEqual([...dx(tf.zeros([4, 2])).dataSync()], [0.25, 0.5, 0.25, 0.5, 0.25, 0.5, 0.25, 0.5]);
 * ```
 */
export const meanGrad: tf.GradConfig = {
  kernelName: "Mean",
  inputsToSave: ["x"],
  gradFunc: (dy, saved, attrs) => {
    const dyTensor = Array.isArray(dy) ? dy[0] : dy;
    const [x] = saved;
    const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape);
    // dy keeps the reduced axes as 1s, whether or not the mean kept them, so that it broadcasts.
    const keptShape = x.shape.slice();
    let count = 1;
    for (const axis of axes) {
      count *= x.shape[axis];
      keptShape[axis] = 1;
    }
    return {
      x: () => tf.mul(tf.reshape(tf.div(dyTensor, count), keptShape), tf.onesLike(x)),
    };
  },
};
