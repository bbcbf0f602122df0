// The drawing pad: its output, and the page itself in Debian's Chromium over the DevTools protocol.
// The browser test trains a small model on real MNIST, shows the pad in a one-cell notebook run
// by the project's runner, and drives the exported HTML with mouse events. It needs Jupyter, Chromium
// and the data mirror, as CI has them: their absence is a failure that says what to install.
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { bundlePadLibrary, drawingPadBundle, inlineModel } from "../../lib/display/drawing_pad.ts";
import { answerWords, saliencyColor } from "../../lib/display/drawing_pad_view.ts";
import { disposeModel } from "../../lib/models/model.ts";
import { saveModel } from "../../lib/models/model_files.ts";
import { buildBaselineModel, buildVariant } from "../../lib/models/variants.ts";
import { DATASETS, loadMnist } from "../../lib/data/mnist.ts";
import { prepareSplit, takeFirst } from "../../lib/data/preprocess.ts";
import { trainModel } from "../../lib/training/train.ts";
import { predictPixels } from "../../lib/models/predict_digit.ts";
import { saliencyMap } from "../../lib/models/saliency.ts";
import { setupWasmBackend, shutdownWasmBackend } from "../../lib/engine/mod.ts";
import { installCommand, JUPYTER } from "../../jupyter/setup.ts";
import { ChromiumPage } from "../chromium.ts";
import { exportOneCellNotebook } from "../fixtures.ts";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

Deno.test("inlineModel() keeps Batch Normalization and Dropout models exact", async () => {
  await tf.setBackend("cpu");
  const model = buildVariant("deep", { seed: 2 });
  const inline = await inlineModel(model);
  const bytes = Uint8Array.from(atob(inline.weightData), (c) => c.charCodeAt(0));
  const copy = await tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: inline.modelTopology as tf.io.ModelJSON["modelTopology"],
    weightSpecs: inline.weightSpecs,
    weightData: bytes.buffer,
  }));
  assert.ok(copy.layers.some((layer) => layer.getClassName() === "BatchNormalization"));
  assert.ok(copy.layers.some((layer) => layer.getClassName() === "Dropout"));
  const pixels = Float32Array.from({ length: 784 }, (_, i) => (i * 37 % 101) / 100);
  assert.deepEqual(predictPixels(copy, pixels), predictPixels(model, pixels));
  copy.dispose();
  disposeModel(model);
});

Deno.test("drawingPadBundle() is one HTML output with a text fallback and the class names", async () => {
  await tf.setBackend("cpu");
  const model = buildBaselineModel({ seed: 1 });
  const names = DATASETS["fashion-mnist"].classNames;
  const bundle = await drawingPadBundle(model, {
    classNames: names,
    newId: () => "x1",
    library: "/*lib*/",
  });
  const html = String(bundle["text/html"]);
  assert.match(
    String(bundle["text/plain"]),
    /^\[Drawing pad: draw a digit and this 121,930-parameter model reads it/,
  );
  for (const name of names) {
    assert.ok(html.includes(`<span class="dpad-name">${name}</span>`), name);
  }
  assert.ok(html.includes('id="digit-pad-x1"') && html.includes("/*lib*/"));
  assert.equal(html.match(/<script/g)?.length, 2, "the library and the page's code, inline");
  assert.doesNotMatch(
    html,
    /<script[^>]+src=|<link|<img|url\(/,
    "nothing is loaded from elsewhere",
  );
  await assert.rejects(
    drawingPadBundle(model, { classNames: ["a", "b"], library: "" }),
    /The model has 10 outputs but 2 class names were given/,
  );
  model.dispose();
});

Deno.test("bundlePadLibrary() is the project's toDigitImage and tfjs, as one script", async () => {
  const script = await bundlePadLibrary();
  assert.ok(script.includes("__digitPadLib"));
  assert.ok(!script.includes("</script"));
  assert.ok(script.length < 800_000, `${script.length} characters`);
  // Run it as a page would (in a worker: a global of its own), then preprocess with it: the same
  // answer as the Deno module.
  const { toDigitImage } = await import("../../lib/data/digit_image.ts");
  const data = new Uint8Array(30 * 30).fill(255);
  for (let y = 3; y < 27; y++) data.fill(0, y * 30 + 12, y * 30 + 16);
  const image = { width: 30, height: 30, channels: 1 as const, data };
  const source =
    `${script}\nself.onmessage = (e) => postMessage(self.__digitPadLib.toDigitImage(e.data));`;
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  const worker = new Worker(url, { type: "module" });
  try {
    const answer = new Promise((resolve, reject) => {
      worker.onmessage = (event) => resolve(event.data);
      worker.onerror = (event) => reject(new Error(event.message));
    });
    worker.postMessage(image);
    assert.deepEqual(await answer, toDigitImage(image));
  } finally {
    worker.terminate();
    URL.revokeObjectURL(url);
  }
});

/** Points every few pixels along the segments through `corners`. */
function path(corners: [number, number][]): [number, number][] {
  const points: [number, number][] = [corners[0]];
  for (let i = 1; i < corners.length; i++) {
    const [x0, y0] = corners[i - 1], [x1, y1] = corners[i];
    const steps = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0) / 8));
    for (let s = 1; s <= steps; s++) {
      points.push([x0 + (x1 - x0) * s / steps, y0 + (y1 - y0) * s / steps]);
    }
  }
  return points;
}

