/**
 * Calling the wasm backend's stock kernels from ours: the arguments tfjs hands a kernel, a
 * lookup of a stock kernel by name, freeing intermediate tensors, and the convolution geometry
 * the gradient kernels share.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

/** Arguments tfjs hands a kernel function on the wasm backend. */
export interface WasmKernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: BackendWasm;
  attrs: tf.NamedAttrMap;
}

export const BACKEND = "wasm";

/** Calls a stock wasm kernel (looked up at call time: the backend may have been re-created). */
export function run(
  name: string,
  backend: BackendWasm,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap = {},
): tf.TensorInfo {
  const config = tf.getKernel(name, BACKEND);
  if (config === undefined) {
    throw new Error(
      `The wasm kernel ${name} is not registered. Import @tensorflow/tfjs-backend-wasm.`,
    );
  }
  return config.kernelFunc({ inputs, backend, attrs }) as tf.TensorInfo;
}

export function dispose(backend: BackendWasm, ...infos: tf.TensorInfo[]): void {
  for (const t of infos) backend.disposeData(t.dataId);
}

export function input(inputs: tf.NamedTensorInfoMap, name: string, kernel: string): tf.TensorInfo {
  const t = inputs[name];
  if (t === undefined) throw new Error(`${kernel} needs input "${name}"; pass it to runKernel.`);
  return t;
}

/** `dataFormat` must be NHWC: the wasm backend's Conv2D only supports channelsLast. */
export function assertChannelsLast(kernel: string, dataFormat: tf.Attribute | undefined): void {
  const fmt = tf.backend_util.convertConv2DDataFormat((dataFormat ?? "NHWC") as "NHWC" | "NCHW");
  if (fmt !== "channelsLast") {
    throw new Error(
      `wasm ${kernel} supports dataFormat "NHWC" only (the wasm Conv2D does too); ` +
        "transpose the data to channels-last.",
    );
  }
}

export type Pad = "valid" | "same" | number | tf.backend_util.ExplicitPadding;
export type Rounding = "floor" | "round" | "ceil" | undefined;

/**
 * The forward convolution's geometry, from the shapes and a gradient kernel's attributes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { convInfo } from "./stock.ts";
 * const info = convInfo([2, 28, 28, 1], [3, 3, 1, 32], { strides: 1, pad: "valid" });
 * assert.deepEqual([info.outHeight, info.outWidth, info.outChannels], [26, 26, 32]);
 * ```
 */
export function convInfo(
  inShape: readonly number[],
  filterShape: readonly number[],
  attrs: tf.NamedAttrMap,
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    inShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as [number, number] | number,
    (attrs.dilations ?? 1) as [number, number] | number,
    attrs.pad as Pad,
    attrs.dimRoundingMode as Rounding,
  );
}
