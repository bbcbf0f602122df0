/**
 * The README's result tables from `results/experiments.json`: `deno task results` writes them
 * between their markers in `README.md` and `results/README.md`; `--check` (run by
 * `deno task check`) writes nothing and fails when a table differs from the record, or when the
 * record holds a group of an earlier variant definition or figures that do not follow from its
 * runs; `--drop-stale` removes the groups of earlier definitions from the record first.
 *
 * @example
 * ```sh
 * deno task results                 # write the tables
 * deno task results --check         # exit 1, naming the file, when they differ
 * deno task results --drop-stale    # forget the records of earlier variant definitions
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { writeFileAtomically } from "../lib/files.ts";
import {
  dropStale,
  readRecorded,
  type RecordedResults,
  recordProblems,
  writeRecorded,
} from "../lib/training/experiment_summary.ts";
import {
  fillMarkers,
  headlineTable,
  type MarkedRegion,
  resultsTables,
} from "../lib/training/result_tables.ts";

/** The `--help` text. */
export const HELP = `Usage: deno task results [--check | --drop-stale] [--root DIR]

Writes the result tables of README.md and results/README.md, between their <!-- results:NAME -->
markers, from results/experiments.json (mean ± sample sd over seeds, per variant and dataset).

  --check       write nothing: exit 1, naming the file and what to run, when a table differs
                from the record or the record holds runs of an earlier variant definition
  --drop-stale  first remove the groups of earlier variant definitions from the record
  --root DIR    the repository (default: this one)

Exit codes: 0 done (or, with --check, all in step), 1 a difference or a problem, 2 bad flags.`;

/** The generated regions of each file, relative to the repository. */
export async function generatedRegions(
  record: RecordedResults,
): Promise<{ file: string; regions: MarkedRegion[] }[]> {
  return [
    { file: "README.md", regions: [{ name: "headline", text: await headlineTable(record) }] },
    {
      file: join("results", "README.md"),
      regions: [{ name: "tables", text: await resultsTables(record) }],
    },
  ];
}

/**
 * What `--check` finds in the repository at `root`, one sentence each: problems of the record,
 * then each file whose tables differ from it. Empty when all is in step.
 *
 * @example
 * ```ts ignore
 * import { checkResults } from "./results.ts";
 * console.log(await checkResults("."));
 * ```
 */
export async function checkResults(root: string): Promise<string[]> {
  const recordPath = join(root, "results", "experiments.json");
  const record = await readRecorded(recordPath);
  const problems = await recordProblems(record, join("results", "experiments.json"));
  for (const { file, regions } of await generatedRegions(record)) {
    const content = await Deno.readTextFile(join(root, file));
    if (fillMarkers(content, regions, file) !== content) {
      problems.push(
        `${file}: its result tables differ from results/experiments.json (a figure typed by ` +
          "hand, or a record added since): run deno task results to write them.",
      );
    }
  }
  return problems;
}

/** Writes the tables of every file from the record at `root`; returns the files changed. */
export async function writeResults(root: string): Promise<string[]> {
  const record = await readRecorded(join(root, "results", "experiments.json"));
  const changed: string[] = [];
  for (const { file, regions } of await generatedRegions(record)) {
    const path = join(root, file);
    const content = await Deno.readTextFile(path);
    const filled = fillMarkers(content, regions, file);
    if (filled === content) continue;
    await writeFileAtomically(path, new TextEncoder().encode(filled));
    changed.push(file);
  }
  return changed;
}

/**
 * Runs the program with `args`; returns the exit code.
 *
 * @example
 * ```ts ignore
 * import { main } from "./results.ts";
 * Deno.exitCode = await main(["--check"]);
 * ```
 */
export async function main(args: readonly string[]): Promise<number> {
  let flags;
  try {
    flags = parseArgs({
      args: [...args],
      options: {
        check: { type: "boolean" },
        "drop-stale": { type: "boolean" },
        root: { type: "string" },
        help: { type: "boolean" },
      },
    }).values;
  } catch (error) {
    console.error(`${(error as Error).message}. See deno task results --help.`);
    return 2;
  }
  if (flags.help) return console.log(HELP), 0;
  const root = flags.root ?? fileURLToPath(new URL("..", import.meta.url));
  try {
    if (flags.check) {
      const problems = await checkResults(root);
      for (const problem of problems) console.error(problem);
      return problems.length === 0 ? 0 : 1;
    }
    if (flags["drop-stale"]) {
      const path = join(root, "results", "experiments.json");
      const record = await readRecorded(path);
      const kept = await dropStale(record);
      await writeRecorded(kept, path);
      console.log(`Dropped ${record.groups.length - kept.groups.length} group(s) from ${path}.`);
    }
    const changed = await writeResults(root);
    console.log(changed.length ? `Wrote ${changed.join(", ")}.` : "The tables were in step.");
    const problems = await recordProblems(
      await readRecorded(join(root, "results", "experiments.json")),
      join("results", "experiments.json"),
    );
    for (const problem of problems) console.error(problem);
    return problems.length === 0 ? 0 : 1;
  } catch (error) {
    console.error(`Error: ${(error as Error).message}`);
    return 1;
  }
}

if (import.meta.main) {
  Deno.exitCode = await main(Deno.args);
}
