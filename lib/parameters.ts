/**
 * The one front door for the run's parameters: a table of every knob (its name, environment
 * variable, command-line flag, default, check and help line) that the notebook and every program
 * read. A flag, its variable and its error message are therefore the same everywhere, and each
 * program's `--help` is generated from the table.
 *
 * Precedence: an explicit value (an option passed in code, or a flag) beats the environment, which
 * beats the default. Nothing here writes to `Deno.env`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { checkWritableDir } from "./files.ts";
import { type DatasetName, DATASETS, isDatasetName } from "./data/mnist.ts";
import { trainingCount } from "./data/preprocess.ts";
import { getVariant, VARIANT_NAMES, type VariantName, VARIANTS } from "./models/variants.ts";
import { logicalCores } from "./engine/mod.ts";

/** Every value the table knows, after checking. */
export interface ParameterValues {
  /** `DATASET`, `--dataset`: `mnist` or `fashion-mnist`. */
  dataset: DatasetName;
  /** `VARIANT`, `--variant`: the model and its training; `baseline` is the tutorial's CNN. */
  variant: VariantName;
  /**
   * `VARIANTS`, `--variants`: the variants to train now (the notebook's comparison, `deno task
   * experiments`); the comparison shows recorded results for the others. Default: none.
   */
  variants: readonly VariantName[];
  /** `EPOCHS`, `--epochs`: default the variant's own (5 for `baseline`). */
  epochs: number;
  /** `BATCH_SIZE`, `--batch-size`: images per training step. */
  batchSize: number;
  /** `VALIDATION_SPLIT`, `--validation-split`: the fraction held out from the end. */
  validationSplit: number;
  /** `SEED`, `--seed`: fixes initial weights, shuffling, Dropout and augmentation. */
  seed: number;
  /** `TRAIN_SAMPLES`, `--train-samples`: the first N training images only; undefined: all. */
  trainSamples: number | undefined;
  /** `WASM_THREADS`, `--threads`: WebAssembly threads; default one per core. */
  threads: number;
}

/** A parameter's name in code, such as `batchSize`. */
export type ParameterName = keyof ParameterValues;

/** One row of the table. */
export interface ParameterSpec<K extends ParameterName = ParameterName> {
  name: K;
  /** The environment variable, such as `BATCH_SIZE`. */
  env: string;
  /** The command-line flag without its dashes, such as `batch-size`. */
  flag: string;
  /** What the flag's value is called in `--help`, such as `N`. */
  valueName: string;
  /** One line for `--help` and the README. */
  help: string;
  /** The default as `--help` shows it. */
  defaultText: string;
  /** The default, which may depend on the values read before it (epochs on the variant). */
  defaultValue(values: Partial<ParameterValues>): ParameterValues[K];
  /**
   * Turns a text into a value, or throws a {@linkcode ParameterError} whose message is the
   * problem ("give a whole number of at least 1"), without the variable's name: the front door
   * adds `EPOCHS="x"` or `--epochs "x"`, depending on where the text came from.
   */
  parse(text: string): ParameterValues[K];
}

/** A value that cannot be used. The message names the variable or flag and says what to give. */
export class ParameterError extends RangeError {
  override name = "ParameterError";
}

/** The largest seed: seeds feed 32-bit generators. */
const MAX_SEED = 2 ** 32 - 1;

/**
 * Parses a whole number from `min` to `max`.
 *
 * @throws {ParameterError} saying which numbers are accepted.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseWholeNumber } from "./parameters.ts";
 * assert.equal(parseWholeNumber("3", { min: 1 }), 3);
 * assert.throws(() => parseWholeNumber("2.5", { min: 1 }), /whole number of at least 1/);
 * ```
 */
export function parseWholeNumber(text: string, range: { min: number; max?: number }): number {
  const value = Number(text);
  const { min, max } = range;
  if (
    !/^\+?\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min ||
    (max !== undefined && value > max)
  ) {
    throw new ParameterError(
      max === undefined
        ? `give a whole number of at least ${min}`
        : `give a whole number from ${min} to ${max}`,
    );
  }
  return value;
}

