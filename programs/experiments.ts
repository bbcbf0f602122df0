/**
 * The experiments behind the notebook's comparison table: `deno task experiments` trains each
 * variant with each seed (skipping runs already finished), writes each run's `metrics.json`,
 * model and `provenance.json` to `outputs/experiments/<variant>-<dataset>-seed<N>/`, then merges
 * the mean ± sd over seeds, with the provenance of the runs (date, commit, machine, versions,
 * seeds), into the committed record `results/experiments.json` that the notebook reads.
 *
 * @example
 * ```sh
 * DATA_MIRROR=/work/shared deno task experiments                       # every variant, seeds 1-3
 * deno task experiments --variants tuned,deep --seeds 1
 * deno task experiments --summarize-only                               # no training
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { writeJson } from "../lib/files.ts";
import { lockOutputDir } from "../lib/run_lock.ts";
import { loadMnist } from "../lib/data/mnist.ts";
import { disposeModel } from "../lib/models/model.ts";
import { VARIANT_NAMES, variantFingerprint } from "../lib/models/variants.ts";
import {
  helpText,
  parseProgramArgs,
  type ProgramSpec,
  startProgram,
  USAGE_EXIT_CODE,
  UsageError,
} from "../lib/command_line.ts";
import { ParameterError, type ParameterName, parseWholeNumber } from "../lib/parameters.ts";
import { RUN_PARAMETERS, type RunParameters } from "../lib/training/run_parameters.ts";
import { trainingProgress } from "../lib/display/progress.ts";
import { runExperiment } from "../lib/training/experiment.ts";
import {
  formatGroup,
  mergeRecorded,
  readRecorded,
  readRuns,
  RECORDED_RESULTS_PATH,
  runProvenance,
  summarizeRuns,
  writeRecorded,
} from "../lib/training/experiment_summary.ts";
import { saveRun } from "../lib/training/run_metrics.ts";
import { setupWasmBackend, shutdownWasmBackend } from "../lib/engine/mod.ts";
import { inTutorialTerms } from "../lib/training/engine_errors.ts";

/** The command line: the table's parameters and the program's own flags. */
export const EXPERIMENTS_PROGRAM = {
  table: RUN_PARAMETERS,
  command: "deno task experiments",
  summary: `Trains every variant (--variants) with every seed (--seeds) on the wasm backend, one
run folder each under --runs (metrics.json, model/, provenance.json); runs already finished are
kept, not trained again. Then merges the mean ± sd over seeds of those runs, with their provenance
(date, commit, machine, Deno and tfjs versions, seeds), into --record, the file the notebook's
comparison shows. Each variant trains for its own epochs.`,
  parameters: [
    "dataset",
    "variants",
    "batchSize",
    "validationSplit",
    "trainSamples",
    "threads",
  ],
  defaults: { variants: { value: VARIANT_NAMES, text: "all" } },
  flags: [
    { flag: "seeds", valueName: "LIST", help: "the seeds, comma-separated", defaultText: "1,2,3" },
    {
      flag: "runs",
      valueName: "DIR",
      help: "where run folders go",
      defaultText: "outputs/experiments",
    },
    {
      flag: "record",
      valueName: "FILE",
      help: "the record to merge the results into",
      defaultText: "results/experiments.json",
    },
    {
      flag: "summarize-only",
      help: "train nothing: merge every finished run under --runs into --record",
    },
  ],
  epilogue: `Also read: DATA_MIRROR, a folder or URL holding <dataset>/<file>.gz.
On 2 cores, one run takes from ~3 minutes (baseline) to ~15 minutes (deep) when alone.

Exit codes: 0 done, 1 a run failed, 2 bad flags (nothing was trained).`,
} as const satisfies ProgramSpec<ParameterName>;

/** The `--help` text. */
export const HELP: string = helpText(EXPERIMENTS_PROGRAM);

/** The options, parsed and checked. */
export interface ExperimentsOptions {
  help: boolean;
  parameters: Pick<RunParameters, typeof EXPERIMENTS_PROGRAM.parameters[number]>;
  seeds: number[];
  runs: string;
  record: string;
  summarizeOnly: boolean;
  warnings: string[];
}

/**
 * Parses and checks the command line without doing any work.
 *
 * @throws {UsageError} for an unknown flag, a bad value or a bad seed list.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseExperimentsArgs } from "./experiments.ts";
 * const options = parseExperimentsArgs(["--variants", "deep", "--seeds", "1,2"], { env: {} });
 * assert.deepEqual(options.parameters.variants, ["deep"]);
 * assert.deepEqual(options.seeds, [1, 2]);
 * assert.equal(parseExperimentsArgs([], { env: {} }).parameters.variants.length, 5);
 * assert.throws(() => parseExperimentsArgs(["--seeds", "1,x"], { env: {} }), /--seeds "1,x"/);
 * ```
 */
