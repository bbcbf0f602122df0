/**
 * MNIST-style preprocessing of a drawn or photographed digit, as the MNIST images were made: crop to
 * the ink, scale into a 20x20 box keeping the aspect ratio, and centre by the centre of mass in a
 * 28x28 image, as light ink on a dark background (dark-on-light input is inverted).
 *
 * Plain TypeScript without Deno or tfjs: the drawing pad page runs this same module, bundled.
 *
 * @module
 */
import { median } from "../statistics.ts";

/** A raster image: `channels` interleaved bytes per pixel, rows from top to bottom. */
export interface RasterImage {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA (as a canvas' `ImageData` or a decoded PNG). */
  channels: 1 | 2 | 3 | 4;
  /** `width * height * channels` bytes, 0..255. */
  data: ArrayLike<number>;
}

/** Options for {@link toDigitImage}. */
export interface DigitImageOptions {
  /**
   * Ink below this fraction of the way from the background to the darkest stroke is background
   * noise (paper texture, JPEG artefacts) and is removed. Default 0.2.
   */
  inkThreshold?: number;
  /** Below this contrast between background and ink (0..1) there is no digit. Default 0.1. */
  minContrast?: number;
}

/** The ink's bounding box in the source image. */
export interface InkBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** A digit as the model wants it. */
export interface DigitImage {
  /** 28 x 28 values in [0, 1], row by row: light ink (1) on a dark background (0), as MNIST. */
  pixels: Float32Array;
  /** Whether the source was dark ink on a light background, and so was inverted. */
  inverted: boolean;
  /** Where the ink was found in the source. */
  box: InkBox;
}

/** Side of the model's input image. */
export const DIGIT_SIZE = 28;
/** Side of the box the digit is scaled into, as in MNIST. */
export const DIGIT_BOX = 20;

/**
 * Turns any image of one digit into the 28x28 input the model was trained on: crop to the ink,
 * scale into 20x20 keeping the aspect ratio, centre by mass in 28x28, light ink on dark.
 *
 * Returns `undefined` when the image holds no ink (blank, or too little contrast): callers say
 * "no digit found" rather than guess.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toDigitImage } from "./digit_image.ts";
 *
 * // A black 10x10 square on a white 40x40 grey image.
 * const data = new Uint8Array(40 * 40).fill(255);
 * for (let y = 5; y < 15; y++) data.fill(0, y * 40 + 20, y * 40 + 30);
 * const digit = toDigitImage({ width: 40, height: 40, channels: 1, data });
 * assert.ok(digit !== undefined && digit.inverted);
 * assert.deepEqual(digit.box, { x: 20, y: 5, width: 10, height: 10 });
 * assert.equal(digit.pixels[4 * 28 + 4], 1); // the square fills rows and columns 4..23
 * assert.equal(digit.pixels[3 * 28 + 4], 0);
 *
 * assert.equal(toDigitImage({ width: 2, height: 2, channels: 1, data: [255, 255, 255, 255] }), undefined);
 * ```
 */
export function toDigitImage(
  image: RasterImage,
  options: DigitImageOptions = {},
): DigitImage | undefined {
  checkImage(image);
  const found = findInk(image, options);
  if (found === undefined) return undefined;
  const { ink, inverted, box } = found;
  const scale = DIGIT_BOX / Math.max(box.width, box.height);
  const outWidth = Math.max(1, Math.min(DIGIT_BOX, Math.round(box.width * scale)));
  const outHeight = Math.max(1, Math.min(DIGIT_BOX, Math.round(box.height * scale)));
  const scaled = resampleArea(ink, image.width, box, outWidth, outHeight);
  // Thin strokes fade when shrunk; MNIST's strokes reach full intensity, so stretch back to 1.
  let strongest = 0;
  for (const v of scaled) strongest = Math.max(strongest, v);
  for (let i = 0; i < scaled.length; i++) scaled[i] /= strongest;
  return { pixels: centreByMass(scaled, outWidth, outHeight), inverted, box };
}

/**
 * The ink of an image, from 0 (background) to 1 (the strongest stroke), light on dark, with the
 * box around it; `undefined` when there is no ink (blank, or too little contrast).
 */
function findInk(
  image: RasterImage,
  options: DigitImageOptions,
): { ink: Float32Array; inverted: boolean; box: InkBox } | undefined {
  const { width, height } = image;
  const threshold = options.inkThreshold ?? 0.2;
  const minContrast = options.minContrast ?? 0.1;
  const grey = greyLevels(image);
  // The border tells the paper from the ink: dark ink on light paper is inverted.
  const inverted = median(borderValues(grey, width, height)) > 0.5;
  if (inverted) { for (let i = 0; i < grey.length; i++) grey[i] = 1 - grey[i]; }
  // Against the paper around each pixel, not one level for the page: a photo's light is uneven.
  const background = localBackground(grey, width, height);
  let contrast = 0;
  for (let i = 0; i < grey.length; i++) {
    grey[i] -= background[i];
    contrast = Math.max(contrast, grey[i]);
  }
  if (!(contrast >= minContrast)) return undefined;

  // Ink from 0 at the noise threshold to 1 at the strongest stroke; everything below is background.
  const floor = threshold * contrast;
  const range = contrast - floor;
  let x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const ink = Math.min(1, Math.max(0, (grey[i] - floor) / range));
      grey[i] = ink;
      if (ink > 0) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  if (x1 < 0) return undefined;
  return { ink: grey, inverted, box: { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 } };
}

/** Places a scaled digit in 28x28 so that its centre of mass is at the centre, as MNIST did. */
function centreByMass(scaled: Float32Array, outWidth: number, outHeight: number): Float32Array {
  let mass = 0, mx = 0, my = 0;
  for (let y = 0; y < outHeight; y++) {
    for (let x = 0; x < outWidth; x++) {
      const v = scaled[y * outWidth + x];
      mass += v;
      mx += v * (x + 0.5);
      my += v * (y + 0.5);
    }
  }
  const half = DIGIT_SIZE / 2;
  const left = clamp(Math.round(half - mx / mass), 0, DIGIT_SIZE - outWidth);
  const top = clamp(Math.round(half - my / mass), 0, DIGIT_SIZE - outHeight);
  const pixels = new Float32Array(DIGIT_SIZE * DIGIT_SIZE);
  for (let y = 0; y < outHeight; y++) {
    for (let x = 0; x < outWidth; x++) {
      pixels[(top + y) * DIGIT_SIZE + left + x] = scaled[y * outWidth + x];
    }
  }
  return pixels;
}

function checkImage(image: RasterImage): void {
  const { width, height, channels, data } = image;
  if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width < 1 || height < 1) {
    throw new RangeError(
      `An image needs a whole, positive width and height, got ${width}x${height}.`,
    );
  }
  if (![1, 2, 3, 4].includes(channels)) {
    throw new RangeError(`An image has 1 to 4 channels per pixel, got ${channels}.`);
  }
  if (data.length !== width * height * channels) {
    throw new RangeError(
      `A ${width}x${height} image with ${channels} channel(s) needs ${
        width * height * channels
      } bytes, got ${data.length}.`,
    );
  }
}

