/**
 * `deno task bench-compare`: training speed against PyTorch in one sitting. It alternates
 * `deno task bench` and `deno task bench-pytorch` (bench, torch, bench, torch, ...; `--rounds`
 * of each, default 3) on the same number of images and threads, so that both sides meet the same
 * moments of a shared, noisy machine, and prints ONE JSON line: every run's training images/s,
 * the best and median of each side, their ratios (ours over PyTorch's), how many runs of each were
 * slow, and where and with what it was measured.
 *
 * A run is **slow** when it makes less than {@linkcode SLOW_BELOW} (70%) of the best run of its own
 * side: on this 2-core host PyTorch's OpenMP threads stall when the host takes a core away, and
 * such runs say more about the host than about the code, so they are counted, not hidden.
 *
 * @example
 * ```sh
 * DATA_MIRROR=/work/shared deno task bench-compare --rounds 3
 * ```
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { gitCommit, machineInfo } from "../lib/machine.ts";
import { median } from "../lib/statistics.ts";

/** The repository, whose `deno.json` defines the tasks run. */
const REPOSITORY = fileURLToPath(new URL("..", import.meta.url));

/** Below this fraction of its side's best run, a run counts as slow. */
export const SLOW_BELOW = 0.7;

/** One side's runs, summarized. */
export interface SideSummary {
  /** Training images/s of every run, in the order run. */
  runs: number[];
  best: number;
  median: number;
  /** Runs below {@linkcode SLOW_BELOW} of `best`. */
  slow: number;
}

/** Both sides, and ours over theirs. */
export interface Comparison {
  bench: SideSummary;
  pytorch: SideSummary;
  /** `bench.best / pytorch.best`: above 1, ours is faster. */
  ratio_of_bests: number;
  /** `bench.median / pytorch.median`. */
  ratio_of_medians: number;
}

/**
 * Best, median and slow runs of one side.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { summarizeSide } from "./bench_compare.ts";
 * assert.deepEqual(summarizeSide([3585, 1381, 4413]), {
 *   runs: [3585, 1381, 4413], best: 4413, median: 3585, slow: 1,
 * });
 * ```
 */
export function summarizeSide(runs: readonly number[]): SideSummary {
  if (runs.length === 0 || runs.some((x) => !Number.isFinite(x) || x <= 0)) {
    throw new RangeError(
      `Training speeds must be positive numbers, at least one: got [${runs.join(", ")}].`,
    );
  }
  const best = Math.max(...runs);
  return {
    runs: [...runs],
    best,
    median: median(runs),
    slow: runs.filter((x) => x < SLOW_BELOW * best).length,
  };
}

/**
 * The comparison of our runs (`bench`) with PyTorch's, ratios rounded to 3 digits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compareRuns } from "./bench_compare.ts";
 * const c = compareRuns([3885, 3226, 3815], [3585, 1381, 4413]);
 * assert.equal(c.ratio_of_bests, 0.88);
 * assert.equal(c.pytorch.slow, 1);
 * ```
 */
export function compareRuns(bench: readonly number[], pytorch: readonly number[]): Comparison {
  const ours = summarizeSide(bench);
  const theirs = summarizeSide(pytorch);
  const ratio = (a: number, b: number) => Math.round((a / b) * 1000) / 1000;
  return {
    bench: ours,
    pytorch: theirs,
    ratio_of_bests: ratio(ours.best, theirs.best),
    ratio_of_medians: ratio(ours.median, theirs.median),
  };
}

/** The flags: `--rounds N`, `--train-samples N`, `--threads N`, `--seed N`. */
export interface CompareOptions {
  rounds: number;
  trainSamples: number;
  threads: number;
  seed: number;
}

/**
 * Reads the flags, each `--name N` with a whole number of at least 1 (the seed: at least 0).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCompareArgs } from "./bench_compare.ts";
 * assert.equal(parseCompareArgs(["--rounds", "1"], 2).rounds, 1);
 * assert.throws(() => parseCompareArgs(["--rounds", "0"], 2), /--rounds "0" is not valid/);
 * ```
 */