const ellipse = Array.from({ length: 41 }, (_, i): [number, number] => [
  140 + 62 * Math.sin(2 * Math.PI * i / 40),
  140 - 95 * Math.cos(2 * Math.PI * i / 40),
]);
const DRAWINGS: Record<string, [number, number][]> = {
  1: path([[140, 40], [140, 240]]),
  0: path(ellipse),
  7: path([[70, 50], [210, 50], [120, 245]]),
};
// Crossing strokes that are no digit: the model should not be sure of them.
const SCRIBBLE = path([[40, 60], [240, 90], [50, 130], [235, 170], [45, 230], [140, 30], [
  200,
  250,
]]);
/** The pad's threshold in this test: answers below 90% are "not sure". */
const NOT_SURE_BELOW = 0.9;

/**
 * Checks the page's saliency map of its answer against Deno's for the same pixels, and that the
 * "why" canvas shows it: red where ink pushed towards the answer.
 */
async function checkSaliency(
  browser: ChromiumPage,
  model: tf.LayersModel,
  input: Float32Array,
): Promise<void> {
  const pad = `document.querySelector(".digit-pad")`;
  const page: number[] = JSON.parse(
    await browser.evaluate<string>(`${pad}.getAttribute("data-saliency")`),
  );
  const ours = saliencyMap(model, input).map;
  const largest = Math.max(...ours.map(Math.abs));
  assert.ok(largest > 0, "the map is not blank");
  const gap = Math.max(...page.map((v, i) => Math.abs(v - ours[i])));
  assert.ok(gap < 1e-3 * largest, `page and Deno saliency differ by ${gap} (largest ${largest})`);
  const red = await browser.evaluate<number>(
    `(() => { const c = ${pad}.querySelector(".dpad-why"); const d = c.getContext("2d").getImageData(0, 0, 28, 28).data; let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] > d[i + 2] + 60) n++; return n; })()`,
  );
  const pushing = ours.filter((v) => v > 0.4 * largest).length;
  assert.ok(red >= pushing && pushing > 0, `${red} red pixels drawn for ${pushing} pushing ones`);
}

