import assert from "node:assert/strict";
import { gunzip, parseIdx, parseIdxImages, parseIdxLabels } from "../../lib/data/idx.ts";
import { createRandom } from "../../lib/random.ts";
import { assertSameArray, datasetFiles, gzip, idxBytes, rejectionOf } from "../fixtures.ts";

Deno.test("parseIdxImages() reads count, size and pixels", () => {
  const pixels = Uint8Array.from({ length: 2 * 784 }, (_, i) => i % 256);
  const images = parseIdxImages(idxBytes(2051, [2, 28, 28], pixels), "x");
  assert.equal(images.count, 2);
  assertSameArray(images.pixels, pixels);
});

Deno.test("parseIdx() rejects a file shorter than its header", () => {
  assert.throws(
    () => parseIdx(new Uint8Array([0, 0, 8, 3, 0, 0]), "f.idx", 2051),
    /f\.idx ends inside its IDX header/,
  );
  assert.throws(() => parseIdx(new Uint8Array([0, 0]), "f.idx", 2051), /f\.idx is too short/);
});

Deno.test("parseIdx() rejects trailing bytes after the data", () => {
  const bytes = idxBytes(2049, [3], new Uint8Array(4));
  assert.throws(
    () => parseIdx(bytes, "labels.idx", 2049),
    /labels\.idx holds 4 bytes of data but its header \[3\] says 3/,
  );
});

Deno.test("parseIdxLabels() rejects a label of 10 or more", () => {
  assert.throws(
    () => parseIdxLabels(idxBytes(2049, [3], new Uint8Array([1, 10, 2])), "y.idx"),
    /y\.idx has label 10 at index 1; labels must be 0 to 9/,
  );
});

Deno.test("gunzip() round-trips CompressionStream output", async () => {
  const data = Uint8Array.from({ length: 5000 }, (_, i) => (i * 31) % 251);
  assert.deepEqual(await gunzip(await gzip(data), "d.gz"), data);
});

Deno.test("gunzip() and the IDX parsers end every one of 300 random or damaged inputs in a clean Error", async () => {
  const random = createRandom(20261124);
  const valid = (await datasetFiles({ train: 3, test: 2 }))["train-images-idx3-ubyte.gz"];
  for (let n = 0; n < 300; n++) {
    let bytes: Uint8Array;
    if (n % 3 === 0) {
      // Pure noise, sometimes with a gzip magic so the inflater gets further.
      bytes = Uint8Array.from(
        { length: Math.floor(random() * 2000) },
        () => Math.floor(random() * 256),
      );
      if (n % 2 === 0 && bytes.length > 3) bytes.set([0x1f, 0x8b, 8], 0);
    } else if (n % 3 === 1) {
      bytes = valid.slice(0, Math.floor(random() * valid.length));
    } else {
      bytes = valid.slice();
      for (let k = 0; k < 1 + random() * 8; k++) {
        bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      }
    }
    const outcome = await Promise.race([
      (async () => {
        try {
          const raw = await gunzip(bytes, `case-${n}.gz`);
          parseIdxImages(raw, `case-${n}.gz`);
          return "parsed";
        } catch (error) {
          assert.ok(error instanceof Error, `case ${n} threw a non-Error: ${error}`);
          assert.ok(error.message.includes(`case-${n}.gz`), `case ${n}: ${error.message}`);
          return "error";
        }
      })(),
      new Promise<string>((resolve) => {
        const id = setTimeout(() => resolve("hang"), 5000);
        Deno.unrefTimer(id);
      }),
    ]);
    assert.notEqual(outcome, "hang", `case ${n} did not finish within 5 s`);
  }
});

Deno.test("rejectionOf() reports a promise that resolves", async () => {
  const error = await rejectionOf(rejectionOf(Promise.resolve(1)));
  assert.match(error.message, /resolved/);
});
