import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { taskPermissions } from "../../programs/task_permissions.ts";
import { RUN_PARAMETERS } from "../../lib/training/run_parameters.ts";

const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const TASKS: Record<string, string> = JSON.parse(
  await Deno.readTextFile(join(REPO, "deno.json")),
).tasks;

/** Runs `deno <args>` in `cwd` (the repository) with `env` added; returns its exit code and output. */
async function deno(args: string[], env: Record<string, string> = {}, cwd = REPO) {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

Deno.test("taskPermissions() reads the repository and DATA_MIRROR's folder, and reaches only the mirrors' hosts", () => {
  const hosts = "storage.googleapis.com,ossci-datasets.s3.amazonaws.com";
  assert.deepEqual(taskPermissions({}).flags, ["--allow-read=.", `--allow-net=${hosts}`]);
  // (Not ../shared: CI's is a link, whose target is allowed too; see the test of links below.)
  assert.deepEqual(taskPermissions({ DATA_MIRROR: "../no-mirror-here" }).flags, [
    "--allow-read=.,../no-mirror-here",
    `--allow-net=${hosts}`,
  ]);
  assert.equal(
    taskPermissions({ DATA_MIRROR: "file:///srv/data" }).flags[0],
    "--allow-read=.,/srv/data",
  );
  assert.deepEqual(taskPermissions({ DATA_MIRROR: "http://127.0.0.1:8000/d" }).flags, [
    "--allow-read=.",
    `--allow-net=${hosts},127.0.0.1:8000`,
  ]);
  const spaced = taskPermissions({ DATA_MIRROR: "/srv/my data" });
  assert.equal(spaced.flags[0], "--allow-read");
  assert.match(spaced.warnings[0], /DATA_MIRROR="\/srv\/my data" has a space or a comma/);
  assert.match(taskPermissions({ EPOCH: "3" }).warnings[0], /did you mean EPOCHS\?/);
});

Deno.test("deno.json: no task but test has -A, and each reads only the project's variables", () => {
  for (const [name, line] of Object.entries(TASKS)) {
    if (name === "test") continue;
    // programs/task_permissions.ts reads the whole environment to print flags and warnings only.
    const command = line.replaceAll(
      "$(deno run --allow-env --allow-read programs/task_permissions.ts)",
      "",
    );
    assert.doesNotMatch(command, /(^|\s)(-A|--allow-all)(\s|$)/, `deno task ${name} has -A`);
    assert.doesNotMatch(command, /--allow-(env|net|write|run|sys)(\s|$)/, `${name}: unlimited`);
    for (const list of command.matchAll(/--allow-env=(\S+)/g)) {
      const extra = list[1].split(",").filter((v) => !RUN_PARAMETERS.variables.includes(v));
      assert.ok(extra.every((v) => ["PATH", "NO_COLOR"].includes(v)), `${name}: ${extra}`);
    }
  }
  // The variables the programs read are all granted to the tasks that run them.
  const granted = TASKS.train.match(/--allow-env=(\S+)/)?.[1].split(",") ?? [];
  assert.deepEqual([...granted].sort(), [...RUN_PARAMETERS.variables].sort());
});

Deno.test("deno task train with a forbidden --out is refused by Deno, told in a sentence, not a stack trace", async () => {
  const outside = await Deno.makeTempDir();
  try {
    const r = await deno(["task", "-q", "train", "--out", join(outside, "run")]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(
      r.stderr.trim(),
      `Error: Cannot write to ${join(outside, "run")}: this task may write only the folders ` +
        "deno.json gives it (data/ and outputs/, see the README's permissions table). Choose a " +
        `folder under outputs/, or run the program with deno run and --allow-write=${
          join(outside, "run")
        }.`,
    );
    assert.deepEqual([...Deno.readDirSync(outside)], [], "nothing written there");
  } finally {
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("a task's permissions read a DATA_MIRROR folder outside the repository, and nothing else there", async () => {
  const outside = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(outside, "file.txt"), "mirror");
    await Deno.writeTextFile(`${outside}-beside.txt`, "not the mirror");
    const helper = await deno(["run", "--allow-env", "programs/task_permissions.ts"], {
      DATA_MIRROR: outside,
    });
    const flags = helper.stdout.trim().split(" ");
    const probe = `for (const p of Deno.args) {
      try { console.log(Deno.readTextFileSync(p)); } catch (e) { console.log(e.name); }
    }`;
    const program = `data:application/typescript,${encodeURIComponent(probe)}`;
    const r = await deno([
      "run",
      ...flags,
      program,
      join(outside, "file.txt"),
      `${outside}-beside.txt`,
    ]);
    assert.deepEqual(r.stdout.trim().split("\n"), ["mirror", "NotCapable"], r.stderr);
  } finally {
    await Deno.remove(`${outside}-beside.txt`).catch(() => {});
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("a DATA_MIRROR that is a symbolic link, or holds links, is read where they lead, as Deno checks reads", async () => {
  // CI and clones often reach the datasets through links (../shared -> a shared disk).
  const root = await Deno.makeTempDir();
  try {
    const shared = join(root, "shared");
    const elsewhere = join(root, "elsewhere");
    await Deno.mkdir(join(shared, "mnist"), { recursive: true });
    await Deno.mkdir(elsewhere);
    await Deno.writeTextFile(join(shared, "mnist", "train-labels-idx1-ubyte.gz"), "through a link");
    await Deno.writeTextFile(join(elsewhere, "t10k-labels-idx1-ubyte.gz"), "a linked file");
    await Deno.writeTextFile(join(elsewhere, "other.txt"), "not a dataset file");
    await Deno.symlink(
      join(elsewhere, "t10k-labels-idx1-ubyte.gz"),
      join(shared, "mnist", "t10k-labels-idx1-ubyte.gz"),
    );
    await Deno.symlink(shared, join(root, "link"));
    // The helper exactly as the tasks start it.
    const command = TASKS.train.match(/\$\(deno (run [^)]*)\)/)?.[1].split(" ") ?? [];
    const helper = await deno(command, { DATA_MIRROR: join(root, "link") });
    assert.equal(helper.code, 0, helper.stderr);
    const flags = helper.stdout.trim().split(" ");
    // Read as lib/files.ts' readRegularFile does: the opened file's stat, which Deno checks
    // against the link's target (a plain read through the link is allowed either way).
    const probe = `for (const p of Deno.args) {
      try {
        using file = Deno.openSync(p);
        file.statSync();
        console.log(new TextDecoder().decode(Deno.readFileSync(p)));
      } catch (e) { console.log(e.name); }
    }`;
    const r = await deno([
      "run",
      ...flags,
      `data:application/typescript,${encodeURIComponent(probe)}`,
      join(root, "link", "mnist", "train-labels-idx1-ubyte.gz"),
      join(root, "link", "mnist", "t10k-labels-idx1-ubyte.gz"),
      join(elsewhere, "other.txt"),
    ]);
    assert.deepEqual(
      r.stdout.trim().split("\n"),
      ["through a link", "a linked file", "NotCapable"],
      `${flags.join(" ")}: ${r.stderr}`,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/** The tasks whose programs start the wasm backend with threads, which needs its worker script. */
const THREADED_TASKS = ["train", "experiments", "bench", "bench-accuracy"];

/** Copies the folder `from` to `to`, files and subfolders. */
async function copyFolder(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isDirectory) await copyFolder(join(from, entry.name), join(to, entry.name));
    else if (entry.isFile) await Deno.copyFile(join(from, entry.name), join(to, entry.name));
  }
}

Deno.test("the threaded tasks start the wasm backend on a fresh clone, where .wasm-threads/ is not yet written", async () => {
  // A fresh clone has no .wasm-threads/ (git-ignored): the engine writes its worker script there
  // the first time, which the tasks' own permissions must allow. The clone is a copy of lib/ and
  // the configuration beside this repository's node_modules: this repository's .wasm-threads/ is
  // left alone for the test modules that run beside this one (--parallel).
  const clone = await Deno.makeTempDir({ prefix: "fresh-clone-" });
  const folder = join(clone, ".wasm-threads");
  try {
    await copyFolder(join(REPO, "lib"), join(clone, "lib"));
    for (const file of ["deno.json", "deno.lock"]) {
      await Deno.copyFile(join(REPO, file), join(clone, file));
    }
    const modules = await Deno.realPath(join(REPO, "node_modules"));
    await Deno.symlink(modules, join(clone, "node_modules"));
    await Deno.writeTextFile(
      join(clone, "start.ts"),
      `import { setupWasmBackend, shutdownWasmBackend } from "./lib/engine/mod.ts";
const info = await setupWasmBackend({ threads: 2 });
console.log(info.threads);
shutdownWasmBackend();
`,
    );
    for (const name of THREADED_TASKS) {
      const flags = TASKS[name].replaceAll(
        "$(deno run --allow-env --allow-read programs/task_permissions.ts)",
        "",
      )
        .split(/\s+/).filter((word) => word.startsWith("--allow-"));
      await Deno.remove(folder, { recursive: true }).catch(() => {});
      const { code, stdout, stderr } = await deno(
        [
          "run",
          // A clone's node_modules is inside it, under `.`; this one is a link to the repository's.
          `--allow-read=.,${modules}`,
          ...flags.filter((flag) => !flag.startsWith("--allow-read")),
          "start.ts",
        ],
        {},
        clone,
      );
      assert.equal(code, 0, `deno task ${name}'s permissions: ${stderr}`);
      assert.equal(stdout.trim(), "2", `deno task ${name} did not get 2 threads: ${stderr}`);
      const written = [...Deno.readDirSync(folder)].map((entry) => entry.name);
      assert.equal(written.length, 1, `deno task ${name} wrote ${written} to .wasm-threads/`);
    }
  } finally {
    await Deno.remove(clone, { recursive: true });
  }
});
