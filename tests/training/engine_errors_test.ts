/** lib/training/engine_errors.ts: the engine's sentences re-worded with the tutorial's names. */
import assert from "node:assert/strict";
import { EngineError } from "../../lib/engine/mod.ts";
import { inTutorialTerms } from "../../lib/training/engine_errors.ts";

Deno.test("inTutorialTerms() names BATCH_SIZE and WASM_THREADS with their flags, keeps the cause", async () => {
  const cause = new Error("RuntimeError: memory access out of bounds");
  const heap = new EngineError("Replica 1 failed. Lower {option}.", "batchCapacity", { cause });
  const shown = await inTutorialTerms(heap);
  assert.ok(shown instanceof EngineError);
  assert.equal(shown.message, "Replica 1 failed. Lower BATCH_SIZE (--batch-size).");
  assert.equal(shown.cause, cause);
  assert.equal(shown.option, "batchCapacity");
  const start = new EngineError("The backend failed to start: set {option} to 1.", "threads");
  assert.equal(
    ((await inTutorialTerms(start)) as Error).message,
    "The backend failed to start: set WASM_THREADS (--threads) to 1.",
  );
});

Deno.test("inTutorialTerms() leaves workers (trainModel's own option) and other errors alone", async () => {
  const workers = new EngineError("Run again, or set {option} to 0.", "workers");
  assert.equal(await inTutorialTerms(workers), workers);
  assert.equal(workers.message, "Run again, or set workers to 0.");
  const other = new RangeError("lower BATCH_SIZE");
  assert.equal(await inTutorialTerms(other), other);
  assert.equal(await inTutorialTerms("a string"), "a string");
});
