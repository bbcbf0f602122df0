/**
 * The experiments behind the notebook's comparison table and the README's results:
 * `deno task experiments` trains each variant with each seed, writes each run's `metrics.json`,
 * model and `provenance.json` to `outputs/experiments/<variant>-<dataset>-seed<N>/`, then merges
 * the runs, each with its provenance (date, commit, machine, versions, threads, workers, command),
 * into the committed record `results/experiments.json` (mean ± sd over seeds per group), from
 * which `deno task results` writes the tables. A run already recorded or finished for the same
 * definition, dataset, settings, seed and commit is not trained again unless `--rerun`; a failing
 * run is reported, the others go on, and the exit code is 1.
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
import { DATASETS, loadMnist } from "../lib/data/mnist.ts";
import { disposeModel } from "../lib/models/model.ts";
import {
  getVariant,
  isVariantName,
  VARIANT_NAMES,
  variantFingerprint,
} from "../lib/models/variants.ts";
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
  gitState,
  mergeRecorded,
  readRecorded,
  readRuns,
  RECORDED_RESULTS_PATH,
  type RecordedResults,
  type RecordedRun,
  type RunProvenance,
  runProvenance,
  summarizeRuns,
  writeRecorded,
} from "../lib/training/experiment_summary.ts";
import { readJsonFile } from "../lib/json_file.ts";
import { saveRun } from "../lib/training/run_metrics.ts";
import { setupWasmBackend, shutdownWasmBackend } from "../lib/engine/mod.ts";
import { inTutorialTerms } from "../lib/training/engine_errors.ts";

/** The command line: the table's parameters and the program's own flags. */
export const EXPERIMENTS_PROGRAM = {
  table: RUN_PARAMETERS,
  command: "deno task experiments",
  summary: `Trains every variant (--variants) with every seed (--seeds) on the wasm backend, one
run folder each under --runs (metrics.json, model/, provenance.json). A run already in --record or
finished under --runs for the same definition, dataset, settings, seed and commit is kept, not
trained again (--rerun trains it again). Then merges the runs, each with its provenance (date,
commit, machine, Deno and tfjs versions, threads, workers, training time, command), into --record,
the file the notebook's comparison and deno task results show. Each variant trains for its own
epochs. A failing run is reported and the others go on.`,
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
    { flag: "rerun", help: "train again the runs already recorded or finished at this commit" },
  ],
  epilogue: `Also read: DATA_MIRROR, a folder or URL holding <dataset>/<file>.gz.
On 2 idle cores, one run takes from about 1 minute (baseline) to about 10 minutes (deep_tta).

Then: deno task results, to write the README tables from --record.

Exit codes: 0 done, 1 a run failed or a run folder could not be read (the others are recorded;
the summary names each), 2 bad flags (nothing was trained).`,
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
  rerun: boolean;
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
 * import { VARIANT_NAMES } from "../lib/models/variants.ts";
 * assert.equal(parseExperimentsArgs([], { env: {} }).parameters.variants.length, VARIANT_NAMES.length);
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
    rerun: parsed.flags.rerun === true,
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
    const record = await readRecorded(options.record);
    const trained = options.summarizeOnly ? undefined : await train(options, record);
    const read = await readRuns(options.runs);
    const runs = await ofCurrentDefinitions(
      read.runs.filter((run) =>
        trained === undefined || trained.folders.includes(run.folder ?? "")
      ),
    );
    const groups = summarizeRuns(runs);
    await writeRecorded(mergeRecorded(record, groups), options.record);
    for (const group of groups) console.log(formatGroup(group));
    console.log(
      `Merged ${runs.length} run(s) into ${options.record}; deno task results writes ` +
        "the README tables from it.",
    );
    const problems = read.problems.filter((p) =>
      trained === undefined || trained.folders.includes(p.folder)
    );
    const failures = [...trained?.failures ?? [], ...problems.map((p) => p.message)];
    if (failures.length === 0) return 0;
    console.error(
      `${failures.length} problem(s); the other runs are recorded:\n` +
        failures.map((f) => `  - ${f}`).join("\n"),
    );
    return 1;
  } catch (caught) {
    const error = await inTutorialTerms(caught);
    console.error(`Error: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    await lock.release();
    shutdownWasmBackend();
  }
}

/** The runs of today's variant definitions; each other one is named and left out of the record. */
async function ofCurrentDefinitions(runs: readonly RecordedRun[]): Promise<RecordedRun[]> {
  const current: RecordedRun[] = [];
  for (const run of runs) {
    const name = run.metrics.variant;
    if (
      isVariantName(name) &&
      run.provenance.fingerprint === await variantFingerprint(getVariant(name))
    ) {
      current.push(run);
    } else {
      console.error(`${run.folder}: a run of an earlier definition of ${name}, not recorded.`);
    }
  }
  return current;
}

/** A run to make: its folder, variant, seed and the command that makes it alone. */
interface PlannedRun {
  name: string;
  folder: string;
  variant: typeof VARIANT_NAMES[number];
  seed: number;
  fingerprint: string;
  command: string;
}

/**
 * Trains the runs not recorded or finished yet, each failure reported and the next run tried;
 * returns the folders to merge and a sentence per failed run.
 */
async function train(
  options: ExperimentsOptions,
  record: RecordedResults,
): Promise<{ folders: string[]; failures: string[] }> {
  const { dataset, threads, trainSamples } = options.parameters;
  const { todo, folders } = await plan(options, record);
  const failures: string[] = [];
  if (todo.length === 0) return { folders, failures };
  const backend = await setupWasmBackend({ threads });
  const data = await loadMnist({ dataset });
  for (const planned of todo) {
    try {
      await removeProvenance(planned.folder);
      const run = await runExperiment({
        batchSize: options.parameters.batchSize,
        validationSplit: options.parameters.validationSplit,
        trainSamples,
        data,
        variant: planned.variant,
        seed: planned.seed,
        backend,
        ...trainingProgress({ title: `${planned.variant} seed ${planned.seed}` }),
      });
      try {
        await saveRun(planned.folder, run.model, run.metrics);
        // Written last: a folder with provenance.json holds a finished run.
        const { fingerprint, command } = planned;
        await writeJson(
          join(planned.folder, "provenance.json"),
          await runProvenance({ fingerprint, command }),
        );
      } finally {
        disposeModel(run.model);
      }
    } catch (caught) {
      const error = await inTutorialTerms(caught);
      failures.push(`${planned.name} failed: ${error instanceof Error ? error.message : error}`);
      console.error(`${planned.name}: failed, going on with the next run.`);
    }
  }
  return { folders, failures };
}

/** Which runs to train, and the folders of every run asked for that is not kept in the record. */
async function plan(
  options: ExperimentsOptions,
  record: RecordedResults,
): Promise<{ todo: PlannedRun[]; folders: string[] }> {
  const { dataset, variants, trainSamples } = options.parameters;
  const state = await gitState();
  const todo: PlannedRun[] = [];
  const folders: string[] = [];
  for (const variant of variants) {
    const fingerprint = await variantFingerprint(getVariant(variant));
    const settings = expectedSettings(options, variant);
    for (const seed of options.seeds) {
      const name = `${variant}-${dataset}-seed${seed}` + (trainSamples ? `-n${trainSamples}` : "");
      const folder = join(options.runs, name);
      const recorded = record.groups.find((g) =>
        g.variant === variant && g.dataset === dataset && g.fingerprint === fingerprint &&
        JSON.stringify(g.settings) === JSON.stringify(settings)
      )?.runs.find((r) => r.seed === seed && r.commit === state.commit && r.dirty === state.dirty);
      if (recorded && !options.rerun) {
        console.error(
          `${name}: recorded at commit ${recorded.commit} in ${options.record}, kept ` +
            "(--rerun trains it again).",
        );
        continue;
      }
      folders.push(folder);
      const finished = await readProvenance(folder);
      if (
        !options.rerun && finished?.fingerprint === fingerprint &&
        finished.commit === state.commit && finished.dirty === state.dirty
      ) {
        console.error(`${name}: finished earlier, kept.`);
      } else {
        const command = runCommand(options, variant, seed);
        todo.push({ name, folder, variant, seed, fingerprint, command });
      }
    }
  }
  return { todo, folders };
}

/** The settings a run of `variant` records with these options, as `runExperiment` splits. */
function expectedSettings(options: ExperimentsOptions, variant: typeof VARIANT_NAMES[number]) {
  const p = options.parameters;
  const count = DATASETS[p.dataset].trainImages;
  const samples = Math.min(p.trainSamples ?? count, count);
  // As splitValidation: Keras splits at floor(n * (1 - fraction)).
  const train = Math.floor(samples * (1 - p.validationSplit));
  return {
    epochs: getVariant(variant).training.epochs,
    batch_size: p.batchSize,
    train_samples: train,
    validation_samples: samples - train,
  };
}

/**
 * The command that makes one run again: its variant and seed, and every parameter that differs
 * from the default, as flags (whether it was given as a flag or a variable).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseExperimentsArgs, runCommand } from "./experiments.ts";
 * const options = parseExperimentsArgs(["--dataset", "fashion-mnist", "--seeds", "1,2"], { env: {} });
 * assert.equal(runCommand(options, "deep", 2),
 *   "deno task experiments --variants deep --seeds 2 --dataset fashion-mnist");
 * ```
 */
export function runCommand(
  options: ExperimentsOptions,
  variant: string,
  seed: number,
): string {
  const defaults = parseExperimentsArgs([], { env: {} }).parameters;
  const p = options.parameters;
  const flags: [string, unknown, unknown][] = [
    ["dataset", p.dataset, defaults.dataset],
    ["batch-size", p.batchSize, defaults.batchSize],
    ["validation-split", p.validationSplit, defaults.validationSplit],
    ["train-samples", p.trainSamples, defaults.trainSamples],
    ["threads", p.threads, defaults.threads],
  ];
  const given = flags.filter(([, value, fallback]) => value !== undefined && value !== fallback);
  return [
    `${EXPERIMENTS_PROGRAM.command} --variants ${variant} --seeds ${seed}`,
    ...given.map(([flag, value]) => `--${flag} ${value}`),
  ].join(" ");
}

/** A finished run's `provenance.json`; undefined when there is none or it cannot be read. */
async function readProvenance(folder: string): Promise<RunProvenance | undefined> {
  try {
    return await readJsonFile<RunProvenance>(join(folder, "provenance.json"), {
      fields: { fingerprint: "string", commit: "string", dirty: "boolean" },
    }, "");
  } catch {
    return undefined; // trained again, which writes it anew
  }
}

/** Unmarks a run folder as finished before it is trained again. */
async function removeProvenance(folder: string): Promise<void> {
  try {
    await Deno.remove(join(folder, "provenance.json"));
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

if (import.meta.main) {
  Deno.exitCode = await main(Deno.args);
}
