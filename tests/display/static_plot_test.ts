// lib/display/static_plot.ts: pictures of Plotly figures drawn by the real plotly.js in Chromium.
import assert from "node:assert/strict";
import { figureSize, renderFigureImages } from "../../lib/display/static_plot.ts";

function pngSize(base64: string): [number, number] {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  assert.deepEqual([...bytes.subarray(1, 4)], [80, 78, 71], "a PNG");
  const view = new DataView(bytes.buffer);
  return [view.getUint32(16), view.getUint32(20)];
}

Deno.test("renderFigureImages() draws each figure at its layout's size, in one session", async () => {
  const bars = {
    data: [{ type: "bar", x: ["a", "b"], y: [1, 3] }],
    layout: { width: 320, height: 200 },
  };
  const line = { data: [{ type: "scatter", y: [3, 1, 2] }] };
  const [first, second, twice] = await renderFigureImages([bars, line, { ...line, layout: {} }], {
    scale: 2,
  });
  assert.deepEqual(pngSize(first), [640, 400], "320x200 at scale 2");
  assert.deepEqual(pngSize(second), [1400, 900], "Plotly's default 700x450 at scale 2");
  assert.notEqual(first, second);
  assert.equal(second, twice, "the same figure gives the same picture");
});

Deno.test("renderFigureImages() reports a figure plotly.js cannot draw", async () => {
  await assert.rejects(
    renderFigureImages([{ data: [{ type: "bar", y: [1] }] }], {
      librarySource: () => "window.Plotly = { toImage: () => Promise.reject(new Error('no')) };",
    }),
    /The page threw: Error: no/,
  );
  assert.deepEqual(await renderFigureImages([]), [], "no figures, no browser");
});

Deno.test("figureSize() takes the layout's size, else Plotly's default", () => {
  assert.deepEqual(figureSize({ data: [], layout: { width: 900, height: 380 } }), {
    width: 900,
    height: 380,
  });
  assert.deepEqual(figureSize({ data: [], layout: { width: "wide" } }), {
    width: 700,
    height: 450,
  });
});
