/**
 * lib/training/experiment_summary.ts from the reader's side: each field of a recorded group that
 * the notebook's comparison shows (what is averaged, over which runs, the dates, commits, machines
 * and notes) and the line deno task experiments prints.
 */
import assert from "node:assert/strict";
import {
  formatGroup,
  gitState,
  readRecorded,
  type RecordedResults,
  type RecordedRun,
  recordProblems,
  summarizeRuns,
  writeRecorded,
} from "../../lib/training/experiment_summary.ts";
import { sampleRunMetrics } from "../fixtures.ts";
import { variantFingerprint, VARIANTS } from "../../lib/models/variants.ts";

function run(seed: number, more: Partial<RecordedRun["provenance"]> = {}, metrics = {}) {
  return {
    metrics: sampleRunMetrics({
      seed,
      test_accuracy: 0.98 + seed / 1000,
      test_loss: seed / 10,
      ...metrics,
    }),
    provenance: {
      date: `2026-12-0${seed}T10:00:00Z`,
      commit: "abc1234",
      machine: { cores: 2, cpu: "AMD EPYC", os: "linux" },
      fingerprint: "f1",
      source: "deno task experiments",
      dirty: false,
      command: `deno task experiments --variants baseline --seeds ${seed}`,
      ...more,
    },
  } satisfies RecordedRun;
}

Deno.test("runs with another validation split are a group of their own", () => {
  const groups = summarizeRuns([
    run(1),
    run(2, {}, { validation_samples: 0, train_samples: 2000 }),
    run(3, {}, { validation_samples: 0 }),
  ]);
  assert.equal(groups.length, 3, JSON.stringify(groups.map((g) => g.settings)));
});

Deno.test("the group averages the test loss and the accuracy each over its seeds, listed in order", () => {
  const [group] = summarizeRuns([run(3), run(1), run(2)]);
  assert.deepEqual(group.seeds, [1, 2, 3]);
  assert.deepEqual(group.runs.map((r) => r.seed), [1, 2, 3]);
  assert.ok(Math.abs(group.test_loss_mean - 0.2) < 1e-12, String(group.test_loss_mean));
  assert.ok(Math.abs(group.test_loss_sd - 0.1) < 1e-12, String(group.test_loss_sd));
  assert.ok(Math.abs(group.test_accuracy_mean - 0.982) < 1e-12);
  assert.equal(group.provenance.dates, "2026-12-01 to 2026-12-03", "earliest date first");
});

Deno.test("the provenance says when machines differ, names each commit once, and each note once", () => {
  const other = { cores: 8, cpu: "Intel Xeon", os: "linux" };
  const [group] = summarizeRuns([
    run(1, { note: "made under load" }),
    run(2, { note: "made under load", commit: "def5678" }),
    run(3, { machine: other }),
  ]);
  const note = group.provenance.note ?? "";
  assert.equal(note.split("made under load").length, 2, note);
  assert.match(note, /made on several machines: .*AMD EPYC.*Intel Xeon/);
  assert.equal(group.provenance.commit, "abc1234, def5678");
  const [same] = summarizeRuns([run(1), run(2)]);
  assert.equal(same.provenance.note, undefined, "one machine, no note");
});

Deno.test("formatGroup() prints the accuracy and its spread in percent, the loss with 4 decimals", () => {
  const [group] = summarizeRuns([run(1), run(3)]);
  assert.match(formatGroup(group), /seeds 1,3 accuracy 98\.20 ± 0\.14% {2}loss 0\.2000 ± 0\.1414/);
});

