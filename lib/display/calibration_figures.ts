/**
 * Figures of how sure the model is: the reliability diagram, accuracy against coverage with the
 * "not sure" threshold, and its confidence on images of another kind (clothes shown to a digit
 * model), as plain Plotly figure objects for `showPlot`.
 *
 * @module
 */
import {
  accuracyCoverage,
  confidences,
  coverageAt,
  type NotSureRule,
  type Reliability,
  type ScoredAnswers,
} from "../training/calibration.ts";
import type { Figure } from "./figures.ts";

const percent = (share: number, digits = 1) => `${(100 * share).toFixed(digits)}%`;

/**
 * The reliability diagram: for each confidence bin, the share of its answers that is right
 * (bars) against the diagonal of a model that is right exactly as often as it says. Bars below
 * the diagonal are overconfident. The title gives the expected calibration error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { reliability } from "../training/calibration.ts";
 * import { reliabilityFigure } from "./calibration_figures.ts";
 * const table = reliability({ probabilities: Float32Array.of(0.95, 0.05, 0.3, 0.7), labels: [0, 0] });
 * const figure = reliabilityFigure(table);
 * assert.equal(figure.data.length, 3);
 * assert.match(JSON.stringify(figure.layout.title), /expected calibration error 37.50%/);
 * ```
 */
export function reliabilityFigure(table: Reliability, options: { what?: string } = {}): Figure {
  const filled = table.bins.filter((b) => b.count > 0);
  const centre = (b: { lower: number; upper: number }) => (b.lower + b.upper) / 2;
  const range = (b: { lower: number; upper: number }) =>
    `${b.lower.toFixed(2)}–${b.upper.toFixed(2)}`;
  return {
    data: [{
      type: "bar",
      name: "share right",
      x: filled.map(centre),
      y: filled.map((b) => b.accuracy),
      width: filled.map((b) => b.upper - b.lower),
      text: filled.map((b) => b.count.toLocaleString("en-US")),
      textposition: "outside",
      marker: { color: "#6baed6", line: { color: "#08306b", width: 1 } },
      customdata: filled.map((b) => [range(b), b.count, b.confidence]),
      hovertemplate: "confidence %{customdata[0]}<br>%{customdata[1]:,} answers<br>" +
        "mean confidence %{customdata[2]:.2%}<br>right %{y:.2%}<extra></extra>",
    }, {
      type: "scatter",
      mode: "markers",
      name: "mean confidence",
      x: filled.map(centre),
      y: filled.map((b) => b.confidence),
      marker: { color: "#d62728", symbol: "line-ew-open", size: 18, line: { width: 2 } },
      hovertemplate: "mean confidence %{y:.2%}<extra></extra>",
    }, {
      type: "scatter",
      mode: "lines",
      name: "right as often as sure",
      x: [0, 1],
      y: [0, 1],
      line: { color: "#888", dash: "dash" },
      hoverinfo: "skip",
    }],
    layout: {
      title: {
        text: `Reliability on the ${table.count.toLocaleString("en-US")} ${
          options.what ?? "test images"
        }: expected calibration error ${percent(table.ece, 2)}`,
      },
      width: 700,
      height: 500,
      margin: { l: 70, r: 20, t: 60, b: 110 },
      xaxis: { title: { text: "confidence (the answer's probability)" }, range: [0, 1.0001] },
      yaxis: { title: { text: "share of answers right" }, range: [0, 1.08], tickformat: ".0%" },
      legend: { orientation: "h", x: 0, y: -0.2, yanchor: "top" },
      bargap: 0,
    },
  };
}

/** Options of {@linkcode coverageFigure}. */
export interface CoverageFigureOptions {
  /** The test answers: the curve is theirs. */
  test: ScoredAnswers;
  /** The "not sure" rule chosen on the validation images, marked on the test curve. */
  rule?: NotSureRule;
}

/**
 * Accuracy against coverage on the test images: moving the "not sure" threshold up, the model
 * answers fewer images (coverage) and more of those answers are right. The threshold chosen on the
 * validation images is marked where it lands on the test images.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { coverageFigure } from "./calibration_figures.ts";
 * const test = { probabilities: Float32Array.of(0.9, 0.1, 0.2, 0.8, 0.6, 0.4), labels: [0, 0, 0] };
 * const rule = { threshold: 0.85, targetAccuracy: 0.99, coverage: 0.5, accuracy: 1, reached: true };
 * const figure = coverageFigure({ test, rule });
 * assert.deepEqual((figure.data[1] as { x: number[] }).x, [1 / 3], "one test image is >= 0.85");
 * ```
 */
