import assert from "node:assert/strict";
import { join } from "node:path";
import { writeFileAtomically, writeJson } from "../lib/files.ts";
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
    assert.deepEqual(JSON.parse(await Deno.readTextFile(join(dir, "out", "metrics.json"))), {
      test_accuracy: 0.99,
    });
    assert.deepEqual(await listFiles(join(dir, "out")), ["metrics.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
