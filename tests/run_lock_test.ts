import assert from "node:assert/strict";
import { join } from "node:path";
import { FolderBusyError, lockOutputDir, RUN_LOCK_FILE } from "../lib/run_lock.ts";
import { rejectionOf } from "./fixtures.ts";

const LIB = new URL("../lib/run_lock.ts", import.meta.url).href;

/** Starts a process that takes the lock of `dir` and then waits to be killed. */
async function holderProcess(dir: string): Promise<Deno.ChildProcess> {
  const code = `import { lockOutputDir } from "${LIB}";
    await lockOutputDir(${JSON.stringify(dir)}, "a holder");
    console.log("held");
    setInterval(() => {}, 1000);`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  assert.equal(new TextDecoder().decode(value).trim(), "held");
  reader.releaseLock();
  await child.stdout.cancel();
  return child;
}

Deno.test("lockOutputDir() stops a second run into a folder another live process writes, naming it", async () => {
  const dir = await Deno.makeTempDir();
  const child = await holderProcess(dir);
  try {
    const error = await rejectionOf(lockOutputDir(dir, "a second run"));
    assert.ok(error instanceof FolderBusyError);
    assert.match(
      error.message,
      new RegExp(
        `^${dir} is being written by another run right now \\(pid ${child.pid}, a holder, since ` +
          `\\d{4}-.*; it holds ${join(dir, RUN_LOCK_FILE)}\\)\\. Wait for it to finish`,
      ),
    );
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
  // The holder was killed: its lock file is left behind, but stale, and taken over at once.
  assert.ok((await Deno.stat(join(dir, RUN_LOCK_FILE))).isFile);
  const lock = await lockOutputDir(dir, "after the crash");
  assert.match(await Deno.readTextFile(lock.path), new RegExp(`^pid ${Deno.pid}, after the crash`));
  await lock.release();
  await lock.release();
  await assert.rejects(Deno.stat(lock.path), Deno.errors.NotFound, "removed on release");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("lockOutputDir(): of two runs starting together into one folder, exactly one holds it", async () => {
  const dir = await Deno.makeTempDir();
  const results = await Promise.allSettled(
    Array.from({ length: 4 }, (_, i) => lockOutputDir(dir, `run ${i}`)),
  );
  const held = results.filter((r) => r.status === "fulfilled");
  assert.equal(held.length, 1);
  assert.ok(
    results.every((r) => r.status === "fulfilled" || r.reason instanceof FolderBusyError),
  );
  await (held[0] as PromiseFulfilledResult<{ release(): Promise<void> }>).value.release();
  await Deno.remove(dir, { recursive: true });
});
