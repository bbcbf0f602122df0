import assert from "node:assert/strict";
import { join } from "node:path";
import jpeg from "jpeg-js";
import {
  decodeImage,
  encodePng,
  ImageFileError,
  readImageFile,
} from "../../lib/data/image_file.ts";
import { greyPng } from "../fixtures.ts";
import { toDigitImage } from "../../lib/data/digit_image.ts";

/** A PNG of `channels` channels whose pixel i is [i % 256, 10, 20, 255 - i % 7], cut to fit. */
function png(width: number, height: number, channels: 1 | 2 | 3 | 4 = 4): Uint8Array {
  const data = new Uint8Array(width * height * channels);
  for (let i = 0; i < width * height; i++) {
    const pixel = [i % 256, 10, 20, 255 - (i % 7)];
    const kept = channels === 2 ? [pixel[0], pixel[3]] : pixel.slice(0, channels);
    data.set(kept, i * channels);
  }
  return encodePng({ width, height, channels, data });
}

Deno.test("decodeImage() reads RGBA, RGB, grey and grey+alpha PNGs as RGBA pixels", () => {
  const colour = decodeImage(png(5, 3), "c.png");
  assert.deepEqual([colour.width, colour.height, colour.channels], [5, 3, 4]);
  assert.deepEqual(Array.from(colour.data).slice(4, 8), [1, 10, 20, 254]);
  const rgb = decodeImage(png(5, 3, 3), "rgb.png");
  assert.deepEqual(Array.from(rgb.data).slice(4, 8), [1, 10, 20, 255], "no alpha: opaque");
  const grey = decodeImage(png(4, 2, 1), "g.png");
  assert.deepEqual(Array.from(grey.data).slice(4, 8), [1, 1, 1, 255]);
  const greyAlpha = decodeImage(png(4, 2, 2), "ga.png");
  assert.deepEqual(Array.from(greyAlpha.data).slice(4, 8), [1, 1, 1, 254]);
  assert.throws(
    () => encodePng({ width: 2, height: 2, channels: 1, data: new Uint8Array(3) }),
    /needs 4 bytes, got 3/,
  );
});

Deno.test("decodeImage() reads a JPEG", () => {
  const data = new Uint8Array(16 * 8 * 4).fill(200);
  const bytes = new Uint8Array(jpeg.encode({ width: 16, height: 8, data }, 90).data);
  const image = decodeImage(bytes, "photo.jpg");
  assert.deepEqual([image.width, image.height, image.channels], [16, 8, 4]);
  assert.ok(Math.abs(image.data[0] - 200) <= 2);
});

Deno.test("decodeImage() names the file and the problem", () => {
  const bytes = png(30, 30);
  assert.throws(() => decodeImage(bytes.subarray(0, 50), "cut.png"), ImageFileError);
  assert.throws(
    () => decodeImage(bytes.subarray(0, 50), "cut.png"),
    /^ImageFileError: cut\.png is a truncated or damaged PNG file/,
  );
  assert.throws(
    () => decodeImage(bytes.subarray(0, 12), "tiny.png"),
    /tiny\.png is a truncated PNG file \(12 bytes\)/,
  );
  assert.throws(
    () => decodeImage(new Uint8Array(0), "empty.png"),
    /empty\.png is not a PNG or JPEG image \(it is empty\)\./,
  );
  assert.throws(
    () => decodeImage(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16]), "cut.jpg"),
    /cut\.jpg is a truncated or damaged JPEG file/,
  );
  const huge = bytes.slice(0, 33);
  new DataView(huge.buffer).setUint32(16, 10_000);
  new DataView(huge.buffer).setUint32(20, 5_001);
  assert.throws(
    () => decodeImage(huge, "big.png"),
    /big\.png is 10000x5001 pixels \(50\.0 megapixels\), over the limit of 50 megapixels/,
  );
  new DataView(huge.buffer).setUint32(20, 5_000);
  assert.throws(
    () => decodeImage(huge, "edge.png"),
    /truncated or damaged PNG/,
    "50 megapixels exactly is allowed",
  );
});

