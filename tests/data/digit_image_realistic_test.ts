// lib/data/digit_image.ts on realistic inputs: photographed-style digits (grey paper, uneven
// light, sensor noise, off-centre, coloured ink) and thin strokes on large canvases.
import assert from "node:assert/strict";
import { DIGIT_SIZE, toDigitImage } from "../../lib/data/digit_image.ts";
import { photographedDigit, thinStrokeDigit } from "../fixtures.ts";

function centreOfMass(pixels: Float32Array): { x: number; y: number } {
  let mass = 0, mx = 0, my = 0;
  pixels.forEach((v, i) => {
    mass += v;
    mx += v * ((i % DIGIT_SIZE) + 0.5);
    my += v * (Math.floor(i / DIGIT_SIZE) + 0.5);
  });
  return { x: mx / mass, y: my / mass };
}

Deno.test("a photographed digit on unevenly lit grey paper is found, inverted and centred", () => {
  const { image, box } = photographedDigit();
  const digit = toDigitImage(image);
  assert.ok(digit, "no digit found in the photo");
  assert.equal(
    digit.inverted,
    true,
    "dark ink on light paper is inverted to MNIST's white on black",
  );
  assert.deepEqual(digit.box, box, "the box is the ink's, not the shading's");
  const centre = centreOfMass(digit.pixels);
  assert.ok(Math.abs(centre.x - 14) <= 1 && Math.abs(centre.y - 14) <= 1, JSON.stringify(centre));
  assert.equal(Math.max(...digit.pixels), 1, "the strokes reach full intensity, as MNIST's do");
  const paper = digit.pixels.filter((v) => v > 0).length;
  assert.ok(paper < 200, `${paper} pixels lit: the paper's shading came through as ink`);
});

Deno.test("the same photo with red ink, or placed elsewhere in the frame, gives the same digit", () => {
  const blue = toDigitImage(photographedDigit().image)!;
  const moved = toDigitImage(photographedDigit({ x: 10, y: 5 }).image)!;
  const diff = blue.pixels.reduce((s, v, i) => s + Math.abs(v - moved.pixels[i]), 0);
  assert.ok(diff < 20, `moving the digit in the frame changed ${diff.toFixed(1)} units of ink`);
  const red = toDigitImage(photographedDigit({ ink: [200, 30, 30] }).image);
  assert.ok(red, "red ink on grey paper was not found");
  assert.deepEqual(red.box, photographedDigit().box);
});

Deno.test("a one-pixel stroke on a 400x400 canvas survives shrinking at full intensity", () => {
  const digit = toDigitImage(thinStrokeDigit());
  assert.ok(digit);
  assert.equal(digit.box.height, 300);
  assert.equal(Math.max(...digit.pixels), 1, "the thin stroke faded to grey");
  const column = Array.from({ length: DIGIT_SIZE }, (_, r) => digit.pixels[r * DIGIT_SIZE + 14]);
  assert.equal(column.filter((v) => v > 0.5).length, 20, "the 1 spans the 20-pixel box");
});

Deno.test("a photo whose paper darkens from grey 215 to 165 across the page: the ink is found, not the shade", () => {
  const { image, box } = photographedDigit({ paper: [165, 215] });
  const digit = toDigitImage(image);
  assert.ok(digit, "no digit found in the photo");
  assert.deepEqual(digit.box, box, "the box is the ink's, not the darker side of the page");
  const lit = digit.pixels.filter((v) => v > 0).length;
  assert.ok(lit < 200, `${lit} pixels lit: the paper's shading came through as ink`);
  // Lit from the other side, the same digit.
  const mirrored = toDigitImage(photographedDigit({ paper: [215, 165] }).image);
  assert.deepEqual(mirrored?.box, box);
});

Deno.test("blank paper lit unevenly, from grey 165 to 215, holds no digit", () => {
  const { image } = photographedDigit({ paper: [165, 215], stroke: 0 });
  assert.equal(toDigitImage(image), undefined);
});
