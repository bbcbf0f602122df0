/**
 * Saving and loading trained models in the TensorFlow.js layers format (`model.json` + a weights
 * file), which `tf.loadLayersModel(url)` reads unchanged in a browser.
 *
 * A saved model is never a mix of two saves: the weights go to a file named after their SHA-256
 * (`weights-<hash>.bin`), written whole before `model.json` is renamed into place, so a reader sees
 * the old pair or the new one. Two saves into one folder at once are kept apart by a lock file:
 * the second stops with a sentence. Loading treats the folder as untrusted input: the files named,
 * their sizes, their hashes and the shapes are checked before anything is built.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { isAbsolute, join, normalize } from "node:path";
import { readRegularFile, sha256, writeFileAtomically } from "../files.ts";
import { checkShape, MAX_JSON_BYTES, type Shape } from "../json_file.ts";
import { tryLockFile } from "../run_lock.ts";

/** Weights files this module writes: `weights-` and the first 16 hex digits of their SHA-256. */
const WEIGHTS_NAME = /^weights-([0-9a-f]{16})\.bin$/;

/** The lock a save holds on its folder. */
const LOCK_FILE = ".saving.lock";

/**
 * Saves `model` as `<dir>/model.json` and `<dir>/weights-<hash>.bin`, so that whoever reads the
 * folder meanwhile sees the previous model or this one, never a mix. Earlier weights files are
 * removed once the new `model.json` is in place.
 *
 * @throws {Error} when another save into `dir` is under way, naming the lock file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { disposeModel } from "./model.ts";
 * import { buildBaselineModel } from "./variants.ts";
 * import { loadModel, saveModel } from "./model_files.ts";
 * const dir = await Deno.makeTempDir();
 * const model = buildBaselineModel({ seed: 1 });
 * await saveModel(model, dir);
 * const loaded = await loadModel(dir);
 * assert.equal(loaded.countParams(), model.countParams());
 * disposeModel(model);
 * loaded.dispose();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function saveModel(model: tf.LayersModel, dir: string): Promise<void> {
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    if (artifacts.modelTopology === undefined || artifacts.weightSpecs === undefined) {
      throw new Error("The model gave no topology or weights to save.");
    }
    const weights = new Uint8Array(tf.io.concatenateArrayBuffers(artifacts.weightData ?? []));
    const weightsFile = `weights-${(await sha256(weights)).slice(0, 16)}.bin`;
    const modelJson: tf.io.ModelJSON = {
      modelTopology: artifacts.modelTopology,
      format: artifacts.format ?? "layers-model",
      generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
      convertedBy: null,
      weightsManifest: [{ paths: [weightsFile], weights: artifacts.weightSpecs }],
    };
    if (artifacts.trainingConfig) modelJson.trainingConfig = artifacts.trainingConfig;
    await withSaveLock(dir, async () => {
      await writeFileAtomically(join(dir, weightsFile), weights);
      await writeFileAtomically(
        join(dir, "model.json"),
        new TextEncoder().encode(JSON.stringify(modelJson)),
      );
      await removeOtherWeights(dir, weightsFile);
    });
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
 * Runs `save` holding `<dir>/.saving.lock`, an exclusive lock the operating system releases when
 * its process ends: only one run saves at a time, and a lock left by a run that died is taken over.
 */
async function withSaveLock(dir: string, save: () => Promise<void>): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const lock = join(dir, LOCK_FILE);
  const held = await tryLockFile(lock, "saving a model");
  if ("heldBy" in held) {
    throw new Error(
      `Another run is saving a model in ${dir} right now (${held.heldBy}; it holds ${lock}). ` +
        "Wait for it to finish, or save to another folder (--out).",
    );
  }
  try {
    await save();
  } finally {
    await held.release();
  }
}

async function removeOtherWeights(dir: string, keep: string): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && entry.name !== keep && WEIGHTS_NAME.test(entry.name)) {
      await Deno.remove(join(dir, entry.name)).catch(() => {});
    }
  }
}

/** Bytes per value of each dtype a layers model may hold. */
const DTYPE_BYTES: Readonly<Record<string, number>> = {
  float32: 4,
  int32: 4,
  bool: 1,
  float16: 2,
  uint8: 1,
  uint16: 2,
};

/** Options of {@linkcode loadModel}. */
export interface LoadModelOptions {
  /** The input shape the caller will feed, without the batch axis, e.g. `[28, 28, 1]`. */
  inputShape?: readonly number[];
}

