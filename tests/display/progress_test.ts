import assert from "node:assert/strict";
import type { MediaBundle } from "../../lib/display/jupyter.ts";
import {
  formatDuration,
  formatValue,
  progressBundle,
  ProgressDisplay,
  trainingProgress,
} from "../../lib/display/progress.ts";

Deno.test("formatDuration() writes seconds and minutes", () => {
  assert.equal(formatDuration(42.4), "42s");
  assert.equal(formatDuration(65), "1m05s");
  assert.equal(formatDuration(Infinity), "?");
});

Deno.test("trainingProgress() drives one display and always shows the final state", async () => {
  const sent: { type: string; text: string; id: string }[] = [];
  let clock = 0;
  const display = new ProgressDisplay({
    title: "Training",
    now: () => clock,
    broadcast: (type, content) => {
      const data = content.data as Record<string, string>;
      const transient = content.transient as { display_id: string };
      sent.push({ type, text: data["text/plain"], id: transient.display_id });
      return Promise.resolve();
    },
  });
  const callbacks = trainingProgress({ display, now: () => clock });
  callbacks.setParams!({ epochs: 2, steps: 3, samples: 30, batchSize: 10 });
  for (let epoch = 0; epoch < 2; epoch++) {
    await callbacks.onEpochBegin!(epoch);
    for (let batch = 0; batch < 3; batch++) {
      clock += 10; // faster than the display's 4 updates a second: 10 images in 10 ms
      await callbacks.onBatchEnd!(batch, { batch, size: 10, loss: 0.5, acc: 0.8 });
    }
    const logs = { loss: 0.5, acc: 0.8, val_loss: 0.4, val_acc: 0.9, lr: 0.001, seconds: 1 };
    await callbacks.onEpochEnd!(epoch, logs);
  }
  await callbacks.onTrainEnd!({ epochs: 2, best_epoch: 2, stopped_early: 0 });
  assert.equal(sent[0].type, "display_data");
  assert.match(sent[0].text, /\] {2}16% \| epoch 1\/2 \| batch 1\/3/, "1 of 6 batches done");
  assert.ok(sent.slice(1).every((m) => m.type === "update_display_data"));
  assert.ok(sent.length < 6, `throttled to a few messages, got ${sent.length}`);
  assert.equal(new Set(sent.map((m) => m.id)).size, 1);
  const last = sent.at(-1)!.text;
  assert.match(last, /100%/);
  assert.match(
    last,
    /epoch 2\/2 \| batch 3\/3 \| loss 0\.5 \| accuracy 0\.8 \| images\/s 1000 \| ETA 0s/,
  );
  assert.match(last, /last val accuracy 0\.9/);
});

Deno.test("trainingProgress() fills the bar and says why when training stops early", async () => {
  const texts: string[] = [];
  const display = new ProgressDisplay({
    now: () => 0,
    broadcast: (_type, content) => {
      texts.push((content.data as Record<string, string>)["text/plain"]);
      return Promise.resolve();
    },
  });
  const callbacks = trainingProgress({ display, now: () => 0 });
  callbacks.setParams!({ epochs: 5, steps: 2, samples: 20, batchSize: 10 });
  const logs = { batch: 0, size: 10, loss: 0.5, acc: 0.8 };
  await callbacks.onBatchEnd!(0, logs);
  await callbacks.onEpochBegin!(2);
  await callbacks.onBatchEnd!(1, { ...logs, batch: 1 });
  await callbacks.onTrainEnd!({ epochs: 3, best_epoch: 1, stopped_early: 1 });
  const last = texts.at(-1)!;
  assert.match(last, /100%/);
  assert.match(last, /stopped early at epoch 3: best validation loss at epoch 1/);
});

function html(bundle: MediaBundle): string {
  return String(bundle["text/html"]);
}

Deno.test("formatValue and progressBundle", () => {
  assert.equal(formatValue(0.412345), "0.4123");
  assert.equal(formatValue(1450.7), "1451");
  assert.equal(formatValue(12), "12");
  assert.equal(formatValue("0:42"), "0:42");
  assert.equal(formatValue(Number.NaN), "NaN");
  const bundle = progressBundle("Training <1>", {
    value: 45,
    total: 60,
    fields: { epoch: "1/3", "a<b": 0.5 },
  });
  assert.equal(
    bundle["text/plain"],
    "Training <1> [###############.....]  75% | epoch 1/3 | a<b 0.5",
  );
  assert.ok(html(bundle).includes("Training &lt;1&gt;"));
  assert.ok(html(bundle).includes("a&lt;b"));
  assert.ok(html(bundle).includes('<progress value="0.7500" max="1"'));
  // Out-of-range values are clamped rather than drawing a broken bar.
  assert.match(
    String(progressBundle("", { value: 5, total: 0 })["text/plain"]),
    /^\[\.{20}\] {3}0%/,
  );
});

