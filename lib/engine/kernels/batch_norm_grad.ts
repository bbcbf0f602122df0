/**
 * A faster gradient for `FusedBatchNorm`, the kernel behind `tf.layers.batchNormalization`.
 *
 * tfjs-core 4.22's gradient tiles the per-channel `1/sqrt(variance + epsilon)` to the full input
 * shape before multiplying it with `dy`; on the wasm backend that `Tile` of a [1, 1, 1, C] tensor to
 * [128, 26, 26, 32] took ~360 ms of a 1.2 s training step (measured with a per-kernel timer),
 * more than all the convolutions. Multiplication broadcasts over the channel axis anyway, so this
 * gradient is the same formula without the tile: the same numbers, on every backend.
 *
 * `registerWasmTrainingKernels` (`kernels.ts`) registers it when the wasm backend is set up (tfjs
 * keeps one gradient per kernel; this one replaces the stock one for the whole process).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/**
 * The gradient of `FusedBatchNorm` (inputs x, mean, variance, offset, scale), as tfjs-core's
 * `fusedBatchNormGradConfig` without its `tile`; with per-channel statistics (every
 * `tf.layers.batchNormalization` over NHWC), the same formulas regrouped so that the full-size
 * work is one pass per tensor: see {@linkcode perChannelGrads}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { fusedBatchNormGrad } from "./batch_norm_grad.ts";
 * tf.registerGradient(fusedBatchNormGrad);
 * assert.equal(tf.getGradient("FusedBatchNorm")?.gradFunc, fusedBatchNormGrad.gradFunc);
 * ```
 */
export const fusedBatchNormGrad: tf.GradConfig = {
  kernelName: "FusedBatchNorm",
  inputsToSave: ["x", "mean", "variance", "scale"],
  gradFunc: (dy, saved, attrs) => {
    const dyTensor = Array.isArray(dy) ? dy[0] : dy;
    const [x, mean, variance, scale] = saved;
    const varianceEpsilon = Number(attrs.varianceEpsilon);
    return mean.rank === 1 && x.shape.at(-1) === mean.shape[0]
      ? perChannelGrads(dyTensor, { x, mean, variance, scale }, varianceEpsilon)
      : generalGrads(dyTensor, { x, mean, variance, scale }, varianceEpsilon);
  },
};

/** The tensors the gradient saved; `scale` is absent when the layer does not scale. */
interface Saved {
  x: tf.Tensor;
  mean: tf.Tensor;
  variance: tf.Tensor;
  scale?: tf.Tensor;
}

/** The gradient functions tfjs calls, one per input. */
type Grads = Record<string, () => tf.Tensor>;

/**
 * Statistics over every axis but the last (channels). With r = 1/sqrt(variance + epsilon), g
 * the scale and xc = x - mean, the stock formulas are dx = dy r g, dmean = -r sum(dy g),
 * dvariance = -r^3/2 sum(dy g xc), dscale = sum(dy xc r) and doffset = sum(dy): per-channel
 * factors times two sums, sum(dy) and sum(dy xc). Those sums are taken once, here (tfjs frees what
 * each input's function makes before calling the next), so the full-size work is sum(dy), xc,
 * dy xc and its sum, and dx: five passes where the stock grouping made thirteen.
 */
function perChannelGrads(dy: tf.Tensor, saved: Saved, epsilon: number): Grads {
  const { x, mean, variance } = saved;
  const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
  const rstd = tf.rsqrt(tf.add(variance, tf.scalar(epsilon)));
  const rstdScale = saved.scale ? tf.mul(rstd, saved.scale) : rstd;
  const sumDy = tf.sum(dy, axes);
  const sumDyXc = tf.sum(tf.mul(dy, tf.sub(x, mean)), axes);
  return {
    x: () => tf.mul(dy, rstdScale),
    mean: () => tf.reshape(tf.neg(tf.mul(sumDy, rstdScale)), mean.shape),
    variance: () =>
      tf.reshape(
        tf.mul(tf.mul(sumDyXc, rstdScale), tf.mul(tf.square(rstd), tf.scalar(-0.5))),
        mean.shape,
      ),
    scale: () => tf.reshape(tf.mul(sumDyXc, rstd), mean.shape),
    offset: () => tf.reshape(sumDy, mean.shape),
  };
}

/** Any other statistics' shape: the stock formulas, broadcast instead of tiled. */
function generalGrads(dy: tf.Tensor, saved: Saved, epsilon: number): Grads {
  const { x, mean, variance } = saved;
  const scaleValue = saved.scale ?? tf.scalar(1);
  const reductionAxes = tf.backend_util.getReductionAxes(mean.shape, x.shape);
  const reduce = (t: tf.Tensor) => (mean.rank === 1 ? tf.sum(t, reductionAxes) : t);
  const xMinusMean = tf.sub(x, mean);
  const dyTimesScale = tf.mul(dy, scaleValue);
  const rstd = tf.rsqrt(tf.add(variance, tf.scalar(epsilon)));
  const minusHalfRCube = tf.mul(tf.mul(tf.mul(rstd, rstd), rstd), tf.scalar(-0.5));
  return {
    // Broadcasting multiplies along the matching axes, which is what the stock gradient's tile
    // to x's shape did, at the cost of a full-size copy.
    x: () => tf.reshape(tf.mul(tf.mul(dy, rstd), scaleValue), x.shape),
    mean: () => tf.reshape(reduce(tf.mul(tf.mul(rstd, tf.scalar(-1)), dyTimesScale)), mean.shape),
    variance: () =>
      tf.reshape(reduce(tf.mul(tf.mul(minusHalfRCube, xMinusMean), dyTimesScale)), mean.shape),
    scale: () => tf.reshape(reduce(tf.mul(dy, tf.mul(xMinusMean, rstd))), mean.shape),
    offset: () => tf.reshape(reduce(dy), mean.shape),
  };
}
