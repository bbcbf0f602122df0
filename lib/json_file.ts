/**
 * Reading JSON files back with their shape checked: a file the project wrote earlier may have been
 * edited, cut short or replaced, so every field is checked for its type before use, and a wrong
 * one is named with its file.
 *
 * @module
 */
import { readRegularFile } from "./files.ts";

/**
 * The shape of a JSON value: a type name, a number in a range, a list, an object with its fields,
 * or one of several shapes.
 */
export type Shape =
  | "string"
  | "number"
  | "integer"
  | "boolean"
  | "null"
  | "any"
  | { range: readonly [number, number] }
  | { list: Shape }
  | { fields: Readonly<Record<string, Shape>>; optional?: readonly string[] }
  | { anyOf: readonly Shape[]; says: string };

/** A JSON file that is not valid JSON or not of its shape; the message names the file (and field). */
export class JsonFileError extends Error {
  override name = "JsonFileError";
}

/** The largest JSON file read back: the project's are kilobytes; a model's topology, less. */
export const MAX_JSON_BYTES = 16_000_000;

function describe(shape: Shape): string {
  if (typeof shape === "string") {
    return shape === "integer" ? "a whole number" : shape === "null" ? "null" : `a ${shape}`;
  }
  if ("range" in shape) return `a number from ${shape.range[0]} to ${shape.range[1]}`;
  if ("list" in shape) return "a list";
  if ("fields" in shape) return "an object";
  return shape.says;
}

function fits(value: unknown, shape: Shape): boolean {
  switch (shape) {
    case "any":
      return true;
    case "null":
      return value === null;
    case "integer":
      return Number.isInteger(value);
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    case "string":
      return typeof value === "string";
    case "boolean":
      return typeof value === "boolean";
  }
  if ("range" in shape) {
    return typeof value === "number" && value >= shape.range[0] && value <= shape.range[1];
  }
  if ("list" in shape) return Array.isArray(value);
  if ("fields" in shape) {
    return typeof value === "object" && value !== null && !Array.isArray(value);
  }
  return shape.anyOf.some((s) => fits(value, s) && problem(value, s, "") === undefined);
}

/** The first field of `value` that does not fit `shape`, as a sentence's end; undefined if none. */
function problem(value: unknown, shape: Shape, at: string): string | undefined {
  if (!fits(value, shape)) {
    const shown = JSON.stringify(value)?.slice(0, 40) ?? String(value);
    return `${at ? `the field "${at}"` : "the whole file"} should be ${describe(shape)}, ` +
      `but it is ${shown}`;
  }
  if (typeof shape !== "object") return undefined;
  if ("list" in shape) {
    const list = value as unknown[];
    for (let i = 0; i < list.length; i++) {
      const found = problem(list[i], shape.list, `${at}[${i}]`);
      if (found) return found;
    }
  }
  if ("fields" in shape) {
    const object = value as Record<string, unknown>;
    for (const [name, field] of Object.entries(shape.fields)) {
      const path = at ? `${at}.${name}` : name;
      if (!Object.hasOwn(object, name)) {
        if (shape.optional?.includes(name)) continue;
        return `the field "${path}" is missing (it should be ${describe(field)})`;
      }
      const found = problem(object[name], field, path);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * Checks that `value` has `shape`.
 *
 * @throws {JsonFileError} naming `file`, the first field that is missing or of the wrong type, and
 * `fix`, what to do.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkShape } from "./json_file.ts";
 * const shape = { fields: { dataset: "string", history: { list: { fields: { loss: "number" } } } } } as const;
 * checkShape({ dataset: "mnist", history: [{ loss: 0.1 }] }, shape, "m.json");
 * assert.throws(
 *   () => checkShape({ dataset: "mnist", history: [{ loss: "low" }] }, shape, "m.json"),
 *   /^JsonFileError: m\.json: the field "history\[0\]\.loss" should be a number, but it is "low"\./,
 * );
 * ```
 */
export function checkShape<T>(
  value: unknown,
  shape: Shape,
  file: string,
  fix = "",
): asserts value is T {
  const found = problem(value, shape, "");
  if (found) throw new JsonFileError(`${file}: ${found}.${fix ? ` ${fix}` : ""}`);
}

/**
 * Reads a JSON file (a regular file, at most {@linkcode MAX_JSON_BYTES}) and checks its shape.
 *
 * @throws {Deno.errors.NotFound} when there is no file (callers decide what that means).
 * @throws {JsonFileError} naming the file when it is not valid JSON, and the file and the field
 * when its shape is wrong; both end with `fix`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readJsonFile } from "./json_file.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/a.json`, '{"about": 3}');
 * await assert.rejects(
 *   readJsonFile(`${dir}/a.json`, { fields: { about: "string" } }, "Delete it."),
 *   /a\.json: the field "about" should be a string, but it is 3\. Delete it\./,
 * );
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readJsonFile<T>(path: string, shape: Shape, fix = ""): Promise<T> {
  const bytes = await readRegularFile(path, { maxBytes: MAX_JSON_BYTES, what: "a JSON file" });
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new JsonFileError(
      `${path} is not valid JSON (${(error as Error).message}).${fix ? ` ${fix}` : ""}`,
    );
  }
  checkShape<T>(value, shape, path, fix);
  return value;
}
