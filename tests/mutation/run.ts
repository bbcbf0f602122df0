/**
 * The mutation pass: breaks the code on purpose, one realistic bug at a time, and checks that a
 * test goes red. Each mutation in `mutations.ts` replaces one exact snippet of one file in a
 * scratch copy of the repository (never in the checkout itself), runs the test files that cover
 * that module with `--doc` (the module's own `@example` blocks run too) until the first failure,
 * records "caught" or "survived", and puts the file back before the next one.
 *
 *     deno run -A tests/mutation/run.ts                 # every mutation
 *     deno run -A tests/mutation/run.ts --only augment  # mutations whose id or file contains "augment"
 *     deno run -A tests/mutation/run.ts --list          # the list, as the table in tests/README.md
 *
 * Exit code 0 when every mutation was caught, 1 when one survived or no longer applies (its
 * snippet is gone from the file: update the list), 2 on a bad command line.
 *
 * @module
 */
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { gitCommit, type MachineInfo, machineInfo } from "../../lib/machine.ts";
import { markdownTable as layoutTable } from "../../lib/training/result_tables.ts";
import { type Mutation, MUTATIONS, testsFor } from "./mutations.ts";

/** What happened to one mutation. */
export interface Outcome {
  id: string;
  file: string;
  /** `caught`: a test failed; `survived`: all passed; `stale`: the snippet is not in the file
   * exactly once; `invalid`: the mutant does not type-check (not a bug a user could ship);
   * `equivalent`: it survived, as expected of a mutant listed as equivalent. */
  result: "caught" | "survived" | "equivalent" | "stale" | "invalid";
  /** The failing test names, for a caught mutation. */
  failed: string[];
  seconds: number;
}

/** A whole run of the pass, as `--out` writes it: where and when, and every outcome. */
export interface PassRecord {
  /** When the run started, ISO 8601 UTC. */
  date: string;
  /** The commit copied, `+changes` when the checkout differed from it. */
  commit: string;
  machine: MachineInfo;
  deno: string;
  /** Wall time of the whole run, baseline included. */
  seconds: number;
  /** The `--only` filters, empty for every mutation. */
  only: string[];
  outcomes: Outcome[];
}

const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/**
 * What `deno test --doc` runs for a mutation: its test files and the mutated module itself, so
 * that the module's `@example` blocks count as its tests, as they do in `deno task test`.
 */
export function testFilesFor(mutation: Mutation): string[] {
  const module = mutation.file.endsWith(".ts") ? [mutation.file] : [];
  return [...new Set([...testsFor(mutation), ...module])];
}

/** Files to copy into the scratch copy: tracked and untracked-but-not-ignored ones. */
async function repositoryFiles(repo: string): Promise<string[]> {
  const out = await new Deno.Command("git", {
    args: ["-C", repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    stdout: "piped",
  }).output();
  if (!out.success) throw new Error(`git ls-files failed in ${repo}: is it a git checkout?`);
  // node_modules is linked below; a worktree may hold it as a symlink, which node_modules/ in
  // .gitignore does not match.
  return new TextDecoder().decode(out.stdout).split("\0").filter((f) =>
    f !== "" && f !== "node_modules"
  );
}

/** A copy of the repository in a temporary folder; node_modules is linked, data/ copied. */
export async function scratchCopy(repo: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "mutation-" });
  for (const file of await repositoryFiles(repo)) {
    try {
      await Deno.mkdir(dirname(join(dir, file)), { recursive: true });
      await Deno.copyFile(join(repo, file), join(dir, file));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error; // deleted but not yet staged
    }
  }
  await Deno.symlink(join(repo, "node_modules"), join(dir, "node_modules"));
  // The dataset cache: copied, so that nothing a test does there touches the checkout.
  const data = join(repo, "data");
  try {
    await Deno.stat(data);
    const cp = await new Deno.Command("cp", { args: ["-r", data, join(dir, "data")] }).output();
    if (!cp.success) throw new Error(`Cannot copy ${data} to the scratch copy.`);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return dir;
}

/**
 * Runs test files in `dir` with `--doc`, side by side (`--parallel`, as `deno task test` runs
 * them); returns whether they passed and the names of the failures. With `failFast`, the run stops
 * at the first failing test: one red test is enough to call a mutation caught.
 */
