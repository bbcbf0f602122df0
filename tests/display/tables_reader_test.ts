// lib/display/tables.ts from the reader's side: what each cell of a records table shows.
import assert from "node:assert/strict";
import { recordsTable } from "../../lib/display/tables.ts";

Deno.test("recordsTable() shows a list or an object as text, a missing value as empty", () => {
  const table = recordsTable([
    { variant: "tuned", seeds: [1, 2, 3], note: undefined, simd: true },
    { variant: "deep", seeds: [4], note: "under load", simd: false },
  ]);
  assert.deepEqual(table.getColumn("seeds").toArray(), ["1,2,3", "4"]);
  assert.deepEqual(table.getColumn("note").toArray(), [null, "under load"]);
  assert.deepEqual(table.getColumn("simd").toArray(), [true, false]);
  assert.deepEqual(table.columns, ["variant", "seeds", "note", "simd"]);
});
