/**
 * lib/training/result_tables.ts and programs/results.ts: the README tables generated from the
 * record (what is averaged, per variant and dataset, what a reader sees of each run), and the
 * check that fails when a table was edited by hand or a record is of an earlier definition.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type RecordedRun,
  summarizeRuns,
  writeRecorded,
} from "../../lib/training/experiment_summary.ts";
import { headlineTable, resultsTables } from "../../lib/training/result_tables.ts";
import {
  VARIANT_NAMES,
  variantFingerprint,
  type VariantName,
  VARIANTS,
} from "../../lib/models/variants.ts";
import { checkResults, writeResults } from "../../programs/results.ts";
import { runProgram, sampleRunMetrics } from "../fixtures.ts";

async function run(
  variant: VariantName,
  seed: number,
  accuracy: number,
  more: Partial<RecordedRun["provenance"]> = {},
  metrics = {},
): Promise<RecordedRun> {
  return {
    metrics: sampleRunMetrics({
      variant,
      seed,
      test_accuracy: accuracy,
      test_loss: 1 - accuracy,
      train_seconds: 60 + seed,
      test_seconds: 4.53,
      train_samples: 54_000,
      validation_samples: 6_000,
      workers: 2,
      ...metrics,
    }),
    provenance: {
      date: `2026-12-0${seed}T10:00:00Z`,
      commit: "abc1234",
      dirty: false,
      machine: { cores: 2, cpu: "AMD EPYC 7B13", os: "linux 6.1.0" },
      fingerprint: await variantFingerprint(VARIANTS[variant]),
      source: "deno task experiments",
      command: `deno task experiments --variants ${variant} --seeds ${seed}`,
      ...more,
    },
  };
}

Deno.test("the headline table shows each variant's mean ± sample sd, its time and where it was measured", async () => {
  const groups = summarizeRuns([
    await run("baseline", 1, 0.988),
    await run("baseline", 2, 0.990),
    await run("baseline", 3, 0.989, { dirty: true }),
    await run("deep", 1, 0.9965),
    await run("baseline", 1, 0.893, {}, { dataset: "fashion-mnist" }),
  ]);
  const quick = summarizeRuns([
    await run("tuned", 1, 0.9, {}, { train_samples: 1800, validation_samples: 200 }),
  ]);
  const table = await headlineTable({ about: "", groups: [...groups, ...quick] });
  const lines = table.split("\n");
  assert.match(lines[2], /^\| baseline +\| MNIST +\| 1, 2, 3 \| +98\.90 ± 0\.10% \| +61-63 s \|/);
  assert.match(lines[2], /2026-12-01 to 2026-12-03, commit abc1234, abc1234 with uncommitted/);
  assert.match(lines[2], /AMD EPYC 7B13 \(2 cores\), Deno /);
  // Catalogue order; a variant not recorded shows the command that records it.
  const names = lines.slice(2).map((l) => l.split("|")[1].trim());
  assert.deepEqual(names, [...VARIANT_NAMES, "baseline"]);
  assert.match(lines[3], /not recorded: `deno task experiments --variants tuned --seeds 1,2,3`/);
  const deep = lines[2 + VARIANT_NAMES.indexOf("deep")];
  assert.match(deep, /\| deep +\| MNIST +\| 1 +\| +99\.65% \|/, "one seed: no ± 0.00");
  assert.match(lines.at(-1) ?? "", /\| baseline +\| Fashion-MNIST \| 1 +\| +89\.30% \|/);
});

Deno.test("results/README's tables: per group and every run, each with its provenance; stale groups not shown", async () => {
  const runs = [await run("baseline", 1, 0.988, { dirty: true }), await run("baseline", 2, 0.99)];
  const old = await run("deep", 1, 0.99);
  old.provenance.fingerprint = "0123456789ab";
  const text = await resultsTables({ about: "", groups: summarizeRuns([...runs, old]) });
  assert.match(text, /\| baseline \| MNIST +\| 1, 2 +\| +98\.90 ± 0\.14% \| 0\.0110 ± 0\.0014 \|/);
  assert.match(text, /\| +1 \| +61-62 s \| +121,930 \| +54,000 \+ 6,000 \|/);
  assert.match(
    text,
    /\| baseline \| MNIST +\| +2 \| +99\.00% \| +0\.0100 \| +1 \| +62 s \| +4\.5 s \| 2026-12-02 10:00 UTC \| abc1234 +\| AMD EPYC 7B13, 2 cores, linux 6\.1\.0 \| +2 \/ 2 \| `deno task experiments --variants baseline --seeds 2` \|/,
  );
  assert.match(text, /\| 2026-12-01 10:00 UTC \| abc1234 with uncommitted changes \|/);
  assert.doesNotMatch(text, /0123456789ab|\| deep /);
  assert.match(text, /1 group\(s\) of earlier definitions are not shown/);
  assert.match(text, /- deep: `deno task experiments --variants deep --seeds 1,2,3`/);
});

async function repository(): Promise<string> {
  const root = await Deno.makeTempDir();
  await Deno.mkdir(join(root, "results"));
  await Deno.writeTextFile(
    join(root, "README.md"),
    "# R\n\n<!-- results:headline -->\n<!-- /results:headline -->\n",
  );
  await Deno.writeTextFile(
    join(root, "results", "README.md"),
    "# Results\n\n<!-- results:tables -->\n<!-- /results:tables -->\n",
  );
  return root;
}

Deno.test("deno task results writes the tables; --check fails on a hand edit or a stale record, naming the file and the command", async () => {
  const root = await repository();
  try {
    const record = join(root, "results", "experiments.json");
    await writeRecorded(
      { about: "", groups: summarizeRuns([await run("baseline", 1, 0.988)]) },
      record,
    );
    assert.equal((await checkResults(root)).length, 2, "neither file written yet");
    assert.deepEqual(await writeResults(root), ["README.md", join("results", "README.md")]);
    assert.deepEqual(await checkResults(root), []);
    const readme = await Deno.readTextFile(join(root, "README.md"));
    assert.match(readme, /98\.80%/);
    // A figure typed by hand.
    await Deno.writeTextFile(join(root, "README.md"), readme.replace("98.80%", "99.80%"));
    const cli = new URL("../../programs/results.ts", import.meta.url).pathname;
    const check = await runProgram(cli, ["--check", "--root", root]);
    assert.equal(check.code, 1);
    assert.match(
      check.stderr,
      /^README\.md: its result tables differ from results\/experiments\.json .*: run deno task results to write them\./,
    );
    assert.equal((await runProgram(cli, ["--root", root])).code, 0);
    assert.equal((await runProgram(cli, ["--check", "--root", root])).code, 0);
    // A record of an earlier definition: reported, then dropped by --drop-stale.
    const stale = await run("deep", 1, 0.99);
    stale.provenance.fingerprint = "0123456789ab";
    await writeRecorded({
      about: "",
      groups: summarizeRuns([await run("baseline", 1, 0.988), stale]),
    }, record);
    const second = await runProgram(cli, ["--check", "--root", root]);
    assert.equal(second.code, 1);
    assert.match(
      second.stderr,
      /deep on mnist \(seeds 1\) was recorded for an earlier definition of deep \(fingerprint 0123456789ab, now [0-9a-f]{12}\): record it again with deno task experiments --variants deep, or drop it with deno task results --drop-stale\./,
    );
    assert.equal((await runProgram(cli, ["--drop-stale", "--root", root])).code, 0);
    assert.equal((await runProgram(cli, ["--check", "--root", root])).code, 0);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("--check fails when a group's mean does not follow from its runs", async () => {
  const root = await repository();
  try {
    const record = join(root, "results", "experiments.json");
    const [group] = summarizeRuns([
      await run("baseline", 1, 0.988),
      await run("baseline", 2, 0.99),
    ]);
    await writeRecorded({ about: "", groups: [{ ...group, test_accuracy_mean: 0.995 }] }, record);
    await writeResults(root);
    const problems = await checkResults(root);
    assert.equal(problems.length, 1, problems.join("\n"));
    assert.match(
      problems[0],
      /the figures of baseline on mnist \(seeds 1, 2\) do not follow from its runs/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("the committed READMEs' tables are in step with results/experiments.json", async () => {
  const root = new URL("../..", import.meta.url).pathname;
  assert.deepEqual(await checkResults(root), []);
});