/**
 * Grey level 0..1 of every pixel (Rec. 601 luma). Transparent pixels take the background that
 * contrasts with the opaque ones, so dark strokes on a transparent canvas and light strokes on a
 * transparent canvas both stay visible.
 */
function greyLevels(image: RasterImage): Float32Array {
  const { width, height, channels, data } = image;
  const count = width * height;
  const luma = new Float32Array(count);
  const alpha = new Float32Array(count).fill(1);
  for (let i = 0; i < count; i++) {
    const p = i * channels;
    if (channels >= 3) {
      luma[i] = (0.299 * data[p] + 0.587 * data[p + 1] + 0.114 * data[p + 2]) / 255;
    } else {
      luma[i] = data[p] / 255;
    }
    if (channels === 2 || channels === 4) alpha[i] = data[p + channels - 1] / 255;
  }
  let opaque = 0, opaqueLuma = 0, transparent = false;
  for (let i = 0; i < count; i++) {
    opaque += alpha[i];
    opaqueLuma += alpha[i] * luma[i];
    if (alpha[i] < 1) transparent = true;
  }
  if (!transparent) return luma;
  const backdrop = opaque > 0 && opaqueLuma / opaque > 0.5 ? 0 : 1;
  for (let i = 0; i < count; i++) luma[i] = alpha[i] * luma[i] + (1 - alpha[i]) * backdrop;
  return luma;
}

function borderValues(grey: Float32Array, width: number, height: number): number[] {
  const values: number[] = [];
  for (let x = 0; x < width; x++) {
    values.push(grey[x]);
    if (height > 1) values.push(grey[(height - 1) * width + x]);
  }
  for (let y = 1; y < height - 1; y++) {
    values.push(grey[y * width]);
    if (width > 1) values.push(grey[y * width + width - 1]);
  }
  return values;
}

/** Cells along the longer side of the image in which the paper's level is estimated. */
const BACKGROUND_CELLS = 8;
/** A cell's paper level: this quantile of its grey levels, so ink may cover most of a cell. */
const BACKGROUND_QUANTILE = 0.25;
/**
 * A cell takes the darkest paper level of the cells within this many cells of it, so that a cell
 * filled with ink takes its neighbours' paper; a gradient moves little over a few cells.
 */
const BACKGROUND_REACH = 2;

/**
 * The paper's level under every pixel of a light-on-dark image: a low quantile of each cell of a
 * coarse grid, the darkest within reach, interpolated between cell centres. Linear in the pixels.
 */
