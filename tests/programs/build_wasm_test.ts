/** `deno task build-wasm` (programs/build_wasm.ts): every source built, stale output caught. */
import assert from "node:assert/strict";
import { buildAll, constantName } from "../../programs/build_wasm.ts";

async function withDir(f: (dir: URL) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await f(new URL(`file://${dir}/`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("buildAll() builds every .wat and then finds them up to date", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(new URL("a.wat", dir), '(module (func (export "f")))');
    await Deno.writeTextFile(new URL("b_c.wat", dir), "(module)");
    assert.deepEqual(await buildAll(dir, { check: false }), []);
    assert.match(await Deno.readTextFile(new URL("b_c_wasm.ts", dir)), /B_C_WASM_BASE64/);
    assert.deepEqual(await buildAll(dir, { check: true }), []);
  });
});

Deno.test("buildAll() reports an edited source, and an output left without its source", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(new URL("a.wat", dir), "(module)");
    await buildAll(dir, { check: false });
    await Deno.writeTextFile(new URL("a.wat", dir), '(module (func (export "g")))');
    await Deno.writeTextFile(new URL("gone_wasm.ts", dir), "export const X = 1;");
    const problems = await buildAll(dir, { check: true });
    assert.equal(problems.length, 2);
    assert.match(problems.join("\n"), /gone_wasm.ts has no source gone.wat: remove it/);
    assert.match(problems.join("\n"), /a_wasm.ts does not match what a.wat builds to/);
  });
});

Deno.test("buildAll() names a source that does not assemble", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(new URL("bad.wat", dir), "(module (func (i32.add)))");
    await assert.rejects(() => buildAll(dir, { check: true }), /bad.wat/);
  });
});

Deno.test("constantName() refuses a file name that is not a constant", () => {
  assert.throws(() => constantName("Conv-2"), /lib\/engine\/kernels\/Conv-2.wat: name the file/);
});
