/** lib/machine.ts: the machine a record names. */
import assert from "node:assert/strict";
import { cpuModelFromCpuinfo, gitCommit, gitState, machineInfo } from "../lib/machine.ts";

Deno.test("the CPU model is the 'model name' line, not the 'model' number before it", () => {
  const cpuinfo = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel\t\t: 1\n" +
    "model name\t: AMD EPYC 7B13 64-Core Processor\nprocessor\t: 1\n" +
    "model name\t: AMD EPYC 7B13 64-Core Processor\n";
  assert.equal(cpuModelFromCpuinfo(cpuinfo), "AMD EPYC 7B13 64-Core Processor");
});

Deno.test("machineInfo() names this machine's CPU, its logical cores and its OS", () => {
  const machine = machineInfo();
  assert.equal(machine.cores, navigator.hardwareConcurrency);
  assert.notEqual(machine.cpu, "unknown");
  assert.equal(machine.os, `${Deno.build.os} ${Deno.osRelease()}`);
});

Deno.test("gitCommit() is the commit, with +changes when the code differs from it", async () => {
  const dir = await Deno.makeTempDir();
  const git = (...args: string[]) =>
    new Deno.Command("git", { args: ["-C", dir, ...args], stdout: "null", stderr: "null" })
      .output();
  try {
    await git("init", "-q");
    await Deno.mkdir(`${dir}/programs`);
    await Deno.writeTextFile(`${dir}/programs/a.ts`, "export const a = 1;\n");
    await git("add", ".");
    await git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "a");
    const { commit } = await gitState(dir);
    assert.equal(await gitCommit(dir), commit);
    await Deno.writeTextFile(`${dir}/programs/a.ts`, "export const a = 2;\n");
    assert.equal(await gitCommit(dir), `${commit}+changes`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
