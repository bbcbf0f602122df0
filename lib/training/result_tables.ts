/**
 * The README's result tables, generated from the record of experiments
 * (`results/experiments.json`) so that no figure in them is typed by hand: `deno task results`
 * writes them between marker comments (`<!-- results:NAME -->` ... `<!-- /results:NAME -->`), and
 * `deno task results --check` (part of `deno task check`) fails when a file differs.
 *
 * Only groups of the current variant definitions are shown; a variant with nothing recorded gets
 * the command that records it, so the tables read well with partial records.
 *
 * @module
 */
import { type DatasetName, DATASETS } from "../data/mnist.ts";
import { isVariantName, VARIANT_NAMES, variantFingerprint } from "../models/variants.ts";
import { getVariant } from "../models/variants.ts";
import {
  type RecordedGroup,
  type RecordedResults,
  type SeedResult,
  variantIndex,
} from "./experiment_summary.ts";

/** A column: its header and whether its cells are right-aligned (numbers). */
type Column = [header: string, right?: "right"];

/**
 * A Markdown table laid out as `deno fmt` lays it out (cells padded to the column's width), so
 * that formatting the file leaves it unchanged.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { markdownTable } from "./result_tables.ts";
 * assert.equal(
 *   markdownTable([["a"], ["n", "right"]], [["xyz", "1"]]),
 *   "| a   |   n |\n| --- | --: |\n| xyz |   1 |",
 * );
 * ```
 */
export function markdownTable(columns: readonly Column[], rows: readonly string[][]): string {
  const length = (text: string) => [...text].length;
  const widths = columns.map(([header], i) =>
    Math.max(3, length(header), ...rows.map((row) => length(row[i] ?? "")))
  );
  const pad = (text: string, i: number) => {
    const fill = " ".repeat(widths[i] - length(text));
    return columns[i][1] === "right" ? fill + text : text + fill;
  };
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, i) => pad(cell, i)).join(" | ")} |`;
  const rule = columns.map(([, right], i) =>
    right === "right" ? `${"-".repeat(widths[i] - 1)}:` : "-".repeat(widths[i])
  );
  return [line(columns.map(([header]) => header)), line(rule), ...rows.map((row) => line(row))]
    .join("\n");
}

const percent = (value: number) => `${(100 * value).toFixed(2)}%`;
const count = (value: number) => value.toLocaleString("en-US");

/** `99.63 ± 0.02%` over several seeds, `98.81%` for one. */
function accuracyText(g: RecordedGroup): string {
  return g.runs.length > 1
    ? `${(100 * g.test_accuracy_mean).toFixed(2)} ± ${(100 * g.test_accuracy_sd).toFixed(2)}%`
    : percent(g.test_accuracy_mean);
}

function lossText(g: RecordedGroup): string {
  return g.runs.length > 1
    ? `${g.test_loss_mean.toFixed(4)} ± ${g.test_loss_sd.toFixed(4)}`
    : g.test_loss_mean.toFixed(4);
}

function range(values: readonly number[], unit = ""): string {
  const low = Math.min(...values);
  const high = Math.max(...values);
  return low === high ? `${count(low)}${unit}` : `${count(low)}-${count(high)}${unit}`;
}

/** The groups of the current variant definitions, MNIST first, in catalogue order. */
export async function currentGroups(record: RecordedResults): Promise<RecordedGroup[]> {
  const current: RecordedGroup[] = [];
  for (const g of record.groups) {
    if (!isVariantName(g.variant)) continue;
    if (g.fingerprint === await variantFingerprint(getVariant(g.variant))) current.push(g);
  }
  const order = (g: RecordedGroup) => [g.dataset === "mnist" ? 0 : 1, variantIndex(g.variant)];
  return current.sort((a, b) => {
    const [x, y] = [order(a), order(b)];
    return x[0] - y[0] || x[1] - y[1] || a.dataset.localeCompare(b.dataset);
  });
}

/** The command that records `variant` on `dataset` over `seeds`. */
export function recordCommand(variant: string, dataset: string, seeds = "1,2,3"): string {
  const data = dataset === "mnist" ? "" : ` --dataset ${dataset}`;
  return `deno task experiments --variants ${variant} --seeds ${seeds}${data}`;
}

/** `2026-12-07, commit 1a2b3c4, AMD EPYC (2 cores), Deno 2.8.1`. */
function measuredText(g: RecordedGroup): string {
  const p = g.provenance;
  return `${p.dates}, commit ${p.commit}, ${p.machine.cpu} (${p.machine.cores} cores), ` +
    `Deno ${p.deno}`;
}

/** The training time of a group: the range of its runs' seconds. */
function secondsText(g: RecordedGroup): string {
  return range(g.runs.map((r) => r.train_seconds), " s");
}

/** The variants of the catalogue with nothing of their current definition recorded on MNIST. */
function unrecorded(groups: readonly RecordedGroup[]): string[] {
  return VARIANT_NAMES.filter((name) =>
    !groups.some((g) => g.variant === name && g.dataset === "mnist")
  );
}

/**
 * The README's headline table: each variant on MNIST (mean ± sample sd over seeds, training time,
 * when and where), then every other dataset recorded, runs on the whole training set only; a row
 * per variant not recorded yet, with the command that records it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { headlineTable } from "./result_tables.ts";
 * const table = await headlineTable({ about: "", groups: [] });
 * assert.match(table, /\| baseline +\| MNIST +\|[ |]+not recorded: `deno task experiments --variants baseline --seeds 1,2,3`/);
 * ```
 */
