/**
 * Reading PNG and JPEG files into pixels, with the npm decoders `pngjs` and `jpeg-js`, and errors
 * that name the file and say what is wrong with it.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { inflateSync } from "node:zlib";
import { readRegularFile } from "../files.ts";
import * as pngjs from "pngjs";
import jpeg from "jpeg-js";
import type { RasterImage } from "./digit_image.ts";

/**
 * The part of pngjs' synchronous API used here. (@types/pngjs is not used: it pulls @types/node
 * into the type check, whose node:worker_threads types differ from Deno's own.)
 */
interface PngSync {
  read(buffer: Buffer): { width: number; height: number; data: Buffer };
  write(
    png: { width: number; height: number; data: Buffer },
    options: { colorType: number; inputColorType: number; bitDepth: 8 },
  ): Buffer;
}
const PNG_SYNC = (pngjs as unknown as { PNG: { sync: PngSync } }).PNG.sync;

/** The largest image accepted, in megapixels: a photo is far smaller, a bigger one is a mistake. */
export const MAX_MEGAPIXELS = 50;

/** The largest image file read, in bytes: a PNG of the largest image accepted is far smaller. */
export const MAX_FILE_BYTES = 200_000_000;

/** A decoded image: RGBA bytes. */
export interface DecodedImage extends RasterImage {
  channels: 4;
  data: Uint8Array;
}

/** A file that cannot be read as an image; the message names the file and the problem. */
export class ImageFileError extends Error {
  override name = "ImageFileError";
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return prefix.every((byte, i) => bytes[i] === byte);
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function checkSize(name: string, width: number, height: number): void {
  const megapixels = width * height / 1e6;
  if (megapixels > MAX_MEGAPIXELS) {
    throw new ImageFileError(
      `${name} is ${width}x${height} pixels (${megapixels.toFixed(1)} megapixels), over the ` +
        `limit of ${MAX_MEGAPIXELS} megapixels: scale it down first.`,
    );
  }
}

/** Channels per pixel by PNG colour type: grey, RGB, palette, grey + alpha, RGBA. */
const PNG_CHANNELS: Readonly<Record<number, number>> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** Adam7's seven passes: first column, first row, column step, row step. */
const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [
  0,
  1,
  1,
  2,
]] as const;

/**
 * The bytes of filtered scanlines a PNG's header promises: a filter byte and the packed pixels of
 * each row (of each Adam7 pass when interlaced).
 */
function pngDataBytes(width: number, height: number, bitsPerPixel: number, interlaced: boolean) {
  const rows = (w: number, h: number) =>
    w === 0 || h === 0 ? 0 : h * (1 + Math.ceil(w * bitsPerPixel / 8));
  if (!interlaced) return rows(width, height);
  return ADAM7.reduce(
    (sum, [x0, y0, dx, dy]) =>
      sum + rows(Math.ceil(Math.max(0, width - x0) / dx), Math.ceil(Math.max(0, height - y0) / dy)),
    0,
  );
}

/**
 * Checks that a PNG's image data (its IDAT chunks, inflated) holds every row its header promises:
 * pngjs fills missing rows with zeros, which would read as a mostly empty image.
 */
