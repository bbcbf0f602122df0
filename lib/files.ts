/**
 * Writing files so that no reader ever sees half of one.
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
 * import { writeFileAtomically } from "./files.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomically(`${dir}/a/b.txt`, new TextEncoder().encode("hi"));
 * console.assert(await Deno.readTextFile(`${dir}/a/b.txt`) === "hi");
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
