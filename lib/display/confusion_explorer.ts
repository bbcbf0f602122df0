/**
 * The confusion matrix you can open: clicking a cell (true class i, answer j) shows the test
 * images behind it below the figure, the most confident first, each with its probability. The
 * page does it (a `plotly_click` handler), so it works in the live notebook and the exported HTML,
 * offline. The images travel once, as small PNGs: the mistakes (up to 12 per cell) and a sample
 * of each diagonal cell. For viewers without scripts, {@linkcode largestConfusionsFigure}
 * draws the images behind the largest off-diagonal cells as an ordinary figure.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { encodePng } from "../data/image_file.ts";
import { IMAGE_SIZE } from "../data/mnist.ts";
import { confidences } from "../training/calibration.ts";
import { confusionMatrixFigure, digitGridFigure, type Figure } from "./figures.ts";
import { escapeHtml, scriptJson } from "./jupyter.ts";
import { showPlot } from "./plotly.ts";

/** One test image behind a cell. */
export interface CellImage {
  /** Its index in the test set. */
  index: number;
  /** The probability of the answer (the cell's column). */
  probability: number;
  /** The probability of the true class (the cell's row). */
  trueProbability: number;
}

/** A cell of the confusion matrix and the images shown for it. */
export interface ConfusionCell {
  /** The true class (row) and the answer (column). */
  actual: number;
  predicted: number;
  /** How many test images fall in the cell. */
  count: number;
  /** At most `perCell` of them, the most confident first (see {@linkcode confusionCells}). */
  shown: CellImage[];
}

/**
 * Images shown per cell by default: one row. With 10 classes the page carries at most 1,200 of
 * them (about 0.6 MB) whatever the model; a good MNIST model needs about 220.
 */
export const IMAGES_PER_CELL = 12;

/**
 * Every cell of the confusion matrix (`cells[actual][predicted]`) with the images to show for it:
 * all of them, most confident first, when there are at most `perCell`; else `perCell` of them
 * spread evenly over the cell's confidence ranking, from the most to the least confident (so a
 * diagonal cell of a thousand shows its surest and its most hesitant right answers).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { confusionCells } from "./confusion_explorer.ts";
 * const probabilities = Float32Array.of(0.9, 0.1, 0.3, 0.7, 0.4, 0.6);
 * const cells = confusionCells({ probabilities, labels: [0, 0, 0] });
 * assert.equal(cells[0][1].count, 2);
 * assert.deepEqual(cells[0][1].shown.map((image) => image.index), [1, 2], "surest first");
 * ```
 */
export function confusionCells(options: {
  probabilities: Float32Array;
  labels: ArrayLike<number>;
  perCell?: number;
}): ConfusionCell[][] {
  const { probabilities, labels } = options;
  const perCell = options.perCell ?? IMAGES_PER_CELL;
  if (!Number.isInteger(perCell) || perCell < 1) {
    throw new RangeError(`Images per cell must be a positive integer, got ${perCell}.`);
  }
  const classes = labels.length === 0 ? 0 : probabilities.length / labels.length;
  const { predicted, confidence } = confidences(probabilities, Math.max(1, classes));
  const members: CellImage[][][] = Array.from(
    { length: classes },
    () => Array.from({ length: classes }, () => []),
  );
  for (let index = 0; index < labels.length; index++) {
    const actual = labels[index];
    if (!(actual >= 0 && actual < classes)) {
      throw new RangeError(`Label ${actual} of test image ${index} is outside 0..${classes - 1}.`);
    }
    members[actual][predicted[index]].push({
      index,
      probability: confidence[index],
      trueProbability: probabilities[index * classes + actual],
    });
  }
  return members.map((row, actual) =>
    row.map((images, answer) => {
      images.sort((a, b) => b.probability - a.probability || a.index - b.index);
      return { actual, predicted: answer, count: images.length, shown: spread(images, perCell) };
    })
  );
}

/** `limit` items spread evenly over `items`, the first and the last included. */
function spread<T>(items: readonly T[], limit: number): T[] {
  if (items.length <= limit) return [...items];
  if (limit === 1) return [items[0]];
  return Array.from(
    { length: limit },
    (_, k) => items[Math.round((k * (items.length - 1)) / (limit - 1))],
  );
}

/**
 * The off-diagonal cells (mistakes) with the most images, largest first (ties: by true class,
 * then answer); empty cells are left out.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { confusionCells, largestConfusions } from "./confusion_explorer.ts";
 * const probabilities = Float32Array.of(0.9, 0.1, 0.3, 0.7, 0.2, 0.8);
 * const [largest] = largestConfusions(confusionCells({ probabilities, labels: [0, 0, 1] }), 3);
 * assert.deepEqual([largest.actual, largest.predicted, largest.count], [0, 1, 1]);
 * ```
 */
