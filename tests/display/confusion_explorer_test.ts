// lib/display/confusion_explorer.ts: which images each cell shows, the panel's HTML, the picture
// of the largest mistakes, and the open matrix itself in Debian's Chromium: a one-cell notebook run
// by the project's runner, its exported HTML opened offline, a real click on an off-diagonal cell.
// The browser test needs Jupyter and Chromium, as CI has them: their absence is a failure that
// says what to install.
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  confusionCells,
  confusionExplorerHtml,
  IMAGES_PER_CELL,
  largestConfusions,
  largestConfusionsFigure,
} from "../../lib/display/confusion_explorer.ts";
import { decodeImage } from "../../lib/data/image_file.ts";
import { installCommand, JUPYTER } from "../../jupyter/setup.ts";
import { ChromiumPage } from "../chromium.ts";
import { exportOneCellNotebook } from "../fixtures.ts";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const DIGITS = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

/**
 * `count` test images of 10 classes: image i is of class i % 10; every 7th is answered
 * (class + 3) % 10, the others right; the answer's probability varies with i. Each image's
 * pixels are its own pattern.
 */
function synthetic(count: number) {
  const labels = new Uint8Array(count);
  const probabilities = new Float32Array(count * 10);
  const images = new Uint8Array(count * 784);
  for (let i = 0; i < count; i++) {
    labels[i] = i % 10;
    const answer = i % 7 === 0 ? (labels[i] + 3) % 10 : labels[i];
    const top = 0.5 + ((i * 37) % 50) / 100;
    probabilities.fill((1 - top) / 9, i * 10, i * 10 + 10);
    probabilities[i * 10 + answer] = top;
    for (let p = 0; p < 784; p++) images[i * 784 + p] = (i * 31 + p * 7) % 256;
  }
  return { labels, probabilities, images };
}

Deno.test("confusionCells() sorts each cell's images by confidence and spreads a long cell's sample", () => {
  const { labels, probabilities } = synthetic(700);
  const cells = confusionCells({ probabilities, labels, perCell: 5 });
  const total = cells.flat().reduce((s, c) => s + c.count, 0);
  assert.equal(total, 700);
  const diagonal = cells[4][4];
  assert.equal(diagonal.shown.length, 5);
  const members = Array.from({ length: 700 }, (_, i) => i)
    .filter((i) => labels[i] === 4 && i % 7 !== 0)
    .map((i) => ({ i, p: probabilities[i * 10 + 4] }))
    .sort((a, b) => b.p - a.p || a.i - b.i);
  assert.equal(diagonal.count, members.length);
  assert.equal(diagonal.shown[0].index, members[0].i, "the most confident first");
  assert.equal(diagonal.shown[4].index, members.at(-1)!.i, "down to the least confident");
  for (let k = 1; k < 5; k++) {
    assert.ok(diagonal.shown[k].probability <= diagonal.shown[k - 1].probability);
  }
  const mistake = cells[1][4];
  assert.ok(mistake.count > 0 && mistake.count <= 5 * 2);
  for (const image of mistake.shown) {
    assert.equal(labels[image.index], 1);
    assert.equal(image.probability, probabilities[image.index * 10 + 4]);
    assert.equal(image.trueProbability, probabilities[image.index * 10 + 1]);
  }
  assert.equal(
    confusionCells({ probabilities, labels }).flat()[0].shown.length <= IMAGES_PER_CELL,
    true,
  );
  assert.throws(
    () => confusionCells({ probabilities, labels, perCell: 0 }),
    /positive integer, got 0/,
  );
  assert.throws(
    () => confusionCells({ probabilities: new Float32Array(20), labels: [0, 12] }),
    /Label 12 of test image 1 is outside 0\.\.9/,
  );
});

Deno.test("largestConfusions() lists the off-diagonal cells with images, largest first", () => {
  const { labels, probabilities } = synthetic(300);
  const cells = confusionCells({ probabilities, labels });
  const largest = largestConfusions(cells, 100);
  assert.ok(largest.every((c) => c.actual !== c.predicted && c.count > 0));
  assert.equal(largest.reduce((s, c) => s + c.count, 0), Math.ceil(300 / 7));
  for (let k = 1; k < largest.length; k++) assert.ok(largest[k].count <= largest[k - 1].count);
  assert.equal(largestConfusions(cells, 2).length, 2);
});

