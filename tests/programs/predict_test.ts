import assert from "node:assert/strict";
import { greyPng, runProgram, sampleRunMetrics } from "../fixtures.ts";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import jpeg from "jpeg-js";
import { buildBaselineModel } from "../../lib/models/variants.ts";
import { loadModel, saveModel } from "../../lib/models/model_files.ts";
import { encodePng, readImageFile } from "../../lib/data/image_file.ts";
import { formatPrediction, predictDigit } from "../../lib/models/predict_digit.ts";
import { parsePredictArgs } from "../../programs/predict.ts";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** RGBA pixels of a `width` x `height` image painted by `paint(x, y)`. */
function rgba(width: number, height: number, paint: (x: number, y: number) => number[]) {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set(paint(i % width, Math.floor(i / width)), i * 4);
  return data;
}

function pngBytes(width: number, height: number, paint: (x: number, y: number) => number[]) {
  return encodePng({ width, height, channels: 4, data: rgba(width, height, paint) });
}

/** A vertical bar, dark on white, as a "1". */
const stroke = (x: number, y: number) => x >= 26 && x < 34 && y >= 10 && y < 70;

/** A folder with a saved (untrained) model, a run record and image files of every kind. */
async function fixtures(): Promise<{ dir: string; files: Record<string, string> }> {
  const dir = await Deno.makeTempDir({ prefix: "predict-test-" });
  await tf.setBackend("cpu");
  const model = buildBaselineModel({ seed: 3 });
  await saveModel(model, join(dir, "run", "model"));
  model.dispose();
  const other = tf.sequential({ layers: [tf.layers.dense({ inputShape: [32, 32, 3], units: 2 })] });
  await saveModel(other, join(dir, "other"));
  other.dispose();
  await Deno.writeTextFile(
    join(dir, "fashion.json"),
    JSON.stringify(sampleRunMetrics({ dataset: "fashion-mnist", notSureBelow: 0.5 })),
  );

  const files: Record<string, string> = {};
  const write = async (name: string, bytes: Uint8Array) => {
    files[name] = join(dir, name);
    await Deno.writeFile(files[name], bytes);
  };
  const grey = pngBytes(60, 80, (x, y) => stroke(x, y) ? [0, 0, 0, 255] : [255, 255, 255, 255]);
  await write("grey.png", grey);
  await write(
    "transparent.png",
    pngBytes(60, 80, (x, y) => stroke(x, y) ? [0, 0, 0, 255] : [0, 0, 0, 0]),
  );
  const photo = jpeg.encode({
    width: 60,
    height: 80,
    data: rgba(60, 80, (x, y) => stroke(x, y) ? [30, 40, 160, 255] : [250, 240, 220, 255]),
  }, 85);
  await write("colour.jpg", new Uint8Array(photo.data));
  await write("blank.png", pngBytes(20, 20, () => [255, 255, 255, 255]));
  await write("notes.txt", new TextEncoder().encode("not a picture"));
  await write("truncated.png", grey.subarray(0, grey.length - 20));
  await write("truncated.jpg", new Uint8Array(photo.data).subarray(0, 200));
  // Every chunk whole, but the image data holds 20 of the 200 rows the header promises.
  await write("short.png", greyPng({ width: 200, height: 200, rows: 20 }));
  files["pipe.png"] = join(dir, "pipe.png");
  await new Deno.Command("mkfifo", { args: [files["pipe.png"]] }).output();
  // Only the header of a 8000x7000 PNG: the size is refused before anything is decoded.
  const huge = grey.slice(0, 33);
  new DataView(huge.buffer).setUint32(16, 8000);
  new DataView(huge.buffer).setUint32(20, 7000);
  await write("huge.png", huge);
  files["missing.png"] = join(dir, "missing.png");
  return { dir, files };
}

const predict = (args: string[]) =>
  runProgram(join(repo, "programs", "predict.ts"), args, { cwd: repo });

