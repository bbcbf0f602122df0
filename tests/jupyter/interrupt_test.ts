// Interrupting a cell that trains on replica workers, in a real Deno kernel: nothing keeps
// computing. Deno's kernel (2.8.1, the pinned one) ends its process on the frontend's interrupt
// (SIGINT), and the workers, which are threads of that process, end with it; the frontend then
// starts a fresh kernel. Needs Debian's Jupyter, which `deno task test` sets up first.
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { installCommand, JUPYTER, SYSTEM_PYTHON } from "../../jupyter/setup.ts";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

const CELL = `
import { setupWasmBackend } from "./lib/engine/mod.ts";
import { buildBaselineModel } from "./lib/models/variants.ts";
import { trainModel } from "./lib/training/train.ts";
await setupWasmBackend({ threads: 2 });
const count = 1024;
const images = new Float32Array(count * 784).map((_, i) => (i % 251) / 251);
const labels = Uint8Array.from({ length: count }, (_, i) => i % 10);
await trainModel(buildBaselineModel({ seed: 1 }), { images, labels, count }, {
  epochs: 1000,
  batchSize: 128,
  seed: 1,
  workers: 2,
  callbacks: { onBatchEnd: (batch) => { if (batch === 1) console.log("training"); } },
});
`;

Deno.test({
  name: "an interrupted training cell leaves no worker running",
  ignore: navigator.hardwareConcurrency < 2, // replicas need 2 threads
}, async () => {
  if (!(await JUPYTER.probe())) {
    throw new Error(`${JUPYTER.name} is missing: ${installCommand(JUPYTER.packages)}`);
  }
  const dir = await Deno.makeTempDir();
  try {
    const cell = join(dir, "cell.ts");
    await Deno.writeTextFile(cell, CELL);
    const { code, stdout, stderr } = await new Deno.Command(SYSTEM_PYTHON, {
      args: [join(repo, "tests", "jupyter", "interrupt_probe.py"), repo, cell],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(stdout);
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    const result = JSON.parse(out.trim().split("\n").at(-1) ?? "{}");
    assert.equal(result.error, undefined);
    assert.ok(result.training_seen, `the cell never trained: ${out}`);
    // The two replica workers (and the threaded backend's pool) were running when interrupted.
    assert.ok(result.threads_before >= result.threads_idle + 2, out);
    assert.equal(result.running_after, false, `the kernel kept running: ${out}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
