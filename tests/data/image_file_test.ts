import assert from "node:assert/strict";
import { join } from "node:path";
import jpeg from "jpeg-js";
import {
  decodeImage,
  encodePng,
  ImageFileError,
  readImageFile,
} from "../../lib/data/image_file.ts";

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
