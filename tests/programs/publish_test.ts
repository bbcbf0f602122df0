// programs/publish.ts: what makes a run "not default", the README's pictures, and its flags.
import assert from "node:assert/strict";
import type { Notebook } from "../../jupyter/rendered_copy.ts";
import { main, parametersSet, README_IMAGES, writeReadmeImages } from "../../programs/publish.ts";

Deno.test("parametersSet() lists the notebook parameters set, not the thread count or others", () => {
  assert.deepEqual(parametersSet({ HOME: "/root", DATA_MIRROR: "/data", WASM_THREADS: "1" }), {});
  assert.deepEqual(parametersSet({ EPOCHS: "1", TRAIN_SAMPLES: "2000", PATH: "/bin" }), {
    EPOCHS: "1",
    TRAIN_SAMPLES: "2000",
  });
});

function copyWithFigures(markers: readonly string[]): Notebook {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {},
    cells: markers.map((marker, i) => ({
      cell_type: "code",
      source: `await showPlot(${marker}x));`,
      metadata: {},
      outputs: [
        { output_type: "stream", name: "stdout", text: "first a line\n" },
        { output_type: "display_data", metadata: {}, data: { "image/png": btoa(`png ${i}`) } },
      ],
    })),
  };
}

Deno.test("writeReadmeImages() saves the picture of each marked cell to images/", async () => {
  const root = await Deno.makeTempDir();
  try {
    const markers = README_IMAGES.map((image) => image.marker);
    const written = await writeReadmeImages(copyWithFigures(markers), root);
    assert.deepEqual(written, README_IMAGES.map((image) => image.file));
    for (const [i, file] of written.entries()) {
      assert.equal(await Deno.readTextFile(`${root}/${file}`), `png ${i}`);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("writeReadmeImages() names the cell it could not find", async () => {
  const root = await Deno.makeTempDir();
  try {
    await assert.rejects(
      writeReadmeImages(copyWithFigures(["confusionMatrixFigure("]), root),
      /No picture for images\/predictions.png: no cell calling predictionsFigure\( drew a figure/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("deno task publish rejects an unknown flag before running anything", async () => {
  const errors: string[] = [];
  const original = console.error;
  console.error = (text: string) => errors.push(text);
  try {
    assert.equal(await main(["--epochs", "1"]), 2);
  } finally {
    console.error = original;
  }
  assert.match(errors[0], /unknown argument --epochs 1/);
});
