/**
 * jupyter/kernels/deno: the kernelspec starts the pinned Deno, not whichever deno is on PATH; and
 * lib/deno_version.ts: a kernel on another release says so.
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { denoVersionWarning, PINNED_DENO } from "../../lib/deno_version.ts";

const KERNEL_DIR = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "jupyter",
  "kernels",
  "deno",
);

/** A fake program in `dir`: a shell script that prints `body`'s output. */
async function fake(dir: string, name: string, body: string): Promise<string> {
  const path = join(dir, name);
  await Deno.writeTextFile(path, `#!/bin/sh\n${body}\n`);
  await Deno.chmod(path, 0o755);
  return path;
}

/**
 * Runs the kernelspec's argv with only `dir` on PATH (plus the sh and head it needs, so that no
 * real deno or npx is found); returns what the started program printed.
 */
async function launch(dir: string): Promise<string> {
  for (const tool of ["sh", "head"]) {
    await Deno.symlink(`/usr/bin/${tool}`, join(dir, tool)).catch(() => {});
  }
  const spec = JSON.parse(await Deno.readTextFile(join(KERNEL_DIR, "kernel.json")));
  const argv = (spec.argv as string[]).map((a) =>
    a.replace("{resource_dir}", KERNEL_DIR).replace("{connection_file}", "/tmp/conn.json")
  );
  const output = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    env: { PATH: dir },
    clearEnv: true,
  }).output();
  return new TextDecoder().decode(output.stdout).trim();
}

/** A fake deno of `version` that says which one ran and with what. */
function denoBody(version: string): string {
  return `if [ "$1" = "--version" ]; then echo "deno ${version} (stable)"; else echo "${version} $*"; fi`;
}

Deno.test("the kernelspec runs the deno on PATH when it is the pinned release", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await fake(dir, "deno", denoBody(PINNED_DENO));
    assert.equal(await launch(dir), `${PINNED_DENO} jupyter --kernel --conn /tmp/conn.json`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the kernelspec starts the pinned release through npx when PATH has another", async () => {
  const dir = await Deno.makeTempDir();
  const npmDir = await Deno.makeTempDir();
  try {
    await fake(dir, "deno", denoBody("2.9.6"));
    const pinned = await fake(npmDir, "deno", denoBody(PINNED_DENO));
    // npx --yes deno@2.8.1 eval ...: the pinned binary reports its own path.
    await fake(dir, "npx", `[ "$2" = "deno@${PINNED_DENO}" ] && echo "${pinned}"`);
    assert.equal(await launch(dir), `${PINNED_DENO} jupyter --kernel --conn /tmp/conn.json`);
    // Without npx, the deno on PATH runs (and the setup cell warns).
    await Deno.remove(join(dir, "npx"));
    assert.equal(await launch(dir), "2.9.6 jupyter --kernel --conn /tmp/conn.json");
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(npmDir, { recursive: true });
  }
});

Deno.test("denoVersionWarning() names the version, the risk and the way to the pinned one", () => {
  assert.equal(denoVersionWarning(PINNED_DENO), undefined);
  const warning = denoVersionWarning("2.9.6")!;
  assert.match(warning, /Deno 2\.9\.6, not the pinned 2\.8\.1/);
  assert.match(warning, /outputs may land under the wrong cell/);
  assert.match(warning, /npx --yes deno@2\.8\.1 task notebook/);
  assert.equal(warning.split("\n").length, 1, "one line");
});