export function largestConfusions(cells: ConfusionCell[][], count: number): ConfusionCell[] {
  return cells.flat()
    .filter((cell) => cell.actual !== cell.predicted && cell.count > 0)
    .sort((a, b) => b.count - a.count || a.actual - b.actual || a.predicted - b.predicted)
    .slice(0, count);
}

/** Options of {@linkcode confusionExplorerHtml} and {@linkcode showConfusionExplorer}. */
export interface ConfusionExplorerOptions {
  /** The cells, from {@linkcode confusionCells}. */
  cells: ConfusionCell[][];
  /** The test images, 28x28 bytes each, in the order the cells' indices count. */
  images: Uint8Array;
  /** A name per class. */
  classNames: readonly string[];
}

const percent = (p: number) => `${(100 * p).toFixed(1)}%`;

/** What the panel says above a cell's images. */
function cellHeading(cell: ConfusionCell, names: readonly string[]): string {
  const which = `True ${names[cell.actual]}, answered ${names[cell.predicted]}` +
    (cell.actual === cell.predicted ? " (right)" : "");
  const many = (n: number) => `${n.toLocaleString("en-US")} test image${n === 1 ? "" : "s"}`;
  if (cell.count === 0) return `${which}: no test image.`;
  if (cell.shown.length === cell.count) {
    return `${which}: ${many(cell.count)}, most confident first.`;
  }
  return `${which}: ${many(cell.count)}; ${cell.shown.length} of them, spread from the most ` +
    `to the least confident.`;
}

/** One image of a cell as a PNG tile (dark ink on white, as the other figures), captioned. */
function imageTile(
  image: CellImage,
  cell: ConfusionCell,
  options: ConfusionExplorerOptions,
): string {
  const pixels = options.images.subarray(image.index * IMAGE_SIZE, (image.index + 1) * IMAGE_SIZE);
  const png = encodePng({ width: 28, height: 28, channels: 1, data: pixels.map((v) => 255 - v) });
  const names = options.classNames;
  const title =
    `test image ${image.index}: ${names[cell.predicted]} at ${percent(image.probability)}` +
    (cell.actual === cell.predicted
      ? ""
      : `, ${names[cell.actual]} at ${percent(image.trueProbability)}`);
  return `<div class="confusion-explorer-image" data-index="${image.index}" title="${
    escapeHtml(title)
  }"><img alt="" src="data:image/png;base64,${Buffer.from(png).toString("base64")}">${
    percent(image.probability)
  }</div>`;
}

/**
 * The panel's styles, scoped to its id and set in full, so that the host page's stylesheet (the
 * classic Notebook's Bootstrap and its `.rendered_html img` rules) moves or resizes nothing: an id
 * selector outranks theirs.
 */
function panelStyle(id: string): string {
  const panel = `#${id}-cells`;
  return `<style>${panel} { margin: 4px 0 0 0; padding: 0; font: 13px/18px sans-serif; color: #222 }
${panel} .confusion-explorer-image { display: inline-block; width: 64px; margin: 0 4px 6px 0;
  padding: 0; text-align: center; vertical-align: top; font: 11px/14px sans-serif; color: #222 }
${panel} .confusion-explorer-image img { display: block; width: 56px; height: 56px;
  max-width: none; margin: 0 auto; padding: 0; border: 1px solid #ccc; vertical-align: top;
  image-rendering: pixelated }</style>`;
}

/** The page's code: show a cell's images on a click, and outline the cell. */
const PANEL_SCRIPT = `(function (id) {
  var panel = document.getElementById(id + "-cells");
  var data = JSON.parse(document.getElementById(id + "-cells-data").textContent);
  function show(i, j) {
    var cell = data.cells[i][j];
    panel.querySelector("[data-part=heading]").textContent = cell.heading;
    panel.querySelector("[data-part=images]").innerHTML = cell.html;
    panel.setAttribute("data-cell", i + "," + j);
    var el = document.getElementById(id);
    if (window.Plotly && el) window.Plotly.relayout(el, { shapes: [{ type: "rect", xref: "x",
      yref: "y", x0: j - 0.5, x1: j + 0.5, y0: i - 0.5, y1: i + 0.5,
      line: { color: "#d62728", width: 3 } }] });
  }
  function attach() {
    var el = document.getElementById(id);
    if (!el || typeof el.on !== "function") return false;
    el.on("plotly_click", function (event) {
      var point = event.points[0];
      var i = data.classNames.indexOf(String(point.y));
      var j = data.classNames.indexOf(String(point.x));
      if (i >= 0 && j >= 0) show(i, j);
    });
    panel.setAttribute("data-ready", "true");
    return true;
  }
  if (attach()) return;
  var tries = 0;
  var timer = setInterval(function () { if (attach() || ++tries > 600) clearInterval(timer); }, 100);
})`;

