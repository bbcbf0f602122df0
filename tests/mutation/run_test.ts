/** The mutation pass's runner (tests/mutation/run.ts): what it calls caught, and what it reports. */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  markdownReport,
  type Outcome,
  type PassRecord,
  readPassRecord,
  tryMutation,
} from "./run.ts";
import type { Mutation } from "./mutations.ts";

const MODULE = `/**
 * @example
 * \`\`\`ts
 * import assert from "node:assert/strict";
 * import { half } from "./half.ts";
 * assert.equal(half(4), 2);
 * \`\`\`
 */
export function half(x: number): number {
  return x / 2;
}
/** Rounded down, as no test checks. */
export function halfDown(x: number): number {
  return Math.floor(x / 2);
}
`;
const TEST = `import assert from "node:assert/strict";
import { half } from "./half.ts";
Deno.test("half() of 2 is 1", () => assert.equal(half(2), 1));
`;

/** A folder holding a module and its test, as a scratch copy of a repository would. */
async function smallRepository(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "mutation-run-test-" });
  await Deno.writeTextFile(join(dir, "half.ts"), MODULE);
  await Deno.writeTextFile(join(dir, "half_test.ts"), TEST);
  return dir;
}

const mutation = (fields: Partial<Mutation>): Mutation => ({
  id: "half-times",
  file: "half.ts",
  original: "return x / 2;",
  mutant: "return x * 2;",
  breaks: "half doubles",
  tests: ["half_test.ts"],
  ...fields,
});

Deno.test("tryMutation(): a failing test is caught, passing tests survive, a missing snippet is stale, and the file is put back", async () => {
  const dir = await smallRepository();
  try {
    const caught = await tryMutation(dir, mutation({}), 120);
    assert.equal(caught.result, "caught", caught.output);
    assert.deepEqual(caught.failed, ["half() of 2 is 1"]);
    // Only the doc example sees it: the module runs with --doc beside its tests.
    const byExample = await tryMutation(
      dir,
      mutation({ id: "half-plus", original: "return x / 2;", mutant: "return x - 1;" }),
      120,
    );
    assert.equal(byExample.result, "caught", byExample.output);
    const untested = { original: "Math.floor(x / 2)", mutant: "Math.ceil(x / 2)" };
    assert.equal((await tryMutation(dir, mutation(untested), 120)).result, "survived");
    const expected = mutation({ ...untested, equivalent: "no test calls halfDown" });
    assert.equal((await tryMutation(dir, expected, 120)).result, "equivalent");
    assert.equal((await tryMutation(dir, mutation({ original: "x / 3" }), 120)).result, "stale");
    const invalid = mutation({ original: "return x / 2;", mutant: 'return "x";' });
    assert.equal((await tryMutation(dir, invalid, 120)).result, "invalid");
    assert.equal(await Deno.readTextFile(join(dir, "half.ts")), MODULE);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const RECORD: PassRecord = {
  date: "2026-12-07T21:57:01Z",
  commit: "cbc7edc",
  machine: { cpu: "AMD EPYC", cores: 2, os: "linux 6.18" },
  deno: "2.8.1",
  seconds: 3600,
  only: [],
  outcomes: [
    {
      id: "half-times",
      file: "half.ts",
      result: "caught",
      failed: ["half() of 2 is 1"],
      seconds: 2,
    },
    {
      id: "half-down",
      file: "half.ts",
      result: "caught",
      failed: ["file:///var/tmp/mutation-1a2b/half.ts$3-8.ts"],
      seconds: 1,
    },
    { id: "half-down-eq", file: "half.ts", result: "equivalent", failed: [], seconds: 3 },
    { id: "half-up", file: "other.ts", result: "survived", failed: [], seconds: 4 },
  ] satisfies Outcome[],
};

Deno.test("markdownReport(): the run's provenance and counts, each module, each equivalent's reason, each survivor, every mutation", () => {
  // Table cells are padded to their column's width, as deno fmt lays tables out: compare words.
  const page = markdownReport(RECORD, [
    mutation({}),
    mutation({ id: "half-down", breaks: "rounds down" }),
    mutation({ id: "half-down-eq", breaks: "rounds up", equivalent: "no test calls halfDown" }),
    mutation({ id: "half-up", file: "other.ts", breaks: "rounds the other way" }),
  ]).replace(/ {2,}/g, " ");
  assert.match(
    page,
    /Run started 2026-12-07T21:57:01Z at commit cbc7edc, on AMD EPYC \(2 cores, linux 6\.18\), Deno 2\.8\.1: 4 mutations in 60 minutes/,
  );
  assert.match(page, /\*\*2 caught, 1 survived, 1 equivalent, 0 stale, 0 invalid\.\*\*/);
  assert.match(page, /^\| `half\.ts` \| 3 \| 2 \| 0 \| 1 \| 0 \|$/m);
  assert.match(page, /^\| `other\.ts` \| 1 \| 0 \| 1 \| 0 \| 0 \|$/m);
  assert.match(page, /^- `half-down-eq` \(`half\.ts`\): no test calls halfDown$/m);
  assert.match(page, /^- `half-up` \(`other\.ts`\), survived: rounds the other way$/m);
  assert.match(
    page,
    /^\| `half-times` \| `half\.ts` \| half doubles \| caught \| half\(\) of 2 is 1 \| 2 \|$/m,
  );
  // A doc example is named by its place in the module, not in the scratch copy.
  assert.match(
    page,
    /^\| `half-down` \| `half\.ts` \| rounds down \| caught \| half\.ts\$3-8\.ts \| 1 \|$/m,
  );
  const clean = markdownReport({ ...RECORD, outcomes: RECORD.outcomes.slice(0, 1) }, [
    mutation({}),
  ]);
  assert.match(clean, /## Survived, stale or invalid\n\nNone\./);
});

Deno.test("readPassRecord() reads what --out wrote and refuses another JSON file by name", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "run.json"), JSON.stringify(RECORD));
    assert.deepEqual(await readPassRecord(join(dir, "run.json")), RECORD);
    // What --out wrote before runs carried their provenance: a bare list of outcomes.
    await Deno.writeTextFile(join(dir, "old.json"), JSON.stringify(RECORD.outcomes));
    await assert.rejects(
      readPassRecord(join(dir, "old.json")),
      /old\.json is not a run of the mutation pass \(no date, commit and outcomes\)/,
    );
    await Deno.writeTextFile(join(dir, "broken.json"), "{");
    await assert.rejects(
      readPassRecord(join(dir, "broken.json")),
      /Cannot read .*broken\.json as JSON/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--from writes the page laid out as the repository's deno fmt lays it, outside the repository too", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "run.json"), JSON.stringify(RECORD));
    const page = join(dir, "page.md");
    const run = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "tests/mutation/run.ts",
        "--from",
        join(dir, "run.json"),
        "--report",
        page,
      ],
      cwd: join(import.meta.dirname!, "..", ".."),
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(run.success, new TextDecoder().decode(run.stderr));
    const text = await Deno.readTextFile(page);
    // The repository's line width (100), not deno fmt's default (80): prose wraps at 100.
    const prose = text.split("\n").filter((line) => !line.startsWith("|"));
    assert.ok(prose.every((line) => line.length <= 100), "a prose line over 100 characters");
    assert.ok(prose.some((line) => line.length > 80), "wrapped at 80, not at the project's 100");
    assert.match(text, /^\| `half-times` +\| `half\.ts` +\|/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