Deno.test("confusionExplorerHtml() holds each cell's heading and image tiles, escaped, as PNGs", () => {
  const { labels, probabilities, images } = synthetic(200);
  const cells = confusionCells({ probabilities, labels, perCell: 4 });
  const names = DIGITS.map((d) => `<${d}>`);
  const html = confusionExplorerHtml("f1", { cells, images, classNames: names });
  assert.ok(!html.includes("<0>"), "class names are escaped");
  const json = html.match(/<script type="application\/json" id="f1-cells-data">(.*?)<\/script>/s);
  assert.ok(json);
  const data = JSON.parse(json[1]) as {
    classNames: string[];
    cells: { heading: string; html: string }[][];
  };
  assert.deepEqual(data.classNames, names);
  assert.equal(
    data.cells[3][3].heading,
    `True <3>, answered <3> (right): 18 test images; 4 of them, spread from the most to the least confident.`,
  );
  const mistake = cells[0][3];
  assert.equal(
    data.cells[0][3].heading,
    `True <0>, answered <3>: ${mistake.count} test images, most confident first.`,
  );
  assert.equal(data.cells[0][1].heading, "True <0>, answered <1>: no test image.");
  // The tiles: in the cell's order, each a PNG of its image, inverted (ink dark on white).
  const tiles = [
    ...data.cells[0][3].html.matchAll(/data-index="(\d+)".*?src="data:image\/png;base64,([^"]+)"/g),
  ];
  assert.deepEqual(tiles.map((t) => Number(t[1])), mistake.shown.map((image) => image.index));
  const first = mistake.shown[0].index;
  const png = decodeImage(Uint8Array.from(atob(tiles[0][2]), (c) => c.charCodeAt(0)), "tile.png");
  assert.deepEqual([png.width, png.height], [28, 28]);
  assert.equal(png.data[4 * 100], 255 - images[first * 784 + 100]);
  assert.match(
    data.cells[0][3].html,
    new RegExp(`${(100 * mistake.shown[0].probability).toFixed(1)}%</div>`),
  );
  assert.match(
    data.cells[0][3].html,
    /title="test image \d+: &lt;3&gt; at \d+\.\d%, &lt;0&gt; at \d+\.\d%"/,
  );
  assert.match(html, /el\.on\("plotly_click"/);
  // Styles scoped to the panel's id, so that neither page's stylesheet reaches the other's.
  assert.match(html, /^<style>#f1-cells \{/);
  assert.match(html, /#f1-cells \.confusion-explorer-image img \{ display: block; width: 56px/);
  assert.throws(() => confusionExplorerHtml("a b", { cells, images, classNames: names }), /id/);
  assert.throws(
    () => confusionExplorerHtml("f", { cells, images, classNames: ["a"] }),
    /10 classes but 1 names were given/,
  );
  // Bounded: at most perCell images per cell, whatever the model.
  assert.equal(tiles.length <= 4, true);
  const full = confusionExplorerHtml("f2", {
    cells: confusionCells({ probabilities, labels }),
    images,
    classNames: DIGITS,
  });
  assert.ok(full.length < 200 * 800, `${full.length} characters for 200 images`);
});

Deno.test("largestConfusionsFigure() shows a row per largest mistake cell, captioned, surest first", () => {
  const { labels, probabilities, images } = synthetic(300);
  const cells = confusionCells({ probabilities, labels });
  const figure = largestConfusionsFigure({
    cells,
    images,
    classNames: DIGITS,
    count: 2,
    columns: 5,
  });
  const largest = largestConfusions(cells, 2);
  const title = (figure.layout.title as { text: string }).text;
  assert.equal(
    title,
    `The largest mistakes, a row each: ${
      largest.map((c) => `${c.actual} read as ${c.predicted} (${c.count})`).join(", ")
    }`,
  );
  const captions = (figure.layout.annotations as { text: string }[]).map((a) => a.text);
  assert.equal(captions.length, 10, "2 rows of 5 slots");
  const first = largest[0].shown[0];
  assert.equal(
    captions[0],
    `${largest[0].predicted} (${
      Math.round(first.probability * 100)
    }%)<br><span style="color:#888">true ${largest[0].actual}</span>`,
  );
  // The first tile holds the first image, as the grid draws it.
  const z = (figure.data[0] as { z: (number | null)[][] }).z;
  assert.equal(z[16][0], images[first.index * 784]);
  assert.equal(z[16 + 27][27], images[first.index * 784 + 783]);
  const none = largestConfusionsFigure({
    cells: confusionCells({ probabilities: Float32Array.of(1, 0), labels: [0] }),
    images,
    classNames: ["a", "b"],
  });
  assert.match(JSON.stringify(none.layout.title), /No mistakes/);
});

Deno.test("the exported open confusion matrix shows a clicked cell's images in Chromium, offline", async () => {
  assert.ok(
    await JUPYTER.probe(),
    `Jupyter is needed to export the matrix: ${installCommand(JUPYTER.packages)}`,
  );
  const dir = await Deno.makeTempDir({ dir: join(repo, "outputs"), prefix: ".confusion-test-" });
  let browser: ChromiumPage | undefined;
  try {
    const { labels, probabilities, images } = synthetic(300);
    await Deno.writeFile(
      join(dir, "data.bin"),
      new Uint8Array([...new Uint8Array(probabilities.buffer), ...labels, ...images]),
    );
    const lib = (file: string) => JSON.stringify(join(repo, "lib", "display", file));
    const cell = `import { confusionCells, showConfusionExplorer } from ${
      lib("confusion_explorer.ts")
    };
const bytes = await Deno.readFile(${JSON.stringify(join(dir, "data.bin"))});
const probabilities = new Float32Array(bytes.slice(0, 12000).buffer);
const labels = bytes.slice(12000, 12300);
const images = bytes.slice(12300);
const classNames = ${JSON.stringify(DIGITS)};
await showConfusionExplorer({ cells: confusionCells({ probabilities, labels }), images, classNames });`;
    const htmlPath = await exportOneCellNotebook(dir, "matrix", cell);

    browser = await ChromiumPage.launch("1000x1200");
    await browser.openOffline(htmlPath);
    const panel = `document.querySelector(".confusion-explorer")`;
    await browser.waitUntil(`!!${panel} && ${panel}.getAttribute("data-ready") === "true"`, 60_000);
    assert.match(
      await browser.evaluate<string>(`${panel}.textContent`),
      /^Click a cell of the matrix/,
    );

    // The largest mistake cell, clicked where plotly.js drew it.
    const [target] = largestConfusions(confusionCells({ probabilities, labels }), 1);
    const figure = `document.getElementById(${panel}.id.replace(/-cells$/, ""))`;
    await browser.waitUntil(
      `!!(${figure}._fullLayout && ${figure}.querySelector(".hm, .heatmaplayer image"))`,
      30_000,
    );
    const point = await browser.evaluate<{ x: number; y: number }>(`(() => {
      const el = ${figure}; el.scrollIntoView({ block: "start" });
      const { xaxis, yaxis } = el._fullLayout; const box = el.getBoundingClientRect();
      return { x: box.left + xaxis._offset + xaxis.l2p(${target.predicted}),
               y: box.top + yaxis._offset + yaxis.l2p(${target.actual}) };
    })()`);
    const mouse = (type: string, buttons: number) =>
      browser!.send("Input.dispatchMouseEvent", {
        type,
        x: point.x,
        y: point.y,
        button: "left",
        buttons,
        clickCount: 1,
      });
    await mouse("mouseMoved", 0);
    await mouse("mousePressed", 1);
    await mouse("mouseReleased", 0);
    await browser.waitUntil(`${panel}.getAttribute("data-cell") !== ""`, 10_000);
    const seen = await browser.evaluate<
      { cell: string; heading: string; indices: number[]; widths: number[] }
    >(`({
      cell: ${panel}.getAttribute("data-cell"),
      heading: ${panel}.querySelector("[data-part=heading]").textContent,
      indices: Array.from(${panel}.querySelectorAll(".confusion-explorer-image"), (t) => Number(t.dataset.index)),
      widths: Array.from(${panel}.querySelectorAll("img"), (img) => img.complete ? img.naturalWidth : -1),
    })`);
    assert.equal(seen.cell, `${target.actual},${target.predicted}`);
    assert.equal(
      seen.heading,
      `True ${target.actual}, answered ${target.predicted}: ${target.count} test images, most confident first.`,
    );
    assert.deepEqual(seen.indices, target.shown.map((image) => image.index));
    assert.deepEqual(seen.widths, target.shown.map(() => 28), "every image decoded");
    const outlined = await browser.evaluate<number[]>(
      `(${figure}.layout.shapes || []).map((s) => s.x0 + 0.5)`,
    );
    assert.deepEqual(outlined, [target.predicted], "the clicked cell is outlined");

    const screenshot = Deno.env.get("CONFUSION_SCREENSHOT");
    if (screenshot) {
      const shot = await browser.send("Page.captureScreenshot", { format: "png" });
      await Deno.writeFile(
        screenshot,
        Uint8Array.from(atob(String(shot.data)), (c) => c.charCodeAt(0)),
      );
    }
    assert.deepEqual(browser.events.filter((e) => e.method === "Runtime.exceptionThrown"), []);
    // Nothing left the machine: only the HTML file, Debian's nbconvert scripts from
    // /usr/share/javascript and inline data: URLs.
    const requested = browser.events
      .filter((e) => e.method === "Network.requestWillBeSent")
      .map((e) => String((e.params.request as { url: string }).url));
    for (const url of requested) {
      assert.ok(
        url === `file://${htmlPath}` || url.startsWith("file:///usr/share/javascript/") ||
          url.startsWith("data:"),
        `the page requested ${url}`,
      );
    }
  } finally {
    await browser?.close();
    await Deno.remove(dir, { recursive: true });
  }
});
