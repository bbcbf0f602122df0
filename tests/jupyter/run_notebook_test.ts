import assert from "node:assert/strict";
import { join } from "node:path";
import { outputDirOf, runNotebook } from "../../jupyter/run_notebook.ts";
import { lockOutputDir } from "../../lib/run_lock.ts";

Deno.test("outputDirOf() finds the runner's --output-dir, else outputs", () => {
  assert.equal(outputDirOf(["a.ipynb"]), "outputs");
  assert.equal(outputDirOf(["a.ipynb", "--output-dir", "/tmp/x"]), "/tmp/x");
  assert.equal(outputDirOf(["--output-dir=/tmp/y", "a.ipynb"]), "/tmp/y");
});

Deno.test("runNotebook() stops with a sentence, starting no kernel, when another run writes its folder", async () => {
  const dir = await Deno.makeTempDir();
  const lock = await lockOutputDir(dir, "deno task train");
  const said: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => said.push(args.join(" "));
  try {
    const code = await runNotebook(["missing.ipynb", "--output-dir", dir]);
    assert.equal(code, 1);
    assert.match(
      said.join("\n"),
      new RegExp(
        `error: ${dir} is being written by another run right now \\(pid ${Deno.pid}, deno task train`,
      ),
    );
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), [".run.lock"]);
  } finally {
    console.error = original;
    await lock.release();
  }
  // Free again: the runner takes the folder (and fails later, on the missing notebook), then
  // releases it.
  console.error = () => {};
  try {
    assert.notEqual(await runNotebook([join(dir, "missing.ipynb"), "--output-dir", dir]), 0);
  } finally {
    console.error = original;
  }
  assert.deepEqual([...Deno.readDirSync(dir)], [], "the lock was removed");
  await Deno.remove(dir, { recursive: true });
});
