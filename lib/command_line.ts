/**
 * Command lines of the programs, from the parameter table: parsing flags (a flag beats its
 * variable, which beats the default), `--help` generated from the table and the program's own
 * flags, and the start every program shares ({@linkcode startProgram}).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { checkWritableDir } from "./files.ts";
import { misspeltVariables } from "./misspelt_variables.ts";
import {
  assign,
  type ParameterName,
  type ParameterTable,
  type ParameterValues,
  parseFrom,
  readEnvironment,
  readParameters,
} from "./parameters.ts";

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
export interface ProgramSpec<
  K extends ParameterName,
  D extends string = string,
  V extends string = string,
> {
  /** The parameter table its flags come from. */
  table: ParameterTable<D, V>;
  /** How the user runs it, such as `deno task train`. */
  command: string;
  /** What it does, a few lines. */
  summary: string;
  /** The table's parameters it takes. */
  parameters: readonly K[];
  /** Its own defaults that differ from the table's (they are shown in `--help`). */
  defaults?: Partial<Record<K, { value: ParameterValues<D, V>[K]; text: string }>>;
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
export interface ProgramArgs<
  K extends ParameterName,
  D extends string = string,
  V extends string = string,
> {
  help: boolean;
  parameters: Pick<ParameterValues<D, V>, K>;
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
 * import { parseProgramArgs } from "./command_line.ts";
 * import { RUN_PARAMETERS } from "./training/run_parameters.ts";
 * const spec = {
 *   table: RUN_PARAMETERS,
 *   command: "deno task x",
 *   summary: "X.",
 *   parameters: ["epochs", "seed"] as const,
 * };
 * const { parameters } = parseProgramArgs(spec, ["--epochs", "3"], { env: { SEED: "7" } });
 * assert.deepEqual(parameters, { epochs: 3, seed: 7 });
 * assert.throws(() => parseProgramArgs(spec, ["--epochs", "0"]), /--epochs "0" is not valid/);
 * ```
 */
export function parseProgramArgs<
  K extends ParameterName,
  D extends string = string,
  V extends string = string,
>(
  spec: ProgramSpec<K, D, V>,
  args: readonly string[],
  options: { env?: Record<string, string | undefined> } = {},
): ProgramArgs<K, D, V> {
  const env = options.env ?? readEnvironment(spec.table.variables);
  const { values, positionals } = parseCommandLine(spec, args);
  const { table } = spec;
  const explicit: Partial<ParameterValues<D, V>> = {};
  for (const name of spec.parameters) {
    const text = values[table.rows[name].flag];
    if (typeof text !== "string") continue;
    try {
      assign(explicit, name, parseFrom(table, name, text, `--${table.rows[name].flag} "${text}"`));
    } catch (error) {
      throw usage(spec, error);
    }
  }
  const defaults: Partial<ParameterValues<D, V>> = {};
  for (const name of spec.parameters) {
    const own = spec.defaults?.[name];
    if (own) assign(defaults, name, own.value);
  }
  let parameters: Pick<ParameterValues<D, V>, K>;
  try {
    parameters = readParameters(table, { names: spec.parameters, env, explicit, defaults });
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
    warnings: misspeltVariables(table.variables, env),
  };
}

function usage(spec: { command: string }, error: unknown): UsageError {
  const message = error instanceof Error ? error.message : String(error);
  return new UsageError(`${message} See ${spec.command} --help.`);
}

function parseCommandLine<K extends ParameterName, D extends string, V extends string>(
  spec: ProgramSpec<K, D, V>,
  args: readonly string[],
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  const config: Record<string, { type: "string" | "boolean" }> = { help: { type: "boolean" } };
  for (const name of spec.parameters) config[spec.table.rows[name].flag] = { type: "string" };
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
 * import { helpText } from "./command_line.ts";
 * import { RUN_PARAMETERS } from "./training/run_parameters.ts";
 * const spec = { table: RUN_PARAMETERS, command: "deno task x", summary: "X." };
 * const help = helpText({ ...spec, parameters: ["seed"] });
 * assert.match(help, /--seed N +fixes the initial weights.*\n +\(SEED; default 42\)/);
 * ```
 */
export function helpText<K extends ParameterName, D extends string, V extends string>(
  spec: ProgramSpec<K, D, V>,
): string {
  const rows: [string, string, string?][] = [];
  for (const name of spec.parameters) {
    const p = spec.table.rows[name];
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
 * import { startProgram, UsageError } from "./command_line.ts";
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
