/**
 * The machine a figure was measured on, as records and benchmarks state it: the CPU model, the
 * logical cores and the operating system.
 *
 * @module
 */
import os from "node:os";

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

function cpuModel(): string {
  try {
    const model = cpuModelFromCpuinfo(Deno.readTextFileSync("/proc/cpuinfo"));
    if (model) return model;
  } catch {
    // not Linux, or no permission: ask os.cpus() instead
  }
  try {
    return os.cpus()[0]?.model.trim() || "unknown";
  } catch {
    return "unknown";
  }
}

function osName(): string {
  try {
    return `${Deno.build.os} ${Deno.osRelease()}`;
  } catch {
    return Deno.build.os;
  }
}