Deno.test("parsePredictArgs() turns bad flags into sentences", () => {
  assert.throws(
    () => parsePredictArgs(["--modle", "m", "a.png"]),
    /^UsageError: Unknown flag --modle\. See/,
  );
  assert.throws(() => parsePredictArgs(["a.png", "--model"]), /--model needs a value/);
  assert.throws(
    () => parsePredictArgs(["--dataset", "cifar", "a.png"]),
    /--dataset "cifar" is not valid: use mnist or fashion-mnist\. See deno task predict --help\./,
  );
  assert.throws(() => parsePredictArgs([]), /Name at least one PNG or JPEG file/);
  assert.equal(parsePredictArgs(["a.png"]).model, join("outputs", "model"));
  assert.equal(parsePredictArgs(["--help"]).help, true);
});

Deno.test("parsePredictArgs() leaves the dataset to the run's record unless it is given", () => {
  assert.equal(parsePredictArgs(["a.png"], { env: {} }).dataset, undefined);
  const fromEnv = parsePredictArgs(["a.png"], { env: { DATASET: "fashion-mnist" } });
  assert.equal(fromEnv.dataset, "fashion-mnist");
  assert.equal(parsePredictArgs(["--dataset=mnist", "a.png"], { env: {} }).dataset, "mnist");
});