export function coverageFigure(options: CoverageFigureOptions): Figure {
  const curve = accuracyCoverage(options.test);
  const data: Record<string, unknown>[] = [{
    type: "scatter",
    mode: "lines",
    name: "test images",
    x: curve.map((p) => p.coverage),
    y: curve.map((p) => p.accuracy),
    customdata: curve.map((p) => [p.threshold, p.answered]),
    line: { color: "#1f77b4" },
    hovertemplate: "not sure below %{customdata[0]:.4f}<br>answers %{x:.2%} " +
      "(%{customdata[1]:,} images)<br>right %{y:.2%}<extra></extra>",
  }];
  const rule = options.rule;
  if (rule !== undefined) {
    const point = coverageAt({ ...options.test, threshold: rule.threshold });
    data.push({
      type: "scatter",
      mode: "markers+text",
      name: `not sure below ${rule.threshold.toFixed(4)} (chosen on validation)`,
      x: [point.coverage],
      y: [point.accuracy],
      text: [`not sure below ${rule.threshold.toFixed(3)}`],
      textposition: "bottom left",
      marker: { color: "#d62728", size: 11 },
      hovertemplate: `chosen on the validation images for ${percent(rule.targetAccuracy)} ` +
        `right<br>on the test images: answers %{x:.2%}, right %{y:.2%}<extra></extra>`,
    });
  }
  const lowest = Math.min(...curve.map((p) => p.accuracy));
  return {
    data,
    layout: {
      title: { text: "Accuracy against coverage: answering only when sure enough" },
      width: 700,
      height: 480,
      margin: { l: 70, r: 20, t: 60, b: 110 },
      xaxis: {
        title: { text: "coverage: share of test images answered" },
        tickformat: ".0%",
        autorange: "reversed",
      },
      yaxis: {
        title: { text: "share of the answers right" },
        tickformat: ".1%",
        range: [Math.max(0, lowest - (1 - lowest) * 0.15), 1 + (1 - lowest) * 0.05],
      },
      legend: { orientation: "h", x: 0, y: -0.2, yanchor: "top" },
    },
  };
}

/** One group of images for {@linkcode confidenceHistogramFigure}. */
export interface ConfidenceGroup {
  /** Its legend entry, e.g. "MNIST test digits". */
  name: string;
  /** The model's class probabilities for the group's images, `count` x classes, row-major. */
  probabilities: Float32Array;
  /** Its bars' colour. */
  color?: string;
}

/**
 * Histograms of the model's confidence on groups of images, as shares of each group so that
 * groups of different sizes compare, in 20 bins over [0, 1]; a dashed line marks the "not sure"
 * threshold when given, and each group's legend entry says which share of it the model answers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { confidenceHistogramFigure } from "./calibration_figures.ts";
 * const figure = confidenceHistogramFigure({
 *   groups: [{ name: "digits", probabilities: Float32Array.of(0.99, 0.01, 0.02, 0.98) },
 *     { name: "clothes", probabilities: Float32Array.of(0.99, 0.01, 0.4, 0.6) }],
 *   classes: 2,
 *   notSureBelow: 0.9,
 * });
 * assert.deepEqual((figure.data[1] as { y: number[] }).y.filter((y) => y > 0), [50, 50]);
 * ```
 */
export function confidenceHistogramFigure(
  options: {
    groups: readonly ConfidenceGroup[];
    /** Classes per row of probabilities. */
    classes: number;
    notSureBelow?: number;
    title?: string;
  },
): Figure {
  const threshold = options.notSureBelow;
  const data = options.groups.map((group, g) =>
    confidenceBars(group, { classes: options.classes, threshold, index: g })
  );
  return {
    data,
    layout: {
      title: { text: options.title ?? "How sure the model is, on digits and on other images" },
      width: 760,
      height: 470,
      margin: { l: 70, r: 20, t: 80, b: 110 },
      barmode: "overlay",
      bargap: 0,
      xaxis: { title: { text: "confidence (the answer's probability)" }, range: [0, 1] },
      yaxis: { title: { text: "share of the group's images (%)" } },
      legend: { orientation: "h", x: 0, y: -0.2, yanchor: "top" },
      shapes: threshold === undefined ? [] : [{
        type: "line",
        x0: threshold,
        x1: threshold,
        y0: 0,
        y1: 1,
        yref: "paper",
        line: { color: "#d62728", dash: "dash" },
      }],
      annotations: threshold === undefined ? [] : [{
        x: threshold,
        y: 1,
        yref: "paper",
        yanchor: "bottom",
        text: `not sure below ${threshold.toFixed(3)}`,
        showarrow: false,
        font: { color: "#d62728" },
      }],
    },
  };
}

/** One group's histogram bars: shares of its images in 20 confidence bins. */
function confidenceBars(
  group: ConfidenceGroup,
  options: { classes: number; threshold?: number; index: number },
): Record<string, unknown> {
  const bins = 20;
  const colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd"];
  const { confidence } = confidences(group.probabilities, options.classes);
  const counts = new Array<number>(bins).fill(0);
  for (const c of confidence) counts[Math.min(bins - 1, Math.floor(c * bins))]++;
  const total = Math.max(1, confidence.length);
  const threshold = options.threshold;
  const answered = threshold === undefined
    ? ""
    : `, ${percent(confidence.filter((c) => c >= threshold).length / total, 0)} answered`;
  const range = (b: number) => `${(b / bins).toFixed(2)}–${((b + 1) / bins).toFixed(2)}`;
  return {
    type: "bar",
    name: `${group.name} (${confidence.length.toLocaleString("en-US")}${answered})`,
    x: counts.map((_, b) => (b + 0.5) / bins),
    y: counts.map((n) => (100 * n) / total),
    width: 1 / bins,
    opacity: 0.6,
    marker: { color: group.color ?? colors[options.index % colors.length] },
    customdata: counts.map((n, b) => [n, range(b)]),
    hovertemplate: `${group.name}<br>confidence %{customdata[1]}: %{y:.1f}% ` +
      "(%{customdata[0]:,} images)<extra></extra>",
  };
}
