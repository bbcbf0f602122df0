// lib/display/plotly.ts without a Jupyter kernel: the outputs produced, and that the plotly.js
// library is emitted once per session, in slices under the kernel's message-size limit.
import assert from "node:assert/strict";
import type { MediaBundle } from "../../lib/display/jupyter.ts";
import { PlotlyRenderer, readPlotlySource, showPlot } from "../../lib/display/plotly.ts";

const FAKE_LIBRARY = "window.Plotly = { newPlot: function () {} };";

function html(bundle: MediaBundle): string {
  return String(bundle["text/html"]);
}

Deno.test("plotly.js is inlined once per session, in outputs under the size limit", () => {
  const library = "x".repeat(25) + "</script>"; // forces 4 slices of 10 chars
  const renderer = new PlotlyRenderer({ librarySource: () => library, chunkChars: 10 });
  assert.equal(renderer.libraryLoaded, false);
  const first = renderer.bundlesFor({ data: [{ y: [1, 2] }] });
  assert.equal(renderer.libraryLoaded, true);
  assert.equal(first.length, 4 + 1 + 1, "4 library slices, the loader, the figure");
  for (const bundle of first.slice(0, 4)) {
    assert.match(html(bundle), /^<script type="text\/javascript">\(window.__plotlyChunks = /);
    // The library's own "</script>" must not end the element early.
    assert.equal(html(bundle).split("</script>").length, 2);
  }
  // Reassembling the slices gives back the exact source.
  const slices = first.slice(0, 4).map((b) => {
    const m = html(b).match(/\] = (".*");<\/script>$/s);
    assert.ok(m);
    return JSON.parse(m[1]) as string;
  });
  assert.equal(slices.join(""), library);
  assert.match(html(first[4]), /new Function\("define", "module", "exports", source\)/);
  assert.match(html(first[4]), /plotly-ready/);

  const second = renderer.bundlesFor({ data: [{ y: [3] }] });
  assert.equal(second.length, 1, "later figures carry no library");
  assert.ok(!html(second[0]).includes("__plotlyChunks"));

  renderer.reset(); // as after a kernel restart: a new module instance starts unloaded
  assert.equal(renderer.bundlesFor({ data: [] }).length, 6);
});

Deno.test("a figure is a div plus a newPlot script with escaped data", () => {
  let n = 0;
  const renderer = new PlotlyRenderer({
    librarySource: () => FAKE_LIBRARY,
    newId: () => `id${++n}`,
  });
  const bundle = renderer.figureBundle({
    data: [{ type: "bar", x: ["<b>"], y: [1] }],
    layout: { title: { text: "Loss </script>" } },
    config: { displayModeBar: false },
  });
  const text = html(bundle);
  assert.match(text, /^<div id="plotly-id1" class="plotly-figure"/);
  assert.match(text, /window\.Plotly\.newPlot\(el, /);
  assert.ok(text.includes('"displayModeBar":false') && text.includes('"displaylogo":false'));
  assert.equal(text.split("</script>").length, 2, "only the closing tag of its own script");
  assert.ok(text.includes("\\u003cb\\u003e"));
  assert.equal(bundle["text/plain"], "[Plotly figure: Loss </script>, 1 trace(s)]");
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
