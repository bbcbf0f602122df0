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