/**
 * Parses a list of variants: `all`, `none`, or names separated by commas (each once, in catalogue
 * order).
 *
 * @throws {ParameterError} naming an unknown variant and the known ones.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseVariantList } from "./parameters.ts";
 * assert.deepEqual(parseVariantList("deep, tuned"), ["tuned", "deep"]);
 * assert.equal(parseVariantList("all").length, 5);
 * assert.deepEqual(parseVariantList("none"), []);
 * assert.throws(() => parseVariantList("tuned,huge"), /no model variant "huge"/);
 * ```
 */
export function parseVariantList(text: string): VariantName[] {
  const words = text.split(",").map((word) => word.trim()).filter((word) => word !== "");
  if (words.length === 1 && words[0] === "all") return [...VARIANT_NAMES];
  if (words.length === 0 || (words.length === 1 && words[0] === "none")) return [];
  const names = new Set<VariantName>();
  for (const word of words) {
    try {
      names.add(getVariant(word).name);
    } catch (error) {
      throw new ParameterError(
        `${error instanceof Error ? error.message : String(error)} Or give all or none`,
      );
    }
  }
  return VARIANT_NAMES.filter((name) => names.has(name));
}

/** The table: every parameter, in the order `--help` lists them. */
export const PARAMETERS: { readonly [K in ParameterName]: ParameterSpec<K> } = {
  dataset: {
    name: "dataset",
    env: "DATASET",
    flag: "dataset",
    valueName: "NAME",
    help: "mnist or fashion-mnist (the same pipeline, with Fashion-MNIST's class names)",
    defaultText: "mnist",
    defaultValue: () => "mnist",
    parse(text) {
      if (!isDatasetName(text)) throw new ParameterError("use mnist or fashion-mnist");
      return text;
    },
  },
  variant: {
    name: "variant",
    env: "VARIANT",
    flag: "variant",
    valueName: "NAME",
    help: `the model and its training: ${VARIANT_NAMES.join(", ")}`,
    defaultText: "baseline (the tutorial's CNN)",
    defaultValue: () => "baseline",
    parse(text) {
      try {
        return getVariant(text).name;
      } catch (error) {
        throw new ParameterError(error instanceof Error ? error.message : String(error));
      }
    },
  },
  variants: {
    name: "variants",
    env: "VARIANTS",
    flag: "variants",
    valueName: "LIST",
    help: "the variants to train now: all, none, or a list such as tuned,deep",
    defaultText: "none (the notebook shows recorded results)",
    defaultValue: () => [],
    parse: parseVariantList,
  },
  epochs: {
    name: "epochs",
    env: "EPOCHS",
    flag: "epochs",
    valueName: "N",
    help: "training epochs (the most, for variants that stop early)",
    defaultText: "the variant's: 5 for baseline",
    defaultValue: (values) => VARIANTS[values.variant ?? "baseline"].training.epochs,
    parse: (text) => parseWholeNumber(text, { min: 1, max: 10_000 }),
  },
  batchSize: {
    name: "batchSize",
    env: "BATCH_SIZE",
    flag: "batch-size",
    valueName: "N",
    help: "images per training step",
    defaultText: "128",
    defaultValue: (values) => VARIANTS[values.variant ?? "baseline"].training.batchSize,
    parse: (text) => parseWholeNumber(text, { min: 1 }),
  },
  validationSplit: {
    name: "validationSplit",
    env: "VALIDATION_SPLIT",
    flag: "validation-split",
    valueName: "F",
    help: "fraction of the training images held out from the end, as Keras does",
    defaultText: "0.1",
    defaultValue: () => 0.1,
    parse(text) {
      const value = Number(text);
      if (text.trim() === "" || !Number.isFinite(value) || value < 0 || value >= 1) {
        throw new ParameterError("give a fraction from 0 (none) up to, not including, 1");
      }
      return value;
    },
  },
  seed: {
    name: "seed",
    env: "SEED",
    flag: "seed",
    valueName: "N",
    help: "fixes the initial weights, the order of the images, Dropout and augmentation",
    defaultText: "42",
    defaultValue: () => 42,
    parse: (text) => parseWholeNumber(text, { min: 0, max: MAX_SEED }),
  },
  trainSamples: {
    name: "trainSamples",
    env: "TRAIN_SAMPLES",
    flag: "train-samples",
    valueName: "N",
    help: "train on the first N training images only (before the validation split)",
    defaultText: "all",
    defaultValue: () => undefined,
    parse: (text) => parseWholeNumber(text, { min: 1 }),
  },
  threads: {
    name: "threads",
    env: "WASM_THREADS",
    flag: "threads",
    valueName: "N",
    help: "WebAssembly threads; 1 runs single-threaded",
    defaultText: "one per logical core",
    defaultValue: () => logicalCores(),
    parse: (text) => parseWholeNumber(text, { min: 1, max: logicalCores() }),
  },
};

