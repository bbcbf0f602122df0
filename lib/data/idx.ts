/**
 * Parsing of the IDX format that MNIST and Fashion-MNIST are distributed in: a big-endian uint32
 * magic number, one big-endian uint32 per dimension, then the raw bytes in row-major order.
 *
 * @module
 */
import { concatBytes } from "../files.ts";

/** The magic number of an IDX file of unsigned bytes with three dimensions (images). */
export const IDX_IMAGES_MAGIC = 2051;
/** The magic number of an IDX file of unsigned bytes with one dimension (labels). */
export const IDX_LABELS_MAGIC = 2049;

/** An IDX array of unsigned bytes. */
export interface IdxArray {
  /** The sizes of the dimensions, outermost first. */
  shape: number[];
  /** The values in row-major order. */
  data: Uint8Array;
}

/** Images read from an IDX file: `count` images of `rows` x `cols` pixels, 0 (paper) to 255 (ink). */
export interface IdxImages {
  count: number;
  rows: number;
  cols: number;
  pixels: Uint8Array;
}

/**
 * No real IDX file of this project decompresses to more than this; random or hostile input must not
 * make us allocate without bound.
 */
const MAX_DECOMPRESSED_BYTES = 256 * 1024 * 1024;

/**
 * Decompresses gzip bytes with the web-standard `DecompressionStream`.
 *
 * @param name The file name, used in error messages.
 * @throws {Error} naming the file when the data is not valid, complete gzip.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gunzip } from "./idx.ts";
 * const packed = new Uint8Array(
 *   await new Response(
 *     new Blob([new Uint8Array([1, 2, 3])]).stream().pipeThrough(new CompressionStream("gzip")),
 *   ).arrayBuffer(),
 * );
 * assert.equal((await gunzip(packed, "x.gz")).length, 3);
 * ```
 */
export async function gunzip(bytes: Uint8Array, name: string): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new DecompressionStream("gzip"),
  );
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > MAX_DECOMPRESSED_BYTES) {
        throw new Error(
          `${name} decompresses to more than ${MAX_DECOMPRESSED_BYTES} bytes, far more than any ` +
            `MNIST file: delete it and fetch the file again.`,
        );
      }
      chunks.push(value);
    }
  } catch (error) {
    await reader.cancel().catch(() => {});
    if (error instanceof Error && error.message.startsWith(name)) throw error;
    throw new Error(
      `${name} is not valid gzip data (${
        error instanceof Error ? error.message : String(error)
      }): the file is truncated or corrupt; delete it and fetch it again.`,
    );
  }
  return concatBytes(chunks);
}

/**
 * Parses an uncompressed IDX array of unsigned bytes and checks that its size matches its header.
 *
 * @param name The file name, used in error messages.
 * @param expectedMagic The magic number the file must start with.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseIdx } from "./idx.ts";
 * const bytes = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, 7, 3]);
 * assert.equal(parseIdx(bytes, "labels", 2049).data[0], 7);
 * ```
 */
export function parseIdx(bytes: Uint8Array, name: string, expectedMagic: number): IdxArray {
  if (bytes.length < 4) {
    throw new Error(`${name} is too short to be an IDX file (${bytes.length} bytes).`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  if (magic !== expectedMagic) {
    throw new Error(
      `${name} has IDX magic number ${magic}, expected ${expectedMagic}: ` +
        `it is not the file its name says; delete it and fetch it again.`,
    );
  }
  const rank = magic & 0xff;
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) {
    throw new Error(`${name} ends inside its IDX header (${bytes.length} bytes).`);
  }
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(view.getUint32(4 + 4 * i));
  const expected = shape.reduce((a, b) => a * b, 1);
  const actual = bytes.length - headerBytes;
  if (actual !== expected) {
    throw new Error(
      `${name} holds ${actual} bytes of data but its header [${shape.join(" x ")}] says ` +
        `${expected}: the file is truncated or corrupt; delete it and fetch it again.`,
    );
  }
  return { shape, data: bytes.subarray(headerBytes) };
}

/**
 * Parses an IDX images file (magic 2051) whose images are `rows` x `cols` pixels.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseIdxImages } from "./idx.ts";
 * const header = [0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2];
 * const images = parseIdxImages(new Uint8Array([...header, 0, 255, 255, 0]), "x", { rows: 2, cols: 2 });
 * assert.equal(images.count, 1);
 * ```
 */
export function parseIdxImages(
  bytes: Uint8Array,
  name: string,
  options: { rows: number; cols: number } = { rows: 28, cols: 28 },
): IdxImages {
  const { shape, data } = parseIdx(bytes, name, IDX_IMAGES_MAGIC);
  const [count, rows, cols] = shape;
  if (rows !== options.rows || cols !== options.cols) {
    throw new Error(
      `${name} holds ${rows}x${cols} images, expected ${options.rows}x${options.cols}.`,
    );
  }
  return { count, rows, cols, pixels: data };
}

/**
 * Parses an IDX labels file (magic 2049) and checks every label is below `classes`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseIdxLabels } from "./idx.ts";
 * const labels = parseIdxLabels(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, 7, 3]), "y");
 * assert.equal(labels[1], 3);
 * ```
 */
export function parseIdxLabels(
  bytes: Uint8Array,
  name: string,
  options: { classes: number } = { classes: 10 },
): Uint8Array {
  const { data } = parseIdx(bytes, name, IDX_LABELS_MAGIC);
  const bad = data.findIndex((label) => label >= options.classes);
  if (bad >= 0) {
    throw new Error(
      `${name} has label ${data[bad]} at index ${bad}; labels must be 0 to ${options.classes - 1}.`,
    );
  }
  return data;
}