interface Sent {
  type: string;
  content: Record<string, unknown>;
}

function fakeKernel() {
  const sent: Sent[] = [];
  let clock = 0;
  return {
    sent,
    advance: (ms: number) => (clock += ms),
    now: () => clock,
    broadcast: (type: string, content: Record<string, unknown>) => {
      sent.push({ type, content });
      return Promise.resolve();
    },
  };
}

Deno.test("progress: one display, then in-place updates, throttled, final state always sent", async () => {
  const k = fakeKernel();
  const progress = new ProgressDisplay({
    title: "Training",
    minIntervalMs: 250,
    now: k.now,
    broadcast: k.broadcast,
    displayId: "p1",
  });
  for (let i = 1; i <= 100; i++) {
    k.advance(10); // 100 updates over 1 s -> about 4 published
    await progress.update({ value: i, total: 100, fields: { batch: i } });
  }
  await progress.done();
  await progress.done(); // idempotent
  await progress.update({ value: 1, total: 1 }); // ignored after done
  assert.equal(k.sent[0].type, "display_data");
  assert.ok(k.sent.slice(1).every((m) => m.type === "update_display_data"));
  assert.ok(
    k.sent.every((m) => (m.content.transient as { display_id: string }).display_id === "p1"),
  );
  assert.ok(k.sent.length >= 4 && k.sent.length <= 6, `sent ${k.sent.length} messages`);
  const last = k.sent.at(-1)!.content.data as MediaBundle;
  assert.match(String(last["text/plain"]), /100% \| batch 100$/);
});

Deno.test("progress: done() without pending changes sends nothing new", async () => {
  const k = fakeKernel();
  const progress = new ProgressDisplay({ now: k.now, broadcast: k.broadcast });
  await progress.update({ value: 1, total: 2 });
  await progress.done();
  assert.equal(k.sent.length, 1);
  await progress.update({ value: 2, total: 2 }); // after done: ignored
  assert.equal(k.sent.length, 1);
});

Deno.test("progress: done(state) shows the state it is given, though nothing else is pending", async () => {
  const k = fakeKernel();
  const progress = new ProgressDisplay({ now: k.now, broadcast: k.broadcast });
  await progress.update({ value: 1, total: 4, fields: { batch: 1 } });
  // A new object, as a caller that ends a run early passes: the bar full, and why.
  await progress.done({ value: 4, total: 4, fields: { stopped: "early at epoch 2" } });
  assert.equal(k.sent.length, 2);
  const last = k.sent[1].content.data as MediaBundle;
  assert.match(String(last["text/plain"]), /100% \| stopped early at epoch 2$/);
});

Deno.test("progress: un-awaited updates are still delivered in order", async () => {
  const sent: string[] = [];
  const progress = new ProgressDisplay({
    minIntervalMs: 0,
    broadcast: async (_type, content) => {
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
      sent.push(String((content.data as MediaBundle)["text/plain"]));
    },
  });
  for (let i = 1; i <= 5; i++) progress.update({ value: i, total: 5 });
  await progress.done();
  assert.deepEqual(sent.map((s) => s.match(/(\d+)%/)![1]), ["20", "40", "60", "80", "100"]);
});

Deno.test("progress outside Jupyter: one \\r-rewritten terminal line, newline at the end", async () => {
  const writes: string[] = [];
  const progress = new ProgressDisplay({
    title: "Eval",
    minIntervalMs: 0,
    write: (text) => writes.push(text),
  });
  await progress.update({ value: 1, total: 4, fields: { loss: 0.123456 } });
  await progress.update({ value: 4, total: 4 });
  await progress.done();
  assert.equal(writes.length, 3);
  assert.ok(writes[0].startsWith("\rEval [#####...............]  25% | loss 0.1235"));
  // The shorter second line is padded so no characters of the first one remain.
  assert.equal(writes[1].length, writes[0].length);
  assert.equal(writes[2], "\n");
});