Deno.test("deno task predict prints each image's class and top 3, as predictDigit() gives", async () => {
  const { dir, files } = await fixtures();
  try {
    const names = ["grey.png", "transparent.png", "colour.jpg"];
    const { code, stdout, stderr } = await predict([
      "--model",
      join(dir, "run", "model"),
      ...names.map((n) => files[n]),
    ]);
    assert.equal(code, 0, stderr);
    assert.equal(stderr, "");
    const model = await loadModel(join(dir, "run", "model"));
    const expected = [];
    for (const name of names) {
      const prediction = predictDigit(model, await readImageFile(files[name]));
      assert.ok(prediction, name);
      expected.push(formatPrediction(files[name], prediction.ranking));
    }
    model.dispose();
    assert.deepEqual(stdout.trimEnd().split("\n"), expected);
    // The same stroke drawn three ways reads the same.
    const answers = stdout.trimEnd().split("\n").map((line) => line.split(": ")[1]?.split(" ")[0]);
    assert.equal(new Set(answers).size, 1);
    assert.match(stdout, /: \d {3}\(\d \d+\.\d\d%, \d \d+\.\d\d%, \d \d+\.\d\d%\)\n/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task predict names each bad file and its problem, exit code 2", async () => {
  const { dir, files } = await fixtures();
  try {
    const bad = [
      "missing.png",
      "notes.txt",
      "truncated.png",
      "truncated.jpg",
      "huge.png",
      "short.png",
      "pipe.png",
    ];
    const { code, stdout, stderr } = await predict([
      "--model",
      join(dir, "run", "model"),
      ...bad.map((n) => files[n]),
      files["grey.png"],
    ]);
    assert.equal(code, 2);
    const lines = stderr.trimEnd().split("\n");
    assert.deepEqual(
      lines.map((line) => line.slice(0, line.indexOf(" ", 7))),
      bad.map((n) => `Error: ${files[n]}`),
    );
    assert.match(lines[0], /missing\.png does not exist: check the path\.$/);
    assert.match(lines[1], /notes\.txt is not a PNG or JPEG image\.$/);
    assert.match(lines[2], /truncated\.png is a truncated or damaged PNG file/);
    assert.match(lines[3], /truncated\.jpg is a truncated or damaged JPEG file/);
    assert.match(
      lines[4],
      /huge\.png is 8000x7000 pixels \(56\.0 megapixels\), over the limit of 50 megapixels: scale it down first\.$/,
    );
    assert.match(lines[5], /short\.png is a damaged PNG file: .* promises 40200; it was cut short/);
    assert.match(lines[6], /pipe\.png is not a regular file \(a named pipe\)/);
    assert.match(stdout, /grey\.png: \d/, "the good file is still predicted");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task predict says no digit found in a blank image, exit code 1", async () => {
  const { dir, files } = await fixtures();
  try {
    const { code, stdout } = await predict([
      "--model",
      join(dir, "run", "model"),
      files["blank.png"],
    ]);
    assert.equal(code, 1);
    assert.equal(
      stdout,
      `${files["blank.png"]}: no digit found in ${
        files["blank.png"]
      } (blank, or too faint): nothing to predict.\n`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task predict refuses a missing model, another input shape and bad flags before predicting", async () => {
  const { dir, files } = await fixtures();
  try {
    const missing = await predict(["--model", join(dir, "nothing"), files["grey.png"]]);
    assert.equal(missing.code, 2);
    assert.equal(missing.stdout, "");
    assert.match(missing.stderr, /^Error: No model folder at .*nothing: train one first/);

    const other = await predict(["--model", join(dir, "other"), files["grey.png"]]);
    assert.equal(other.code, 2);
    assert.equal(other.stdout, "");
    assert.match(
      other.stderr,
      /other\/model\.json holds a model for inputs of shape \[32, 32, 3\], not the \[28, 28, 1\] images of MNIST/,
    );

    const flag = await predict(["--epochs", "3", files["grey.png"]]);
    assert.equal(flag.code, 2);
    assert.equal(
      flag.stderr,
      "Error: Unknown flag --epochs. See deno task predict --help.\n",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task predict uses the class names of the run's dataset", async () => {
  const { dir, files } = await fixtures();
  try {
    await Deno.rename(join(dir, "fashion.json"), join(dir, "run", "metrics.json"));
    const { code, stdout, stderr } = await predict([
      "--model",
      join(dir, "run", "model"),
      files["grey.png"],
    ]);
    assert.equal(code, 0, stderr);
    assert.match(
      stdout,
      // The record's notSureBelow may make this untrained model "not sure": its top 3 still name.
      /grey\.png: .*\((T-shirt\/top|Trouser|Pullover|Dress|Coat|Sandal|Shirt|Sneaker|Bag|Ankle boot) \d/,
    );
    const flagged = await predict([
      "--dataset",
      "mnist",
      "--model",
      join(dir, "run", "model"),
      files["grey.png"],
    ]);
    assert.match(flagged.stdout, /grey\.png: .*\(\d \d/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task predict says not sure below the run's recorded threshold, with its top 3", async () => {
  const { dir, files } = await fixtures();
  try {
    const model = await loadModel(join(dir, "run", "model"));
    const prediction = predictDigit(model, await readImageFile(files["grey.png"]));
    model.dispose();
    assert.ok(prediction);
    const top = prediction.ranking[0].probability;
    // metrics.json beside the model folder, as the notebook and deno task train write it.
    const record = (notSureBelow: unknown) =>
      Deno.writeTextFile(
        join(dir, "run", "metrics.json"),
        JSON.stringify({ ...sampleRunMetrics(), dataset: "mnist", notSureBelow }),
      );
    const ask = () => predict(["--model", join(dir, "run", "model"), files["grey.png"]]);
    const answer = formatPrediction(files["grey.png"], prediction.ranking);

    await record(Math.min(1, top + 1e-3));
    const unsure = await ask();
    assert.equal(unsure.code, 0, unsure.stderr);
    assert.equal(
      unsure.stdout.trimEnd(),
      answer.replace(`: ${prediction.ranking[0].name}   (`, ": not sure   ("),
    );
    await record(Math.max(0, top - 1e-3));
    assert.equal((await ask()).stdout.trimEnd(), answer);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task predict names a damaged metrics.json beside the model and its field, exit code 2", async () => {
  const { dir, files } = await fixtures();
  try {
    const metrics = join(dir, "run", "metrics.json");
    const run = (m: unknown) => Deno.writeTextFile(metrics, JSON.stringify(m));
    await run({ ...sampleRunMetrics(), notSureBelow: 1.5 });
    const args = ["--model", join(dir, "run", "model"), files["grey.png"]];
    const wrong = await predict(args);
    assert.equal(wrong.code, 2);
    assert.match(
      wrong.stderr,
      new RegExp(
        `^Error: ${metrics}: the field "notSureBelow" should be a number from 0 to 1, but it is 1\\.5\\.`,
      ),
    );
    const { history: _, ...missing } = sampleRunMetrics();
    await run(missing);
    assert.match(
      (await predict(args)).stderr,
      /the field "history" is missing \(it should be a list\)/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