function checkPngData(bytes: Uint8Array, name: string): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const idat: Uint8Array[] = [];
  for (let at = 8; at + 8 <= bytes.length;) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (type === "IDAT") idat.push(bytes.subarray(at + 8, Math.min(bytes.length, at + 8 + length)));
    if (type === "IEND") break;
    at += 12 + length;
  }
  const [width, height] = [view.getUint32(16), view.getUint32(20)];
  const bits = bytes[24] * (PNG_CHANNELS[bytes[25]] ?? 1);
  const expected = pngDataBytes(width, height, bits, bytes[28] === 1);
  let inflated = 0;
  try {
    // One byte more than promised is enough to know the data is not short; no more is made.
    inflated = inflateSync(Buffer.concat(idat), { maxOutputLength: expected + 1 }).length;
  } catch (error) {
    if ((error as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") return;
    throw new ImageFileError(
      `${name} is a truncated or damaged PNG file: its image data cannot be inflated ` +
        `(${reason(error)}).`,
    );
  }
  if (inflated < expected) {
    throw new ImageFileError(
      `${name} is a damaged PNG file: its image data holds ${inflated} bytes, but its header ` +
        `(${width}x${height}) promises ${expected}; it was cut short, so it is not read as an image.`,
    );
  }
}

/**
 * Decodes the bytes of a PNG or JPEG file (any size up to {@link MAX_MEGAPIXELS}, colour or grey,
 * with or without transparency) into RGBA pixels. `name` is used in error messages.
 *
 * @throws {ImageFileError} when the bytes are not a PNG or JPEG, are truncated or damaged, or
 * the image is too large.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeImage } from "./image_file.ts";
 *
 * assert.throws(() => decodeImage(new TextEncoder().encode("hello"), "notes.txt"), /notes.txt is not a PNG or JPEG image/);
 * ```
 */
export function decodeImage(bytes: Uint8Array, name: string): DecodedImage {
  if (startsWith(bytes, PNG_SIGNATURE)) {
    // The size is in the header (IHDR); refuse a huge image before decoding it.
    if (bytes.length < 24) {
      throw new ImageFileError(`${name} is a truncated PNG file (${bytes.length} bytes).`);
    }
    const header = new DataView(bytes.buffer, bytes.byteOffset, 24);
    checkSize(name, header.getUint32(16), header.getUint32(20));
    checkPngData(bytes, name);
    try {
      const png = PNG_SYNC.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return { width: png.width, height: png.height, channels: 4, data: new Uint8Array(png.data) };
    } catch (error) {
      throw new ImageFileError(
        `${name} is a truncated or damaged PNG file (the decoder said: ${reason(error)}).`,
      );
    }
  }
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) {
    try {
      const image = jpeg.decode(bytes, {
        useTArray: true,
        formatAsRGBA: true,
        maxResolutionInMP: MAX_MEGAPIXELS,
        maxMemoryUsageInMB: 1024,
      });
      return { width: image.width, height: image.height, channels: 4, data: image.data };
    } catch (error) {
      if (/maxResolutionInMP/.test(reason(error))) {
        throw new ImageFileError(
          `${name} is over the limit of ${MAX_MEGAPIXELS} megapixels: scale it down first.`,
        );
      }
      throw new ImageFileError(
        `${name} is a truncated or damaged JPEG file (the decoder said: ${reason(error)}).`,
      );
    }
  }
  throw new ImageFileError(
    `${name} is not a PNG or JPEG image${bytes.length === 0 ? " (it is empty)" : ""}.`,
  );
}

/**
 * Reads a PNG or JPEG file into RGBA pixels.
 *
 * @throws {ImageFileError} when the file is missing, unreadable, not a PNG or JPEG, truncated,
 * or over {@link MAX_MEGAPIXELS}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readImageFile } from "./image_file.ts";
 *
 * await assert.rejects(readImageFile("no/such/digit.png"), /no\/such\/digit.png does not exist/);
 * ```
 */
export async function readImageFile(path: string): Promise<DecodedImage> {
  let bytes: Uint8Array;
  try {
    // A named pipe or a device is refused before it is opened: reading it could block for good.
    bytes = await readRegularFile(path, { maxBytes: MAX_FILE_BYTES, what: "an image" });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new ImageFileError(`${path} does not exist: check the path.`);
    }
    if ((await Deno.stat(path).catch(() => undefined))?.isDirectory) {
      throw new ImageFileError(`${path} is a folder, not an image file.`);
    }
    if (/is not a regular file|over the limit/.test(reason(error))) {
      throw new ImageFileError(reason(error));
    }
    throw new ImageFileError(`Cannot read ${path} (${reason(error)}).`);
  }
  return decodeImage(bytes, path);
}

/** PNG colour types by channels per pixel: grey, grey + alpha, RGB, RGBA. */
const PNG_COLOR_TYPES = { 1: 0, 2: 4, 3: 2, 4: 6 } as const;

/**
 * Encodes pixels as an 8-bit PNG of the same channels (grey, grey + alpha, RGB or RGBA).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeImage, encodePng } from "./image_file.ts";
 *
 * const png = encodePng({ width: 2, height: 1, channels: 1, data: new Uint8Array([0, 255]) });
 * assert.deepEqual([...decodeImage(png, "x.png").data], [0, 0, 0, 255, 255, 255, 255, 255]);
 * ```
 */
export function encodePng(image: RasterImage): Uint8Array {
  const { width, height, channels } = image;
  if (image.data.length !== width * height * channels) {
    throw new RangeError(
      `A ${width}x${height} image with ${channels} channel(s) needs ${
        width * height * channels
      } bytes, got ${image.data.length}.`,
    );
  }
  const colorType = PNG_COLOR_TYPES[channels];
  const bytes = PNG_SYNC.write(
    { width, height, data: Buffer.from(Uint8Array.from(image.data)) },
    { colorType, inputColorType: colorType, bitDepth: 8 },
  );
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