export function parseCompareArgs(args: readonly string[], cores: number): CompareOptions {
  const options: CompareOptions = { rounds: 3, trainSamples: 12_800, threads: cores, seed: 42 };
  const names: Record<string, keyof CompareOptions> = {
    "--rounds": "rounds",
    "--train-samples": "trainSamples",
    "--threads": "threads",
    "--seed": "seed",
  };
  for (let i = 0; i < args.length; i += 2) {
    const key = names[args[i]];
    if (!Object.hasOwn(names, args[i])) {
      throw new RangeError(
        `Unknown flag ${args[i]}: deno task bench-compare takes ${
          Object.keys(names).join(", ")
        }, each followed by a whole number.`,
      );
    }
    const text = args[i + 1] ?? "";
    const value = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(value) || value < (key === "seed" ? 0 : 1)) {
      throw new RangeError(
        `${args[i]} "${text}" is not valid: give a whole number of at least ${
          key === "seed" ? 0 : 1
        }.`,
      );
    }
    options[key] = value;
  }
  return options;
}

/** Runs `deno task NAME args` and returns the JSON line it printed; its logs go to stderr. */
async function runTask(name: string, args: readonly string[]): Promise<Record<string, unknown>> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", name, ...args],
    cwd: REPOSITORY,
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  });
  const out = await child.output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    throw new Error(
      `deno task ${name} ${args.join(" ")} failed (exit code ${out.code}): see above.`,
    );
  }
  try {
    return JSON.parse(text.split("\n").at(-1) ?? "");
  } catch {
    throw new Error(`deno task ${name} printed no JSON line: ${JSON.stringify(text.slice(-300))}`);
  }
}

/** A measured speed from a task's JSON line, or an error naming the task and the field. */
function speed(result: Record<string, unknown>, task: string, field: string): number {
  const value = result[field];
  if (typeof value !== "number") {
    throw new Error(`deno task ${task} printed no number ${field}: ${JSON.stringify(result)}.`);
  }
  return value;
}

/** Alternates the two tasks and returns the JSON record. */
export async function compareInOneSitting(o: CompareOptions): Promise<Record<string, unknown>> {
  const common = ["--train-samples", `${o.trainSamples}`, "--threads", `${o.threads}`];
  const seed = ["--seed", `${o.seed}`];
  const bench: number[] = [];
  const pytorch: number[] = [];
  let last: { bench?: Record<string, unknown>; pytorch?: Record<string, unknown> } = {};
  const started = new Date();
  for (let round = 1; round <= o.rounds; round++) {
    console.error(`round ${round} of ${o.rounds}: deno task bench, then deno task bench-pytorch`);
    const ours = await runTask("bench", [...common, ...seed, "--predict", "1000"]);
    bench.push(speed(ours, "bench", "train_samples_per_s"));
    const theirs = await runTask("bench-pytorch", [...common, ...seed, "--no-evaluate"]);
    pytorch.push(speed(theirs, "bench-pytorch", "train_images_per_s"));
    last = { bench: ours, pytorch: theirs };
  }
  return {
    ...compareRuns(bench, pytorch),
    slow_below: SLOW_BELOW,
    rounds: o.rounds,
    train_samples: o.trainSamples,
    threads: o.threads,
    date: started.toISOString().replace(/\.\d+Z$/, "Z"), // when the sitting began
    ended: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    commit: await gitCommit(),
    machine: machineInfo(),
    deno_version: Deno.version.deno,
    tfjs_version: last.bench?.tfjs_version,
    workers: last.bench?.workers,
    torch_version: last.pytorch?.torch_version,
    blas: last.pytorch?.blas,
  };
}

/** What `--help` prints. */
export const COMPARE_HELP =
  `Usage: deno task bench-compare [--rounds N] [--train-samples N] [--threads N] [--seed N]

Alternates deno task bench and deno task bench-pytorch (bench, torch, bench, torch, ...), N rounds
of each, on the same images and threads, and prints one JSON line: every run's training images/s,
the best and median of each side, their ratios (ours over PyTorch's), and how many runs of each
were slow (below ${SLOW_BELOW * 100}% of their side's best). Run it alone on the machine.

  --rounds N         runs of each side (default 3)
  --train-samples N  images each run times (default 12800; PyTorch trains on 90% of them)
  --threads N        threads on each side (default: the logical cores)
  --seed N           the seed of both sides (default 42)
  --help             show this help

Exit codes: 0 done, 1 a run failed, 2 bad flags.`;

if (import.meta.main) {
  if (Deno.args.includes("--help")) {
    console.log(COMPARE_HELP);
    Deno.exit(0);
  }
  try {
    const options = parseCompareArgs(Deno.args, navigator.hardwareConcurrency);
    console.log(JSON.stringify(await compareInOneSitting(options)));
  } catch (error) {
    console.error(`Error: ${error instanceof Error ? error.message : String(error)}`);
    Deno.exitCode = error instanceof RangeError ? 2 : 1;
  }
}
