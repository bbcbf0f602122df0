// lib/display/calibration_figures.ts: every trace, axis and hover of the reliability diagram, the
// accuracy-coverage curve and the confidence histograms.
import assert from "node:assert/strict";
import {
  confidenceHistogramFigure,
  coverageFigure,
  reliabilityFigure,
} from "../../lib/display/calibration_figures.ts";
import { reliability } from "../../lib/training/calibration.ts";

type Trace = Record<string, unknown> & { x: number[]; y: number[] };
const trace = (figure: { data: Record<string, unknown>[] }, i: number) => figure.data[i] as Trace;

// Two-class answers: confidences 0.95 (right), 0.95 (wrong), 0.65 (right), 0.55 (wrong).
const probabilities = Float32Array.of(0.95, 0.05, 0.95, 0.05, 0.35, 0.65, 0.55, 0.45);
const labels = [0, 1, 1, 1];

Deno.test("reliabilityFigure(): a bar per filled bin, the mean confidences and the diagonal", () => {
  const table = reliability({ probabilities, labels, bins: 10 });
  const figure = reliabilityFigure(table);
  const [bars, means, diagonal] = [0, 1, 2].map((i) => trace(figure, i));
  assert.equal(bars.type, "bar");
  assert.deepEqual(bars.x.map((x) => Number(x.toFixed(2))), [0.55, 0.65, 0.95]);
  assert.deepEqual(bars.y, [0, 1, 0.5], "share right per bin");
  assert.deepEqual(bars.text, ["1", "1", "2"], "answers per bin on the bars");
  assert.deepEqual((bars.width as number[]).map((w) => Number(w.toFixed(2))), [0.1, 0.1, 0.1]);
  assert.match(
    String(bars.hovertemplate),
    /confidence %\{customdata\[0\]\}.*answers.*mean confidence.*right %\{y/,
  );
  assert.deepEqual((bars.customdata as unknown[][])[2].slice(0, 2), ["0.90–1.00", 2]);
  assert.deepEqual(means.y.map((y) => Number(y.toFixed(2))), [0.55, 0.65, 0.95]);
  assert.equal(means.mode, "markers");
  assert.deepEqual([diagonal.x, diagonal.y], [[0, 1], [0, 1]]);
  assert.equal(diagonal.hoverinfo, "skip");
  const layout = figure.layout as Record<string, { title?: { text: string }; range?: number[] }>;
  assert.equal(
    (figure.layout.title as { text: string }).text,
    `Reliability on the 4 test images: expected calibration error ${(100 * table.ece).toFixed(2)}%`,
  );
  assert.match(layout.xaxis.title!.text, /confidence/);
  assert.match(layout.yaxis.title!.text, /share of answers right/);
  assert.deepEqual(layout.xaxis.range, [0, 1.0001]);
  assert.match(
    (reliabilityFigure(table, { what: "validation images" }).layout.title as { text: string }).text,
    /the 4 validation images/,
  );
});

Deno.test("coverageFigure(): the test curve from all answered down, and the chosen threshold on it", () => {
  const rule = { threshold: 0.9, targetAccuracy: 0.995, coverage: 0.6, accuracy: 1, reached: true };
  const figure = coverageFigure({ test: { probabilities, labels }, rule });
  const [curve, chosen] = [trace(figure, 0), trace(figure, 1)];
  assert.deepEqual(curve.x, [1, 0.75, 0.5]);
  assert.deepEqual(curve.y, [0.5, 2 / 3, 0.5]);
  assert.deepEqual(
    (curve.customdata as number[][]).map(([t, n]) => [Number(t.toFixed(2)), n]),
    [[0, 4], [0.65, 3], [0.95, 2]],
  );
  assert.match(
    String(curve.hovertemplate),
    /not sure below %\{customdata\[0\]:\.4f\}.*answers %\{x:\.2%\}.*right %\{y/,
  );
  assert.deepEqual([chosen.x, chosen.y], [[0.5], [0.5]], "on the TEST images: 2 answered, 1 right");
  assert.match(String(chosen.name), /not sure below 0.9000 \(chosen on validation\)/);
  assert.match(String(chosen.hovertemplate), /chosen on the validation images for 99.5% right/);
  const layout = figure.layout as Record<string, Record<string, unknown>>;
  assert.equal(layout.xaxis.autorange, "reversed", "coverage falls from left to right");
  assert.match(
    String((layout.xaxis.title as { text: string }).text),
    /share of test images answered/,
  );
  assert.match(String((layout.yaxis.title as { text: string }).text), /share of the answers right/);
  const [low, high] = layout.yaxis.range as number[];
  assert.ok(low <= 0.5 && high >= 1, `${low}..${high} shows the whole curve`);
  assert.equal(
    coverageFigure({ test: { probabilities, labels } }).data.length,
    1,
    "no rule, no mark",
  );
});

Deno.test("confidenceHistogramFigure(): shares of each group in 20 bins, and the threshold line", () => {
  const figure = confidenceHistogramFigure({
    groups: [
      { name: "digits", probabilities: Float32Array.of(0.99, 0.01, 0.03, 0.97, 1, 0, 0.5, 0.5) },
      { name: "clothes", probabilities: Float32Array.of(0.28, 0.72, 0.99, 0.01) },
    ],
    classes: 2,
    notSureBelow: 0.8,
  });
  const [digits, clothes] = [trace(figure, 0), trace(figure, 1)];
  assert.equal(digits.name, "digits (4, 75% answered)", "3 of 4 at or above 0.8");
  assert.equal(clothes.name, "clothes (2, 50% answered)");
  assert.equal(digits.x.length, 20);
  assert.equal(digits.y[19], 75, "3 of 4 digits in [0.95, 1]");
  assert.equal(digits.y[10], 25);
  assert.equal(clothes.y[14], 50, "the answer's probability: 0.72, not 0.28");
  assert.equal(clothes.y[19], 50);
  assert.deepEqual((clothes.customdata as unknown[][])[14], [1, "0.70–0.75"]);
  assert.match(
    String(clothes.hovertemplate),
    /^clothes<br>confidence %\{customdata\[1\]\}: %\{y:\.1f\}%/,
  );
  assert.equal(figure.layout.barmode, "overlay");
  const [line] = figure.layout.shapes as { x0: number; x1: number }[];
  assert.deepEqual([line.x0, line.x1], [0.8, 0.8]);
  assert.match(JSON.stringify(figure.layout.annotations), /not sure below 0.800/);
  const layout = figure.layout as Record<string, { title?: { text: string } }>;
  assert.match(layout.xaxis.title!.text, /confidence/);
  assert.match(layout.yaxis.title!.text, /share of the group's images/);
  const plain = confidenceHistogramFigure({
    groups: [{ name: "a", probabilities: new Float32Array() }],
    classes: 10,
  });
  assert.deepEqual([plain.layout.shapes, plain.layout.annotations], [[], []]);
  assert.equal(plain.data[0].name, "a (0)", "no threshold, no share answered");
});
