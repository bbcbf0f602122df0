// The learned map's figure and output: every trace, axis and hover text; the PNG sprite; and in
// Debian's Chromium, the exported HTML of a one-cell notebook: hovering a point shows its image.
// The browser test needs Jupyter and Chromium, as CI has them: their absence is a failure that
// says what to install.
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as pngjs from "pngjs";
import type { LearnedMap } from "../../lib/models/learned_map.ts";
import { figureOf } from "../../lib/display/plotly.ts";
import {
  imageSprite,
  learnedMapBundle,
  learnedMapFigure,
  spriteGrey,
} from "../../lib/display/map_figure.ts";
import { SPRITE_COLUMNS } from "../../lib/display/map_hover.ts";
import { installCommand, JUPYTER } from "../../jupyter/setup.ts";
import { ChromiumPage } from "../chromium.ts";
import { exportOneCellNotebook, syntheticSplit } from "../fixtures.ts";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];

/** A map of 60 images on a grid, every seventh one a mistake (answer: the next class). */
function gridMap(count = 60): LearnedMap {
  const labels = Uint8Array.from({ length: count }, (_, k) => k % 10);
  return {
    indices: Uint32Array.from({ length: count }, (_, k) => 2 * k),
    labels,
    predicted: labels.map((label, k) => k % 7 === 3 ? (label + 1) % 10 : label),
    activations: Float32Array.from({ length: 2 * count }, (_, i) => i % 2 ? (i >> 1) % 8 : i >> 4),
    pixels: Float32Array.from({ length: 2 * count }, (_, i) => i % 2 ? 0 - (i >> 1) : (i >> 1) % 5),
    total: 10_000,
    mistakes: 9,
    layer: { name: "dense", units: 64 },
  };
}