async function runTests(
  dir: string,
  tests: readonly string[],
  timeoutSeconds: number,
  options: { failFast?: boolean } = {},
): Promise<{ passed: boolean; failed: string[]; typeError: boolean; output: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "test",
      "-A",
      "--doc",
      ...(tests.length > 1 ? ["--parallel"] : []),
      ...(options.failFast ? ["--fail-fast"] : []),
      ...tests,
    ],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutSeconds * 1000);
  const out = await child.output();
  clearTimeout(timer);
  const output = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  const failures = output.split(/^.*\bFAILURES\b.*$/m)[1] ?? "";
  const failed = [...failures.matchAll(/^(.+?) => \S+:\d+:\d+$/gm)].map((m) => m[1].trim());
  if (out.signal === "SIGKILL") failed.push(`(timed out after ${timeoutSeconds} s)`);
  const typeError = /error: TS\d+|TS\d+ \[ERROR\]/.test(output) && failed.length === 0;
  return { passed: out.success, failed, typeError, output };
}

/** Applies one mutation in `dir`, runs its tests, and restores the file whatever happens. */
export async function tryMutation(
  dir: string,
  mutation: Mutation,
  timeoutSeconds: number,
): Promise<Outcome & { output: string }> {
  const path = join(dir, mutation.file);
  const original = await Deno.readTextFile(path);
  const start = performance.now();
  const done = (result: Outcome["result"], failed: string[] = [], output = "") => ({
    id: mutation.id,
    file: mutation.file,
    result,
    failed,
    seconds: Math.round((performance.now() - start) / 100) / 10,
    output,
  });
  if (original.split(mutation.original).length !== 2) return done("stale");
  try {
    await Deno.writeTextFile(path, original.replace(mutation.original, () => mutation.mutant));
    const run = await runTests(dir, testFilesFor(mutation), timeoutSeconds, { failFast: true });
    if (run.typeError) return done("invalid", [], run.output);
    const survived = mutation.equivalent ? "equivalent" : "survived";
    return done(run.passed ? survived : "caught", run.failed, run.output);
  } finally {
    await Deno.writeTextFile(path, original);
  }
}

/** Text as one Markdown table cell: pipes escaped, on one line. */
function cell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}

/**
 * A run's results as a Markdown page: where and when it ran, the counts, each module's, why each
 * equivalent mutant cannot be caught, the survivors, and every mutation with the test that caught
 * it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { markdownReport } from "./run.ts";
 * const page = markdownReport({
 *   date: "2026-12-07T21:57:00Z", commit: "cbc7edc", deno: "2.8.1", seconds: 60, only: [],
 *   machine: { cpu: "AMD EPYC", cores: 2, os: "linux 6.18" },
 *   outcomes: [{ id: "files-direct-write", file: "lib/files.ts", result: "caught", failed: ["t"], seconds: 5 }],
 * });
 * assert.match(page, /1 caught, 0 survived, 0 equivalent, 0 stale, 0 invalid/);
 * assert.match(page, /\| `files-direct-write` \| `lib\/files.ts` \| .* \| caught +\| t +\| +5 \|/);
 * ```
 */
