// lib/display/progress.ts from the reader's side: the ETA counts the epochs still to come.
import assert from "node:assert/strict";
import { ProgressDisplay, trainingProgress } from "../../lib/display/progress.ts";

Deno.test("trainingProgress(): at the end of epoch 1 of 3, the ETA is the two epochs left", async () => {
  const texts: string[] = [];
  let clock = 0;
  const display = new ProgressDisplay({
    now: () => clock,
    broadcast: (_type, content) => {
      texts.push((content.data as Record<string, string>)["text/plain"]);
      return Promise.resolve();
    },
  });
  const callbacks = trainingProgress({ display, now: () => clock });
  callbacks.setParams!({ epochs: 3, steps: 2, samples: 2000, batchSize: 1000 });
  await callbacks.onEpochBegin!(0);
  for (let batch = 0; batch < 2; batch++) {
    clock += 10_000; // 1000 images in 10 s: 100 images/s, one epoch of 2000 in 20 s
    await callbacks.onBatchEnd!(batch, { batch, size: 1000, loss: 0.5, acc: 0.8 });
  }
  const last = texts.at(-1)!;
  assert.match(last, /epoch 1\/3 \| batch 2\/2/, last);
  assert.match(last, /images\/s 100 \| ETA 40s/, last);
});