Deno.test("writeRecorded() lists MNIST before Fashion-MNIST, whatever order the groups came in", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const groups = summarizeRuns([
      run(1, {}, { dataset: "fashion-mnist" }),
      run(1, {}, { dataset: "mnist" }),
    ]);
    const path = `${dir}/experiments.json`;
    await writeRecorded({ about: "test", groups }, path);
    const written = JSON.parse(await Deno.readTextFile(path)) as RecordedResults;
    assert.deepEqual(written.groups.map((g) => g.dataset), ["mnist", "fashion-mnist"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readRecorded() refuses an accuracy written as a percentage, naming the field", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const [group] = summarizeRuns([run(1)]);
    group.runs[0].test_accuracy = 98.1;
    const path = `${dir}/experiments.json`;
    await Deno.writeTextFile(path, JSON.stringify({ about: "test", groups: [group] }));
    await assert.rejects(readRecorded(path), /test_accuracy.*from 0 to 1/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("gitState() says when the code differs from the commit, not when a record does", async () => {
  const dir = await Deno.makeTempDir();
  const git = (...args: string[]) =>
    new Deno.Command("git", { args: ["-C", dir, ...args], stdout: "null", stderr: "null" })
      .output();
  try {
    await git("init", "-q");
    await Deno.mkdir(`${dir}/lib`);
    await Deno.mkdir(`${dir}/results`);
    await Deno.writeTextFile(`${dir}/lib/a.ts`, "export const a = 1;\n");
    await Deno.writeTextFile(`${dir}/results/experiments.json`, "{}\n");
    await git("add", ".");
    await git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "a");
    const clean = await gitState(dir);
    assert.match(clean.commit, /^[0-9a-f]{7,}$/);
    assert.equal(clean.dirty, false);
    await Deno.writeTextFile(`${dir}/results/experiments.json`, "{ }\n");
    assert.deepEqual(await gitState(dir), clean, "a new record is not a code change");
    await Deno.writeTextFile(`${dir}/lib/a.ts`, "export const a = 2;\n");
    assert.deepEqual(await gitState(dir), { commit: clean.commit, dirty: true });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assert.deepEqual(await gitState(dir), { commit: "unknown", dirty: false });
});

Deno.test("a group names each commit once, and marks the one whose code differed", () => {
  const [group] = summarizeRuns([run(1), run(2, { dirty: true }), run(3)]);
  assert.equal(group.provenance.commit, "abc1234, abc1234 with uncommitted changes");
});

Deno.test("a group's runs keep their own workers, threads and command; the group lists the workers", () => {
  const [group] = summarizeRuns([
    run(1, {}, { workers: 2 }),
    run(2, {}, { workers: 0 }),
    run(3, {}, {}),
  ]);
  assert.deepEqual(group.runs.map((r) => r.workers), [2, 0, null]);
  assert.equal(group.provenance.workers, "2, 0, unknown");
  assert.equal(group.runs[1].command, "deno task experiments --variants baseline --seeds 2");
});

Deno.test("recordProblems() names a group of an earlier definition and a mean edited by hand", async () => {
  const current = await variantFingerprint(VARIANTS.baseline);
  const [group] = summarizeRuns([
    run(1, { fingerprint: current }),
    run(2, { fingerprint: current }),
  ]);
  assert.deepEqual(await recordProblems({ about: "", groups: [group] }, "e.json"), []);
  const [stale] = await recordProblems(
    { about: "", groups: [{ ...group, fingerprint: "0123456789ab" }] },
    "e.json",
  );
  assert.match(
    stale,
    /^e\.json: baseline on mnist \(seeds 1, 2\) was recorded for an earlier definition of baseline \(fingerprint 0123456789ab, now [0-9a-f]{12}\): record it again with deno task experiments --variants baseline/,
  );
  const edited = { ...group, test_accuracy_mean: group.test_accuracy_mean + 0.001 };
  const [hand] = await recordProblems({ about: "", groups: [edited] }, "e.json");
  assert.match(
    hand,
    /^e\.json: the figures of baseline on mnist \(seeds 1, 2\) do not follow from its runs/,
  );
  const gone = { ...group, variant: "huge" };
  const [unknown] = await recordProblems({ about: "", groups: [gone] }, "e.json");
  assert.match(
    unknown,
    /huge on mnist .* a variant that no longer exists: drop it with deno task results --drop-stale/,
  );
});
