/**
 * The project's parameter table: the table of `lib/parameters.ts` over this project's datasets,
 * model variants and cores, and the readers the notebook and the programs call.
 *
 * @module
 */
import { type DatasetName, DATASETS } from "../data/mnist.ts";
import { trainingCount } from "../data/preprocess.ts";
import { getVariant, type VariantName, VARIANTS } from "../models/variants.ts";
import { misspeltVariables } from "../misspelt_variables.ts";
import {
  NOTEBOOK_PARAMETERS,
  type NotebookParameterName,
  type ParameterName,
  type ParameterTable,
  parameterTable,
  type ParameterValues,
  readParameters,
  type ReadParametersOptions,
} from "../parameters.ts";
import { logicalCores } from "../engine/mod.ts";

export { NOTEBOOK_PARAMETERS };

/** Every parameter of a run, checked, with this project's dataset and variant names. */
export type RunParameters = ParameterValues<DatasetName, VariantName>;

/** The parameters the notebook reads, checked. */
export type NotebookParameters = Pick<RunParameters, NotebookParameterName>;

/** The table: its rows give each parameter's variable, flag, default, check and help line. */
export const RUN_PARAMETERS: ParameterTable<DatasetName, VariantName> = parameterTable({
  datasets: DATASETS,
  variants: VARIANTS,
  variantNamed: (name) => getVariant(name).name,
  cores: logicalCores(),
  trainingCount,
  // Read elsewhere (the data loader, the notebook runner, the profiler): near misses count too.
  otherVariables: ["DATA_MIRROR", "NOTEBOOK_CELL_TIMEOUT", "PROFILE_SHAPES", "CHROMIUM"],
});

/**
 * Reads the run's parameters: explicit values first, then the environment, then the defaults.
 *
 * @throws {RangeError} (a `ParameterError`) naming the variable and the value, and what to give.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readRunParameters } from "./run_parameters.ts";
 * const p = readRunParameters({ env: { EPOCHS: "1", TRAIN_SAMPLES: "2000" } });
 * assert.equal(p.epochs, 1);
 * assert.equal(p.batchSize, 128);
 * assert.throws(() => readRunParameters({ env: { VARIANT: "huge" } }), /VARIANT="huge"/);
 * ```
 */
export function readRunParameters<K extends ParameterName = ParameterName>(
  options: ReadParametersOptions<K, DatasetName, VariantName> = {},
): Pick<RunParameters, K> {
  return readParameters(RUN_PARAMETERS, options);
}

/**
 * Sentences about environment variables that look like one of the project's but are not
 * (`EPOCH=3`), to print as warnings.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runVariableWarnings } from "./run_parameters.ts";
 * assert.match(runVariableWarnings({ BATCHSIZE: "64" })[0], /did you mean BATCH_SIZE\?/);
 * ```
 */
export function runVariableWarnings(env?: Record<string, string | undefined>): string[] {
  return misspeltVariables(RUN_PARAMETERS.variables, env);
}