Deno.test("the exported drawing pad reads drawn digits in Chromium, offline, as Deno's model.predict", async () => {
  assert.ok(
    await JUPYTER.probe(),
    `Jupyter is needed to export the pad: ${installCommand(JUPYTER.packages)}`,
  );
  const mirror = Deno.env.get("DATA_MIRROR") ?? join(repo, "..", "shared");
  await setupWasmBackend();
  const dir = await Deno.makeTempDir({ dir: join(repo, "outputs"), prefix: ".drawing-pad-test-" });
  let page: ChromiumPage | undefined;
  const model = buildBaselineModel({ seed: 1 });
  try {
    // A small model that reads digits well enough: 8,000 real MNIST images, 2 epochs.
    const data = await loadMnist({ mirror, downloadUrls: [] });
    const train = prepareSplit(takeFirst(data.train, 8000));
    await trainModel(model, train, { epochs: 2, batchSize: 64, seed: 1 });
    await saveModel(model, join(dir, "model"));

    const cell = `import { loadModel } from "${join(repo, "lib", "models", "model_files.ts")}";\n` +
      `import { showDrawingPad } from "${join(repo, "lib", "display", "drawing_pad.ts")}";\n` +
      `await showDrawingPad(await loadModel(${JSON.stringify(join(dir, "model"))}), ` +
      `{ notSureBelow: ${NOT_SURE_BELOW} });`;
    const htmlPath = await exportOneCellNotebook(dir, "pad", cell);
    const exported = await Deno.readTextFile(htmlPath);
    assert.ok(exported.includes('class="digit-pad"'), "the exported HTML holds the pad");

    const browser = await ChromiumPage.launch("1100x800");
    page = browser;
    // Offline: the pad must not need anything from the network.
    await browser.openOffline(htmlPath);
    const pad = `document.querySelector(".digit-pad")`;
    const state = () => browser.evaluate<string>(`${pad}.getAttribute("data-state")`);
    await browser.waitUntil(`${pad}.getAttribute("data-state") === "empty"`, 60_000);
    assert.equal(
      await browser.evaluate(`${pad}.querySelector(".dpad-answer").textContent`),
      "draw a digit first",
    );
    assert.equal(await browser.evaluate(`${pad}.hasAttribute("data-probabilities")`), false);
    const box = await browser.evaluate<{ x: number; y: number }>(
      `(() => { ${pad}.scrollIntoView({ block: "center" }); const r = ${pad}.querySelector(".dpad-canvas").getBoundingClientRect(); return { x: r.left, y: r.top }; })()`,
    );

    for (const digit of ["1", "0", "7"]) {
      await browser.drag(DRAWINGS[digit].map(([x, y]) => [box.x + x, box.y + y] as const));
      await browser.waitUntil(`${pad}.getAttribute("data-state") === "predicted"`);
      const seen = await browser.evaluate<
        { prediction: string; probabilities: string; input: string; answer: string }
      >(
        `({ prediction: ${pad}.getAttribute("data-prediction"), probabilities: ${pad}.getAttribute("data-probabilities"), input: ${pad}.getAttribute("data-input"), answer: ${pad}.querySelector(".dpad-answer").textContent })`,
      );
      const probabilities: number[] = JSON.parse(seen.probabilities);
      const input = Float32Array.from(JSON.parse(seen.input));
      assert.equal(
        seen.prediction,
        digit,
        `drew ${digit}, the page read ${seen.prediction}: ${seen.probabilities}`,
      );
      assert.ok(seen.answer.startsWith(digit), seen.answer);
      // The same pixels in Deno, through the wasm backend: the same probabilities.
      const ours = predictPixels(model, input);
      const gap = Math.max(...probabilities.map((p, i) => Math.abs(p - ours[i])));
      assert.ok(gap < 1e-4, `page and Deno differ by ${gap} for the ${digit}`);
      const bars = await browser.evaluate<string[]>(
        `Array.from(${pad}.querySelectorAll(".dpad-fill"), (b) => b.style.width)`,
      );
      assert.equal(bars[Number(digit)], `${(100 * probabilities[Number(digit)]).toFixed(1)}%`);
      await checkSaliency(browser, model, input);
      const verdict = probabilities[Number(digit)] >= NOT_SURE_BELOW ? "sure" : "not-sure";
      assert.equal(await browser.evaluate(`${pad}.getAttribute("data-verdict")`), verdict);
      const screenshot = Deno.env.get("DRAWING_PAD_SCREENSHOT");
      if (digit === "7" && screenshot) {
        const area = await browser.evaluate<
          { x: number; y: number; width: number; height: number }
        >(
          `(() => { const r = ${pad}.getBoundingClientRect(); return { x: r.left, y: r.top, width: r.width, height: r.height }; })()`,
        );
        const shot = await browser.send("Page.captureScreenshot", {
          format: "png",
          clip: { ...area, scale: 1 },
        });
        await Deno.writeFile(
          screenshot,
          Uint8Array.from(atob(String(shot.data)), (c) => c.charCodeAt(0)),
        );
      }
      const button = await browser.evaluate<{ x: number; y: number }>(
        `(() => { const r = ${pad}.querySelector(".dpad-clear").getBoundingClientRect(); return { x: r.left + r.width / 2, y: r.top + r.height / 2 }; })()`,
      );
      await browser.drag([[button.x, button.y]]);
      await browser.waitUntil(`${pad}.getAttribute("data-state") === "empty"`);
      assert.equal(
        await browser.evaluate(`${pad}.querySelector(".dpad-answer").textContent`),
        "draw a digit first",
      );
      assert.equal(await browser.evaluate(`${pad}.getAttribute("data-prediction")`), "");
    }
    assert.equal(await state(), "empty");

    // A scribble: "not sure", still with the two top answers, and its saliency map.
    await browser.drag(SCRIBBLE.map(([x, y]) => [box.x + x, box.y + y] as const));
    await browser.waitUntil(`${pad}.getAttribute("data-state") === "predicted"`);
    const scribble = await browser.evaluate<{ verdict: string; answer: string; p: string }>(
      `({ verdict: ${pad}.getAttribute("data-verdict"), answer: ${pad}.querySelector(".dpad-answer").textContent, p: ${pad}.getAttribute("data-probabilities") })`,
    );
    assert.equal(scribble.verdict, "not-sure", `the scribble read as sure: ${scribble.p}`);
    assert.match(scribble.answer, /^\?not sure: \S+ \(\d+\.\d%\) or \S+ \(\d+\.\d%\)$/);
    await checkSaliency(
      browser,
      model,
      Float32Array.from(
        JSON.parse(await browser.evaluate<string>(`${pad}.getAttribute("data-input")`)),
      ),
    );

    const exceptions = browser.events.filter((e) => e.method === "Runtime.exceptionThrown");
    assert.deepEqual(exceptions, []);
    // Nothing left the machine: only the HTML file, the libraries that Debian's nbconvert
    // template loads from /usr/share/javascript (require.js, MathJax) and inline data: URLs were
    // requested; the pad fetched nothing, not even its model's files.
    const requested = browser.events
      .filter((e) => e.method === "Network.requestWillBeSent")
      .map((e) => String((e.params.request as { url: string }).url));
    assert.ok(requested.includes(`file://${htmlPath}`), requested.join(", "));
    for (const url of requested) {
      assert.ok(
        url === `file://${htmlPath}` || url.startsWith("file:///usr/share/javascript/") ||
          url.startsWith("data:"),
        `the page requested ${url}`,
      );
    }

    // A model with Batch Normalization and Dropout (the deep variant, untrained) in the same
    // output, written to a file: the page's probabilities are Deno's too.
    const deep = buildVariant("deep", { seed: 2 });
    try {
      const deepPath = join(dir, "deep.html");
      const output = String((await drawingPadBundle(deep))["text/html"]);
      await Deno.writeTextFile(deepPath, `<!doctype html><html><body>${output}</body></html>`);
      const deepLoaded = browser.waitForEvent("Page.loadEventFired", 60_000);
      await browser.send("Page.navigate", { url: `file://${deepPath}` });
      await deepLoaded;
      await browser.waitUntil(`${pad}.getAttribute("data-state") === "empty"`, 60_000);
      const corner = await browser.evaluate<{ x: number; y: number }>(
        `(() => { const r = ${pad}.querySelector(".dpad-canvas").getBoundingClientRect(); return { x: r.left, y: r.top }; })()`,
      );
      await browser.drag(DRAWINGS[7].map(([x, y]) => [corner.x + x, corner.y + y] as const));
      await browser.waitUntil(`${pad}.getAttribute("data-state") === "predicted"`);
      const seen = await browser.evaluate<{ probabilities: string; input: string }>(
        `({ probabilities: ${pad}.getAttribute("data-probabilities"), input: ${pad}.getAttribute("data-input") })`,
      );
      const ours = predictPixels(deep, Float32Array.from(JSON.parse(seen.input)));
      const theirs: number[] = JSON.parse(seen.probabilities);
      const gap = Math.max(...theirs.map((p, i) => Math.abs(p - ours[i])));
      assert.ok(gap < 1e-4, `page and Deno differ by ${gap} for the deep variant`);
    } finally {
      disposeModel(deep);
    }
  } finally {
    await page?.close();
    model.dispose();
    shutdownWasmBackend();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test('the pad\'s answer is "not sure" below notSureBelow, with its two top answers', () => {
  const names = ["zero", "one", "two"];
  const p = Float32Array.of(0.125, 0.75, 0.125);
  assert.deepEqual(answerWords(names, p, [1, 0, 2], 0.6), {
    big: "one",
    line: "75.0% sure",
    sure: true,
  });
  assert.deepEqual(answerWords(names, p, [1, 0, 2], 0.75), {
    big: "one",
    line: "75.0% sure",
    sure: true,
  });
  assert.deepEqual(answerWords(names, p, [1, 0, 2], 0.8), {
    big: "?",
    line: "not sure: one (75.0%) or zero (12.5%)",
    sure: false,
  });
});

Deno.test("the pad's saliency colours: red towards, blue away, grey ink, white paper", () => {
  const map = Float32Array.of(2, -1, 0, 0);
  const ink = Float32Array.of(1, 1, 1, 0);
  const color = saliencyColor(map, ink);
  assert.deepEqual(color(0), [214, 39, 40], "the largest push is fully red");
  const away = color(1);
  assert.ok(away[2] > away[0] + 30, `half a push away is bluish: ${away}`);
  assert.deepEqual(color(2), [195, 195, 195], "ink that pushes nowhere is grey");
  assert.deepEqual(color(3), [255, 255, 255], "blank paper is white");
});

Deno.test("drawingPadBundle() names a notSureBelow that is no probability", async () => {
  await tf.setBackend("cpu");
  const model = buildBaselineModel({ seed: 1 });
  for (const notSureBelow of [1.5, -0.1, Number.NaN]) {
    await assert.rejects(
      drawingPadBundle(model, { notSureBelow, library: "" }),
      /notSureBelow must be a probability from 0 to 1, got/,
    );
  }
  model.dispose();
});