/** The names of all parameters, in table order. */
export const PARAMETER_NAMES: readonly ParameterName[] = Object.keys(PARAMETERS) as ParameterName[];

/** The parameters of the notebook's tutorial run. */
export const NOTEBOOK_PARAMETERS = [
  "dataset",
  "variants",
  "epochs",
  "batchSize",
  "validationSplit",
  "seed",
  "trainSamples",
] as const satisfies readonly ParameterName[];

/** The parameters the notebook reads, checked. */
export type NotebookParameters = Pick<ParameterValues, typeof NOTEBOOK_PARAMETERS[number]>;

/** Other variables the project reads, so that a near miss of them is not reported. */
const OTHER_VARIABLES = ["DATA_MIRROR", "NOTEBOOK_CELL_TIMEOUT", "PROFILE_SHAPES"];

/** Options of {@linkcode readParameters}. */
export interface ReadParametersOptions<K extends ParameterName> {
  /** The parameters to read. Default: all. */
  names?: readonly K[];
  /** The environment. Default: the process environment (none without `--allow-env`). */
  env?: Record<string, string | undefined>;
  /** Values given in code or parsed from flags, by name: they beat the environment. */
  explicit?: Partial<ParameterValues>;
  /** Defaults of this caller that replace the table's (a bench times fewer images). */
  defaults?: Partial<ParameterValues>;
}

/**
 * Reads parameters: explicit values first, then the environment, then the defaults. Every value
 * is checked, as are the combinations that would fail later (a validation split that leaves no
 * training image).
 *
 * @throws {ParameterError} naming the variable and the value, saying what to give instead.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readParameters } from "./parameters.ts";
 * const p = readParameters({ env: { EPOCHS: "1", TRAIN_SAMPLES: "2000" } });
 * assert.equal(p.epochs, 1);
 * assert.equal(p.batchSize, 128);
 * assert.equal(readParameters({ env: { EPOCHS: "1" }, explicit: { epochs: 3 } }).epochs, 3);
 * ```
 */
export function readParameters<K extends ParameterName = ParameterName>(
  options: ReadParametersOptions<K> = {},
): Pick<ParameterValues, K> {
  const env = options.env ?? readEnvironment();
  const wanted = new Set<ParameterName>(options.names ?? PARAMETER_NAMES);
  const values: Partial<ParameterValues> = {};
  const defaulted = new Set<ParameterName>();
  // Table order matters: a default may depend on an earlier value (epochs on the variant).
  for (const name of PARAMETER_NAMES) {
    const explicit = options.explicit?.[name];
    const text = env[PARAMETERS[name].env]?.trim();
    if (explicit === undefined && (text === undefined || text === "")) defaulted.add(name);
    const value = explicit !== undefined
      ? checkExplicit(name, explicit)
      : text !== undefined && text !== ""
      ? parseFrom(name, text, `${PARAMETERS[name].env}="${text}"`)
      : name in (options.defaults ?? {})
      ? options.defaults?.[name]
      : PARAMETERS[name].defaultValue(values);
    assign(values, name, value);
  }
  checkCombinations(values as ParameterValues, defaulted);
  const picked: Partial<ParameterValues> = {};
  for (const name of wanted) assign(picked, name, values[name]);
  return picked as Pick<ParameterValues, K>;
}

function assign<K extends ParameterName>(
  target: Partial<ParameterValues>,
  name: K,
  value: ParameterValues[K] | undefined,
): void {
  target[name] = value;
}

