/**
 * Warnings for environment variables that look like one the project reads but are not
 * (`EPOCH=3`, `BATCHSIZE=64`): such a variable would otherwise be ignored silently.
 *
 * @module
 */
import { readEnvironment } from "./parameters.ts";

/**
 * The variables of `env` that look like one of `known` but are not, each with a sentence naming
 * the variable meant.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { misspeltVariables } from "./misspelt_variables.ts";
 * assert.deepEqual(misspeltVariables(["EPOCHS", "SEED"], { EPOCH: "3", HOME: "/root" }), [
 *   'EPOCH is not a variable this project reads; did you mean EPOCHS? EPOCH="3" was ignored.',
 * ]);
 * ```
 */
export function misspeltVariables(
  known: readonly string[],
  env: Record<string, string | undefined> = readEnvironment(known),
): string[] {
  const warnings: string[] = [];
  for (const [variable, value] of Object.entries(env)) {
    if (known.includes(variable)) continue;
    const meant = known.find((name) => looksLike(variable, name));
    if (meant) {
      warnings.push(
        `${variable} is not a variable this project reads; did you mean ${meant}? ` +
          `${variable}="${value}" was ignored.`,
      );
    }
  }
  return warnings;
}

/**
 * Same letters ignoring case and underscores, or one edit apart (a letter added, dropped,
 * changed, or two neighbours swapped), for names of 5 letters or more.
 */
function looksLike(candidate: string, name: string): boolean {
  const a = candidate.toUpperCase().replaceAll(/[_-]/g, "");
  const b = name.replaceAll("_", "");
  if (a === b) return true;
  return b.length >= 5 && editDistance(a, b) <= 1;
}

/** The optimal string alignment distance: edits, counting a swap of neighbours as one. */
function editDistance(a: string, b: string): number {
  let beforePrevious: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        current[j] = Math.min(current[j], beforePrevious[j - 2] + 1);
      }
    }
    beforePrevious = previous;
    previous = current;
  }
  return previous[b.length];
}
