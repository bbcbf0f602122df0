/**
 * The table of the run's parameters: every knob's name, environment variable, command-line flag,
 * default, check and help line, and {@linkcode readParameters}, which reads them. The notebook and
 * every program read the same table, so a flag, its variable and its error message are the same
 * everywhere.
 *
 * The table is built by {@linkcode parameterTable} from a {@linkcode Catalogue}: the dataset and
 * variant names and the core count are given to it, so this module imports none of the dataset,
 * model or engine modules (`lib/training/run_parameters.ts` builds the project's table).
 *
 * Precedence: an explicit value (an option passed in code, or a flag) beats the environment, which
 * beats the default. Nothing here writes to `Deno.env`.
 *
 * @module
 */

/** Every value the table knows, after checking; `D` and `V` are the dataset and variant names. */
export interface ParameterValues<D extends string = string, V extends string = string> {
  /** `DATASET`, `--dataset`: `mnist` or `fashion-mnist`. */
  dataset: D;
  /** `VARIANT`, `--variant`: the model and its training; `baseline` is the tutorial's CNN. */
  variant: V;
  /**
   * `VARIANTS`, `--variants`: the variants to train now (the notebook's comparison, `deno task
   * experiments`); the comparison shows recorded results for the others. Default: none.
   */
  variants: readonly V[];
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
export interface ParameterSpec<
  K extends ParameterName = ParameterName,
  D extends string = string,
  V extends string = string,
> {
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
  defaultValue(values: Partial<ParameterValues<D, V>>): ParameterValues<D, V>[K];
  /**
   * Turns a text into a value, or throws a {@linkcode ParameterError} whose message is the
   * problem ("give a whole number of at least 1"), without the variable's name: the reader adds
   * `EPOCHS="x"` or `--epochs "x"`, depending on where the text came from.
   */
  parse(text: string): ParameterValues<D, V>[K];
}

/** What the table is built from: the names it accepts and the facts its defaults and checks need. */
export interface Catalogue<D extends string, V extends string> {
  /** The datasets by name, in the order help lists them, each with its training images. */
  datasets: Readonly<Record<D, { trainImages: number }>>;
  /**
   * The model variants by name, in catalogue order, each with its training's defaults and, for
   * those that stop early on the validation loss, their patience.
   */
  variants: Readonly<
    Record<V, { training: { epochs: number; batchSize: number; earlyStoppingPatience?: number } }>
  >;
  /** Looks a variant up by name, or throws an error whose message names the known ones. */
  variantNamed(name: string): V;
  /** The most threads: the machine's logical cores. */
  cores: number;
  /** How many images a validation split leaves to train on. */
  trainingCount(images: number, validationSplit: number): number;
  /** Other variables the project reads, so that a near miss of them is reported too. */
  otherVariables?: readonly string[];
}

/** Every row, by name. */
export type ParameterRows<D extends string = string, V extends string = string> = {
  readonly [K in ParameterName]: ParameterSpec<K, D, V>;
};

/** The table: its rows and the catalogue they were built from. */
export interface ParameterTable<D extends string = string, V extends string = string> {
  /** Every parameter's row, in the order `--help` lists them. */
  rows: ParameterRows<D, V>;
  catalogue: Catalogue<D, V>;
  /** Every environment variable the project reads: the rows' and the catalogue's others. */
  variables: readonly string[];
}

/** A value that cannot be used. The message names the variable or flag and says what to give. */
export class ParameterError extends RangeError {
  override name = "ParameterError";
}

/** The largest seed: seeds feed 32-bit generators. */
const MAX_SEED = 2 ** 32 - 1;

/** The default variant: the tutorial's CNN. */
const BASELINE = "baseline";

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
 * const catalogue = {
 *   names: ["baseline", "tuned", "deep"],
 *   variantNamed(name: string) {
 *     if (!catalogue.names.includes(name)) throw new RangeError(`No variant "${name}".`);
 *     return name;
 *   },
 * };
 * assert.deepEqual(parseVariantList("deep, tuned", catalogue), ["tuned", "deep"]);
 * assert.equal(parseVariantList("all", catalogue).length, 3);
 * assert.deepEqual(parseVariantList("none", catalogue), []);
 * assert.throws(() => parseVariantList("tuned,huge", catalogue), /No variant "huge"/);
 * ```
 */
export function parseVariantList<V extends string>(
  text: string,
  catalogue: { names: readonly V[]; variantNamed(name: string): V },
): V[] {
  const words = text.split(",").map((word) => word.trim()).filter((word) => word !== "");
  if (words.length === 1 && words[0] === "all") return [...catalogue.names];
  if (words.length === 0 || (words.length === 1 && words[0] === "none")) return [];
  const names = new Set<V>();
  for (const word of words) {
    names.add(asParameterError(() => catalogue.variantNamed(word), " Or give all or none"));
  }
  return catalogue.names.filter((name) => names.has(name));
}

/** Runs `lookUp`; its error becomes a {@linkcode ParameterError} with the same message. */
function asParameterError<T>(lookUp: () => T, more = ""): T {
  try {
    return lookUp();
  } catch (error) {
    throw new ParameterError(`${error instanceof Error ? error.message : String(error)}${more}`);
  }
}

/**
 * Builds the table over a catalogue of datasets, variants and cores.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parameterTable } from "./parameters.ts";
 * const table = parameterTable({
 *   datasets: { digits: { trainImages: 100 } },
 *   variants: { baseline: { training: { epochs: 5, batchSize: 16 } } },
 *   variantNamed: (name) => {
 *     if (name !== "baseline") throw new RangeError(`No variant "${name}".`);
 *     return name;
 *   },
 *   cores: 2,
 *   trainingCount: (images, split) => Math.floor(images * (1 - split)),
 * });
 * assert.equal(table.rows.dataset.defaultValue({}), "digits");
 * assert.equal(table.rows.epochs.defaultValue({ variant: "baseline" }), 5);
 * assert.throws(() => table.rows.threads.parse("3"), /from 1 to 2/);
 * ```
 */
export function parameterTable<D extends string, V extends string>(
  catalogue: Catalogue<D, V>,
): ParameterTable<D, V> {
  const rows: ParameterRows<D, V> = {
    ...choiceRows(catalogue),
    ...trainingRows(catalogue),
  };
  const variables = [
    ...PARAMETER_NAMES.map((name) => rows[name].env),
    ...catalogue.otherVariables ?? [],
  ];
  return { rows, catalogue, variables };
}

/** The rows that choose among the catalogue's names: dataset, variant, variants. */
function choiceRows<D extends string, V extends string>(catalogue: Catalogue<D, V>) {
  const datasets = Object.keys(catalogue.datasets) as D[];
  const variants = Object.keys(catalogue.variants) as V[];
  const variantNamed = (text: string) => asParameterError(() => catalogue.variantNamed(text));
  const dataset: ParameterSpec<"dataset", D, V> = {
    name: "dataset",
    env: "DATASET",
    flag: "dataset",
    valueName: "NAME",
    help: `${datasets.join(" or ")} (the same pipeline, with each dataset's class names)`,
    defaultText: datasets[0],
    defaultValue: () => datasets[0],
    parse(text) {
      // Own keys only: "constructor" is not a dataset.
      if (!Object.hasOwn(catalogue.datasets, text)) {
        throw new ParameterError(`use ${datasets.join(" or ")}`);
      }
      return text as D;
    },
  };
  const variant: ParameterSpec<"variant", D, V> = {
    name: "variant",
    env: "VARIANT",
    flag: "variant",
    valueName: "NAME",
    help: `the model and its training: ${variants.join(", ")}`,
    defaultText: "baseline (the tutorial's CNN)",
    defaultValue: () => variantNamed(BASELINE),
    parse: variantNamed,
  };
  const list: ParameterSpec<"variants", D, V> = {
    name: "variants",
    env: "VARIANTS",
    flag: "variants",
    valueName: "LIST",
    help: "the variants to train now: all, none, or a list such as tuned,deep",
    defaultText: "none (the notebook shows recorded results)",
    defaultValue: () => [],
    parse: (text) => parseVariantList(text, { names: variants, variantNamed }),
  };
  return { dataset, variant, variants: list };
}

/** The rows of the training run: epochs, batch size, split, seed, samples, threads. */
function trainingRows<D extends string, V extends string>(catalogue: Catalogue<D, V>) {
  const training = (values: Partial<ParameterValues<D, V>>) =>
    catalogue.variants[values.variant ?? catalogue.variantNamed(BASELINE)].training;
  const row = <K extends ParameterName>(
    name: K,
    spec: Omit<ParameterSpec<K, D, V>, "name" | "valueName">,
  ): ParameterSpec<K, D, V> => ({ name, valueName: "N", ...spec });
  return {
    epochs: row("epochs", {
      env: "EPOCHS",
      flag: "epochs",
      help: "training epochs (the most, for variants that stop early)",
      defaultText: `the variant's: ${training({}).epochs} for baseline`,
      defaultValue: (values) => training(values).epochs,
      parse: (text) => parseWholeNumber(text, { min: 1, max: 10_000 }),
    }),
    batchSize: row("batchSize", {
      env: "BATCH_SIZE",
      flag: "batch-size",
      help: "images per training step",
      defaultText: String(training({}).batchSize),
      defaultValue: (values) => training(values).batchSize,
      parse: (text) => parseWholeNumber(text, { min: 1 }),
    }),
    validationSplit: { ...VALIDATION_SPLIT },
    seed: row("seed", {
      env: "SEED",
      flag: "seed",
      help: "fixes the initial weights, the order of the images, Dropout and augmentation",
      defaultText: "42",
      defaultValue: () => 42,
      parse: (text) => parseWholeNumber(text, { min: 0, max: MAX_SEED }),
    }),
    trainSamples: row("trainSamples", {
      env: "TRAIN_SAMPLES",
      flag: "train-samples",
      help: "train on the first N training images only (before the validation split)",
      defaultText: "all",
      defaultValue: () => undefined,
      parse: (text) => parseWholeNumber(text, { min: 1 }),
    }),
    threads: row("threads", {
      env: "WASM_THREADS",
      flag: "threads",
      help: "WebAssembly threads; 1 runs single-threaded",
      defaultText: "one per logical core",
      defaultValue: () => catalogue.cores,
      parse: (text) => parseWholeNumber(text, { min: 1, max: catalogue.cores }),
    }),
  };
}

/** The validation split's row, the same for every catalogue. */
const VALIDATION_SPLIT: ParameterSpec<"validationSplit"> = {
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
};

/** The names of all parameters, in table order. */
export const PARAMETER_NAMES: readonly ParameterName[] = [
  "dataset",
  "variant",
  "variants",
  "epochs",
  "batchSize",
  "validationSplit",
  "seed",
  "trainSamples",
  "threads",
];

/** A parameter of the notebook's tutorial run: all but those read elsewhere, or not at all. */
export type NotebookParameterName = Exclude<ParameterName, "variant" | "threads">;

/**
 * The parameters of the notebook's tutorial run, in table order: not the variant (the tutorial
 * trains its own model) nor the threads (read where the backend starts).
 */
export const NOTEBOOK_PARAMETERS: readonly NotebookParameterName[] = PARAMETER_NAMES.filter(
  (name): name is NotebookParameterName => name !== "variant" && name !== "threads",
);

/** Options of {@linkcode readParameters}. */
export interface ReadParametersOptions<
  K extends ParameterName,
  D extends string = string,
  V extends string = string,
> {
  /** The parameters to read. Default: all. */
  names?: readonly K[];
  /** The environment. Default: the process environment (none without `--allow-env`). */
  env?: Record<string, string | undefined>;
  /** Values given in code or parsed from flags, by name: they beat the environment. */
  explicit?: Partial<ParameterValues<D, V>>;
  /** Defaults of this caller that replace the table's (a bench times fewer images). */
  defaults?: Partial<ParameterValues<D, V>>;
}

/**
 * Reads parameters from a table: explicit values first, then the environment, then the defaults.
 * Every value is checked, as are the combinations that would fail later (a validation split that
 * leaves no training image).
 *
 * @throws {ParameterError} naming the variable and the value, saying what to give instead.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parameterTable, readParameters } from "./parameters.ts";
 * const table = parameterTable({
 *   datasets: { digits: { trainImages: 100 } },
 *   variants: { baseline: { training: { epochs: 5, batchSize: 16 } } },
 *   variantNamed: () => "baseline",
 *   cores: 2,
 *   trainingCount: (images, split) => Math.floor(images * (1 - split)),
 * });
 * const p = readParameters(table, { env: { EPOCHS: "1", TRAIN_SAMPLES: "20" } });
 * assert.equal(p.epochs, 1);
 * assert.equal(p.batchSize, 16);
 * assert.equal(readParameters(table, { env: { EPOCHS: "1" }, explicit: { epochs: 3 } }).epochs, 3);
 * ```
 */
export function readParameters<
  K extends ParameterName = ParameterName,
  D extends string = string,
  V extends string = string,
>(
  table: ParameterTable<D, V>,
  options: ReadParametersOptions<K, D, V> = {},
): Pick<ParameterValues<D, V>, K> {
  const env = options.env ?? readEnvironment(table.variables);
  const values: Partial<ParameterValues<D, V>> = {};
  const defaulted = new Set<ParameterName>();
  // Table order matters: a default may depend on an earlier value (epochs on the variant).
  for (const name of PARAMETER_NAMES) {
    const explicit = options.explicit?.[name];
    const text = env[table.rows[name].env]?.trim();
    if (explicit === undefined && (text === undefined || text === "")) defaulted.add(name);
    const value = explicit !== undefined
      ? checkExplicit(table, name, explicit)
      : text !== undefined && text !== ""
      ? parseFrom(table, name, text, `${table.rows[name].env}="${text}"`)
      : name in (options.defaults ?? {})
      ? options.defaults?.[name]
      : table.rows[name].defaultValue(values);
    assign(values, name, value);
  }
  checkCombinations(table.catalogue, values as ParameterValues<D, V>, defaulted);
  checkEarlyStopping(table.catalogue, values as ParameterValues<D, V>, options.names);
  const picked: Partial<ParameterValues<D, V>> = {};
  for (const name of options.names ?? PARAMETER_NAMES) assign(picked, name, values[name]);
  return picked as Pick<ParameterValues<D, V>, K>;
}

/** Sets one value; a function so that the key and the value's type stay tied. */
export function assign<K extends ParameterName, D extends string, V extends string>(
  target: Partial<ParameterValues<D, V>>,
  name: K,
  value: ParameterValues<D, V>[K] | undefined,
): void {
  target[name] = value;
}

/**
 * The process environment: all of it when the process may read all of it (so that a misspelt
 * variable is seen), else those of `variables` it may read: a task is given `--allow-env` for the
 * project's variables only (`deno.json`). Without `--allow-env`, none: the defaults apply.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readEnvironment } from "./parameters.ts";
 * assert.equal(typeof readEnvironment(["EPOCHS"]), "object");
 * ```
 */
export function readEnvironment(
  variables: readonly string[] = [],
): Record<string, string | undefined> {
  if (Deno.permissions.querySync({ name: "env" }).state === "granted") return Deno.env.toObject();
  const env: Record<string, string | undefined> = {};
  for (const name of variables) {
    if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") continue;
    env[name] = Deno.env.get(name);
  }
  return env;
}

/**
 * Parses `text` with a row's check; the error names `where` the text came from, such as
 * `EPOCHS="0"` or `--epochs "0"`.
 *
 * @throws {ParameterError} naming `where` and what to give.
 */
export function parseFrom<K extends ParameterName, D extends string, V extends string>(
  table: ParameterTable<D, V>,
  name: K,
  text: string,
  where: string,
): ParameterValues<D, V>[K] {
  try {
    return table.rows[name].parse(text.trim());
  } catch (error) {
    if (!(error instanceof ParameterError)) throw error;
    throw new ParameterError(`${where} is not valid: ${error.message}.`);
  }
}

/** An explicit value in code goes through the same check as a text, so the rules stay one. */
function checkExplicit<K extends ParameterName, D extends string, V extends string>(
  table: ParameterTable<D, V>,
  name: K,
  value: ParameterValues<D, V>[K],
): ParameterValues<D, V>[K] {
  return parseFrom(table, name, String(value), `${name} = ${JSON.stringify(value)}`);
}

/**
 * Checks the values that are each valid but fail together, before anything is loaded. The one
 * exception: the default batch size shrinks to a training set smaller than it.
 */
function checkCombinations<D extends string, V extends string>(
  catalogue: Catalogue<D, V>,
  values: ParameterValues<D, V>,
  defaulted: ReadonlySet<ParameterName>,
) {
  const { trainSamples, validationSplit, batchSize, dataset } = values;
  const available = catalogue.datasets[dataset].trainImages;
  if (trainSamples !== undefined && trainSamples > available) {
    // Taking the first N of fewer images would train on all of them under a wrong record.
    throw new ParameterError(
      `${trainSamples} training samples (TRAIN_SAMPLES, --train-samples) are more than the ` +
        `${available} training images of ${dataset}: give at most ${available}, or leave it ` +
        "unset for all.",
    );
  }
  const images = trainSamples ?? available;
  const training = catalogue.trainingCount(images, validationSplit);
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
 * Refuses a variant that stops early on the validation loss when the split leaves no validation
 * image: its early stopping would never fire. Only the variants the caller reads count (the
 * notebook reads `variants`, not `variant`).
 */
function checkEarlyStopping<D extends string, V extends string>(
  catalogue: Catalogue<D, V>,
  values: ParameterValues<D, V>,
  names: readonly ParameterName[] = PARAMETER_NAMES,
) {
  const { trainSamples, validationSplit, dataset } = values;
  const images = trainSamples ?? catalogue.datasets[dataset].trainImages;
  if (images - catalogue.trainingCount(images, validationSplit) > 0) return;
  const trained = [
    ...names.includes("variant") ? [values.variant] : [],
    ...names.includes("variants") ? values.variants : [],
  ];
  const stopping = trained.find((name) =>
    catalogue.variants[name].training.earlyStoppingPatience !== undefined
  );
  if (stopping === undefined) return;
  throw new ParameterError(
    `The ${stopping} variant stops early when its validation loss no longer improves, but a ` +
      `validation split of ${validationSplit} (VALIDATION_SPLIT, --validation-split) holds out ` +
      `none of the ${images} training images: give a split above 0, such as 0.1, or train ` +
      "another variant.",
  );
}