/**
 * The HTML that follows the confusion matrix's figure (whose element id is `id`): the panel, the
 * cells' headings and image tiles as JSON, and the click handler.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { confusionCells, confusionExplorerHtml } from "./confusion_explorer.ts";
 * const cells = confusionCells({ probabilities: Float32Array.of(0.2, 0.8), labels: [0] });
 * const html = confusionExplorerHtml("fig", { cells, images: new Uint8Array(784), classNames: ["a", "b"] });
 * assert.match(html, /id="fig-cells"/);
 * assert.match(html, /True a, answered b: 1 test image, most confident first/);
 * ```
 */
export function confusionExplorerHtml(id: string, options: ConfusionExplorerOptions): string {
  const names = options.classNames;
  if (names.length !== options.cells.length) {
    throw new RangeError(
      `The confusion matrix has ${options.cells.length} classes but ${names.length} names ` +
        "were given.",
    );
  }
  const cells = options.cells.map((row) =>
    row.map((cell) => ({
      heading: cellHeading(cell, names),
      html: cell.shown.map((image) => imageTile(image, cell, options)).join(""),
    }))
  );
  if (!/^[\w-]+$/.test(id)) throw new RangeError(`A figure id is letters, digits, - and _: ${id}`);
  return `${panelStyle(id)}\n<div id="${id}-cells" class="confusion-explorer" data-cell="">` +
    `<div data-part="heading" style="margin:0 0 6px 0">Click a cell of the matrix to see ` +
    `the test images behind it.</div><div data-part="images"></div>` +
    `</div>\n<script type="application/json" id="${id}-cells-data">${
      scriptJson({ classNames: names, cells })
    }</script>\n<script type="text/javascript">${PANEL_SCRIPT}(${scriptJson(id)});</script>`;
}

/**
 * Shows the confusion matrix (the same figure as `confusionMatrixFigure`) with the panel below it
 * that opens a cell on a click. Outside Jupyter it prints the figure's one-line description.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { confusionCells, showConfusionExplorer } from "./confusion_explorer.ts";
 * const cells = confusionCells({ probabilities: Float32Array.of(0.2, 0.8), labels: [0] });
 * const printed: string[] = [];
 * const log = console.log;
 * console.log = (text: string) => printed.push(text);
 * await showConfusionExplorer({ cells, images: new Uint8Array(784), classNames: ["a", "b"] })
 *   .finally(() => console.log = log);
 * assert.deepEqual(printed, ["[Plotly figure: untitled, 1 trace(s)]"], "outside Jupyter: a line");
 * ```
 */
export async function showConfusionExplorer(options: ConfusionExplorerOptions): Promise<void> {
  const matrix = options.cells.map((row) => row.map((cell) => cell.count));
  await showPlot(confusionMatrixFigure(matrix, options.classNames), {
    after: (id) => confusionExplorerHtml(id, options),
  });
}

/**
 * The images behind the `count` largest off-diagonal cells, one row per cell (up to `columns`
 * images, the most confident first), each captioned with the answer, its probability and the
 * truth: the picture of the open matrix for viewers that run no scripts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { confusionCells, largestConfusionsFigure } from "./confusion_explorer.ts";
 * const cells = confusionCells({ probabilities: Float32Array.of(0.2, 0.8), labels: [0] });
 * const figure = largestConfusionsFigure({ cells, images: new Uint8Array(784), classNames: ["a", "b"] });
 * assert.match(JSON.stringify(figure.layout.title), /a row each: a read as b \(1\)/);
 * ```
 */
export function largestConfusionsFigure(
  options: ConfusionExplorerOptions & { count?: number; columns?: number },
): Figure {
  const names = options.classNames;
  const columns = options.columns ?? 10;
  const largest = largestConfusions(options.cells, options.count ?? 3);
  const images = new Uint8Array((largest.length * columns + 1) * IMAGE_SIZE); // the last: blank
  const blank = largest.length * columns;
  const indices: number[] = [];
  const captions: string[] = [];
  largest.forEach((cell, row) => {
    for (let k = 0; k < columns; k++) {
      const image = cell.shown[k];
      if (image === undefined) {
        indices.push(blank);
        captions.push("");
        continue;
      }
      const slot = row * columns + k;
      images.set(
        options.images.subarray(image.index * IMAGE_SIZE, (image.index + 1) * IMAGE_SIZE),
        slot * IMAGE_SIZE,
      );
      indices.push(slot);
      captions.push(
        `${names[cell.predicted]} (${Math.round(image.probability * 100)}%)` +
          `<br><span style="color:#888">true ${names[cell.actual]}</span>`,
      );
    }
  });
  const list = largest.map((c) => `${names[c.actual]} read as ${names[c.predicted]} (${c.count})`);
  return digitGridFigure({
    images,
    indices,
    captions,
    flagged: captions.map(() => true),
    columns,
    title: largest.length === 0
      ? "No mistakes on the test images"
      : `The largest mistakes, a row each: ${list.join(", ")}`,
  });
}
