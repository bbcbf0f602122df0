import assert from "node:assert/strict";
import { ProgressDisplay } from "../../lib/display/display.ts";
import { formatDuration, trainingProgress } from "../../lib/display/progress.ts";

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
  const callbacks = trainingProgress({ display });
  const progress = {
    epochs: 2,
    batches: 3,
    loss: 0.5,
    accuracy: 0.8,
    samplesPerSecond: 1000,
    etaSeconds: 3,
  };
  for (let epoch = 1; epoch <= 2; epoch++) {
    for (let batch = 1; batch <= 3; batch++) {
      clock += 10; // faster than the display's 4 updates a second
      await callbacks.onBatchEnd!({ ...progress, epoch, batch });
    }
    await callbacks.onEpochEnd!({
      epoch,
      loss: 0.5,
      accuracy: 0.8,
      valLoss: 0.4,
      valAccuracy: 0.9,
      learningRate: 0.001,
      seconds: 1,
      samplesPerSecond: 1000,
    });
  }
  await callbacks.onTrainEnd!({
    history: [],
    seconds: 2,
    samplesPerSecond: 1000,
    bestEpoch: 2,
    stoppedEarly: false,
  });
  assert.equal(sent[0].type, "display_data");
  assert.ok(sent.slice(1).every((m) => m.type === "update_display_data"));
  assert.ok(sent.length < 6, `throttled to a few messages, got ${sent.length}`);
  assert.equal(new Set(sent.map((m) => m.id)).size, 1);
  const last = sent.at(-1)!.text;
  assert.match(last, /100%/);
  assert.match(
    last,
    /epoch 2\/2 \| batch 3\/3 \| loss 0\.5 \| accuracy 0\.8 \| images\/s 1000 \| ETA 3s/,
  );
  assert.match(last, /last val accuracy 0\.9/);
});
