import assert from "node:assert/strict";
import { misspeltVariables } from "../lib/misspelt_variables.ts";
import { runVariableWarnings } from "../lib/training/run_parameters.ts";

Deno.test("runVariableWarnings() names the variable meant for near misses, and only for them", () => {
  const warnings = runVariableWarnings({
    EPOCH: "3",
    BATCHSIZE: "64",
    batch_size: "32",
    TRAINSAMPLES: "10",
    EPOCHS: "2",
    HOME: "/root",
    PATH: "/bin",
    SEEDS: "1",
    DATA_MIRORR: "/x",
  });
  assert.deepEqual(warnings.map((w) => w.split(";")[0]), [
    "EPOCH is not a variable this project reads",
    "BATCHSIZE is not a variable this project reads",
    "batch_size is not a variable this project reads",
    "TRAINSAMPLES is not a variable this project reads",
    "DATA_MIRORR is not a variable this project reads",
  ]);
  assert.match(warnings[0], /did you mean EPOCHS\? EPOCH="3" was ignored\./);
  assert.match(warnings[1], /did you mean BATCH_SIZE\?/);
  assert.match(warnings[4], /did you mean DATA_MIRROR\?/);
});

Deno.test("misspeltVariables() matches against the names it is given only", () => {
  assert.deepEqual(misspeltVariables(["COLOUR"], { COLOR: "red", EPOCH: "3" }), [
    'COLOR is not a variable this project reads; did you mean COLOUR? COLOR="red" was ignored.',
  ]);
  // Short names need an exact match (ignoring case and underscores): SEE is not SEED.
  assert.deepEqual(misspeltVariables(["SEED"], { SEE: "1", S_E_E_D: "2" }).length, 1);
});