Deno.test("learnedMapFigure() draws both panels: a trace per class, the mistakes, hover text", () => {
  const map = gridMap();
  const figure = learnedMapFigure(map, { classNames: NAMES });
  assert.equal(figure.data.length, 22, "per panel: ten classes and the mistakes");
  for (
    const [panel, xy, axes] of [[0, map.activations, ["x", "y"]], [1, map.pixels, [
      "x2",
      "y2",
    ]]] as const
  ) {
    const traces = figure.data.slice(11 * panel, 11 * panel + 11);
    traces.forEach((trace, c) => {
      assert.deepEqual([trace.xaxis, trace.yaxis], axes);
      assert.equal(trace.showlegend, panel === 0, "one legend for both panels");
      assert.equal(
        trace.hovertemplate,
        "true %{customdata[1]}, answer %{customdata[2]}<extra></extra>",
      );
      const custom = trace.customdata as [number, string, string][];
      const x = trace.x as number[], y = trace.y as number[];
      assert.equal(x.length, custom.length);
      for (const [j, [k, truth, answer]] of custom.entries()) {
        assert.deepEqual([x[j], y[j]], [xy[2 * k], xy[2 * k + 1]], `point ${k}`);
        assert.equal(truth, NAMES[map.labels[k]]);
        assert.equal(answer, NAMES[map.predicted[k]]);
        if (c < 10) assert.equal(map.labels[k], c, "a class trace holds that class only");
        else assert.notEqual(truth, answer, "the mistakes trace holds mistakes only");
      }
    });
    assert.equal(traces[10].name, "mistakes");
    const mistakes = Array.from(map.labels.keys()).filter((k) =>
      map.labels[k] !== map.predicted[k]
    );
    assert.deepEqual((traces[10].customdata as number[][]).map(([k]) => k), mistakes);
    const points = traces.slice(0, 10).reduce((n, t) => n + (t.x as number[]).length, 0);
    assert.equal(points, 60, "every image once per panel");
  }
  const layout = figure.layout;
  assert.match(
    String((layout.title as { text: string }).text),
    /^UMAP of 60 of the 10,000 test images \(its 9 mistakes and a seeded sample of the rest\)$/,
  );
  const x1 = (layout.xaxis as { domain: number[] }).domain,
    x2 = (layout.xaxis2 as { domain: number[] }).domain;
  assert.ok(x1[1] < x2[0], "the panels do not overlap");
  assert.equal((layout.yaxis2 as { anchor: string }).anchor, "x2");
  assert.deepEqual(
    (layout.annotations as { text: string }[]).map((a) => a.text),
    ["what the network computes (dense, 64 numbers)", "the raw pixels (784 numbers)"],
  );
  const capped = learnedMapFigure({ ...map, mistakes: 30 }, { classNames: NAMES });
  assert.match(
    String((capped.layout.title as { text: string }).text),
    /\(15 of its 30 mistakes and/,
  );
  const all = learnedMapFigure({ ...gridMap(), total: 60 }, { classNames: NAMES });
  assert.equal((all.layout.title as { text: string }).text, "UMAP of all 60 test images");
});

Deno.test("imageSprite() tiles the chosen images in a greyscale PNG", () => {
  const { images } = syntheticSplit(130);
  const indices = Uint32Array.from({ length: 60 }, (_, k) => 2 * k);
  const png = (pngjs as unknown as {
    PNG: { sync: { read(bytes: Buffer): { width: number; height: number; data: Uint8Array } } };
  }).PNG.sync.read(Buffer.from(imageSprite(images, indices)));
  assert.deepEqual([png.width, png.height], [SPRITE_COLUMNS * 28, 2 * 28]);
  for (const k of [0, 49, 50, 59]) {
    const left = (k % SPRITE_COLUMNS) * 28, top = Math.floor(k / SPRITE_COLUMNS) * 28;
    for (const [r, c] of [[0, 0], [13, 7], [27, 27]]) {
      const at = 4 * ((top + r) * png.width + left + c);
      const byte = images[indices[k] * 784 + r * 28 + c];
      assert.equal(png.data[at], spriteGrey(byte), `image ${k} (${r}, ${c})`);
    }
  }
});

Deno.test("learnedMapBundle() holds the figure once, the sprite inline and nothing from elsewhere", () => {
  const map = gridMap();
  const figure = learnedMapBundle(learnedMapFigure(map, { classNames: NAMES }), {
    images: syntheticSplit(130).images,
    indices: map.indices,
    newId: () => "t1",
  });
  const html = String(figure["text/html"]);
  assert.deepEqual(figureOf(figure)?.data, learnedMapFigure(map, { classNames: NAMES }).data);
  assert.ok(html.includes('id="learned-map-t1"') && html.includes("data:image/png;base64,"));
  assert.ok(html.includes('"plotly_hover"'), "the hover code is in the output");
  assert.doesNotMatch(html, /<script[^>]+src=|<link|https?:\/\/(?!www\.w3\.org)/);
  assert.match(String(figure["text/plain"]), /^\[Plotly figure: UMAP of 60 of the 10,000/);
});

Deno.test("the exported map shows the image under the pointer in Chromium, offline", async () => {
  assert.ok(
    await JUPYTER.probe(),
    `Jupyter is needed to export the map: ${installCommand(JUPYTER.packages)}`,
  );
  const dir = await Deno.makeTempDir({ dir: join(repo, "outputs"), prefix: ".map-test-" });
  let page: ChromiumPage | undefined;
  try {
    const module = (name: string) => JSON.stringify(join(repo, name));
    const cell = [
      `import { learnedMapFigure, showLearnedMap } from ${module("lib/display/map_figure.ts")};`,
      `import { syntheticSplit } from ${module("tests/fixtures.ts")};`,
      `const map = ${mapSource()};`,
      `await showLearnedMap(learnedMapFigure(map, { classNames: ${JSON.stringify(NAMES)} }), ` +
      `{ images: syntheticSplit(130).images, indices: map.indices });`,
    ].join("\n");
    const htmlPath = await exportOneCellNotebook(dir, "map", cell);
    page = await ChromiumPage.launch("1200x900");
    await page.openOffline(htmlPath);
    const root = `document.querySelector(".learned-map")`;
    await page.waitUntil(`${root}.dataset.hover === "attached"`, 60_000);
    const images = syntheticSplit(130).images;
    const map = gridMap();
    for (const [trace, j] of [[1, 5], [11 + 4, 0], [10, 2]]) {
      const target = await pointOnScreen(page, trace, j);
      await page.send("Input.dispatchMouseEvent", { type: "mouseMoved", x: target.x, y: target.y });
      await page.waitUntil(`${root}.dataset.shown === "${target.k}"`, 10_000);
      const shown: { pixels: number[]; caption: string } = await page.evaluate(
        `(() => { const c = ${root}.querySelector(".learned-map-hover canvas"); return { pixels: Array.from(c.getContext("2d").getImageData(0, 0, 28, 28).data.filter((_, i) => i % 4 === 0)), caption: ${root}.querySelector(".learned-map-hover span").textContent }; })()`,
      );
      const image = images.subarray(map.indices[target.k] * 784, (map.indices[target.k] + 1) * 784);
      assert.deepEqual(
        shown.pixels,
        Array.from(image, spriteGrey),
        `the image of point ${target.k}`,
      );
      const truth = NAMES[map.labels[target.k]], answer = NAMES[map.predicted[target.k]];
      assert.equal(
        shown.caption,
        `true ${truth}, answer ${answer}` + (truth === answer ? "" : " (a mistake)"),
      );
    }
    const exceptions = page.events.filter((e) => e.method === "Runtime.exceptionThrown");
    assert.deepEqual(exceptions, []);
    const requested = page.events
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
    await page?.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** {@link gridMap}'s source, for the notebook cell. */
function mapSource(): string {
  return `(${gridMap.toString()})()`;
}

/** Where point `j` of trace `trace` is on the screen, and its sprite position `k`. */
async function pointOnScreen(
  page: ChromiumPage,
  trace: number,
  j: number,
): Promise<{ x: number; y: number; k: number }> {
  return await page.evaluate<{ x: number; y: number; k: number }>(`(() => {
    const gd = document.querySelector(".learned-map .plotly-figure");
    gd.scrollIntoView({ block: "center" });
    const t = gd.data[${trace}], layout = gd._fullLayout;
    const xa = layout[t.xaxis === "x2" ? "xaxis2" : "xaxis"], ya = layout[t.yaxis === "y2" ? "yaxis2" : "yaxis"];
    const box = gd.getBoundingClientRect();
    return { x: box.left + xa._offset + xa.l2p(t.x[${j}]), y: box.top + ya._offset + ya.l2p(t.y[${j}]), k: t.customdata[${j}][0] };
  })()`);
}

Deno.test("spriteGrey() keeps 16 grey levels, black and white exact", () => {
  const levels = new Set(Array.from({ length: 256 }, (_, v) => spriteGrey(v)));
  assert.equal(levels.size, 16);
  assert.deepEqual([spriteGrey(0), spriteGrey(255), spriteGrey(8), spriteGrey(9)], [0, 255, 0, 17]);
  for (let v = 0; v < 256; v++) assert.ok(Math.abs(spriteGrey(v) - v) <= 8.5, `${v}`);
});
