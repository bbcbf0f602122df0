// Tests for lib/display/display.ts that need no Jupyter kernel: the HTML/bundles produced, that the
// plotly.js library is emitted once per session, escaping, and progress throttling.
import assert from "node:assert/strict";
import {
  escapeHtml,
  formatValue,
  jupyterApi,
  type MediaBundle,
  PlotlyRenderer,
  progressBundle,
  ProgressDisplay,
  readPlotlySource,
  scriptJson,
  showPlot,
} from "../../lib/display/display.ts";

const FAKE_LIBRARY = "window.Plotly = { newPlot: function () {} };";

function html(bundle: MediaBundle): string {
  return String(bundle["text/html"]);
}

Deno.test("jupyterApi is undefined outside the kernel instead of throwing", () => {
  assert.equal(jupyterApi(), undefined);
});

Deno.test("escapeHtml and scriptJson neutralise markup", () => {
  assert.equal(
    escapeHtml(`<a href="x">'&'</a>`),
    "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;",
  );
  const json = scriptJson({ title: "</script><script>alert(1)</script>", s: "\u2028" });
  assert.ok(!json.includes("<") && !json.includes(">") && !json.includes("\u2028"));
  assert.deepEqual(JSON.parse(json), { title: "</script><script>alert(1)</script>", s: "\u2028" });
});

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

Deno.test("the real plotly.js-dist bundle is found and sets window.Plotly", () => {
  const source = readPlotlySource();
  assert.ok(source.length > 1_000_000);
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

Deno.test("formatValue and progressBundle", () => {
  assert.equal(formatValue(0.412345), "0.4123");
  assert.equal(formatValue(1450.7), "1451");
  assert.equal(formatValue(12), "12");
  assert.equal(formatValue("0:42"), "0:42");
  assert.equal(formatValue(Number.NaN), "NaN");
  const bundle = progressBundle("Training <1>", {
    value: 45,
    total: 60,
    fields: { epoch: "1/3", "a<b": 0.5 },
  });
  assert.equal(
    bundle["text/plain"],
    "Training <1> [###############.....]  75% | epoch 1/3 | a<b 0.5",
  );
  assert.ok(html(bundle).includes("Training &lt;1&gt;"));
  assert.ok(html(bundle).includes("a&lt;b"));
  assert.ok(html(bundle).includes('<progress value="0.7500" max="1"'));
  // Out-of-range values are clamped rather than drawing a broken bar.
  assert.match(
    String(progressBundle("", { value: 5, total: 0 })["text/plain"]),
    /^\[\.{20}\] {3}0%/,
  );
});

interface Sent {
  type: string;
  content: Record<string, unknown>;
}

function fakeKernel() {
  const sent: Sent[] = [];
  let clock = 0;
  return {
    sent,
    advance: (ms: number) => (clock += ms),
    now: () => clock,
    broadcast: (type: string, content: Record<string, unknown>) => {
      sent.push({ type, content });
      return Promise.resolve();
    },
  };
}

Deno.test("progress: one display, then in-place updates, throttled, final state always sent", async () => {
  const k = fakeKernel();
  const progress = new ProgressDisplay({
    title: "Training",
    minIntervalMs: 250,
    now: k.now,
    broadcast: k.broadcast,
    displayId: "p1",
  });
  for (let i = 1; i <= 100; i++) {
    k.advance(10); // 100 updates over 1 s -> about 4 published
    await progress.update({ value: i, total: 100, fields: { batch: i } });
  }
  await progress.done();
  await progress.done(); // idempotent
  await progress.update({ value: 1, total: 1 }); // ignored after done
  assert.equal(k.sent[0].type, "display_data");
  assert.ok(k.sent.slice(1).every((m) => m.type === "update_display_data"));
  assert.ok(
    k.sent.every((m) => (m.content.transient as { display_id: string }).display_id === "p1"),
  );
  assert.ok(k.sent.length >= 4 && k.sent.length <= 6, `sent ${k.sent.length} messages`);
  const last = k.sent.at(-1)!.content.data as MediaBundle;
  assert.match(String(last["text/plain"]), /100% \| batch 100$/);
});

Deno.test("progress: done() without pending changes sends nothing new", async () => {
  const k = fakeKernel();
  const progress = new ProgressDisplay({ now: k.now, broadcast: k.broadcast });
  await progress.update({ value: 1, total: 2 });
  await progress.done();
  assert.equal(k.sent.length, 1);
  await progress.update({ value: 2, total: 2 }); // after done: ignored
  assert.equal(k.sent.length, 1);
});

Deno.test("progress: un-awaited updates are still delivered in order", async () => {
  const sent: string[] = [];
  const progress = new ProgressDisplay({
    minIntervalMs: 0,
    broadcast: async (_type, content) => {
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
      sent.push(String((content.data as MediaBundle)["text/plain"]));
    },
  });
  for (let i = 1; i <= 5; i++) progress.update({ value: i, total: 5 });
  await progress.done();
  assert.deepEqual(sent.map((s) => s.match(/(\d+)%/)![1]), ["20", "40", "60", "80", "100"]);
});

Deno.test("progress outside Jupyter: one \\r-rewritten terminal line, newline at the end", async () => {
  const writes: string[] = [];
  const progress = new ProgressDisplay({
    title: "Eval",
    minIntervalMs: 0,
    write: (text) => writes.push(text),
  });
  await progress.update({ value: 1, total: 4, fields: { loss: 0.123456 } });
  await progress.update({ value: 4, total: 4 });
  await progress.done();
  assert.equal(writes.length, 3);
  assert.ok(writes[0].startsWith("\rEval [#####...............]  25% | loss 0.1235"));
  // The shorter second line is padded so no characters of the first one remain.
  assert.equal(writes[1].length, writes[0].length);
  assert.equal(writes[2], "\n");
});
