/**
 * Writing files so that no reader ever sees half of one, and the bytes they hold.
 *
 * @module
 */
import { dirname } from "node:path";

/**
 * Writes `bytes` to a temporary file beside `path`, then renames it into place: whatever interrupts
 * the write, `path` holds either its old contents or all of the new ones, and no temporary file is
 * left behind.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeFileAtomically } from "./files.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomically(`${dir}/a/b.txt`, new TextEncoder().encode("hi"));
 * assert.equal(await Deno.readTextFile(`${dir}/a/b.txt`), "hi");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeFileAtomically(path: string, bytes: Uint8Array): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${crypto.randomUUID()}.partial`;
  try {
    await Deno.writeFile(temporary, bytes);
    await Deno.rename(temporary, path);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw error;
  }
}

/**
 * Writes `value` as indented JSON, atomically.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeJson } from "./files.ts";
 * const dir = await Deno.makeTempDir();
 * await writeJson(`${dir}/metrics.json`, { test_accuracy: 0.99 });
 * assert.deepEqual(JSON.parse(await Deno.readTextFile(`${dir}/metrics.json`)), { test_accuracy: 0.99 });
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFileAtomically(path, new TextEncoder().encode(JSON.stringify(value, null, 2) + "\n"));
}

/**
 * Makes sure `dir` exists (creating it and its parents) and that files can be written in it, so
 * that a long run fails at once, not after its work is done, when its output folder is unusable.
 *
 * @throws {Error} naming the folder and what is wrong with it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkWritableDir } from "./files.ts";
 * const dir = await Deno.makeTempDir();
 * await checkWritableDir(`${dir}/new/folder`);
 * assert.ok((await Deno.stat(`${dir}/new/folder`)).isDirectory);
 * await assert.rejects(checkWritableDir("/proc/forbidden"), /Cannot write to \/proc\/forbidden/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function checkWritableDir(dir: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true });
    const probe = `${dir}/.write-check-${crypto.randomUUID()}`;
    await Deno.writeFile(probe, new Uint8Array());
    await Deno.remove(probe);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) {
      // Deno refused, not the file system: the task was not given this folder (deno.json).
      throw new Error(
        `Cannot write to ${dir}: this task may write only the folders deno.json gives it ` +
          "(data/ and outputs/, see the README's permissions table). Choose a folder under " +
          `outputs/, or run the program with deno run and --allow-write=${dir}.`,
      );
    }
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `Cannot write to ${dir} (${reason}): choose a folder you can write to, or fix its ` +
        "permissions, before training.",
    );
  }
}

/**
 * SHA-256 of `bytes` as lowercase hex.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sha256 } from "./files.ts";
 * assert.ok((await sha256(new Uint8Array())).startsWith("e3b0c442"));
 * ```
 */
export async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Options of {@linkcode readRegularFile}. */
export interface ReadRegularFileOptions {
  /** Refuse a file larger than this many bytes, before reading it. Default: no limit. */
  maxBytes?: number;
  /** What the file is, for messages ("the image", "the dataset file"). Default "the file". */
  what?: string;
}

/**
 * Reads a regular file whole. A path that is not a regular file (a named pipe, a device such as
 * `/dev/zero`, a folder) is refused by name before anything is read: reading a pipe would block
 * for good and a device would never end. A file over `maxBytes` is refused by its size.
 *
 * @throws {Deno.errors.NotFound} when nothing is at `path` (callers word that case themselves).
 * @throws {Error} naming the path and what it is instead, or its size and the limit.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readRegularFile } from "./files.ts";
 * await assert.rejects(readRegularFile("/dev/zero"), /\/dev\/zero is not a regular file \(a device\)/);
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/a.txt`, "hello");
 * assert.equal((await readRegularFile(`${dir}/a.txt`)).length, 5);
 * await assert.rejects(readRegularFile(`${dir}/a.txt`, { maxBytes: 4 }), /holds 5 bytes, over the limit of 4/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readRegularFile(
  path: string,
  options: ReadRegularFileOptions = {},
): Promise<Uint8Array> {
  const what = options.what ?? "the file";
  const stat = await Deno.stat(path);
  refuseIrregular(path, stat, what);
  const file = await Deno.open(path, { read: true });
  try {
    // The path may have been swapped between the two looks: check what was opened.
    const opened = await file.stat();
    refuseIrregular(path, opened, what);
    if (options.maxBytes !== undefined && opened.size > options.maxBytes) {
      throw new Error(
        `${path} holds ${opened.size} bytes, over the limit of ${options.maxBytes} for ${what}: ` +
          "check that it is the right file.",
      );
    }
    const bytes = new Uint8Array(opened.size);
    let offset = 0;
    while (offset < bytes.length) {
      const read = await file.read(bytes.subarray(offset));
      if (read === null) break; // the file shrank while being read: return what it holds
      offset += read;
    }
    return bytes.subarray(0, offset);
  } finally {
    file.close();
  }
}

function refuseIrregular(path: string, stat: Deno.FileInfo, what: string): void {
  if (stat.isFile) return;
  const kind = stat.isDirectory
    ? "a folder"
    : stat.isFifo
    ? "a named pipe"
    : stat.isCharDevice || stat.isBlockDevice
    ? "a device"
    : stat.isSocket
    ? "a socket"
    : "not a file";
  throw new Error(
    `${path} is not a regular file (${kind}), so it is not read as ${what}: give the path of a file.`,
  );
}

/**
 * Joins the chunks read from a stream into one array.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { concatBytes } from "./files.ts";
 * assert.deepEqual(concatBytes([Uint8Array.of(1, 2), Uint8Array.of(), Uint8Array.of(3)]), Uint8Array.of(1, 2, 3));
 * ```
 */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}
