/**
 * Small generated MNIST-like files for the tests: no test depends on the network or on the real data
 * being somewhere, except the one that checks the real files.
 *
 * @module
 */
import assert, { AssertionError } from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { IdxFileName } from "../lib/data/mnist.ts";
import type { RunMetrics, RunRecord } from "../lib/training/run_metrics.ts";
import type * as tf from "@tensorflow/tfjs";
import { sha256 } from "../lib/files.ts";
import { crc32, deflateSync } from "node:zlib";

/** Bytes of an IDX file: big-endian magic, dimensions, then the data. */
export function idxBytes(magic: number, shape: number[], data: Uint8Array): Uint8Array {
  const header = new DataView(new ArrayBuffer(4 + 4 * shape.length));
  header.setUint32(0, magic);
  shape.forEach((d, i) => header.setUint32(4 + 4 * i, d));
  const out = new Uint8Array(header.byteLength + data.length);
  out.set(new Uint8Array(header.buffer), 0);
  out.set(data, header.byteLength);
  return out;
}

/** Gzips bytes with the web-standard CompressionStream. */
export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** `count` images whose pixels are `(image * 7 + pixel) % 256`, and labels `image % 10`. */
export function syntheticSplit(count: number): { images: Uint8Array; labels: Uint8Array } {
  const images = new Uint8Array(count * 784);
  for (let i = 0; i < images.length; i++) images[i] = (Math.floor(i / 784) * 7 + i) % 256;
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 10);
  return { images, labels };
}

/** The four gzipped files of a small dataset: 30 training and 10 test images by default. */
export async function datasetFiles(
  options: { train?: number; test?: number } = {},
): Promise<Record<IdxFileName, Uint8Array>> {
  const train = syntheticSplit(options.train ?? 30);
  const test = syntheticSplit(options.test ?? 10);
  return {
    "train-images-idx3-ubyte.gz": await gzip(
      idxBytes(2051, [train.labels.length, 28, 28], train.images),
    ),
    "train-labels-idx1-ubyte.gz": await gzip(idxBytes(2049, [train.labels.length], train.labels)),
    "t10k-images-idx3-ubyte.gz": await gzip(
      idxBytes(2051, [test.labels.length, 28, 28], test.images),
    ),
    "t10k-labels-idx1-ubyte.gz": await gzip(idxBytes(2049, [test.labels.length], test.labels)),
  };
}

/** The SHA-256 of each file, for the loader's `checksums` option. */
export async function checksumsOf(
  files: Partial<Record<IdxFileName, Uint8Array>>,
): Promise<Partial<Record<IdxFileName, string>>> {
  const sums: Partial<Record<IdxFileName, string>> = {};
  for (const [name, bytes] of Object.entries(files)) {
    sums[name as IdxFileName] = await sha256(bytes);
  }
  return sums;
}

/** Writes the files as `<root>/<dataset>/<file>`, the layout DATA_MIRROR points at. */
export async function writeMirror(
  root: string,
  dataset: string,
  files: Partial<Record<IdxFileName, Uint8Array>>,
): Promise<void> {
  await Deno.mkdir(join(root, dataset), { recursive: true });
  for (const [name, bytes] of Object.entries(files)) {
    await Deno.writeFile(join(root, dataset, name), bytes);
  }
}

/** Lists a folder's file names, sorted; an absent folder lists nothing. */
export async function listFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names.sort();
}

/** The error `promise` rejects with; fails when it resolves or rejects with a non-Error. */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`Expected an Error, got ${String(error)}`);
  }
  throw new Error("Expected a rejection, but the promise resolved.");
}

/**
 * Asserts that two arrays of numbers hold the same values (within `tolerance`, default 0), and
 * fails with a one-line summary: the length, the number of differing values and the first one.
 * `assert.deepEqual` prints a diff of every element instead, which took a minute for 64 images.
 */
export function assertSameArray(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  options: { tolerance?: number; message?: string } = {},
): void {
  const summary = compareArrays(actual, expected, options.tolerance ?? 0);
  if (summary !== undefined) {
    throw new AssertionError({
      message: `${options.message ? `${options.message}: ` : ""}${summary}`,
      actual: `array of ${actual.length}`,
      expected: `array of ${expected.length}`,
      operator: "assertSameArray",
    });
  }
}

/** Asserts that two arrays of numbers differ somewhere, failing with a one-line message. */
export function assertDifferentArrays(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  message = "the arrays should differ",
): void {
  if (compareArrays(actual, expected, 0) === undefined) {
    throw new AssertionError({
      message: `${message}, but all ${actual.length} values are equal.`,
      operator: "assertDifferentArrays",
    });
  }
}

