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
 * `fusedBatchNormGradConfig` without its `tile`.
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
    const varianceEpsilon = Number(attrs.varianceEpsilon);
    const [x, mean, variance, scale] = saved;
    const scaleValue = scale ?? tf.scalar(1);
    const reductionAxes = tf.backend_util.getReductionAxes(mean.shape, x.shape);
    const perChannel = mean.rank === 1;
    const reduce = (t: tf.Tensor) => (perChannel ? tf.sum(t, reductionAxes) : t);
    const xMinusMean = tf.sub(x, mean);
    const dyTimesScale = tf.mul(dyTensor, scaleValue);
    const rstd = tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon)));
    const minusHalfRCube = tf.mul(tf.mul(tf.mul(rstd, rstd), rstd), tf.scalar(-0.5));
    return {
      // Broadcasting a rank-1 [C] tensor over NHWC multiplies along the channel axis, which is
      // what the stock gradient's tile to [N, H, W, C] did, at the cost of a full-size copy.
      x: () => tf.reshape(tf.mul(tf.mul(dyTensor, rstd), scaleValue), x.shape),
      mean: () => tf.reshape(reduce(tf.mul(tf.mul(rstd, tf.scalar(-1)), dyTimesScale)), mean.shape),
      variance: () =>
        tf.reshape(reduce(tf.mul(tf.mul(minusHalfRCube, xMinusMean), dyTimesScale)), mean.shape),
      scale: () => tf.reshape(reduce(tf.mul(dyTensor, tf.mul(xMinusMean, rstd))), mean.shape),
      offset: () => tf.reshape(reduce(dyTensor), mean.shape),
    };
  },
};
