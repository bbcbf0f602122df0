/**
 * lib/engine/backend.ts: setup (threads, SIMD, idempotence, errors), training the seed CNN on the
 * threaded wasm backend without leaking tensors, and shutting the pool down.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { logicalCores, setupWasmBackend, shutdownWasmBackend } from "../../lib/engine/backend.ts";
import { buildBaselineModel } from "../../lib/models/variants.ts";

tf.enableProdMode();

/** Deterministic images with a learnable label: the class is the brightest of 10 bands. */
function syntheticBatch(n: number, seed: number): { xs: tf.Tensor4D; ys: tf.Tensor1D } {
  let s = seed >>> 0;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  const x = new Float32Array(n * 784);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const label = Math.floor(next() * 10);
    y[i] = label;
    for (let p = 0; p < 784; p++) {
      const band = Math.floor((p % 28) / 2.8);
      x[i * 784 + p] = 0.3 * next() + (band === label ? 0.7 : 0);
    }
  }
  return { xs: tf.tensor4d(x, [n, 28, 28, 1]), ys: tf.tensor1d(y) };
}

Deno.test("setupWasmBackend turns on SIMD and one thread per logical core", async () => {
  const info = await setupWasmBackend();
  assert.equal(info.backend, "wasm");
  assert.equal(tf.getBackend(), "wasm");
  assert.equal(info.simd, true);
  assert.equal(info.tfjsVersion, tf.version.tfjs);
  // The environment is read at the front door (lib/parameters.ts), never here.
  assert.equal(info.threads, logicalCores(), "a 2-core machine must get 2 threads, not cores / 2");
});

Deno.test("setupWasmBackend is idempotent", async () => {
  const a = await setupWasmBackend();
  const t = tf.tensor([1, 2, 3]);
  const b = await setupWasmBackend();
  assert.deepEqual(b, a);
  // Same options: the backend instance (and tensors on it) survive the second call.
  assert.deepEqual(Array.from(await t.data()), [1, 2, 3]);
  t.dispose();
  const [c, d] = await Promise.all([setupWasmBackend(), setupWasmBackend()]);
  assert.deepEqual(c, a);
  assert.deepEqual(d, a);
});

Deno.test("setupWasmBackend rejects a bad thread count with an instruction", async () => {
  const cores = logicalCores();
  await assert.rejects(
    () => setupWasmBackend({ threads: 0 }),
    new RegExp(`threads must be a whole number from 1 to ${cores} .*got 0\\. Pass e\\.g\\.`),
  );
  await assert.rejects(() => setupWasmBackend({ threads: 1.5 }), /got 1.5/);
  await assert.rejects(() => setupWasmBackend({ threads: cores + 1 }), /logical cores/);
});

Deno.test("setupWasmBackend switches between 1 thread, no SIMD and 2 threads", async () => {
  const one = await setupWasmBackend({ threads: 1 });
  assert.equal(one.threads, 1);
  const sum = tf.tidy(() =>
    tf.conv2d(
      tf.ones([1, 4, 4, 1]) as tf.Tensor4D,
      tf.ones([2, 2, 1, 1]) as tf.Tensor4D,
      1,
      "valid",
    ).sum()
  );
  assert.equal((await sum.data())[0], 36);
  sum.dispose();
  const plain = await setupWasmBackend({ simd: false });
  assert.deepEqual([plain.simd, plain.threads], [false, 1]);
  const x4 = tf.ones([1, 4, 4, 1]) as tf.Tensor4D;
  const loss = (w: tf.Tensor) => tf.conv2d(x4, w as tf.Tensor4D, 1, "valid").sum();
  const dw = tf.tidy(() => tf.grad(loss)(tf.ones([2, 2, 1, 1])));
  x4.dispose();
  assert.deepEqual(Array.from(await dw.data()), [9, 9, 9, 9]);
  dw.dispose();
  const two = await setupWasmBackend({ threads: 2 });
  assert.equal(two.threads, 2);
});

Deno.test("fit trains the seed CNN on threaded wasm: the loss falls and no tensor leaks", async () => {
  const info = await setupWasmBackend();
  assert.ok(info.threads >= 2 || navigator.hardwareConcurrency < 2);
  const { xs, ys } = syntheticBatch(256, 7);
  const model = buildBaselineModel({ seed: 1 });
  const losses: number[] = [];
  const tensorCounts: number[] = [];
  for (let epoch = 0; epoch < 4; epoch++) {
    const h = await model.fit(xs, ys, { batchSize: 64, epochs: 1, shuffle: false, verbose: 0 });
    losses.push(Number(h.history.loss[0]));
    tensorCounts.push(tf.memory().numTensors);
  }
  assert.ok(losses.every(Number.isFinite), `losses ${losses}`);
  assert.ok(losses[3] < 0.8 * losses[0], `the loss should fall: ${losses.join(", ")}`);
  assert.equal(new Set(tensorCounts).size, 1, `tensors per epoch ${tensorCounts.join(", ")}`);
  const probs = model.predict(xs.slice(0, 8)) as tf.Tensor;
  assert.deepEqual(probs.shape, [8, 10]);
  tf.dispose([probs, xs, ys]);
  model.dispose();
});

Deno.test("shutdownWasmBackend stops the pool and setupWasmBackend starts again", async () => {
  await setupWasmBackend();
  shutdownWasmBackend();
  shutdownWasmBackend(); // a second call is harmless
  assert.notEqual(tf.getBackend(), "wasm");
  const info = await setupWasmBackend();
  assert.equal(tf.getBackend(), "wasm");
  const t = tf.tidy(() => tf.matMul(tf.ones([3, 4]), tf.ones([4, 2])).sum());
  assert.equal((await t.data())[0], 24);
  t.dispose();
  assert.ok(info.threads >= 1);
  shutdownWasmBackend();
});

Deno.test("a process using threaded wasm exits by itself", async () => {
  // A child that sets up threads, computes and returns without calling shutdown: the
  // workers must not keep it alive.
  const script = `
    import * as tf from "@tensorflow/tfjs";
    import { setupWasmBackend } from "${
    new URL("../../lib/engine/backend.ts", import.meta.url).href
  }";
    tf.enableProdMode();
    const info = await setupWasmBackend({ threads: 2 });
    const s = tf.conv2d(tf.ones([2, 8, 8, 3]), tf.ones([3, 3, 3, 4]), 1, "same").sum();
    console.log(JSON.stringify({ threads: info.threads, sum: (await s.data())[0] }));
  `;
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", script],
    cwd: new URL("../..", import.meta.url).pathname,
    env: { WASM_THREADS: "" },
    stdout: "piped",
    stderr: "piped",
  });
  const child = cmd.spawn();
  const timer = setTimeout(() => child.kill(), 60_000);
  const out = await child.output();
  clearTimeout(timer);
  const text = new TextDecoder().decode(out.stdout).trim();
  assert.equal(out.code, 0, `child failed: ${new TextDecoder().decode(out.stderr)}`);
  assert.deepEqual(JSON.parse(text), { threads: 2, sum: 2 * 4 * 3 * (4 * 4 + 24 * 6 + 36 * 9) });
});
