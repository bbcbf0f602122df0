import assert from "node:assert/strict";
import {
  CHROMIUM_BROWSER,
  CLASSIC_NOTEBOOK,
  ensureInstalled,
  JUPYTER,
  PYTORCH,
  type Requirement,
  REQUIREMENTS,
  SetupError,
} from "../../jupyter/setup.ts";

/** A requirement whose probe answers from `installed`, so tests decide what is missing. */
function fake(name: string, packages: string[], installed: Set<string>): Requirement {
  return { name, packages, probe: () => Promise.resolve(packages.every((p) => installed.has(p))) };
}

/** Records the commands set-up runs; `apt-get install` "installs" into `installed`. */
function recorder(installed: Set<string>, options: { fail?: string; installs?: boolean } = {}) {
  const commands: string[] = [];
  const run = (argv: string[]) => {
    const line = argv.join(" ");
    commands.push(line);
    if (options.fail && line.includes(options.fail)) return Promise.resolve(false);
    const at = argv.indexOf("install");
    if (at >= 0 && options.installs !== false) {
      for (const p of argv.slice(at + 1).filter((a) => !a.startsWith("-"))) installed.add(p);
    }
    return Promise.resolve(true);
  };
  return { commands, run };
}

Deno.test("ensureInstalled() runs nothing when everything is there", async () => {
  const installed = new Set(["a", "b"]);
  const { commands, run } = recorder(installed);
  await ensureInstalled([fake("A", ["a"], installed), fake("B", ["b"], installed)], {
    isRoot: () => false,
    canSudo: () => Promise.resolve(false),
    run,
    log: () => {},
  });
  assert.deepEqual(commands, []);
});

Deno.test("ensureInstalled() as root installs exactly the missing packages with apt", async () => {
  const installed = new Set(["a"]);
  const { commands, run } = recorder(installed);
  const logs: string[] = [];
  await ensureInstalled(
    [fake("A", ["a"], installed), fake("B", ["b1", "b2"], installed), fake("C", ["c"], installed)],
    { isRoot: () => true, run, log: (m) => logs.push(m) },
  );
  assert.deepEqual(commands, [
    "apt-get update -q",
    "apt-get install -y -q --no-install-recommends b1 b2 c",
  ]);
  assert.match(logs.join("\n"), /Missing: B, C\. Installing with apt: b1 b2 c/);
});

Deno.test("ensureInstalled() uses password-less sudo when not root", async () => {
  const installed = new Set<string>();
  const { commands, run } = recorder(installed);
  await ensureInstalled([fake("A", ["a"], installed)], {
    isRoot: () => false,
    canSudo: () => Promise.resolve(true),
    run,
    log: () => {},
  });
  assert.deepEqual(commands, [
    "sudo -n apt-get update -q",
    "sudo -n apt-get install -y -q --no-install-recommends a",
  ]);
});

Deno.test("ensureInstalled() without root or sudo stops with the one command to run", async () => {
  const installed = new Set<string>();
  const { commands, run } = recorder(installed);
  await assert.rejects(
    ensureInstalled([fake("the A tool", ["a"], installed), fake("B", ["b"], installed)], {
      isRoot: () => false,
      canSudo: () => Promise.resolve(false),
      run,
    }),
    (error: Error) => {
      assert.ok(error instanceof SetupError);
      assert.match(error.message, /^Missing: the A tool, B\. This user is not root/);
      assert.match(
        error.message,
        /\n {4}sudo apt-get update && sudo apt-get install -y --no-install-recommends a b$/,
      );
      return true;
    },
  );
  assert.deepEqual(commands, [], "nothing was run");
});

Deno.test("ensureInstalled() reports a failing apt-get with the command to run", async () => {
  const installed = new Set<string>();
  const { run } = recorder(installed, { fail: "install" });
  await assert.rejects(
    ensureInstalled([fake("A", ["a"], installed)], { isRoot: () => true, run, log: () => {} }),
    /`apt-get install -y -q --no-install-recommends a` failed .*\n {4}sudo apt-get update/,
  );
});

Deno.test("ensureInstalled() fails when apt succeeded but the probe still fails", async () => {
  const installed = new Set<string>();
  const { run } = recorder(installed, { installs: false });
  await assert.rejects(
    ensureInstalled([fake("A", ["a"], installed)], { isRoot: () => true, run, log: () => {} }),
    /apt installed a, but A still does not work/,
  );
});

Deno.test("the notebook needs Jupyter; the tests also need the classic Notebook, Chromium and PyTorch on OpenBLAS", () => {
  assert.deepEqual(REQUIREMENTS.notebook, [JUPYTER]);
  assert.deepEqual(REQUIREMENTS.test, [JUPYTER, CLASSIC_NOTEBOOK, CHROMIUM_BROWSER, PYTORCH]);
  assert.deepEqual(
    REQUIREMENTS.test.flatMap((r) => r.packages),
    [
      "jupyter-nbconvert",
      "jupyter-client",
      "jupyter-notebook",
      "chromium",
      "python3-torch",
      "libopenblas0-pthread",
    ],
  );
  assert.deepEqual(REQUIREMENTS.pytorch, [PYTORCH]);
});

Deno.test("the real probes find what this machine has installed", async () => {
  // `deno task test` ran set-up first, so each of these must be there now.
  for (const requirement of REQUIREMENTS.test) {
    assert.ok(await requirement.probe(), `${requirement.name} is not installed`);
  }
});

Deno.test("setup.ts stops with a usage line when given no purpose", async () => {
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../../jupyter/setup.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(result.code, 2);
  assert.match(new TextDecoder().decode(result.stderr), /usage: .*setup\.ts notebook\|test/);
});
