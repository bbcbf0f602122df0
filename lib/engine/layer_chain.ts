/**
 * What the plans that run a model layer by layer (`predict_plan.ts`, `train_plan.ts`) share: a
 * model's layers in order when they form a chain, one feeding the next from its one input to its
 * one output, as in a Sequential model; a convolution layer's settings; and the 2x2 max pool both
 * plans fuse into the convolution before it.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/**
 * The layers of `model` in order when they form a chain from its one input to its one output
 * (each layer fed by the one before, as in a Sequential model), else undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { chain } from "./layer_chain.ts";
 * const model = tf.sequential({ layers: [
 *   tf.layers.dense({ inputShape: [4], units: 3 }),
 *   tf.layers.dense({ units: 2 }),
 * ] });
 * assert.deepEqual(chain(model)?.map((l) => l.getClassName()), ["Dense", "Dense"]);
 * model.dispose();
 * ```
 */
export function chain(model: tf.LayersModel): tf.layers.Layer[] | undefined {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) return undefined;
  const layers = model.layers.filter((l) => l.getClassName() !== "InputLayer");
  let previous: tf.SymbolicTensor = model.inputs[0];
  for (const layer of layers) {
    if (layer.inboundNodes.length !== 1) return undefined;
    const inputs = layer.inboundNodes[0].inputTensors;
    if (inputs.length !== 1 || inputs[0] !== previous) return undefined;
    previous = layer.output as tf.SymbolicTensor;
  }
  return previous === model.outputs[0] ? layers : undefined;
}

/** The settings of a Conv2D layer the plans read (tfjs types `getConfig()` as a loose record). */
export interface Conv2DSettings {
  filters: number;
  kernelSize: number[];
  strides: number[];
  padding: "valid" | "same";
  dataFormat: string;
  dilationRate: number[];
  activation: string;
  useBias: boolean;
}

/**
 * `layer`'s settings as a Conv2D layer's.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { convSettings } from "./layer_chain.ts";
 * const conv = tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, activation: "relu" });
 * assert.equal(convSettings(conv).activation, "relu");
 * assert.deepEqual(convSettings(conv).strides, [1, 1]);
 * ```
 */
export function convSettings(layer: tf.layers.Layer): Conv2DSettings {
  return layer.getConfig() as unknown as Conv2DSettings;
}

/** The settings of a MaxPooling2D layer the plans read. */
interface PoolSettings {
  poolSize: number[];
  strides: number[];
  padding: string;
  dataFormat: string;
}

/**
 * Whether `layer` is a 2x2, stride-2, "valid", channels-last max pool: the pool the plans run in
 * one pass with the convolution before it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { isMaxPool2x2 } from "./layer_chain.ts";
 * assert.ok(isMaxPool2x2(tf.layers.maxPooling2d({ poolSize: 2 })));
 * assert.ok(!isMaxPool2x2(tf.layers.maxPooling2d({ poolSize: 2, strides: 1 })));
 * assert.ok(!isMaxPool2x2(tf.layers.averagePooling2d({ poolSize: 2 })));
 * assert.ok(!isMaxPool2x2(undefined));
 * ```
 */
export function isMaxPool2x2(layer: tf.layers.Layer | undefined): boolean {
  if (layer?.getClassName() !== "MaxPooling2D") return false;
  const pool = layer.getConfig() as unknown as PoolSettings;
  const twos = (v: number[]) => v.every((d) => d === 2);
  return twos(pool.poolSize) && twos(pool.strides) && pool.padding === "valid" &&
    pool.dataFormat === "channelsLast";
}
