/**
 * The engine's errors in the tutorial's words: an {@linkcode EngineError} names the engine's
 * option (`batchCapacity`, `threads`, `workers`); users of the notebook and the programs set the
 * matching parameter through an environment variable or a flag, so the sentence names those.
 * `workers` keeps its name: it is also the name of `trainModel`'s and `evaluateModel`'s option.
 *
 * @module
 */
import type { EngineError, EngineOption } from "../engine/mod.ts";
import type { ParameterName } from "../parameters.ts";

/** The tutorial's parameter behind each engine option that has one. */
const PARAMETER_OF: Partial<Record<EngineOption, ParameterName>> = {
  batchCapacity: "batchSize",
  threads: "threads",
};

/**
 * `error` re-worded with the tutorial's variable and flag (`BATCH_SIZE (--batch-size)`) when it
 * is an {@linkcode EngineError} about an option the tutorial sets; any other error as it is.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EngineError } from "../engine/mod.ts";
 * import { inTutorialTerms } from "./engine_errors.ts";
 * const error = new EngineError("The heap ran out of memory: lower {option}.", "batchCapacity");
 * const shown = await inTutorialTerms(error);
 * assert.ok(shown instanceof Error);
 * assert.equal(shown.message, "The heap ran out of memory: lower BATCH_SIZE (--batch-size).");
 * const other = new Error("anything else");
 * assert.equal(await inTutorialTerms(other), other);
 * ```
 */
export async function inTutorialTerms(error: unknown): Promise<unknown> {
  // By name, not instanceof: this module must not load the engine (it loads the wasm backend).
  if (!(error instanceof Error) || error.name !== "EngineError") return error;
  const engineError = error as EngineError;
  const parameter = PARAMETER_OF[engineError.option];
  if (parameter === undefined) return error;
  // Loaded here, on the way out of a failure: the parameter table loads the dataset modules.
  const { RUN_PARAMETERS } = await import("./run_parameters.ts");
  const spec = RUN_PARAMETERS.rows[parameter];
  return engineError.withOptionName(`${spec.env} (--${spec.flag})`);
}
