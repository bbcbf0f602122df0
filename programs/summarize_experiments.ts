/**
 * Gathers the `metrics.json` of trainer runs into one table with the mean and standard deviation
 * over seeds: `deno task summarize-experiments [RUNS_DIR] [OUT_JSON]`. The README's "mean ± sd"
 * figures come from it.
 *
 * @example
 * ```sh
 * for seed in 1 2 3; do
 *   deno task train --variant baseline --seed $seed --out outputs/experiments/baseline-mnist-$seed
 * done
 * deno task summarize-experiments outputs/experiments outputs/experiments.json
 * ```
 *
 * @module
 */
import { writeJson } from "../lib/files.ts";
import { USAGE_EXIT_CODE } from "../lib/parameters.ts";
import { formatGroup, readRuns, summarizeRuns } from "../lib/training/experiment_summary.ts";

/** The `--help` text. */
export const HELP = `Usage: deno task summarize-experiments [RUNS_DIR] [OUT_JSON]

Reads RUNS_DIR/*/metrics.json (one folder per run, as deno task train --out writes them), prints
the mean and sample standard deviation of each variant's test accuracy and loss over seeds, and
writes every run and group to OUT_JSON.

  RUNS_DIR   default outputs/experiments
  OUT_JSON   default outputs/experiments.json
`;

/**
 * Runs the summary with `args`; returns the exit code.
 *
 * @example
 * ```ts ignore
 * import { main } from "./summarize_experiments.ts";
 * Deno.exitCode = await main(["outputs/experiments"]);
 * ```
 */
export async function main(args: readonly string[]): Promise<number> {
  if (args.includes("--help")) {
    console.log(HELP);
    return 0;
  }
  if (args.length > 2 || args.some((arg) => arg.startsWith("-"))) {
    console.error(`Error: expected at most RUNS_DIR and OUT_JSON, got: ${args.join(" ")}.`);
    console.error("See deno task summarize-experiments --help.");
    return USAGE_EXIT_CODE;
  }
  const [dir = "outputs/experiments", out = "outputs/experiments.json"] = args;
  try {
    const summary = summarizeRuns(await readRuns(dir));
    await writeJson(out, { generated: new Date().toISOString(), ...summary });
    for (const group of summary.groups) console.log(formatGroup(group));
    console.log(`Wrote ${out} (${summary.runs.length} runs).`);
    return 0;
  } catch (error) {
    console.error(`Error: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

if (import.meta.main) {
  Deno.exitCode = await main(Deno.args);
}
