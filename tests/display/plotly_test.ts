// lib/display/plotly.ts without a Jupyter kernel: the outputs produced, and that the plotly.js
// library is emitted once per session, in slices under the kernel's message-size limit.
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { gunzipSync } from "node:zlib";
import type { MediaBundle } from "../../lib/display/jupyter.ts";
import {
  DEFAULT_PLOT_CONFIG,
  figureOf,
  PLOTLY_MIME,
  PlotlyRenderer,
  readPlotlySource,
  showPlot,
} from "../../lib/display/plotly.ts";

const FAKE_LIBRARY = "window.Plotly = { newPlot: function () {} };";

function html(bundle: MediaBundle): string {
  return String(bundle["text/html"]);
}

Deno.test("plotly.js is inlined once per session, in outputs under the size limit", () => {
  const library = "x".repeat(25) + "</script>";
  // Gzipped and in base64 the library takes 48 characters: 5 slices of 10.
  const renderer = new PlotlyRenderer({ librarySource: () => library, chunkChars: 10 });
  assert.equal(renderer.libraryLoaded, false);
  const first = renderer.bundlesFor({ data: [{ y: [1, 2] }] });
  assert.equal(renderer.libraryLoaded, true);
  const slices = first.length - 2;
  assert.ok(slices > 1, `${first.length} outputs: the library is split into slices`);
  for (const bundle of first.slice(0, slices)) {
    assert.match(html(bundle), /^<script type="text\/javascript">\(window.__plotlyChunks = /);
  }
  // Reassembling the slices and unzipping them gives back the exact source.
  const packed = first.slice(0, slices).map((b) => {
    const m = html(b).match(/\] = "([A-Za-z0-9+/=]*)";<\/script>$/);
    assert.ok(m, html(b));
    assert.ok(m[1].length <= 10, "each slice holds at most chunkChars characters");
    return m[1];
  }).join("");
  assert.equal(new TextDecoder().decode(gunzipSync(Buffer.from(packed, "base64"))), library);
  assert.match(html(first[slices]), /new DecompressionStream\("gzip"\)/);
  assert.match(html(first[slices]), /new Function\("define", "module", "exports", source\)/);
  assert.match(html(first[slices]), /plotly-ready/);

  const second = renderer.bundlesFor({ data: [{ y: [3] }] });
  assert.equal(second.length, 1, "later figures carry no library");
  assert.ok(!html(second[0]).includes("__plotlyChunks"));

  renderer.reset(); // as after a kernel restart: a new module instance starts unloaded
  assert.equal(renderer.bundlesFor({ data: [] }).length, slices + 2);
});

Deno.test("a figure is a div plus a newPlot script with escaped data and its own config over the defaults", () => {
  let n = 0;
  const renderer = new PlotlyRenderer({
    librarySource: () => FAKE_LIBRARY,
    newId: () => `id${++n}`,
  });
  const bundle = renderer.figureBundle({
    data: [{ type: "bar", x: ["<b>"], y: [1] }],
    layout: { title: { text: "Loss </script>" } },
    config: { displayModeBar: false, responsive: false },
  });
  const text = html(bundle);
  assert.match(text, /^<div id="plotly-id1" class="plotly-figure"/);
  assert.match(text, /window\.Plotly\.newPlot\(el, figure\.data, figure\.layout, figure\.config\)/);
  assert.ok(text.includes('"displayModeBar":false') && text.includes('"displaylogo":false'));
  // The figure's own config beats the defaults (responsive is true by default).
  assert.ok(text.includes('"responsive":false') && !text.includes('"responsive":true'));
  assert.equal(text.split("</script>").length, 3, "only the closing tags of its two scripts");
  assert.ok(text.includes("\\u003cb\\u003e"));
  assert.equal(bundle["text/plain"], "[Plotly figure: Loss </script>, 1 trace(s)]");
});

Deno.test("a figure's HTML holds the figure object once, and figureOf() reads it back", () => {
  const renderer = new PlotlyRenderer({ librarySource: () => FAKE_LIBRARY });
  const figure = {
    data: [{ type: "bar", x: ["a</script>"], y: [1] }],
    layout: { width: 300 },
    config: { displayModeBar: false },
  };
  const bundle = renderer.figureBundle(figure);
  // What `deno task publish` draws as a picture: the same traces, layout and merged config.
  const expected = { ...figure, config: { ...DEFAULT_PLOT_CONFIG, displayModeBar: false } };
  assert.deepEqual(figureOf(bundle), expected);
  assert.equal(html(bundle).split('"a\\u003c/script\\u003e"').length, 2, "the data appears once");
  assert.equal(Object.keys(bundle).length, 2, "text/html and text/plain only");
  // Outputs of earlier runs that carried Plotly's MIME type are still read.
  assert.deepEqual(figureOf({ [PLOTLY_MIME]: figure }), figure);
});

Deno.test("HTML that belongs with a figure follows it in the same output and knows its id", () => {
  const renderer = new PlotlyRenderer({ librarySource: () => FAKE_LIBRARY, newId: () => "f7" });
  const figure = { data: [{ type: "heatmap", z: [[1]] }] };
  const bundle = renderer.figureBundle(figure, {
    after: (id) => `<div id="${id}-panel"></div><script>watch("${id}")</script>`,
  });
  const text = html(bundle);
  assert.match(text, /^<div id="plotly-f7" class="plotly-figure"/);
  assert.ok(text.endsWith('<div id="plotly-f7-panel"></div><script>watch("plotly-f7")</script>'));
  assert.deepEqual(figureOf(bundle)?.data, figure.data, "publish still finds the figure");
  const [only] = renderer.bundlesFor(figure, { after: () => "<p>below</p>" }).slice(-1);
  assert.ok(html(only).endsWith("<p>below</p>"));
});

Deno.test("the real, minified plotly.js bundle is found and sets window.Plotly", () => {
  const source = readPlotlySource();
  // The minified build: the whole library, at well under half the 11 MB of plotly.js-dist.
  assert.ok(source.length > 1_000_000 && source.length < 6_000_000, `${source.length}`);
  assert.ok(source.includes("window.Plotly = Plotly"));
});

Deno.test("showPlot outside Jupyter prints a description instead of crashing", async () => {
  const logged: string[] = [];
  const original = console.log;
  console.log = (...args: unknown[]) => logged.push(args.join(" "));
  try {
    await showPlot({ data: [{ y: [1] }], layout: { title: "Accuracy" } });
  } finally {
    console.log = original;
  }
  assert.deepEqual(logged, ["[Plotly figure: Accuracy, 1 trace(s)]"]);
});
