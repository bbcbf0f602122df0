import assert from "node:assert/strict";
import { helpText, parseProgramArgs } from "../lib/command_line.ts";
import { RUN_PARAMETERS } from "../lib/training/run_parameters.ts";

const SPEC = {
  table: RUN_PARAMETERS,
  command: "deno task demo",
  summary: "Demonstrates.",
  parameters: ["epochs", "seed", "trainSamples"],
  defaults: { trainSamples: { value: 100, text: "100" } },
  flags: [{ flag: "out", valueName: "DIR", help: "where", defaultText: "here" }, {
    flag: "fast",
    help: "go fast",
  }],
} as const;

Deno.test("parseProgramArgs() reads flags, switches and the environment, flags first", () => {
  const parsed = parseProgramArgs(SPEC, ["--epochs", "3", "--out", "x", "--fast"], {
    env: { SEED: "8", EPOCHS: "9", EPOCHZ: "1" },
  });
  assert.deepEqual(parsed.parameters, { epochs: 3, seed: 8, trainSamples: 100 });
  assert.deepEqual(parsed.flags, { out: "x", fast: true });
  assert.equal(parsed.help, false);
  assert.match(parsed.warnings[0], /EPOCHZ .* did you mean EPOCHS/);
});

Deno.test("parseProgramArgs() turns every bad command line into a sentence pointing at --help", () => {
  const cases: [string[], RegExp][] = [
    [["--bogus"], /: Unknown flag --bogus\. See deno task demo --help\.$/],
    [["--epochs"], /: --epochs needs a value\. See deno task demo --help\.$/],
    [["--epochs", "--seed", "1"], /--epochs needs a value before the next flag/],
    [["--seed", "x"], /: --seed "x" is not valid: give a whole number from 0 to 4294967295\. See/],
    [["extra"], /: Unexpected argument "extra": every value follows its flag/],
    [["--dataset", "mnist"], /: Unknown flag --dataset\./],
  ];
  for (const [args, message] of cases) {
    assert.throws(() => parseProgramArgs(SPEC, args, { env: {} }), message, args.join(" "));
  }
});

Deno.test("helpText() lists each flag with its variable and default, from the table", () => {
  const help = helpText(SPEC);
  assert.match(help, /^Usage: deno task demo \[flags\]\n\nDemonstrates\./);
  assert.match(
    help,
    /--epochs N +training epochs .*\n +\(EPOCHS; default the variant's: 5 for baseline\)/,
  );
  assert.match(help, /--train-samples N +.*\n +\(TRAIN_SAMPLES; default 100\)/);
  assert.match(help, /--out DIR +where\n +\(default here\)/);
  assert.match(help, /--fast +go fast\n/);
  assert.match(help, /--help +show this help/);
});
