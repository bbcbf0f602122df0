import assert from "node:assert/strict";
import { type RasterImage, toDigitImage } from "../../lib/data/digit_image.ts";

/** A grey image whose pixel (x, y) is `paint(x, y)` (0..255). */
function grey(width: number, height: number, paint: (x: number, y: number) => number): RasterImage {
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data[y * width + x] = paint(x, y);
  }
  return { width, height, channels: 1, data };
}

/** Whether (x, y) lies in the rectangle [x0, x0 + w) x [y0, y0 + h). */
const inside = (x: number, y: number, x0: number, y0: number, w: number, h: number) =>
  x >= x0 && x < x0 + w && y >= y0 && y < y0 + h;

/** The 28x28 result as rows of "#" (>= 0.5), "+" (> 0) and "." (0), for readable failures. */
function picture(pixels: Float32Array): string[] {
  return Array.from({ length: 28 }, (_, y) =>
    Array.from({ length: 28 }, (_, x) => {
      const v = pixels[y * 28 + x];
      return v >= 0.5 ? "#" : v > 0 ? "+" : ".";
    }).join(""));
}

/** The bounding box of the non-zero pixels of a 28x28 result. */
function inkBox(pixels: Float32Array) {
  let x0 = 28, y0 = 28, x1 = -1, y1 = -1;
  pixels.forEach((v, i) => {
    if (v === 0) return;
    const x = i % 28, y = Math.floor(i / 28);
    x0 = Math.min(x0, x), x1 = Math.max(x1, x), y0 = Math.min(y0, y), y1 = Math.max(y1, y);
  });
  return { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
}

/** The expected picture of a filled rectangle at (x0, y0) of size w x h in 28x28. */
function rectangle(x0: number, y0: number, w: number, h: number): string[] {
  return picture(
    Float32Array.from(
      { length: 784 },
      (_, i) => inside(i % 28, Math.floor(i / 28), x0, y0, w, h) ? 1 : 0,
    ),
  );
}

Deno.test("toDigitImage() scales a square into 20x20, centred in 28x28", () => {
  // A 100x100 square anywhere in a 300x200 image fills exactly rows and columns 4..23.
  const light = grey(300, 200, (x, y) => inside(x, y, 170, 60, 100, 100) ? 255 : 0);
  const digit = toDigitImage(light);
  assert.ok(digit);
  assert.equal(digit.inverted, false);
  assert.deepEqual(digit.box, { x: 170, y: 60, width: 100, height: 100 });
  assert.deepEqual(picture(digit.pixels), rectangle(4, 4, 20, 20));
  assert.equal(Math.max(...digit.pixels), 1);
});

Deno.test("toDigitImage() inverts dark ink on a light background", () => {
  const dark = grey(300, 200, (x, y) => inside(x, y, 170, 60, 100, 100) ? 0 : 255);
  const digit = toDigitImage(dark);
  assert.ok(digit);
  assert.equal(digit.inverted, true);
  assert.deepEqual(picture(digit.pixels), rectangle(4, 4, 20, 20));
});

Deno.test("toDigitImage() keeps the aspect ratio: the long side becomes 20 pixels", () => {
  // 200x50 becomes 20x5; 10x200 (a "1") becomes 1x20.
  const wide = toDigitImage(grey(400, 400, (x, y) => inside(x, y, 10, 300, 200, 50) ? 255 : 0));
  assert.ok(wide);
  assert.deepEqual(inkBox(wide.pixels), { x: 4, y: 12, width: 20, height: 5 });
  const tall = toDigitImage(grey(280, 280, (x, y) => inside(x, y, 135, 40, 10, 200) ? 0 : 255));
  assert.ok(tall);
  assert.deepEqual(inkBox(tall.pixels), { x: 14, y: 4, width: 1, height: 20 });
});

Deno.test("toDigitImage() enlarges a small digit to 20 pixels", () => {
  const small = toDigitImage(grey(10, 10, (x, y) => inside(x, y, 3, 3, 5, 5) ? 255 : 0));
  assert.ok(small);
  assert.deepEqual(picture(small.pixels), rectangle(4, 4, 20, 20));
});

Deno.test("toDigitImage() centres by the centre of mass, not the box", () => {
  // An "L": a 10-pixel-wide left bar over the whole 100 pixels' height and a 100x50 foot. Scaled
  // to 20x20 its mass centre is (9.18, 14.09), so the box goes to column 5, row 0, not (4, 4).
  const shape = grey(
    200,
    200,
    (x, y) => inside(x, y, 50, 50, 10, 100) || inside(x, y, 50, 100, 100, 50) ? 255 : 0,
  );
  const digit = toDigitImage(shape);
  assert.ok(digit);
  assert.deepEqual(inkBox(digit.pixels), { x: 5, y: 0, width: 20, height: 20 });
  const rows = picture(digit.pixels);
  assert.equal(rows[0], ".....##.....................");
  assert.equal(rows[19], ".....####################...");
});

Deno.test("toDigitImage() reads RGB, RGBA and transparent images as grey ones", () => {
  const expected = rectangle(4, 4, 20, 20);
  const square = (x: number, y: number) => inside(x, y, 20, 20, 40, 40);
  const rgba = (paint: (x: number, y: number) => number[]): RasterImage => {
    const data = new Uint8Array(80 * 80 * 4);
    for (let i = 0; i < 80 * 80; i++) data.set(paint(i % 80, Math.floor(i / 80)), i * 4);
    return { width: 80, height: 80, channels: 4, data };
  };
  // Red on white (a red pen), black strokes and white strokes on a transparent canvas.
  const cases: [string, RasterImage][] = [
    ["red on white", rgba((x, y) => square(x, y) ? [220, 0, 0, 255] : [255, 255, 255, 255])],
    // Full red is as bright as white in the red channel alone: only its luma shows the ink.
    ["bright red on white", rgba((x, y) => square(x, y) ? [255, 0, 0, 255] : [255, 255, 255, 255])],
    ["green on black", rgba((x, y) => square(x, y) ? [0, 200, 0, 255] : [0, 0, 0, 255])],
    ["black on transparent", rgba((x, y) => square(x, y) ? [0, 0, 0, 255] : [0, 0, 0, 0])],
    ["white on transparent", rgba((x, y) => square(x, y) ? [255, 255, 255, 255] : [0, 0, 0, 0])],
  ];
  for (const [name, image] of cases) {
    const digit = toDigitImage(image);
    assert.ok(digit, name);
    assert.deepEqual(picture(digit.pixels), expected, name);
  }
  const rgb = new Uint8Array(80 * 80 * 3);
  for (let i = 0; i < 80 * 80; i++) {
    if (square(i % 80, Math.floor(i / 80))) rgb.fill(255, i * 3, i * 3 + 3);
  }
  const fromRgb = toDigitImage({ width: 80, height: 80, channels: 3, data: rgb });
  assert.ok(fromRgb);
  assert.deepEqual(picture(fromRgb.pixels), expected);
});

Deno.test("toDigitImage() ignores paper noise around the ink", () => {
  // Paper between 225 and 255, as a photograph or a JPEG gives, with a dark 40x60 digit.
  let state = 7;
  const noise = () => (state = (state * 1103515245 + 12345) % 2147483648) % 31;
  const photo = grey(
    120,
    100,
    (x, y) => inside(x, y, 50, 20, 40, 60) ? 10 + noise() : 225 + noise(),
  );
  const digit = toDigitImage(photo);
  assert.ok(digit);
  assert.deepEqual(digit.box, { x: 50, y: 20, width: 40, height: 60 });
  assert.deepEqual(inkBox(digit.pixels), { x: 7, y: 4, width: 13, height: 20 });
});

Deno.test("toDigitImage() finds no digit in a blank or nearly uniform image", () => {
  assert.equal(toDigitImage(grey(28, 28, () => 255)), undefined);
  assert.equal(toDigitImage(grey(28, 28, () => 0)), undefined);
  assert.equal(toDigitImage(grey(50, 50, (x, y) => 120 + ((x * 7 + y * 3) % 20))), undefined);
  const clear = { width: 3, height: 3, channels: 4 as const, data: new Uint8Array(36) };
  assert.equal(toDigitImage(clear), undefined);
});

Deno.test("toDigitImage() rejects a buffer that does not match the size", () => {
  assert.throws(
    () => toDigitImage({ width: 4, height: 4, channels: 3, data: new Uint8Array(10) }),
    /A 4x4 image with 3 channel\(s\) needs 48 bytes, got 10/,
  );
  assert.throws(
    () => toDigitImage({ width: 0, height: 4, channels: 1, data: new Uint8Array(0) }),
    /whole, positive width and height, got 0x4/,
  );
});

Deno.test("toDigitImage() keeps bold strokes that cover two thirds of every part of a tight crop", () => {
  // Rows of ink, two on and one off, over 20x20 in a 28x28 image (MNIST's margin): no paper is
  // in reach of the middle but the rows between the strokes, a third of each area.
  const striped = grey(28, 28, (x, y) => inside(x, y, 4, 4, 20, 20) && (y - 4) % 3 !== 2 ? 255 : 0);
  const digit = toDigitImage(striped);
  assert.ok(digit);
  assert.deepEqual(digit.box, { x: 4, y: 4, width: 20, height: 20 });
  const lit = digit.pixels.filter((v) => v >= 0.5).length;
  assert.equal(lit, 14 * 20, picture(digit.pixels).join("\n"));
});