export async function headlineTable(record: RecordedResults): Promise<string> {
  const groups = (await currentGroups(record)).filter(onAllImages);
  const rows = groups.map((g) => [
    g.variant,
    datasetName(g.dataset),
    g.seeds.join(", "),
    accuracyText(g),
    secondsText(g),
    measuredText(g),
  ]);
  for (const name of unrecorded(groups)) {
    rows.splice(insertAt(rows, name), 0, [
      name,
      "MNIST",
      "",
      "",
      "",
      `not recorded: \`${recordCommand(name, "mnist")}\``,
    ]);
  }
  if (!groups.some((g) => g.dataset !== "mnist")) {
    const command = recordCommand(VARIANT_NAMES[0], "fashion-mnist");
    rows.push([VARIANT_NAMES[0], "Fashion-MNIST", "", "", "", `not recorded: \`${command}\``]);
  }
  return markdownTable(
    [["variant"], ["dataset"], ["seeds"], ["test accuracy", "right"], ["training", "right"], [
      "measured",
    ]],
    rows,
  );
}

/** Whether a group trained on the whole training set (a quick run on fewer is not a headline). */
function onAllImages(g: RecordedGroup): boolean {
  const images = g.settings.train_samples + g.settings.validation_samples;
  return images === DATASETS[g.dataset as DatasetName]?.trainImages;
}

/** Where a missing MNIST variant's row goes: after the MNIST rows of the variants before it. */
function insertAt(rows: readonly string[][], name: string): number {
  const index = variantIndex(name);
  const after = rows.findIndex((row) => row[1] !== "MNIST" || variantIndex(row[0]) > index);
  return after < 0 ? rows.length : after;
}

function datasetName(dataset: string): string {
  return dataset === "mnist" ? "MNIST" : dataset === "fashion-mnist" ? "Fashion-MNIST" : dataset;
}

/**
 * The tables of `results/README.md`: per variant and dataset (mean ± sample sd of the test
 * accuracy and loss over seeds, epochs run, training seconds, parameters, images, provenance), then
 * every run with its own provenance and command, then the commands of what is not recorded.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resultsTables } from "./result_tables.ts";
 * const text = await resultsTables({ about: "", groups: [] });
 * assert.match(text, /Nothing of today's variant definitions is recorded yet/);
 * ```
 */
