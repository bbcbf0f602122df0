// The drawing pad as the classic Notebook shows it (Run All in the real frontend, in headless
// Chromium): the Notebook's Bootstrap stylesheet must not move it. Each class's label, bar and
// percentage stay on one line, in order; the big answer stays clear of the 28x28 preview; Clear
// stays where it was when the first answer appears. The tests that read data-* attributes cannot
// see any of this, so this one measures the boxes. It needs Jupyter and Chromium, as CI has them.
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { installCommand, JUPYTER } from "../../jupyter/setup.ts";
import { openNotebookInBrowser } from "./frontend.ts";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

interface Box {
  left: number;
  right: number;
  top: number;
  bottom: number;
}

/** The page's boxes of the pad's parts, as the frontend laid them out. */
const MEASURE = `(() => {
  const pad = document.querySelector(".digit-pad");
  const box = (e) => { const r = e.getBoundingClientRect(); return { left: r.left, right: r.right, top: r.top, bottom: r.bottom }; };
  return {
    state: pad.getAttribute("data-state"),
    rows: Array.from(pad.querySelectorAll(".dpad-row"), (row) =>
      ["name", "track", "pct"].map((part) => box(row.querySelector(".dpad-" + part)))),
    bars: box(pad.querySelector(".dpad-bars")),
    answer: box(pad.querySelector(".dpad-answer b")),
    input: box(pad.querySelector(".dpad-input")),
    clear: box(pad.querySelector(".dpad-clear")),
    canvas: box(pad.querySelector(".dpad-canvas")),
  };
})()`;

interface Measured {
  state: string;
  rows: [Box, Box, Box][];
  bars: Box;
  answer: Box;
  input: Box;
  clear: Box;
  canvas: Box;
}

const middle = (b: Box) => (b.top + b.bottom) / 2;

Deno.test("the drawing pad keeps its layout in the classic Notebook", async () => {
  assert.ok(
    await JUPYTER.probe(),
    `Jupyter is needed for the frontend test: ${installCommand(JUPYTER.packages)}`,
  );
  await Deno.mkdir(join(repo, "outputs"), { recursive: true });
  const dir = await Deno.makeTempDir({ dir: join(repo, "outputs"), prefix: ".pad-frontend-" });
  const path = join(dir, "pad.ipynb");
  const source = [
    `import { buildBaselineModel } from ${JSON.stringify(join(repo, "lib/models/variants.ts"))};`,
    `import { showDrawingPad } from ${JSON.stringify(join(repo, "lib/display/drawing_pad.ts"))};`,
    `await showDrawingPad(buildBaselineModel({ seed: 1 }), { notSureBelow: 0.5 });`,
  ].join("\n");
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { kernelspec: { name: "deno", display_name: "Deno", language: "typescript" } },
      cells: [{
        cell_type: "code",
        id: "pad",
        source,
        metadata: {},
        outputs: [],
        execution_count: null,
      }],
    }),
  );
  try {
    const page = await openNotebookInBrowser(path);
    try {
      await page.runAll({ timeoutMs: 180_000, settleMs: 500 });
      const ready = `document.querySelector(".digit-pad")?.getAttribute("data-state") === "empty"`;
      await waitUntil(() => page.evaluate<boolean>(ready), "the pad to load its model");
      await page.evaluate(
        `document.querySelector(".digit-pad").scrollIntoView({ block: "center" })`,
      );
      const before = await page.evaluate<Measured>(MEASURE);
      // A 7, drawn with the mouse.
      const { left, top } = before.canvas;
      const points = [[70, 50], [210, 50], [120, 245]].flatMap(([x, y], i, all) =>
        i === 0 ? [[x, y]] : Array.from({ length: 12 }, (_, s) => {
          const [x0, y0] = all[i - 1];
          return [x0 + (x - x0) * (s + 1) / 12, y0 + (y - y0) * (s + 1) / 12];
        })
      );
      for (const [i, [x, y]] of points.entries()) {
        const type = i === 0 ? "mousePressed" : "mouseMoved";
        await page.send("Input.dispatchMouseEvent", {
          type,
          x: left + x,
          y: top + y,
          button: "left",
          buttons: 1,
          clickCount: 1,
        });
      }
      const [x, y] = points.at(-1)!;
      await page.send("Input.dispatchMouseEvent", {
        type: "mouseReleased",
        x: left + x,
        y: top + y,
        button: "left",
        buttons: 0,
        clickCount: 1,
      });
      const predicted =
        `document.querySelector(".digit-pad").getAttribute("data-state") === "predicted"`;
      await waitUntil(() => page.evaluate<boolean>(predicted), "the pad's first answer");
      const after = await page.evaluate<Measured>(MEASURE);
      const screenshot = Deno.env.get("PAD_FRONTEND_SCREENSHOT");
      if (screenshot) {
        const shot = await page.send("Page.captureScreenshot", { format: "png" }) as {
          data: string;
        };
        await Deno.writeFile(screenshot, Uint8Array.from(atob(shot.data), (c) => c.charCodeAt(0)));
      }
      checkLayout(after);
      assert.ok(
        Math.abs(after.clear.top - before.clear.top) < 1 &&
          Math.abs(after.clear.left - before.clear.left) < 1,
        `Clear moved from ${JSON.stringify(before.clear)} to ${JSON.stringify(after.clear)}`,
      );
    } finally {
      await page.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Each row on one line and in order, the parts left to right, the answer clear of the preview. */
function checkLayout(m: Measured): void {
  assert.equal(m.rows.length, 10);
  m.rows.forEach(([name, track, pct], i) => {
    for (const part of [track, pct]) {
      assert.ok(
        Math.abs(middle(part) - middle(name)) < 4,
        `row ${i}: label, bar and percentage are not on one line: ${JSON.stringify(m.rows[i])}`,
      );
    }
    assert.ok(name.right <= track.left && track.right <= pct.left, `row ${i} out of order`);
    assert.ok(track.right - track.left > 100, `row ${i}'s bar is ${track.right - track.left} px`);
    if (i > 0) assert.ok(name.top >= m.rows[i - 1][0].bottom - 1, `row ${i} overlaps row ${i - 1}`);
  });
  const overlaps = m.answer.top < m.input.bottom && m.answer.bottom > m.input.top &&
    m.answer.left < m.input.right && m.answer.right > m.input.left;
  assert.ok(
    !overlaps,
    `the answer ${JSON.stringify(m.answer)} overlaps the preview ${JSON.stringify(m.input)}`,
  );
  assert.ok(m.clear.top >= m.answer.bottom, "Clear is below the answer");
}

async function waitUntil(probe: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
