/**
 * Where a measurement was made: the machine (CPU model, cores, OS) and the commit of the code.
 * Every record of a result (`results/experiments.json`, `deno task bench-compare`) takes its
 * provenance from here, so that they name machines and commits the same way.
 *
 * @module
 */
import os from "node:os";
import { fileURLToPath } from "node:url";

/** The machine a run was made on. */
export interface MachineInfo {
  /** Logical cores. */
  cores: number;
  /** The CPU model, as the system names it (`os.cpus()`; "unknown" without permission). */
  cpu: string;
  os: string;
}

/**
 * The machine this process runs on.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { machineInfo } from "./machine.ts";
 * assert.ok(machineInfo().cores >= 1);
 * ```
 */
export function machineInfo(): MachineInfo {
  let cpu = "unknown";
  try {
    // os.cpus() needs only --allow-sys=cpus; Deno refuses /proc/cpuinfo to all but -A.
    cpu = os.cpus()[0]?.model.trim() || cpu;
  } catch {
    // no permission: the model stays unknown
  }
  return { cores: navigator.hardwareConcurrency, cpu, os: Deno.build.os };
}

/**
 * The git commit of the repository, `+changes` appended when files differ from it; "unknown"
 * outside a git checkout.
 *
 * @example
 * ```ts ignore
 * import { gitCommit } from "./machine.ts";
 * console.log(await gitCommit()); // "5e14db3"
 * ```
 */
export async function gitCommit(
  dir: string = fileURLToPath(new URL("..", import.meta.url)),
): Promise<string> {
  const git = async (...args: string[]) => {
    const out = await new Deno.Command("git", { args: ["-C", dir, ...args], stderr: "null" })
      .output();
    if (!out.success) throw new Error(`git ${args.join(" ")} failed`);
    return new TextDecoder().decode(out.stdout).trim();
  };
  try {
    const commit = await git("rev-parse", "--short", "HEAD");
    const changes = await git("status", "--porcelain", "--untracked-files=no", "--", "lib");
    return changes === "" ? commit : `${commit}+changes`;
  } catch {
    return "unknown";
  }
}
