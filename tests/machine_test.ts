/** lib/machine.ts: the machine a record names. */
import assert from "node:assert/strict";
import { cpuModelFromCpuinfo, machineInfo } from "../lib/machine.ts";

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