export function markdownReport(
  record: PassRecord,
  mutations: readonly Mutation[] = MUTATIONS,
): string {
  const byId = new Map(mutations.map((m) => [m.id, m]));
  const { outcomes } = record;
  const count = (list: readonly Outcome[], r: Outcome["result"]) =>
    list.filter((o) => o.result === r).length;
  const modules = new Map<string, Outcome[]>();
  for (const o of outcomes) modules.set(o.file, [...(modules.get(o.file) ?? []), o]);
  const minutes = Math.round(record.seconds / 60);
  const { cpu, cores, os } = record.machine;
  const survivors = outcomes.filter((o) => o.result !== "caught" && o.result !== "equivalent");
  const lines = [
    "# Mutation pass: results",
    "",
    "Written by `deno run -A tests/mutation/run.ts" +
    (record.only.length > 0 ? ` --only ${record.only.join(",")}` : "") +
    " --report tests/mutation/results.md` (see tests/README.md); do not edit by hand.",
    "",
    `Run started ${record.date} at commit ${record.commit}, on ${cpu} (${cores} cores, ${os}), ` +
    `Deno ${record.deno}: ${outcomes.length} mutations in ${minutes} minutes, baseline included.`,
    "",
    `**${count(outcomes, "caught")} caught, ${count(outcomes, "survived")} survived, ` +
    `${count(outcomes, "equivalent")} equivalent, ${count(outcomes, "stale")} stale, ` +
    `${count(outcomes, "invalid")} invalid.**`,
    "",
    "## By module",
    "",
    layoutTable(
      [
        ["module"],
        ["mutations", "right"],
        ["caught", "right"],
        ["survived", "right"],
        ["equivalent", "right"],
        ["stale or invalid", "right"],
      ],
      [...modules].sort(([a], [b]) => a.localeCompare(b)).map(([file, list]) => [
        `\`${file}\``,
        `${list.length}`,
        ...(["caught", "survived", "equivalent"] as const).map((r) => `${count(list, r)}`),
        `${count(list, "stale") + count(list, "invalid")}`,
      ]),
    ),
    "",
    "## Equivalent mutants",
    "",
    "No test can tell these from the original; each still runs, and survives as expected.",
    "",
    ...outcomes.filter((o) => o.result === "equivalent").map((o) =>
      `- \`${o.id}\` (\`${o.file}\`): ${byId.get(o.id)?.equivalent ?? "(no reason recorded)"}`
    ),
    "",
    "## Survived, stale or invalid",
    "",
    ...(survivors.length === 0
      ? ["None."]
      : survivors.map((o) =>
        `- \`${o.id}\` (\`${o.file}\`), ${o.result}: ${byId.get(o.id)?.breaks ?? ""}`
      )),
    "",
    "## Every mutation",
    "",
    layoutTable(
      [["id"], ["file"], ["the bug"], ["result"], ["first failing test"], ["seconds", "right"]],
      outcomes.map((o) => [
        `\`${o.id}\``,
        `\`${o.file}\``,
        cell(byId.get(o.id)?.breaks ?? ""),
        o.result,
        cell(o.failed[0]?.replace(/^file:\/\/.*?\/mutation-[^/]+\//, "") ?? ""),
        `${o.seconds}`,
      ]),
    ),
    "",
  ];
  return lines.join("\n");
}

/** The mutations as a Markdown table, for tests/README.md. */
export function markdownTable(mutations: readonly Mutation[]): string {
  const lines = [
    "| id | file | the bug | tests run |",
    "| -- | ---- | ------- | --------- |",
    ...mutations.map((m) =>
      `| \`${m.id}\` | \`${m.file}\` | ${cell(m.breaks)}${
        m.equivalent ? ` (equivalent: ${cell(m.equivalent)})` : ""
      } | ${testsFor(m).map((t) => `\`${t.replace(/^tests\//, "")}\``).join(", ")} |`
    ),
  ];
  return lines.join("\n");
}

/**
 * Writes the page of `record` to `path`, laid out by `deno fmt` as the repository's `deno task
 * check` expects (its line width wraps the longer sentences).
 */
async function writeReport(path: string, record: PassRecord): Promise<void> {
  // Through standard input, in the repository: its configuration applies wherever the page goes
  // (outputs/, which deno fmt excludes, or outside the repository), and nothing is written unlaid.
  const fmt = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--ext=md", "-"],
    cwd: REPO,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = fmt.stdin.getWriter();
  await writer.write(new TextEncoder().encode(markdownReport(record)));
  await writer.close();
  const out = await fmt.output();
  if (!out.success) {
    throw new Error(
      `deno fmt could not lay out the page for ${path}: ` +
        new TextDecoder().decode(out.stderr).trim(),
    );
  }
  await Deno.writeFile(path, out.stdout);
}

/** Reads a run that `--out` wrote, refusing a file that is not one, by name. */
export async function readPassRecord(path: string): Promise<PassRecord> {
  let record: PassRecord;
  try {
    record = JSON.parse(await Deno.readTextFile(path));
  } catch (error) {
    throw new Error(`Cannot read ${path} as JSON (${(error as Error).message}).`);
  }
  if (
    typeof record !== "object" || record === null || !Array.isArray(record.outcomes) ||
    typeof record.commit !== "string" || typeof record.date !== "string"
  ) {
    throw new Error(
      `${path} is not a run of the mutation pass (no date, commit and outcomes): write one ` +
        "with tests/mutation/run.ts --out.",
    );
  }
  return record;
}

async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        only: { type: "string" },
        list: { type: "boolean" },
        "no-baseline": { type: "boolean" },
        verbose: { type: "boolean" },
        timeout: { type: "string", default: "600" },
        out: { type: "string" },
        report: { type: "string" },
        from: { type: "string" },
        repo: { type: "string", default: REPO },
        help: { type: "boolean" },
      },
    });
  } catch (error) {
    console.error(`Error: ${error instanceof Error ? error.message : error}. See --help.`);
    return 2;
  }
  const { values } = parsed;
  if (values.help) {
    console.log(`Usage: deno run -A tests/mutation/run.ts [--only TEXT] [--list] [--no-baseline]
       [--timeout SECONDS] [--out results.json] [--report results.md] [--repo DIR]
       deno run -A tests/mutation/run.ts --from results.json --report results.md

  --only TEXT     only the mutations whose id or file contains TEXT (comma-separated: any of them)
  --list          print the mutations as a Markdown table and exit
  --no-baseline   skip running the selected test files unmutated first (all at once, --parallel)
  --verbose       print the output of every test run
  --timeout S     seconds per mutation before it counts as caught by a hang (default 600)
  --out FILE      also write the run (date, commit, machine) and every outcome as JSON
  --report FILE   also write the results as a Markdown page (tests/mutation/results.md)
  --from FILE     run nothing: write --report from a JSON file that --out wrote
  --repo DIR      the repository to copy (default: the one holding this script)`);
    return 0;
  }
  const filters = values.only?.split(",").map((s) => s.trim()).filter(Boolean) ?? [];
  const selected = MUTATIONS.filter((m) =>
    filters.length === 0 || filters.some((f) => m.id.includes(f) || m.file.includes(f))
  );
  if (values.list) {
    console.log(markdownTable(selected));
    return 0;
  }
  if (values.from !== undefined) {
    if (values.report === undefined) {
      console.error("Error: --from writes a report: add --report FILE.");
      return 2;
    }
    const record = await readPassRecord(values.from);
    await writeReport(values.report, record);
    console.log(`Wrote ${values.report} from ${values.from}.`);
    return 0;
  }
  const timeout = Number(values.timeout);
  if (!(timeout > 0)) {
    console.error(`Error: --timeout must be a number of seconds, got "${values.timeout}".`);
    return 2;
  }
  if (selected.length === 0) {
    console.error(`Error: no mutation matches --only "${values.only}". See --list.`);
    return 2;
  }
  const started = new Date();
  const commit = await gitCommit(values.repo);
  const dir = await scratchCopy(values.repo);
  console.error(`Scratch copy of ${values.repo}: ${dir}`);
  try {
    if (!values["no-baseline"]) {
      // Every selected test file and module at once, side by side as `deno task test` runs
      // them: each test module runs on its own, so passing together means passing in any group.
      const files = [...new Set(selected.flatMap(testFilesFor))].sort();
      const run = await runTests(dir, files, timeout);
      if (!run.passed) {
        console.error(run.output.slice(-3000));
        console.error(
          `Error: ${run.failed.join("; ") || "a test file"} fails without any mutation, so the ` +
            "tests cannot judge them. Fix it first (or pass --no-baseline to skip this check).",
        );
        return 1;
      }
      console.error(`baseline: ${files.length} test files and modules pass`);
    }
    const outcomes: Outcome[] = [];
    for (const mutation of selected) {
      const { output, ...outcome } = await tryMutation(dir, mutation, timeout);
      outcomes.push(outcome);
      if (values.verbose) console.log(output);
      const why = outcome.result === "caught"
        ? `by ${outcome.failed.slice(0, 2).join("; ") || "a failing test file"}`
        : outcome.result === "survived"
        ? `<- ${mutation.breaks}`
        : outcome.result === "equivalent"
        ? `(equivalent: ${mutation.equivalent})`
        : outcome.result === "invalid"
        ? `(does not type-check)\n${output.slice(0, 600)}`
        : "(snippet not found exactly once: update tests/mutation/mutations.ts)";
      console.log(
        `${outcome.result.padEnd(8)} ${mutation.id.padEnd(34)} ${outcome.seconds}s ${why}`,
      );
    }
    const count = (r: Outcome["result"]) => outcomes.filter((o) => o.result === r).length;
    console.log(
      `\n${outcomes.length} mutations: ${count("caught")} caught, ${count("survived")} survived` +
        `, ${count("equivalent")} equivalent (survived as expected), ${count("stale")} stale, ` +
        `${count("invalid")} invalid.`,
    );
    const byModule = new Map<string, Outcome[]>();
    for (const o of outcomes) byModule.set(o.file, [...(byModule.get(o.file) ?? []), o]);
    for (const [file, list] of [...byModule].sort()) {
      const caught = list.filter((o) => o.result === "caught").length;
      console.log(`  ${file.padEnd(36)} ${caught}/${list.length} caught`);
    }
    const record: PassRecord = {
      date: started.toISOString().replace(/\.\d+Z$/, "Z"),
      commit,
      machine: machineInfo(),
      deno: Deno.version.deno,
      seconds: Math.round((Date.now() - started.getTime()) / 1000),
      only: filters,
      outcomes,
    };
    if (values.out) {
      await Deno.writeTextFile(values.out, JSON.stringify(record, null, 2) + "\n");
      console.log(`Wrote ${relative(Deno.cwd(), values.out) || values.out}.`);
    }
    if (values.report) {
      await writeReport(values.report, record);
      console.log(`Wrote ${relative(Deno.cwd(), values.report) || values.report}.`);
    }
    return outcomes.every((o) => o.result === "caught" || o.result === "equivalent") ? 0 : 1;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  Deno.exitCode = await main(Deno.args);
}
