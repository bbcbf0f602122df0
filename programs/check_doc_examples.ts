/**
 * Checks that every runnable JSDoc example in `lib/` and `programs/` asserts with something that
 * throws. `deno test --doc` runs the examples, but an example whose check only prints (such as
 * `console.assert(false)`, which logs "Assertion failed" and carries on) passes whatever the code
 * does. `deno task check` runs this, so such an example cannot come back.
 *
 * An example is runnable when its opening fence says `ts` and not `ignore`. It must import
 * `node:assert/strict` and call `assert`, and must not call `console.assert`.
 *
 * @example
 * ```sh
 * deno run --allow-read programs/check_doc_examples.ts lib programs
 * ```
 *
 * @module
 */
import { join, relative } from "node:path";

/** A runnable example that does not assert, and why. */
export interface ExampleProblem {
  file: string;
  /** 1-based line of the example's opening fence. */
  line: number;
  problem: string;
}

/**
 * The problems of the runnable examples in one file's text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exampleProblems } from "./check_doc_examples.ts";
 * const fence = "`".repeat(3);
 * const doc = (body: string) => ["/**", ` * ${fence}ts`, ` * ${body}`, ` * ${fence}`, " *" + "/"].join("\n");
 * assert.deepEqual(exampleProblems("a.ts", doc('import assert from "node:assert/strict"; assert.ok(1);')), []);
 * const bad = doc("console." + "assert(1 === 2);");
 * assert.equal(exampleProblems("b.ts", bad).length, 1);
 * ```
 */
export function exampleProblems(file: string, text: string): ExampleProblem[] {
  const problems: ExampleProblem[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const fence = /^\s*\*\s*```(\S*)(.*)$/.exec(lines[i]);
    if (!fence || !["ts", "typescript"].includes(fence[1]) || /\bignore\b/.test(fence[2])) continue;
    let end = i + 1;
    while (end < lines.length && !/^\s*\*\s*```\s*$/.test(lines[end])) end++;
    const body = lines.slice(i + 1, end).join("\n");
    const line = i + 1;
    if (/console\.assert\s*\(/.test(body)) {
      problems.push({ file, line, problem: "uses console.assert, which only prints" });
    } else if (!/from\s+"node:assert\/strict"/.test(body) || !/\bassert(\.\w+)?\s*\(/.test(body)) {
      problems.push({
        file,
        line,
        problem: 'does not assert: import assert from "node:assert/strict" and check the result',
      });
    }
    i = end;
  }
  return problems;
}

async function* typeScriptFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* typeScriptFiles(path);
    else if (entry.isFile && path.endsWith(".ts")) yield path;
  }
}

/**
 * Checks the folders given (default `lib` and `programs`); returns the exit code.
 *
 * @example
 * ```ts ignore
 * import { main } from "./check_doc_examples.ts";
 * Deno.exitCode = await main(["lib"]);
 * ```
 */
export async function main(dirs: readonly string[]): Promise<number> {
  const problems: ExampleProblem[] = [];
  let examples = 0;
  for (const dir of dirs.length > 0 ? dirs : ["lib", "programs"]) {
    for await (const file of typeScriptFiles(dir)) {
      const text = await Deno.readTextFile(file);
      examples += (text.match(/^\s*\*\s*```ts(?!\S)(?!.*ignore)/gm) ?? []).length;
      problems.push(...exampleProblems(relative(Deno.cwd(), file), text));
    }
  }
  for (const p of problems) console.error(`${p.file}:${p.line}: this example ${p.problem}.`);
  if (problems.length > 0) {
    console.error(`${problems.length} JSDoc example(s) cannot fail; fix them as above.`);
    return 1;
  }
  console.log(`${examples} JSDoc examples assert with node:assert/strict`);
  return 0;
}

if (import.meta.main) {
  Deno.exitCode = await main(Deno.args);
}
