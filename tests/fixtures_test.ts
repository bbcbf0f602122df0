/**
 * tests/fixtures.ts: the array assertions fail fast, with a one-line summary, on large arrays.
 */
import assert from "node:assert/strict";
import { assertDifferentArrays, assertSameArray } from "./fixtures.ts";

/** 64 images of 28x28 floats, as a batch holds them. */
function images(seed: number): Float32Array {
  return Float32Array.from({ length: 64 * 784 }, (_, i) => ((i * 7919 + seed) % 256) / 255);
}

Deno.test("assertSameArray() fails on 64 differing images within a second, naming the first difference", () => {
  const a = images(0), b = images(0);
  b[1000] += 0.5;
  b[2000] += 0.5;
  const start = performance.now();
  assert.throws(
    () => assertSameArray(a, b, { message: "augmented batch" }),
    /augmented batch: 2 of 50176 values differ; the first at index 1000: /,
  );
  assert.throws(() => assertSameArray(a, images(1)), /values differ; the first at index 0/);
  assert.ok(performance.now() - start < 1000, `took ${performance.now() - start} ms`);
});

Deno.test("assertSameArray() passes equal arrays, NaN included, and values within the tolerance", () => {
  assertSameArray(new Float32Array([1, NaN, 3]), [1, NaN, 3]);
  assertSameArray([1, 2.0004], [1, 2], { tolerance: 1e-3 });
  assert.throws(
    () => assertSameArray([1, 2.01], [1, 2], { tolerance: 1e-3 }),
    /by more than 0.001/,
  );
  assert.throws(() => assertSameArray([1, 2], [1, 2, 3]), /lengths differ: 2 values, expected 3/);
});

Deno.test("assertDifferentArrays() fails on equal arrays with a one-line message", () => {
  assertDifferentArrays(images(0), images(1));
  assert.throws(
    () => assertDifferentArrays(images(0), images(0), "another seed must change the images"),
    /another seed must change the images, but all 50176 values are equal\./,
  );
});