Deno.test("readImageFile() says when the path is missing or a folder", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      readImageFile(join(dir, "none.png")),
      /none\.png does not exist: check the path\./,
    );
    await assert.rejects(readImageFile(dir), /is a folder, not an image file\./);
    await Deno.writeFile(join(dir, "ok.png"), png(2, 2));
    assert.equal((await readImageFile(join(dir, "ok.png"))).width, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("decodeImage() calls a PNG whose image data is shorter than its header says damaged, not empty", () => {
  assert.throws(
    () => decodeImage(greyPng({ width: 200, height: 200, rows: 20 }), "short.png"),
    /^ImageFileError: short\.png is a damaged PNG file: its image data holds 4020 bytes, but its header \(200x200\) promises 40200; it was cut short/,
  );
  // One row short is damaged too; whole images decode, interlaced (Adam7) or not.
  assert.throws(() => decodeImage(greyPng({ width: 9, height: 7, rows: 6 }), "a.png"), /damaged/);
  for (const interlaced of [false, true]) {
    const image = decodeImage(greyPng({ width: 9, height: 7, interlaced }), "whole.png");
    assert.deepEqual([image.width, image.height, image.data[0], image.data.at(-2)], [
      9,
      7,
      200,
      200,
    ]);
  }
  const cut = greyPng({ width: 9, height: 7, interlaced: true, rows: 3 });
  assert.throws(() => decodeImage(cut, "adam7.png"), /adam7\.png is a damaged PNG file/);
});

Deno.test("readImageFile() refuses a named pipe by name without blocking on it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const pipe = join(dir, "digit.png");
    assert.ok((await new Deno.Command("mkfifo", { args: [pipe] }).output()).success);
    await assert.rejects(
      readImageFile(pipe),
      new RegExp(
        `^ImageFileError: ${pipe} is not a regular file \\(a named pipe\\), so it is not read`,
      ),
    );
    await assert.rejects(
      readImageFile("/dev/zero"),
      /\/dev\/zero is not a regular file \(a device\)/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * A phone-sized photo of a "7" as JPEG bytes: `width` x `height`, grey paper darkening from 215
 * to 165 towards the left, blue ink strokes 140 pixels wide; returns the ink's box too.
 */
function phonePhoto(width: number, height: number) {
  const box = { x: 1800, y: 900, width: 600, height: 1400 };
  const isInk = (x: number, y: number) =>
    (y >= box.y && y < box.y + 140 && x >= box.x && x < box.x + box.width) ||
    (x >= box.x + 460 && x < box.x + box.width && y >= box.y && y < box.y + box.height);
  const data = new Uint8Array(width * height * 4);
  for (let y = 0, p = 0; y < height; y++) {
    for (let x = 0; x < width; x++, p += 4) {
      const paper = 165 + 50 * x / (width - 1);
      data.set(isInk(x, y) ? [40, 50, 140, 255] : [paper, paper, paper * 0.97, 255], p);
    }
  }
  return { bytes: new Uint8Array(jpeg.encode({ width, height, data }, 75).data), box };
}

Deno.test("a 4000x3000 phone photo (12 megapixels, under the limit of 50) is read and its digit scaled to 28x28", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { bytes, box } = phonePhoto(4000, 3000);
    await Deno.writeFile(join(dir, "phone.jpg"), bytes);
    const image = await readImageFile(join(dir, "phone.jpg"));
    assert.deepEqual([image.width, image.height, image.data.length], [4000, 3000, 48_000_000]);
    const digit = toDigitImage(image);
    assert.ok(digit, "no digit found in the photo");
    assert.equal(digit.inverted, true);
    // JPEG's 8x8 blocks blur the edges by a pixel or two; the box is the ink's, not the shade's.
    for (const key of ["x", "y", "width", "height"] as const) {
      assert.ok(Math.abs(digit.box[key] - box[key]) <= 2, `${key}: ${JSON.stringify(digit.box)}`);
    }
    assert.equal(digit.pixels.length, 28 * 28);
    // 1400 pixels become 20: strokes 2 pixels wide, a stem of 20 x 2 and a bar of 8.6 x 2.
    const lit = digit.pixels.filter((v) => v > 0.5).length;
    assert.ok(lit >= 45 && lit <= 70, `${lit} pixels lit`);
    assert.equal(Math.max(...digit.pixels), 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a JPEG over 50 megapixels is refused by its header, before any pixel is decoded", () => {
  const data = new Uint8Array(16 * 8 * 4).fill(200);
  const bytes = new Uint8Array(jpeg.encode({ width: 16, height: 8, data }, 90).data);
  // The start-of-frame segment: FF C0, length, precision, then height and width.
  const sof = bytes.findIndex((b, i) => b === 0xff && bytes[i + 1] === 0xc0);
  assert.ok(sof > 0);
  const header = new DataView(bytes.buffer, bytes.byteOffset + sof);
  header.setUint16(5, 5_001);
  header.setUint16(7, 10_000);
  assert.throws(
    () => decodeImage(bytes, "panorama.jpg"),
    /^ImageFileError: panorama\.jpg is over the limit of 50 megapixels: scale it down first\./,
  );
});
