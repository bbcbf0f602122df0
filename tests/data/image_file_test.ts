import assert from "node:assert/strict";
import { join } from "node:path";
// @ts-types="@types/pngjs"
import { PNG } from "pngjs";
import jpeg from "jpeg-js";
import { decodeImage, ImageFileError, readImageFile } from "../../lib/data/image_file.ts";

function png(width: number, height: number, options: Record<string, unknown> = {}): Uint8Array {
  const image = new PNG({ width, height, ...options });
  for (let i = 0; i < width * height; i++) image.data.set([i % 256, 10, 20, 255 - (i % 7)], i * 4);
  return new Uint8Array(PNG.sync.write(image, options));
}

Deno.test("decodeImage() reads RGBA, grey and grey+alpha PNGs as RGBA pixels", () => {
  const colour = decodeImage(png(5, 3), "c.png");
  assert.deepEqual([colour.width, colour.height, colour.channels], [5, 3, 4]);
  assert.deepEqual(Array.from(colour.data).slice(4, 8), [1, 10, 20, 254]);
  const grey = decodeImage(png(4, 2, { colorType: 0 }), "g.png");
  assert.deepEqual([grey.width, grey.height, grey.data.length], [4, 2, 32]);
  assert.equal(grey.data[3], 255, "no alpha channel means opaque");
  const greyAlpha = decodeImage(png(4, 2, { colorType: 4 }), "ga.png");
  assert.equal(greyAlpha.data.length, 32);
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
