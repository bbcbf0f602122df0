/**
 * Small generated MNIST-like files for the tests: no test depends on the network or on the real data
 * being somewhere, except the one that checks the real files.
 *
 * @module
 */
import { AssertionError } from "node:assert/strict";
import { join } from "node:path";
import type { IdxFileName } from "../lib/data/mnist.ts";
import { sha256 } from "../lib/files.ts";

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
