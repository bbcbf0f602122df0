/**
 * Where a measurement was made: the machine (CPU model, logical cores, OS) and the commit of the
 * code, with whether the code differed from it. Every record of a result
 * (`results/experiments.json`, `deno task bench-compare`) takes its provenance from here, so that
 * they name machines and commits the same way.
 *
 * @module
 */
import os from "node:os";
import { fileURLToPath } from "node:url";

/** The machine this process runs on. */
export interface MachineInfo {
  /** The CPU model, as `/proc/cpuinfo` names it ("unknown" when it cannot be read). */
  cpu: string;
  /** Logical cores. */
  cores: number;
  /** The operating system, with the kernel release when it may be read: `linux 6.1.0-28-amd64`. */
  os: string;
}

/**
 * The CPU model named by the first `model name` line of a `/proc/cpuinfo` text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cpuModelFromCpuinfo } from "./machine.ts";
 * assert.equal(cpuModelFromCpuinfo("processor\t: 0\nmodel name\t: AMD EPYC 7B13\n"), "AMD EPYC 7B13");
 * assert.equal(cpuModelFromCpuinfo("processor\t: 0\n"), undefined);
 * ```
 */
export function cpuModelFromCpuinfo(text: string): string | undefined {
  const line = text.split("\n").find((l) => /^model name\s*:/.test(l));
  return line?.slice(line.indexOf(":") + 1).trim() || undefined;
}

/**
 * The machine this process runs on. The CPU model comes from `/proc/cpuinfo` (Deno lets only
 * `-A` read it), else from `os.cpus()`, which Deno fills from the same file and which needs only
 * `--allow-sys=cpus`; the kernel release needs `--allow-sys=osRelease`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { machineInfo } from "./machine.ts";
 * const machine = machineInfo();
 * assert.ok(machine.cores >= 1);
 * assert.ok(machine.os.startsWith(Deno.build.os));
 * ```
 */
export function machineInfo(): MachineInfo {
  return { cpu: cpuModel(), cores: navigator.hardwareConcurrency, os: osName() };
}

/** Whether a permission is granted, asked without prompting (a prompt would stop a run). */
function granted(descriptor: Deno.PermissionDescriptor): boolean {
  return Deno.permissions.querySync(descriptor).state === "granted";
}

function cpuModel(): string {
  try {
    if (granted({ name: "read", path: "/proc/cpuinfo" })) {
      const model = cpuModelFromCpuinfo(Deno.readTextFileSync("/proc/cpuinfo"));
      if (model) return model;
    }
  } catch {
    // not Linux: ask os.cpus() instead
  }
  if (!granted({ name: "sys", kind: "cpus" })) return "unknown";
  return os.cpus()[0]?.model.trim() || "unknown";
}

function osName(): string {
  return granted({ name: "sys", kind: "osRelease" })
    ? `${Deno.build.os} ${Deno.osRelease()}`
    : Deno.build.os;
}

/** The paths whose changes change a result: the code and its dependencies, not the records. */
const CODE_PATHS = ["lib", "programs", "deno.json", "deno.lock"];

/**
 * The short git commit of the repository and whether its code (lib/, programs/, deno.json,
 * deno.lock) differs from it; `{ commit: "unknown", dirty: false }` outside a git checkout.
 *
 * @example
 * ```ts ignore
 * import { gitState } from "./machine.ts";
 * console.log(await gitState()); // { commit: "5e14db3", dirty: false }
 * ```
 */
export async function gitState(
  dir: string = fileURLToPath(new URL("..", import.meta.url)),
): Promise<{ commit: string; dirty: boolean }> {
  const git = async (...args: string[]) => {
    const out = await new Deno.Command("git", { args: ["-C", dir, ...args], stderr: "null" })
      .output();
    if (!out.success) throw new Error(`git ${args.join(" ")} failed`);
    return new TextDecoder().decode(out.stdout).trim();
  };
  try {
    const commit = await git("rev-parse", "--short", "HEAD");
    const changes = await git("status", "--porcelain", "--untracked-files=no", "--", ...CODE_PATHS);
    return { commit, dirty: changes !== "" };
  } catch {
    return { commit: "unknown", dirty: false };
  }
}

/**
 * The git commit as one word: {@linkcode gitState}'s commit, `+changes` appended when the code
 * differs from it; "unknown" outside a git checkout.
 *
 * @example
 * ```ts ignore
 * import { gitCommit } from "./machine.ts";
 * console.log(await gitCommit()); // "5e14db3"
 * ```
 */
export async function gitCommit(dir?: string): Promise<string> {
  const { commit, dirty } = await gitState(dir);
  return dirty ? `${commit}+changes` : commit;
}
