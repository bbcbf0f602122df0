/**
 * Saving and loading trained models in the TensorFlow.js layers format (`model.json` + a weights
 * file), which `tf.loadLayersModel(url)` reads unchanged in a browser, and writing run metrics.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { writeFileAtomically } from "../files.ts";

const WEIGHTS_FILE = "weights.bin";

/**
 * Saves `model` as `<dir>/model.json` and `<dir>/weights.bin`, each written atomically.
 *
 * @example
 * ```ts ignore
 * import { saveModel } from "./model_files.ts";
 * await saveModel(model, "outputs/model");
 * ```
 */
export async function saveModel(model: tf.LayersModel, dir: string): Promise<void> {
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    if (artifacts.modelTopology === undefined || artifacts.weightSpecs === undefined) {
      throw new Error("The model gave no topology or weights to save.");
    }
    const weights = new Uint8Array(tf.io.concatenateArrayBuffers(artifacts.weightData ?? []));
    const modelJson: tf.io.ModelJSON = {
      modelTopology: artifacts.modelTopology,
      format: artifacts.format ?? "layers-model",
      generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
      convertedBy: null,
      weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs }],
    };
    if (artifacts.trainingConfig) modelJson.trainingConfig = artifacts.trainingConfig;
    await writeFileAtomically(join(dir, WEIGHTS_FILE), weights);
    await writeFileAtomically(
      join(dir, "model.json"),
      new TextEncoder().encode(JSON.stringify(modelJson)),
    );
    return {
      modelArtifactsInfo: {
        dateSaved: new Date(),
        modelTopologyType: "JSON",
        weightDataBytes: weights.byteLength,
      },
    };
  }));
}

/**
 * Loads a model saved by {@linkcode saveModel} (or any tfjs layers model folder).
 *
 * @throws {Error} naming the file when `model.json` or a weights file is missing or malformed.
 *
 * @example
 * ```ts ignore
 * import { loadModel } from "./model_files.ts";
 * const model = await loadModel("outputs/model");
 * ```
 */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
  const jsonPath = join(dir, "model.json");
  let modelJson: tf.io.ModelJSON;
  try {
    modelJson = JSON.parse(await Deno.readTextFile(jsonPath));
  } catch (error) {
    throw new Error(
      `Cannot read the model at ${jsonPath} (${
        error instanceof Error ? error.message : error
      }): train and save a model first.`,
    );
  }
  if (!modelJson.modelTopology || !Array.isArray(modelJson.weightsManifest)) {
    throw new Error(`${jsonPath} is not a TensorFlow.js layers model (no topology or weights).`);
  }
  const weightSpecs = modelJson.weightsManifest.flatMap((group) => group.weights);
  const buffers: ArrayBuffer[] = [];
  for (const path of modelJson.weightsManifest.flatMap((group) => group.paths)) {
    const bytes = await Deno.readFile(join(dir, path));
    buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  }
  return await tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: modelJson.modelTopology,
    weightSpecs,
    weightData: tf.io.concatenateArrayBuffers(buffers),
    trainingConfig: modelJson.trainingConfig,
  }));
}
