/**
 * The Deno release the notebook is pinned to, and the warning for a kernel that runs another.
 *
 * Deno's Jupyter kernel changed in 2.9: there, a cell's outputs can land under the next cell. The
 * repository's kernelspec (`jupyter/kernels/deno`) starts 2.8.1 itself; a kernel started some
 * other way says so in the setup cell's output.
 *
 * @module
 */

/** The pinned release. */
export const PINNED_DENO = "2.8.1";

/**
 * One line saying that `version` is not the pinned release, naming the risk and how to start the
 * pinned one; `undefined` when it is the pinned release.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { denoVersionWarning } from "./deno_version.ts";
 * assert.equal(denoVersionWarning("2.8.1"), undefined);
 * assert.match(denoVersionWarning("2.9.6")!, /Deno 2\.9\.6, not the pinned 2\.8\.1: outputs may land under the wrong cell/);
 * ```
 */
export function denoVersionWarning(version: string = Deno.version.deno): string | undefined {
  if (version === PINNED_DENO) return undefined;
  return `Warning: this kernel runs Deno ${version}, not the pinned ${PINNED_DENO}: outputs may ` +
    `land under the wrong cell. Start the pinned one with \`npx --yes deno@${PINNED_DENO} task ` +
    "notebook`, or pick the repository's kernelspec (jupyter/kernels/deno), which starts it.";
}
