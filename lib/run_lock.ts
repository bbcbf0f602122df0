/**
 * One run at a time per output folder: a run that writes a folder (the notebook's `outputs/`, a
 * trainer's `--out`) holds `<folder>/.run.lock`, so that a second run into the same folder stops
 * with a sentence instead of mixing its files with the first's.
 *
 * The lock is an exclusive `flock` on the file, which the operating system releases when its
 * process ends however it ends: a lock file left by a run that was killed is stale and taken over
 * at once, with no timeout to guess. The file says who holds it (pid, what, since when), and is
 * removed when the run releases it.
 *
 * @module
 */
import { join, resolve } from "node:path";

/** The name of the lock file in a folder. */
export const RUN_LOCK_FILE = ".run.lock";

/** A held lock. */
export interface RunLock {
  /** The lock file. */
  path: string;
  /** Removes the lock file and releases the lock; safe to call twice. */
  release(): Promise<void>;
}

/** Another run holds the folder; the message names it, the holder and what to do. */
export class FolderBusyError extends Error {
  override name = "FolderBusyError";
}

/**
 * Takes the lock of `dir` (creating the folder), or throws at once when another live run holds it.
 *
 * @param what the run, for the holder's line in the lock file ("deno task notebook").
 * @throws {FolderBusyError} naming the folder, the run that holds it and what to do.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lockOutputDir } from "./run_lock.ts";
 * const dir = await Deno.makeTempDir();
 * const lock = await lockOutputDir(dir, "a test");
 * await assert.rejects(lockOutputDir(dir, "a second run"), /is being written by another run right now \(pid \d+, a test/);
 * await lock.release();
 * await (await lockOutputDir(dir, "a second run")).release();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function lockOutputDir(dir: string, what: string): Promise<RunLock> {
  await Deno.mkdir(dir, { recursive: true });
  const path = join(dir, RUN_LOCK_FILE);
  const lock = await tryLockFile(path, what);
  if ("heldBy" in lock) {
    throw new FolderBusyError(
      `${resolve(dir)} is being written by another run right now (${lock.heldBy}; it holds ` +
        `${path}). Wait for it to finish, or write to another folder (--out for the trainer, ` +
        "--output-dir for the notebook runner).",
    );
  }
  return lock;
}

/**
 * Takes the exclusive lock of the file `path` (creating it) and writes the holder's line in it, or
 * says who holds it. A file left by a dead process is not locked: it is taken over.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tryLockFile } from "./run_lock.ts";
 * const dir = await Deno.makeTempDir();
 * const lock = await tryLockFile(`${dir}/x.lock`, "a save");
 * assert.ok("release" in lock);
 * const second = await tryLockFile(`${dir}/x.lock`, "another save");
 * assert.ok("heldBy" in second && /^pid \d+, a save, since/.test(second.heldBy));
 * await lock.release();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function tryLockFile(
  path: string,
  what: string,
): Promise<RunLock | { heldBy: string }> {
  // A lock file released and removed between our open and our lock is not the lock any more:
  // try again on the new one (a few times at most: each retry means another run just finished).
  for (let attempt = 0; attempt < 5; attempt++) {
    const file = await Deno.open(path, { read: true, write: true, create: true });
    let held = false;
    try {
      if (!(await file.tryLock(true))) return { heldBy: await holder(file) };
      if ((await Deno.stat(path).catch(() => undefined))?.ino !== (await file.stat()).ino) continue;
      await file.truncate(0);
      await file.write(
        new TextEncoder().encode(`pid ${Deno.pid}, ${what}, since ${new Date().toISOString()}\n`),
      );
      held = true;
      return { path, release: releaser(file, path) };
    } finally {
      if (!held) file.close();
    }
  }
  return { heldBy: "runs that keep taking and releasing it" };
}

async function holder(file: Deno.FsFile): Promise<string> {
  const buffer = new Uint8Array(200);
  const read = (await file.read(buffer).catch(() => null)) ?? 0;
  return new TextDecoder().decode(buffer.subarray(0, read)).trim() || "a run that is starting";
}

function releaser(file: Deno.FsFile, path: string): () => Promise<void> {
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    // Removed while still locked, so that no other run takes the file just before it goes.
    await Deno.remove(path).catch(() => {});
    file.close();
  };
}

/**
 * Runs `work` holding the lock of `dir`, and releases it however `work` ends.
 *
 * @throws {FolderBusyError} when another run holds the folder; `work` is not started.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { withOutputDirLock } from "./run_lock.ts";
 * const dir = await Deno.makeTempDir();
 * assert.equal(await withOutputDirLock(dir, "a test", () => Promise.resolve(7)), 7);
 * await Deno.remove(dir);
 * ```
 */
export async function withOutputDirLock<T>(
  dir: string,
  what: string,
  work: () => Promise<T>,
): Promise<T> {
  const lock = await lockOutputDir(dir, what);
  try {
    return await work();
  } finally {
    await lock.release();
  }
}
