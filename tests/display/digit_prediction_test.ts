import assert from "node:assert/strict";
import { digitPredictionBundle } from "../../lib/display/digit_prediction.ts";
import { decodeImage } from "../../lib/data/image_file.ts";
import { rankClasses } from "../../lib/models/predict_digit.ts";

const pixels = Float32Array.from({ length: 784 }, (_, i) => (i % 28 === 14 ? 1 : 0));
const probabilities = Float32Array.from([
  0.02,
  0.9,
  0.01,
  0.01,
  0.01,
  0.01,
  0.01,
  0.01,
  0.01,
  0.01,
]);
const prediction = {
  digit: { pixels, inverted: true, box: { x: 0, y: 0, width: 1, height: 20 } },
  probabilities,
  ranking: rankClasses(probabilities, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]),
};

function images(html: string) {
  return [...html.matchAll(/src="data:image\/png;base64,([^"]+)"/g)]
    .map((m) => decodeImage(Uint8Array.from(atob(m[1]), (c) => c.charCodeAt(0)), "inline"));
}

Deno.test("digitPredictionBundle() shows the 28x28 the model saw beside a bar per class", () => {
  const bundle = digitPredictionBundle(prediction, { source: "one<.png" });
  const html = String(bundle["text/html"]);
  assert.equal(bundle["text/plain"], "one<.png: 1   (1 90.00%, 0 2.00%, 2 1.00%)");
  const [seen] = images(html);
  assert.deepEqual([seen.width, seen.height], [28, 28]);
  const column = Array.from({ length: 784 }, (_, i) => seen.data[4 * i]);
  assert.deepEqual(column, Array.from(pixels, (v) => 255 * v));
  assert.deepEqual([...html.matchAll(/width:([\d.]+)%/g)].map((m) => m[1]), [
    "2.0",
    "90.0",
    "1.0",
    "1.0",
    "1.0",
    "1.0",
    "1.0",
    "1.0",
    "1.0",
    "1.0",
  ]);
  assert.match(html, /<b style="font-size:44px">1<\/b><br>90\.0% sure/);
  assert.ok(
    !html.includes("one<.png") && html.includes('<code style="font-size:12px">one&lt;.png</code>'),
  );
});

Deno.test("digitPredictionBundle() shows the original image first when given", () => {
  const image = {
    width: 3,
    height: 2,
    channels: 1 as const,
    data: new Uint8Array([0, 50, 100, 150, 200, 250]),
  };
  const html = String(digitPredictionBundle(prediction, { source: "s.png", image })["text/html"]);
  const [original, seen] = images(html);
  assert.deepEqual([original.width, original.height, original.data[4 * 5]], [3, 2, 250]);
  assert.equal(seen.width, 28);
});

Deno.test("digitPredictionBundle() says no digit found, with no guess", () => {
  const bundle = digitPredictionBundle(undefined, { source: "blank.png" });
  assert.equal(bundle["text/plain"], "no digit found in blank.png");
  assert.doesNotMatch(String(bundle["text/html"]), /%|<img/);
});
