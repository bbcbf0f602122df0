// jupyter/preview.ts: a notebook seen as GitHub shows it (nbconvert HTML, scripts removed) in
// headless Chromium. Needs Debian's nbconvert and chromium, which CI installs.
import assert from "node:assert/strict";
import { dropScripts, previewWithoutScripts } from "../../jupyter/preview.ts";
import { renderFigureImages } from "../../lib/display/static_plot.ts";

Deno.test("dropScripts() removes every script element and keeps the rest", () => {
  const html = `<p>a</p><script type="x">if (1 < 2) {}</script><div>b</div><SCRIPT>
  c()</SCRIPT ><img src="x.png">`;
  assert.equal(dropScripts(html), `<p>a</p><div>b</div><img src="x.png">`);
});

Deno.test("without scripts, a figure shows only if it is a picture, not Plotly's HTML", async () => {
  const figure = { data: [{ type: "bar", y: [1, 2] }], layout: { width: 300, height: 200 } };
  const [png] = await renderFigureImages([figure]);
  const display = (data: Record<string, string>) => ({
    output_type: "display_data",
    metadata: {},
    data,
  });
  const notebook = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: "deno", display_name: "Deno", language: "typescript" } },
    cells: [{
      cell_type: "code",
      source: "await showPlot(figure);",
      metadata: {},
      execution_count: 1,
      outputs: [
        // As the live notebook has it: a div that only a script fills in.
        display({ "text/html": `<div id="p"></div><script>draw("p")</script>`, "text/plain": "a" }),
        // As the rendered copy has it.
        display({ "image/png": png, "text/plain": "b" }),
      ],
    }],
  };
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/nb.ipynb`, JSON.stringify(notebook));
    const preview = await previewWithoutScripts(`${dir}/nb.ipynb`, { screenshots: `${dir}/shots` });
    assert.equal(preview.scripts, 0);
    assert.equal(preview.pictures.length, 1, "the HTML figure leaves nothing to see");
    assert.deepEqual(
      [preview.pictures[0].visible, preview.pictures[0].width, preview.pictures[0].height],
      [true, 300, 200],
    );
    assert.equal(preview.screenshots.length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