/** A sentence saying how two arrays differ, or undefined when they hold the same values. */
function compareArrays(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: number,
): string | undefined {
  if (actual.length !== expected.length) {
    return `lengths differ: ${actual.length} values, expected ${expected.length}.`;
  }
  let count = 0;
  let first = -1;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], e = expected[i];
    const same = Object.is(a, e) || Math.abs(a - e) <= tolerance;
    if (!same) {
      count++;
      if (first < 0) first = i;
    }
  }
  if (count === 0) return undefined;
  return `${count} of ${actual.length} values differ` +
    (tolerance > 0 ? ` by more than ${tolerance}` : "") +
    `; the first at index ${first}: ${actual[first]}, expected ${expected[first]}.`;
}

/** What a program printed and how it ended. */
export interface ProgramResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `deno run -A <program> ...args` in a child process, with `env` added to the environment,
 * and returns its exit code and output.
 */
export async function runProgram(
  program: string,
  args: readonly string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<ProgramResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", program, ...args],
    env: options.env,
    cwd: options.cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** A PNG chunk: length, type, body and the CRC of type and body. */
function pngChunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(body, 8);
  view.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)) >>> 0);
  return out;
}

/**
 * A well-formed 8-bit grey PNG (every chunk whole, every CRC right) whose image data holds only
 * `rows` of the `height` rows its header promises, or all of them; `interlaced` stores the rows
 * in Adam7's seven passes. Every pixel is 200.
 */
export function greyPng(
  options: { width: number; height: number; rows?: number; interlaced?: boolean },
): Uint8Array {
  const { width, height } = options;
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header.set([8, 0, 0, 0, options.interlaced ? 1 : 0], 8);
  const passes = options.interlaced
    ? [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [
      0,
      1,
      1,
      2,
    ]]
    : [[0, 0, 1, 1]];
  const scanlines: number[] = [];
  for (const [x0, y0, dx, dy] of passes) {
    const w = Math.ceil(Math.max(0, width - x0) / dx);
    const h = Math.ceil(Math.max(0, height - y0) / dy);
    if (w === 0) continue;
    for (let y = 0; y < h; y++) scanlines.push(0, ...new Array(w).fill(200));
  }
  const kept = options.rows === undefined
    ? scanlines
    : scanlines.slice(0, options.rows * (width + 1));
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk("IHDR", header),
    pngChunk("IDAT", new Uint8Array(deflateSync(new Uint8Array(kept)))),
    pngChunk("IEND", new Uint8Array()),
  ];
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
}

/** A whole `metrics.json` record of a small run, with `more` fields changed. */
export function sampleRunMetrics(more: Partial<RunMetrics> = {}): RunMetrics {
  return {
    dataset: "mnist",
    variant: "baseline",
    test_accuracy: 0.9,
    test_loss: 0.3,
    seed: 1,
    epochs: 1,
    epochs_run: 1,
    batch_size: 128,
    train_samples: 1800,
    validation_samples: 200,
    parameters: 121_930,
    train_seconds: 3,
    train_samples_per_s: 600,
    backend: "wasm",
    simd: true,
    threads: 2,
    tfjs_version: "4.22.0",
    deno_version: "2.8.1",
    history: [{
      epoch: 1,
      loss: 0.5,
      accuracy: 0.8,
      val_loss: null,
      val_accuracy: null,
      learning_rate: 0.001,
      seconds: 3,
    }],
    ...more,
  };
}

/** Options of {@linkcode photographedDigit}. */
export interface PhotographedDigitOptions {
  /** The photo's size. Default 120x90, wider than tall as a phone's landscape shot. */
  width?: number;
  height?: number;
  /** Where the "1" stands: its left column and top row. Default off-centre, low and right. */
  x?: number;
  y?: number;
  /** Stroke width in photo pixels. Default 3. */
  stroke?: number;
  /**
   * The paper's brightness from the left edge to the right one (uneven light). Default 180 to 215:
   * with ink at grey 57, a darker side (165 to 215) is read as ink by `toDigitImage`.
   */
  paper?: readonly [number, number];
  /** The ink's colour, RGB. Default a blue ballpoint. */
  ink?: readonly [number, number, number];
  /** Seeded noise of the camera, in grey levels either way. Default 6. */
  noise?: number;
}

/**
 * A photographed-style digit: a "7" in RGB, thin pen strokes on grey paper lit unevenly from one
 * side, with sensor noise, off-centre in a landscape frame, as a phone photo of a written digit
 * looks once cropped loosely. The ink box is returned with it.
 */