function readEnvironment(): Record<string, string | undefined> {
  try {
    return Deno.env.toObject();
  } catch {
    return {}; // no --allow-env: the defaults apply
  }
}

function parseFrom<K extends ParameterName>(
  name: K,
  text: string,
  where: string,
): ParameterValues[K] {
  try {
    return PARAMETERS[name].parse(text.trim());
  } catch (error) {
    if (!(error instanceof ParameterError)) throw error;
    throw new ParameterError(`${where} is not valid: ${error.message}.`);
  }
}

/** An explicit value in code goes through the same check as a text, so the rules stay one. */
function checkExplicit<K extends ParameterName>(
  name: K,
  value: ParameterValues[K],
): ParameterValues[K] {
  return parseFrom(name, String(value), `${name} = ${JSON.stringify(value)}`);
}

/**
 * Checks the values that are each valid but fail together, before anything is loaded. The one
 * exception: the default batch size shrinks to a training set smaller than it.
 */
function checkCombinations(values: ParameterValues, defaulted: ReadonlySet<ParameterName>) {
  const { trainSamples, validationSplit, batchSize, dataset } = values;
  const images = trainSamples ?? DATASETS[dataset].trainImages;
  const training = trainingCount(images, validationSplit);
  if (training < 1) {
    throw new ParameterError(
      `A validation split of ${validationSplit} (VALIDATION_SPLIT, --validation-split) holds ` +
        `out all ${images} training images, leaving none to train on: lower the split or raise ` +
        "the number of samples (TRAIN_SAMPLES, --train-samples).",
    );
  }
  if (batchSize > training && defaulted.has("batchSize")) {
    // A quick run on a few images trains them as one batch rather than stopping on a default.
    values.batchSize = training;
  } else if (batchSize > training) {
    throw new ParameterError(
      `A batch size of ${batchSize} (BATCH_SIZE, --batch-size) is larger than the ${training} ` +
        `images left to train on (${trainSamples ?? "all"} training samples, ` +
        `${validationSplit} held out): give at most ${training}.`,
    );
  }
}

/**
 * Environment variables that look like one of ours but are not (`EPOCH=3`, `BATCHSIZE=64`), each
 * with a sentence naming the variable meant. Such a variable would otherwise be ignored silently.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { misspeltVariables } from "./parameters.ts";
 * assert.deepEqual(misspeltVariables({ EPOCH: "3", HOME: "/root" }), [
 *   'EPOCH is not a variable this project reads; did you mean EPOCHS? EPOCH="3" was ignored.',
 * ]);
 * ```
 */
export function misspeltVariables(
  env: Record<string, string | undefined> = readEnvironment(),
): string[] {
  const known = [...PARAMETER_NAMES.map((name) => PARAMETERS[name].env), ...OTHER_VARIABLES];
  const warnings: string[] = [];
  for (const [variable, value] of Object.entries(env)) {
    if (known.includes(variable)) continue;
    const meant = known.find((name) => looksLike(variable, name));
    if (meant) {
      warnings.push(
        `${variable} is not a variable this project reads; did you mean ${meant}? ` +
          `${variable}="${value}" was ignored.`,
      );
    }
  }
  return warnings;
}

/**
 * Same letters ignoring case and underscores, or one edit apart (a letter added, dropped,
 * changed, or two neighbours swapped), for names of 5 letters or more.
 */
function looksLike(candidate: string, name: string): boolean {
  const a = candidate.toUpperCase().replaceAll(/[_-]/g, "");
  const b = name.replaceAll("_", "");
  if (a === b) return true;
  return b.length >= 5 && editDistance(a, b) <= 1;
}

function editDistance(a: string, b: string): number {
  let beforePrevious: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        current[j] = Math.min(current[j], beforePrevious[j - 2] + 1);
      }
    }
    beforePrevious = previous;
    previous = current;
  }
  return previous[b.length];
}

/** A flag of one program that is not in the table (`--out`, `--profile`). */
export interface ProgramFlag {
  /** The flag without its dashes. */
  flag: string;
  /** `N`, `DIR`; absent for a switch without a value. */
  valueName?: string;
  help: string;
  defaultText?: string;
}

