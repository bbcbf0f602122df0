/**
 * Errors whose remedy is to change one of the engine's options. The sentence names the option as
 * the engine knows it (`batchCapacity`, `threads`, `workers`); a program or notebook that calls
 * that option by another name (an environment variable, a flag) re-words it with
 * {@linkcode EngineError.withOptionName}, so that users read the names they can change.
 *
 * @module
 */

/** The engine's options an {@linkcode EngineError} can ask to change. */
export type EngineOption = "batchCapacity" | "threads" | "workers";

/**
 * An error that says which of the engine's options to change.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EngineError } from "./errors.ts";
 * const error = new EngineError("The heap ran out of memory: lower {option}.", "batchCapacity");
 * assert.equal(error.message, "The heap ran out of memory: lower batchCapacity.");
 * assert.equal(error.option, "batchCapacity");
 * assert.equal(
 *   error.withOptionName("BATCH_SIZE").message,
 *   "The heap ran out of memory: lower BATCH_SIZE.",
 * );
 * ```
 */
export class EngineError extends Error {
  /** The option whose value the sentence asks to change. */
  readonly option: EngineOption;
  /** The sentence with `{option}` where the option's name goes. */
  readonly #template: string;

  /**
   * @param template the sentence, with `{option}` where the option's name goes.
   * @param option the engine's option the sentence is about.
   */
  constructor(template: string, option: EngineOption, options?: ErrorOptions) {
    super(template.replaceAll("{option}", option), options);
    this.name = "EngineError";
    this.option = option;
    this.#template = template;
  }

  /** The same error (same cause), with the option called `name` instead. */
  withOptionName(name: string): EngineError {
    const renamed = new EngineError(this.#template.replaceAll("{option}", name), this.option, {
      cause: this.cause,
    });
    renamed.stack = this.stack;
    return renamed;
  }
}
