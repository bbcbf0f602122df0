/**
 * A model's layers in order when they form a chain, one feeding the next from its one input to
 * its one output, as in a Sequential model: what the plans that run a model layer by layer
 * (`predict_plan.ts`, `train_plan.ts`) need.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";

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