/** How a program describes its command line. */
export interface ProgramSpec<K extends ParameterName> {
  /** How the user runs it, such as `deno task train`. */
  command: string;
  /** What it does, a few lines. */
  summary: string;
  /** The table's parameters it takes. */
  parameters: readonly K[];
  /** Its own defaults that differ from the table's (they are shown in `--help`). */
  defaults?: Partial<Record<K, { value: ParameterValues[K]; text: string }>>;
  /** Its own flags. */
  flags?: readonly ProgramFlag[];
  /** Positional arguments, such as `FILE...`; absent: none allowed. */
  positionals?: string;
  /** Extra lines at the end of `--help` (exit codes, examples). */
  epilogue?: string;
}

/** A command line that cannot be used; its message says what to do. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The exit code for a bad command line, as the usual convention. */
export const USAGE_EXIT_CODE = 2;

/** What {@linkcode parseProgramArgs} gives: the parameters, the program's flags, positionals. */
export interface ProgramArgs<K extends ParameterName> {
  help: boolean;
  parameters: Pick<ParameterValues, K>;
  /** The program's own flags: strings for valued flags, `true` for switches that were given. */
  flags: Record<string, string | boolean | undefined>;
  positionals: string[];
  /** Sentences about misspelt environment variables, to print as warnings. */
  warnings: string[];
}

/**
 * Parses a program's command line with the table: flags beat the environment, which beats the
 * defaults. Nothing is loaded or started.
 *
 * @throws {UsageError} for an unknown flag, a missing value or a value that is not valid; the
 * message names the flag and ends by pointing at `--help`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseProgramArgs } from "./parameters.ts";
 * const spec = { command: "deno task x", summary: "X.", parameters: ["epochs", "seed"] as const };
 * const { parameters } = parseProgramArgs(spec, ["--epochs", "3"], { env: { SEED: "7" } });
 * assert.deepEqual(parameters, { epochs: 3, seed: 7 });
 * assert.throws(() => parseProgramArgs(spec, ["--epochs", "0"]), /--epochs "0" is not valid/);
 * ```
 */
export function parseProgramArgs<K extends ParameterName>(
  spec: ProgramSpec<K>,
  args: readonly string[],
  options: { env?: Record<string, string | undefined> } = {},
): ProgramArgs<K> {
  const env = options.env ?? readEnvironment();
  const { values, positionals } = parseCommandLine(spec, args);
  const explicit: Partial<ParameterValues> = {};
  for (const name of spec.parameters) {
    const text = values[PARAMETERS[name].flag];
    if (typeof text !== "string") continue;
    try {
      assign(explicit, name, parseFrom(name, text, `--${PARAMETERS[name].flag} "${text}"`));
    } catch (error) {
      throw usage(spec, error);
    }
  }
  const defaults: Partial<ParameterValues> = {};
  for (const name of spec.parameters) {
    const own = spec.defaults?.[name];
    if (own) assign(defaults, name, own.value);
  }
  let parameters: Pick<ParameterValues, K>;
  try {
    parameters = readParameters({ names: spec.parameters, env, explicit, defaults });
  } catch (error) {
    throw usage(spec, error);
  }
  const flags: Record<string, string | boolean | undefined> = {};
  for (const flag of spec.flags ?? []) flags[flag.flag] = values[flag.flag];
  return {
    help: values.help === true,
    parameters,
    flags,
    positionals,
    warnings: misspeltVariables(env),
  };
}

function usage<K extends ParameterName>(spec: ProgramSpec<K>, error: unknown): UsageError {
  const message = error instanceof Error ? error.message : String(error);
  return new UsageError(`${message} See ${spec.command} --help.`);
}

function parseCommandLine<K extends ParameterName>(
  spec: ProgramSpec<K>,
  args: readonly string[],
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  const config: Record<string, { type: "string" | "boolean" }> = { help: { type: "boolean" } };
  for (const name of spec.parameters) config[PARAMETERS[name].flag] = { type: "string" };
  for (const flag of spec.flags ?? []) {
    config[flag.flag] = { type: flag.valueName ? "string" : "boolean" };
  }
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: spec.positionals !== undefined,
      options: config,
    });
    return { values, positionals: [...positionals] };
  } catch (error) {
    throw new UsageError(`${describeParseError(error)} See ${spec.command} --help.`);
  }
}