export function photographedDigit(options: PhotographedDigitOptions = {}): {
  image: { width: number; height: number; channels: 3; data: Uint8Array };
  box: { x: number; y: number; width: number; height: number };
} {
  const { width = 120, height = 90, x = 70, y = 30, stroke = 3, noise = 6 } = options;
  const [left, right] = options.paper ?? [180, 215];
  const ink = options.ink ?? [40, 50, 140];
  const data = new Uint8Array(width * height * 3);
  let state = 12345;
  const jitter = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return Math.round((state / 2 ** 31 - 0.5) * 2 * noise);
  };
  const top = 30; // the "7": a bar on top, then a slanted stem down to the left
  const isInk = (px: number, py: number) => {
    const dx = px - x, dy = py - y;
    if (dy < 0 || dy >= top + stroke) return false;
    if (dy < stroke) return dx >= 0 && dx < 20;
    const stem = 20 - stroke - Math.round(dy * 10 / top); // from the bar's right end, leaning left
    return dx >= stem && dx < stem + stroke;
  };
  for (let py = 0; py < height; py++) {
    for (let px = 0; px < width; px++) {
      const p = (py * width + px) * 3;
      const paper = left + (right - left) * px / (width - 1);
      const colour = isInk(px, py) ? ink : [paper, paper, paper * 0.97];
      for (let c = 0; c < 3; c++) data[p + c] = Math.min(255, Math.max(0, colour[c] + jitter()));
    }
  }
  return {
    image: { width, height, channels: 3, data },
    box: { x, y, width: 20, height: top + stroke }, // the stem ends inside the bar's width
  };
}

/**
 * A digit drawn with a one-pixel pen on a large white canvas (as a drawing pad or a scan at high
 * resolution gives it): a "1" `length` pixels tall, grey 0..255 with black ink.
 */
export function thinStrokeDigit(
  options: { size?: number; length?: number } = {},
): { width: number; height: number; channels: 1; data: Uint8Array } {
  const { size = 400, length = 300 } = options;
  const data = new Uint8Array(size * size).fill(255);
  const top = Math.floor((size - length) / 2);
  for (let r = 0; r < length; r++) data[(top + r) * size + Math.floor(size / 2)] = 0;
  return { width: size, height: size, channels: 1, data };
}

/** The keys whose text Jupyter stores as a list of lines in a saved notebook. */
const LINE_KEYS = new Set(["source", "text", "text/html", "text/plain", "text/markdown"]);

/**
 * A notebook as Jupyter saves it: every cell source, stream text and text output split into a
 * list of lines, each but the last ending in "\n" (nbformat's multiline strings), where notebooks
 * written by code often hold one string.
 */
export function storedAsLines<T>(notebook: T): T {
  const lines = (text: string) => text.split(/(?<=\n)/);
  const walk = (value: unknown, key = ""): unknown => {
    if (typeof value === "string") return LINE_KEYS.has(key) ? lines(value) : value;
    if (Array.isArray(value)) return value.map((v) => walk(v));
    if (value === null || typeof value !== "object") return value;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, k)]));
  };
  return walk(notebook) as T;
}

/**
 * Runs a one-cell notebook, `<dir>/<name>.ipynb` with `source` as its cell, through the project's
 * runner (`jupyter/run_notebook.ts`, as `deno task notebook` does) and returns the path of the
 * exported HTML page, `<dir>/out/<name>.html`. Fails with the runner's stderr if it does not exit 0.
 */
export async function exportOneCellNotebook(
  dir: string,
  name: string,
  source: string,
): Promise<string> {
  const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
  await Deno.writeTextFile(
    join(dir, `${name}.ipynb`),
    JSON.stringify({
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { kernelspec: { name: "deno", display_name: "Deno", language: "typescript" } },
      cells: [{
        cell_type: "code",
        id: name,
        source,
        metadata: {},
        outputs: [],
        execution_count: null,
      }],
    }),
  );
  const run = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      join(repo, "jupyter", "run_notebook.ts"),
      join(dir, `${name}.ipynb`),
      "--output-dir",
      join(dir, "out"),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
  return join(dir, "out", `${name}.html`);
}

/**
 * A small run of `model` as `runMetrics()` takes it (seed 3, one epoch of 90 training and 10
 * validation images, test accuracy 0.9, the wasm backend on 2 threads), with `more` on top.
 */
export function sampleRunRecord(model: tf.LayersModel, more: Partial<RunRecord> = {}): RunRecord {
  return {
    params: { dataset: "mnist", seed: 3, epochs: 1, batchSize: 32 },
    variant: "baseline",
    train: { count: 90 },
    validation: { count: 10 },
    model,
    training: {
      epoch: [],
      history: { loss: [], acc: [], lr: [], seconds: [] },
      seconds: 1,
      samplesPerSecond: 90,
      bestEpoch: 0,
      stoppedEarly: false,
    },
    evaluation: { loss: 0.4, accuracy: 0.9 },
    backend: { backend: "wasm", simd: true, threads: 2, tfjsVersion: "4.22.0" },
    ...more,
  };
}