/**
 * Loads a model saved by {@linkcode saveModel} (or any tfjs layers model folder), treating the
 * folder as untrusted: `model.json` must name weights files inside the folder, which must exist,
 * hold exactly the bytes the weight shapes need (and, for files named by their hash, have that
 * hash), and the topology must accept those weights and the `inputShape` asked for.
 *
 * @throws {Error} naming the file and what is wrong with it, saying what to do.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadModel } from "./model_files.ts";
 * const dir = await Deno.makeTempDir();
 * await assert.rejects(loadModel(dir), /Cannot read the model at .*model\.json/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadModel(
  dir: string,
  options: LoadModelOptions = {},
): Promise<tf.LayersModel> {
  const jsonPath = join(dir, "model.json");
  const modelJson = await readModelJson(jsonPath);
  const weightSpecs = modelJson.weightsManifest.flatMap((group) => group.weights ?? []);
  const paths = modelJson.weightsManifest.flatMap((group) => group.paths ?? []);
  const buffers: Uint8Array[] = [];
  for (const path of paths) buffers.push(await readWeightsFile(dir, jsonPath, path));
  const total = buffers.reduce((sum, b) => sum + b.byteLength, 0);
  const expected = weightBytes(weightSpecs, jsonPath);
  if (total !== expected) {
    throw new Error(
      `The weights of ${jsonPath} hold ${total} bytes (${paths.join(", ")}) but its weight ` +
        `shapes need ${expected}: the files come from different saves or are damaged. Save ` +
        "the model again.",
    );
  }
  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(tf.io.fromMemory({
      modelTopology: modelJson.modelTopology,
      weightSpecs,
      weightData: tf.io.concatenateArrayBuffers(buffers.map((b) => b.slice().buffer)),
      trainingConfig: modelJson.trainingConfig,
    }));
  } catch (error) {
    throw new Error(
      `${jsonPath} does not describe a model its weights fit (${
        error instanceof Error ? error.message : error
      }). Save the model again.`,
    );
  }
  checkInputShape(model, jsonPath, options.inputShape);
  return model;
}

/** The parts of `model.json` this loader reads, checked before anything is built. */
const MODEL_JSON_SHAPE: Shape = {
  fields: {
    modelTopology: { fields: { class_name: "string", config: "any" } },
    format: "string",
    weightsManifest: {
      list: {
        fields: {
          paths: { list: "string" },
          weights: {
            list: { fields: { name: "string", shape: { list: "integer" }, dtype: "string" } },
          },
        },
      },
    },
  },
  optional: ["format"],
};

async function readModelJson(jsonPath: string): Promise<tf.io.ModelJSON> {
  let bytes: Uint8Array;
  try {
    bytes = await readRegularFile(jsonPath, { maxBytes: MAX_JSON_BYTES, what: "a model" });
  } catch (error) {
    throw new Error(
      `Cannot read the model at ${jsonPath} (${
        error instanceof Error ? error.message : error
      }): train and save a model first (deno task train, or the notebook).`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new Error(
      `${jsonPath} is not valid JSON (${(error as Error).message}): save the model again.`,
    );
  }
  checkShape<tf.io.ModelJSON>(
    json,
    MODEL_JSON_SHAPE,
    jsonPath,
    "It is not a TensorFlow.js layers model as saveModel writes: save the model again.",
  );
  return json;
}

async function readWeightsFile(dir: string, jsonPath: string, path: string): Promise<Uint8Array> {
  if (typeof path !== "string" || isAbsolute(path) || normalize(path).startsWith("..")) {
    throw new Error(
      `${jsonPath} names the weights file "${path}", outside its folder: a model folder must ` +
        "hold its own weights. Save the model again.",
    );
  }
  const file = join(dir, path);
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(file);
  } catch (error) {
    throw new Error(
      `Cannot read ${file}, the weights that ${jsonPath} names (${
        error instanceof Error ? error.message : error
      }): the folder is incomplete. Save the model again.`,
    );
  }
  const hash = WEIGHTS_NAME.exec(path)?.[1];
  if (hash !== undefined && !(await sha256(bytes)).startsWith(hash)) {
    throw new Error(
      `${file} does not hold the weights its name promises (SHA-256 mismatch): it is damaged. ` +
        "Save the model again.",
    );
  }
  return bytes;
}

function weightBytes(specs: readonly tf.io.WeightsManifestEntry[], jsonPath: string): number {
  let total = 0;
  for (const spec of specs) {
    const bytes = DTYPE_BYTES[spec.dtype];
    if (
      bytes === undefined || spec.quantization !== undefined || !Array.isArray(spec.shape) ||
      !spec.shape.every((d) => Number.isInteger(d) && d >= 0)
    ) {
      throw new Error(
        `${jsonPath} describes the weight "${spec.name}" with a shape or type this loader does ` +
          `not read (${JSON.stringify(spec.shape)}, ${spec.dtype}). Save the model again.`,
      );
    }
    total += spec.shape.reduce((a, b) => a * b, 1) * bytes;
  }
  return total;
}

function checkInputShape(
  model: tf.LayersModel,
  jsonPath: string,
  inputShape: readonly number[] | undefined,
): void {
  if (inputShape === undefined) return;
  const actual = model.inputs[0]?.shape.slice(1) ?? [];
  if (JSON.stringify(actual) !== JSON.stringify(inputShape)) {
    model.dispose();
    throw new Error(
      `The model in ${jsonPath} takes inputs of shape [${actual.join(", ")}], not ` +
        `[${inputShape.join(", ")}]: it was saved for other images. Use a model trained here.`,
    );
  }
}