function localBackground(grey: Float32Array, width: number, height: number): Float32Array {
  const cell = Math.max(1, Math.ceil(Math.max(width, height) / BACKGROUND_CELLS));
  const columns = Math.ceil(width / cell), rows = Math.ceil(height / cell);
  const levels = cellQuantiles(grey, { width, height, cell, columns, rows });
  const darkest = new Float32Array(columns * rows);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      let level = Infinity;
      for (let rr = Math.max(0, r - BACKGROUND_REACH); rr <= r + BACKGROUND_REACH; rr++) {
        for (let cc = Math.max(0, c - BACKGROUND_REACH); cc <= c + BACKGROUND_REACH; cc++) {
          if (rr < rows && cc < columns) level = Math.min(level, levels[rr * columns + cc]);
        }
      }
      darkest[r * columns + c] = level;
    }
  }
  const at = (p: number, count: number) => {
    const f = clamp((p + 0.5) / cell - 0.5, 0, count - 1);
    const i = Math.min(Math.floor(f), count - 2);
    return i < 0 ? { i: 0, j: 0, t: 0 } : { i, j: i + 1, t: f - i };
  };
  const background = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const { i: r0, j: r1, t: ty } = at(y, rows);
    for (let x = 0; x < width; x++) {
      const { i: c0, j: c1, t: tx } = at(x, columns);
      const top = darkest[r0 * columns + c0] * (1 - tx) + darkest[r0 * columns + c1] * tx;
      const bottom = darkest[r1 * columns + c0] * (1 - tx) + darkest[r1 * columns + c1] * tx;
      background[y * width + x] = top * (1 - ty) + bottom * ty;
    }
  }
  return background;
}

/** {@link BACKGROUND_QUANTILE} of each cell's grey levels, from a 256-level histogram per cell. */
function cellQuantiles(
  grey: Float32Array,
  grid: { width: number; height: number; cell: number; columns: number; rows: number },
): Float32Array {
  const { width, height, cell, columns, rows } = grid;
  const histograms = new Uint32Array(columns * rows * 256);
  for (let y = 0; y < height; y++) {
    const row = Math.floor(y / cell) * columns;
    for (let x = 0; x < width; x++) {
      const level = clamp(Math.round(grey[y * width + x] * 255), 0, 255);
      histograms[(row + Math.floor(x / cell)) * 256 + level]++;
    }
  }
  const levels = new Float32Array(columns * rows);
  for (let k = 0; k < columns * rows; k++) {
    const w = Math.min(cell, width - (k % columns) * cell);
    const h = Math.min(cell, height - Math.floor(k / columns) * cell);
    let wanted = Math.ceil(w * h * BACKGROUND_QUANTILE), level = 0;
    while ((wanted -= histograms[k * 256 + level]) > 0) level++;
    levels[k] = level / 255;
  }
  return levels;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/**
 * For each of `outLength` output cells spanning `[start, start + length)` of the source: the
 * source cells it covers and by how much (weights sum to 1), so that shrinking averages every
 * source pixel (no aliasing) and enlarging repeats them.
 */
function areaWeights(start: number, length: number, outLength: number): [number, number][][] {
  const step = length / outLength;
  const cells: [number, number][][] = [];
  for (let o = 0; o < outLength; o++) {
    const from = start + o * step, to = start + (o + 1) * step;
    const weights: [number, number][] = [];
    for (let s = Math.floor(from); s < Math.ceil(to); s++) {
      const overlap = Math.min(to, s + 1) - Math.max(from, s);
      if (overlap > 0) weights.push([s, overlap / step]);
    }
    cells.push(weights);
  }
  return cells;
}

/** Area-averaging resample of `box` of a one-channel image to `outWidth` x `outHeight`. */
function resampleArea(
  grey: Float32Array,
  width: number,
  box: InkBox,
  outWidth: number,
  outHeight: number,
): Float32Array {
  const columns = areaWeights(box.x, box.width, outWidth);
  const rows = areaWeights(box.y, box.height, outHeight);
  const narrowed = new Float32Array(box.height * outWidth);
  for (let y = 0; y < box.height; y++) {
    const row = (box.y + y) * width;
    for (let x = 0; x < outWidth; x++) {
      let sum = 0;
      for (const [s, w] of columns[x]) sum += w * grey[row + s];
      narrowed[y * outWidth + x] = sum;
    }
  }
  const out = new Float32Array(outWidth * outHeight);
  for (let y = 0; y < outHeight; y++) {
    for (const [s, w] of rows[y]) {
      const from = (s - box.y) * outWidth;
      for (let x = 0; x < outWidth; x++) out[y * outWidth + x] += w * narrowed[from + x];
    }
  }
  return out;
}
