/**
 * Prints the read and network permissions of a task that loads a dataset, for `deno.json`'s tasks
 * to pass on (`deno run $(deno run --allow-env programs/task_permissions.ts) programs/train.ts`):
 * reading the repository and the folder `DATA_MIRROR` names (which may be outside it, as CI's
 * `../shared`), and reaching only the public dataset mirrors and the host `DATA_MIRROR` names.
 * It also prints the warnings about misspelt variables (`EPOCH=3`): seeing them takes the whole
 * environment, which the task itself is not given.
 *
 * @example
 * ```sh
 * DATA_MIRROR=../shared deno run --allow-env --allow-read programs/task_permissions.ts
 * # --allow-read=.,../shared --allow-net=storage.googleapis.com,ossci-datasets.s3.amazonaws.com
 * ```
 *
 * @module
 */
import { isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DATASETS } from "../lib/data/mnist.ts";
import { runVariableWarnings } from "../lib/training/run_parameters.ts";

/**
 * The permission flags for a task run with `env`, and sentences to print as warnings.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { taskPermissions } from "./task_permissions.ts";
 * assert.equal(
 *   taskPermissions({ DATA_MIRROR: "https://mirror.example/data" }).flags[1],
 *   "--allow-net=storage.googleapis.com,ossci-datasets.s3.amazonaws.com,mirror.example",
 * );
 * // A folder that is not a link (or, as here, not there) is allowed as given.
 * assert.equal(taskPermissions({ DATA_MIRROR: "/srv/mirror" }).flags[0], "--allow-read=.,/srv/mirror");
 * ```
 */
export function taskPermissions(
  env: Record<string, string | undefined>,
): { flags: string[]; warnings: string[] } {
  const read = ["."];
  const hosts = new Set(
    Object.values(DATASETS).flatMap((d) => d.downloadUrls.map((url) => new URL(url).host)),
  );
  const warnings = runVariableWarnings(env);
  const mirror = env.DATA_MIRROR?.trim();
  if (mirror && /^https?:\/\//i.test(mirror)) {
    hosts.add(new URL(mirror).host);
  } else if (mirror) {
    const folder = /^file:\/\//i.test(mirror) ? fileURLToPath(mirror) : mirror;
    read.push(folder, ...linkTargets(folder));
  }
  // The task shell splits words at spaces, and Deno's lists at commas: such a folder cannot be
  // named in a flag, so reading is left open rather than the mirror refused.
  const unnameable = read.some((path) => /[\s,]/.test(path));
  if (unnameable) {
    warnings.push(
      `DATA_MIRROR="${mirror}" has a space or a comma, which a permission flag cannot hold: ` +
        "this task may read any file. Use a path without them to keep reading narrowed.",
    );
  }
  return {
    flags: [
      unnameable ? "--allow-read" : `--allow-read=${read.join(",")}`,
      `--allow-net=${[...hosts].join(",")}`,
    ],
    warnings,
  };
}

/**
 * Where symbolic links in a mirror folder lead: the folder itself, its dataset folders and their
 * files. Deno checks a read against the link's target, so `DATA_MIRROR=../shared` with `../shared`
 * a link would be refused without them. Targets already inside another allowed folder are left
 * out; paths that do not exist, or that this program may not look at, are skipped.
 */
function linkTargets(folder: string): string[] {
  const real = (path: string) => {
    try {
      return Deno.realPathSync(path);
    } catch {
      return undefined;
    }
  };
  const candidates = Object.entries(DATASETS).flatMap(([name, dataset]) => [
    join(folder, name),
    ...Object.keys(dataset.checksums).map((file) => join(folder, name, file)),
  ]);
  const targets: string[] = [];
  const covered = (path: string) =>
    targets.some((t) => {
      const rel = relative(t, path);
      return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
    });
  for (const path of [folder, ...candidates]) {
    const target = real(path);
    if (target !== undefined && target !== resolve(path) && !covered(target)) targets.push(target);
  }
  return targets;
}

if (import.meta.main) {
  const { flags, warnings } = taskPermissions(Deno.env.toObject());
  for (const warning of warnings) console.error(`Warning: ${warning}`);
  console.log(flags.join(" "));
}
