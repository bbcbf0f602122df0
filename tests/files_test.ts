import assert from "node:assert/strict";
import { join } from "node:path";
import { checkWritableDir, writeFileAtomically, writeJson } from "../lib/files.ts";
import { listFiles, rejectionOf } from "./fixtures.ts";

Deno.test("writeFileAtomically() replaces a file whole and leaves no temporary file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "sub", "file.bin");
    await writeFileAtomically(path, new Uint8Array([1, 2, 3]));
    await writeFileAtomically(path, new Uint8Array([4]));
    assert.deepEqual(await Deno.readFile(path), new Uint8Array([4]));
    assert.deepEqual(await listFiles(join(dir, "sub")), ["file.bin"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeFileAtomically() fails without leaving a partial file when it cannot rename", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // A folder where the file should go makes the final rename fail.
    await Deno.mkdir(join(dir, "taken"));
    await Deno.writeTextFile(join(dir, "taken", "keep"), "x");
    await rejectionOf(writeFileAtomically(join(dir, "taken"), new Uint8Array([1])));
    assert.deepEqual(await listFiles(dir), ["taken"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeJson() writes indented JSON and leaves no temporary file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeJson(join(dir, "out", "metrics.json"), { test_accuracy: 0.99 });
    assert.equal(
      await Deno.readTextFile(join(dir, "out", "metrics.json")),
      '{\n  "test_accuracy": 0.99\n}\n',
    );
    assert.deepEqual(await listFiles(join(dir, "out")), ["metrics.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * Runs `body` with `Deno[name]` replaced by `replacement`, as if the write were interrupted at
 * that step (a full disk, a crash of the renaming call), and puts the real function back.
 */
async function withInterrupted<K extends "rename" | "writeFile">(
  name: K,
  replacement: typeof Deno[K],
  body: () => Promise<void>,
): Promise<void> {
  const real = Deno[name];
  Deno[name] = replacement;
  try {
    await body();
  } finally {
    Deno[name] = real;
  }
}

/** Where the write is interrupted: each runs `body` with that step failing. */
const INTERRUPTIONS: Record<string, (body: () => Promise<void>) => Promise<void>> = {
  "between writing and renaming": (body) =>
    withInterrupted("rename", () => Promise.reject(new Error("interrupted before rename")), body),
  "half-way through writing": (body) =>
    withInterrupted("writeFile", async (path, data) => {
      // Half of the new bytes reach the disk, then the write fails.
      const bytes = data as Uint8Array;
      const file = await Deno.open(String(path), { write: true, create: true, truncate: true });
      await file.write(bytes.subarray(0, bytes.length >> 1));
      file.close();
      throw new Error("interrupted while writing");
    }, body),
};

for (const [when, interrupt] of Object.entries(INTERRUPTIONS)) {
  Deno.test(`writeFileAtomically() interrupted ${when} leaves the old content and no temporary file`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const path = join(dir, "model.json");
      await Deno.writeTextFile(path, "old content");
      let error: Error | undefined;
      await interrupt(async () => {
        error = await rejectionOf(
          writeFileAtomically(path, new TextEncoder().encode("new content, longer than the old")),
        );
      });
      assert.match(error?.message ?? "", /interrupted/, "the caller learns that the write failed");
      assert.equal(await Deno.readTextFile(path), "old content");
      assert.deepEqual(await listFiles(dir), ["model.json"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("writeJson() interrupted before its rename keeps the previous metrics.json whole", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "metrics.json");
    await writeJson(path, { test_accuracy: 0.98 });
    await withInterrupted("rename", () => Promise.reject(new Error("interrupted")), async () => {
      await rejectionOf(writeJson(path, { test_accuracy: 0.99 }));
    });
    assert.deepEqual(JSON.parse(await Deno.readTextFile(path)), { test_accuracy: 0.98 });
    assert.deepEqual(await listFiles(dir), ["metrics.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkWritableDir() rejects a folder that exists but takes no files", async () => {
  // /proc/self exists, so creating it succeeds; only writing a file there shows the problem.
  await assert.rejects(
    checkWritableDir("/proc/self"),
    /Cannot write to \/proc\/self .*choose a folder/,
  );
});
