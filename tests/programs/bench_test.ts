/**
 * programs/bench.ts: a tiny bench run prints one JSON line with the documented measurements, and
 * bad flags stop it before anything is loaded.
 */
import assert from "node:assert/strict";
import { runProgram } from "../fixtures.ts";

const BENCH = new URL("../../programs/bench.ts", import.meta.url).pathname;

const bench = (args: string[], env: Record<string, string> = {}) =>
  runProgram(BENCH, args, { env });

Deno.test("deno task bench prints one JSON line with the throughput of the images it timed", async () => {
  const r = await bench([
    "--train-samples",
    "192",
    "--batch-size",
    "64",
    "--predict",
    "300",
    "--threads",
    "1",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.equal(lines.length, 1, "one JSON line on stdout, the rest on stderr");
  const result = JSON.parse(lines[0]);
  assert.equal(result.samples, 192);
  assert.equal(result.batch_size, 64);
  assert.equal(result.threads, 1);
  assert.equal(result.backend, "wasm");
  assert.equal(result.dataset, "mnist");
  assert.equal(result.variant, "baseline", "the tutorial's model by default");
  // 3 steps of 64 images: images per second and milliseconds per step tell the same time.
  const seconds = result.samples / result.train_samples_per_s;
  assert.ok(
    Math.abs(result.train_ms_per_step - (seconds * 1000) / 3) < 0.05 * result.train_ms_per_step,
  );
  assert.ok(result.train_samples_per_s > 10 && result.predict_images_per_s > 10);
  assert.ok(result.final_loss > 0 && result.final_loss < 3, `loss ${result.final_loss}`);
  assert.match(r.stderr, /tensors (\d+) -> \1\b/, "no tensor leaks while timing");
});

Deno.test("deno task bench --variant times that variant's training: deep's Batch Normalization kernels run", async () => {
  const r = await bench([
    "--variant",
    "deep",
    "--train-samples",
    "128",
    "--batch-size",
    "64",
    "--predict",
    "100",
    "--threads",
    "1",
    "--profile",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assert.equal(result.variant, "deep");
  assert.equal(result.samples, 128);
  const kernels = Object.keys(result.profile);
  assert.ok(kernels.some((k) => /BatchNorm/.test(k)), kernels.join(", "));
  assert.match(r.stderr, /tensors (\d+) -> \1\b/, "no tensor leaks while timing");
});

Deno.test("deno task bench stops with exit code 2 and a sentence on a bad flag, before loading data", async () => {
  for (
    const [args, message] of [
      [["--predict", "0"], /--predict "0" is not valid: give a whole number of at least 1\./],
      [["--batch", "64"], /Unknown flag --batch\. See deno task bench --help/],
      [["--train-samples", "x"], /--train-samples "x" is not valid/],
      [["--variant", "huge"], /--variant "huge"/],
    ] as const
  ) {
    const r = await bench([...args], { DATA_MIRROR: "/nonexistent/mirror" });
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stdout, "");
  }
});