/** node:util's messages, as sentences that say what to do. */
function describeParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const unknown = /Unknown option '([^']+)'/.exec(message);
  if (unknown) return `Unknown flag ${unknown[1]}.`;
  const positional = /Unexpected argument '([^']+)'/.exec(message);
  if (positional) {
    return `Unexpected argument "${positional[1]}": every value follows its flag, as --epochs 3.`;
  }
  const missing = /Option '([^']+?)(?: <value>)?' argument missing/.exec(message);
  if (missing) return `${missing[1].split(",").at(-1)?.trim()} needs a value.`;
  // parseArgs takes "--epochs --out x" as --epochs missing its value (the next token is a flag).
  const ambiguous = /Option '([^']+)' argument is ambiguous/.exec(message);
  if (ambiguous) {
    return `${ambiguous[1]} needs a value before the next flag (write a value that starts ` +
      `with a dash as ${ambiguous[1]}=-1).`;
  }
  return message;
}

/**
 * The `--help` text of a program, generated from the table and the program's own flags.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { helpText } from "./parameters.ts";
 * const help = helpText({ command: "deno task x", summary: "X.", parameters: ["seed"] });
 * assert.match(help, /--seed N +fixes the initial weights.*\n +\(SEED; default 42\)/);
 * ```
 */
export function helpText<K extends ParameterName>(spec: ProgramSpec<K>): string {
  const rows: [string, string, string?][] = [];
  for (const name of spec.parameters) {
    const p = PARAMETERS[name];
    const defaultText = spec.defaults?.[name]?.text ?? p.defaultText;
    rows.push([`--${p.flag} ${p.valueName}`, p.help, `${p.env}; default ${defaultText}`]);
  }
  for (const flag of spec.flags ?? []) {
    const head = flag.valueName ? `--${flag.flag} ${flag.valueName}` : `--${flag.flag}`;
    rows.push([head, flag.help, flag.defaultText && `default ${flag.defaultText}`]);
  }
  rows.push(["--help", "show this help"]);
  const width = Math.max(...rows.map(([head]) => head.length)) + 2;
  const lines = rows.map(([head, text, detail]) =>
    `  ${head.padEnd(width)}${text}` + (detail ? `\n  ${" ".repeat(width)}(${detail})` : "")
  );
  const usageLine = `Usage: ${spec.command} [flags]${
    spec.positionals ? ` ${spec.positionals}` : ""
  }`;
  return [
    usageLine,
    "",
    spec.summary.trim(),
    "",
    "Flags (each also read from the environment variable in brackets; a flag wins):",
    ...lines,
    ...(spec.epilogue ? ["", spec.epilogue.trim()] : []),
    "",
  ].join("\n");
}

/**
 * The start every training program shares: parse its command line, print `--help`, warn about
 * misspelt variables, and check that its output folder can be written, all before any work.
 * Returns the options, or the exit code to end with now (0 after `--help`, 2 for a bad command
 * line or an unusable output folder, after printing the sentence).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startProgram, UsageError } from "./parameters.ts";
 * const parse = () => ({ help: true, warnings: [], out: "." });
 * assert.equal(await startProgram({ parse, help: "Usage: x", outputDir: (o) => o.out }), 0);
 * const bad = () => {
 *   throw new UsageError("--x is bad.");
 * };
 * assert.equal(await startProgram({ parse: bad, help: "", outputDir: () => "." }), 2);
 * ```
 */
export async function startProgram<T extends { help: boolean; warnings: readonly string[] }>(
  program: { parse: () => T; help: string; outputDir: (options: T) => string },
): Promise<T | number> {
  try {
    const options = program.parse();
    if (options.help) {
      console.log(program.help);
      return 0;
    }
    for (const warning of options.warnings) console.error(`Warning: ${warning}`);
    await checkWritableDir(program.outputDir(options)).catch((error) => {
      throw new UsageError(error.message);
    });
    return options;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`Error: ${error.message}`);
    return USAGE_EXIT_CODE;
  }
}