export function parseExperimentsArgs(
  args: readonly string[],
  options: { env?: Record<string, string | undefined> } = {},
): ExperimentsOptions {
  const parsed = parseProgramArgs(EXPERIMENTS_PROGRAM, args, options);
  const text = (flag: string, fallback: string) => {
    const value = parsed.flags[flag];
    return typeof value === "string" ? value : fallback;
  };
  const seedsText = text("seeds", "1,2,3");
  let seeds: number[];
  try {
    seeds = [
      ...new Set(seedsText.split(",").map((s) => parseWholeNumber(s.trim(), { min: 0 }))),
    ];
  } catch (error) {
    if (!(error instanceof ParameterError)) throw error;
    throw new UsageError(
      `--seeds "${seedsText}" is not valid: ${error.message}, separated by commas. ` +
        `See ${EXPERIMENTS_PROGRAM.command} --help.`,
    );
  }
  return {
    help: parsed.help,
    parameters: parsed.parameters,
    seeds,
    runs: text("runs", "outputs/experiments"),
    record: text("record", RECORDED_RESULTS_PATH),
    summarizeOnly: parsed.flags["summarize-only"] === true,
    warnings: parsed.warnings,
  };
}

/**
 * Runs the experiments with `args`; returns the exit code.
 *
 * @example
 * ```ts ignore
 * import { main } from "./experiments.ts";
 * Deno.exitCode = await main(["--variants", "tuned", "--seeds", "1"]);
 * ```
 */
export async function main(args: readonly string[]): Promise<number> {
  const options = await startProgram({
    parse: () => parseExperimentsArgs(args),
    help: HELP,
    outputDir: (o) => o.runs,
  });
  if (typeof options === "number") return options;
  // A second run into the same folder stops here, before any work, instead of mixing files.
  const lock = await lockOutputDir(options.runs, "deno task experiments").catch((error) =>
    error as Error
  );
  if (lock instanceof Error) {
    console.error(`Error: ${lock.message}`);
    return USAGE_EXIT_CODE;
  }
  try {
    const folders = options.summarizeOnly ? undefined : await train(options);
    const runs = (await readRuns(options.runs)).filter((run) =>
      folders === undefined || folders.includes(run.folder ?? "")
    );
    const groups = summarizeRuns(runs);
    await writeRecorded(mergeRecorded(await readRecorded(options.record), groups), options.record);
    for (const group of groups) console.log(formatGroup(group));
    console.log(`Merged ${runs.length} run(s) into ${options.record}.`);
    return 0;
  } catch (caught) {
    const error = await inTutorialTerms(caught);
    console.error(`Error: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    await lock.release();
    shutdownWasmBackend();
  }
}

/** Trains the runs not finished yet; returns the folders of every run asked for. */
async function train(options: ExperimentsOptions): Promise<string[]> {
  const { dataset, variants, threads, trainSamples } = options.parameters;
  const folders: string[] = [];
  const todo: { folder: string; variant: typeof variants[number]; seed: number }[] = [];
  for (const variant of variants) {
    for (const seed of options.seeds) {
      const name = `${variant}-${dataset}-seed${seed}` + (trainSamples ? `-n${trainSamples}` : "");
      const folder = join(options.runs, name);
      folders.push(folder);
      if (await exists(join(folder, "provenance.json"))) {
        console.error(`${name}: finished earlier, kept.`);
      } else {
        todo.push({ folder, variant, seed });
      }
    }
  }
  if (todo.length === 0) return folders;
  const backend = await setupWasmBackend({ threads });
  const data = await loadMnist({ dataset });
  for (const { folder, variant, seed } of todo) {
    const run = await runExperiment({
      batchSize: options.parameters.batchSize,
      validationSplit: options.parameters.validationSplit,
      trainSamples,
      data,
      variant,
      seed,
      backend,
      ...trainingProgress({ title: `${variant} seed ${seed}` }),
    });
    try {
      await saveRun(folder, run.model, run.metrics);
      // Written last: a folder with provenance.json holds a finished run.
      await writeJson(
        join(folder, "provenance.json"),
        await runProvenance({ fingerprint: await variantFingerprint(run.variant) }),
      );
    } finally {
      disposeModel(run.model);
    }
  }
  return folders;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

if (import.meta.main) {
  Deno.exitCode = await main(Deno.args);
}