export async function resultsTables(record: RecordedResults): Promise<string> {
  const groups = await currentGroups(record);
  const stale = record.groups.length - groups.length;
  const parts: string[] = [];
  if (groups.length === 0) {
    parts.push("Nothing of today's variant definitions is recorded yet.");
  } else {
    parts.push("Per variant and dataset, mean ± sample standard deviation over the seeds:");
    parts.push(groupTable(groups));
    parts.push("Every run, with its provenance and the command that makes it again:");
    parts.push(runTable(groups));
  }
  const missing = unrecorded(groups);
  if (missing.length > 0) {
    // A list, one short line each, so that deno fmt leaves it as written.
    parts.push(
      ["Not recorded on MNIST yet:", ""].concat(
        missing.map((name) => `- ${name}: \`${recordCommand(name, "mnist")}\``),
      ).join("\n"),
    );
  }
  if (stale > 0) {
    parts.push(
      `${stale} group(s) of earlier definitions are not shown (\`deno task results --check\`).`,
    );
  }
  return parts.join("\n\n");
}

function groupTable(groups: readonly RecordedGroup[]): string {
  return markdownTable(
    [
      ["variant"],
      ["dataset"],
      ["seeds"],
      ["test accuracy", "right"],
      ["test loss", "right"],
      ["epochs run", "right"],
      ["training", "right"],
      ["parameters", "right"],
      ["trained on", "right"],
      ["measured"],
    ],
    groups.map((g) => [
      g.variant,
      datasetName(g.dataset),
      g.seeds.join(", "),
      accuracyText(g),
      lossText(g),
      range(g.runs.map((r) => r.epochs_run)),
      secondsText(g),
      count(g.parameters),
      `${count(g.settings.train_samples)} + ${count(g.settings.validation_samples)}`,
      `${measuredText(g)}, tfjs ${g.provenance.tfjs}` +
      (g.provenance.note ? `; ${g.provenance.note}` : ""),
    ]),
  );
}

function runTable(groups: readonly RecordedGroup[]): string {
  const rows = groups.flatMap((g) =>
    g.runs.map((r: SeedResult) => [
      g.variant,
      datasetName(g.dataset),
      String(r.seed),
      percent(r.test_accuracy),
      r.test_loss.toFixed(4),
      String(r.epochs_run),
      `${count(r.train_seconds)} s`,
      r.test_seconds === null ? "" : `${r.test_seconds} s`,
      r.date.replace("T", " ").replace(/:\d\dZ$/, " UTC"),
      r.dirty ? `${r.commit} with uncommitted changes` : r.commit,
      `${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.os}`,
      `${r.threads} / ${r.workers ?? "unknown"}`,
      `\`${r.command}\``,
    ])
  );
  return markdownTable(
    [
      ["variant"],
      ["dataset"],
      ["seed", "right"],
      ["test accuracy", "right"],
      ["test loss", "right"],
      ["epochs run", "right"],
      ["training", "right"],
      ["testing", "right"],
      ["date"],
      ["commit"],
      ["machine"],
      ["threads / workers", "right"],
      ["command"],
    ],
    rows,
  );
}

/** A marked region of a file: `<!-- results:NAME -->`, the generated text, `<!-- /results:NAME -->`. */
export interface MarkedRegion {
  name: string;
  text: string;
}

/**
 * `content` with each region's text put between its markers.
 *
 * @throws {Error} naming the file and the marker when a marker is missing or repeated.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fillMarkers } from "./result_tables.ts";
 * const page = "# R\n<!-- results:t -->\nold\n<!-- /results:t -->\n";
 * assert.equal(
 *   fillMarkers(page, [{ name: "t", text: "new" }], "R.md"),
 *   "# R\n<!-- results:t -->\n\nnew\n\n<!-- /results:t -->\n",
 * );
 * ```
 */
export function fillMarkers(
  content: string,
  regions: readonly MarkedRegion[],
  file: string,
): string {
  let out = content;
  for (const { name, text } of regions) {
    const start = `<!-- results:${name} -->`;
    const end = `<!-- /results:${name} -->`;
    const from = out.indexOf(start);
    const to = out.indexOf(end);
    if (from < 0 || to < from || out.indexOf(start, from + 1) >= 0) {
      throw new Error(
        `${file} needs the markers ${start} and ${end}, once each and in that order, around the ` +
          "generated table: put them back (git checkout restores them), then run deno task results.",
      );
    }
    out = `${out.slice(0, from + start.length)}\n\n${text}\n\n${out.slice(to)}`;
  }
  return out;
}
