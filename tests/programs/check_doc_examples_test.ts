import assert from "node:assert/strict";
import { exampleProblems, main } from "../../programs/check_doc_examples.ts";

const FENCE = "`".repeat(3);
const doc = (fence: string, ...body: string[]) =>
  ["/**", " * @example", ` * ${fence}`, ...body.map((l) => ` * ${l}`), ` * ${FENCE}`, " */"]
    .join("\n");

Deno.test("exampleProblems() flags an example that only prints or does not check anything", () => {
  const printing = doc(
    `${FENCE}ts`,
    'import { f } from "./f.ts";',
    "console." + "assert(f() === 1);",
  );
  const silent = doc(`${FENCE}ts`, 'import { f } from "./f.ts";', "console.log(f());");
  const noImport = doc(`${FENCE}ts`, "assert.equal(1, 1);");
  assert.deepEqual(exampleProblems("p.ts", printing).map((p) => [p.line, p.problem]), [
    [3, "uses console.assert, which only prints"],
  ]);
  assert.match(exampleProblems("s.ts", silent)[0].problem, /does not assert/);
  assert.match(exampleProblems("n.ts", noImport)[0].problem, /does not assert/);
});

Deno.test("exampleProblems() accepts asserting examples and skips ignored and shell ones", () => {
  const good = doc(
    `${FENCE}ts`,
    'import assert from "node:assert/strict";',
    "assert.deepEqual([1], [1]);",
  );
  assert.deepEqual(exampleProblems("g.ts", good), []);
  assert.deepEqual(exampleProblems("i.ts", doc(`${FENCE}ts ignore`, "console.log(1);")), []);
  assert.deepEqual(exampleProblems("sh.ts", doc(`${FENCE}sh`, "deno task test")), []);
});

Deno.test("check_doc_examples passes on lib/ and programs/, and fails on a folder with a bad example", async () => {
  assert.equal(await main(["lib", "programs"]), 0);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/bad.ts`, doc(`${FENCE}ts`, "console.log(1);"));
    const errors: string[] = [];
    const error = console.error;
    console.error = (text: string) => errors.push(text);
    const code = await main([dir]).finally(() => console.error = error);
    assert.equal(code, 1);
    assert.match(errors[0], /bad\.ts:3: this example does not assert/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
