/**
 * The mutations of the mutation pass (`run.ts`): each one a small, realistic bug in one module,
 * written as the exact snippet it replaces, so that the pass can be repeated and a snippet that
 * no longer exists is reported instead of silently skipped.
 *
 * @module
 */

/** One deliberate bug. */
export interface Mutation {
  /** A short name, unique: `<module>-<what breaks>`. */
  id: string;
  /** The file to change, relative to the repository root. */
  file: string;
  /** The exact text to replace; it must occur exactly once in the file. */
  original: string;
  /** What to put instead. */
  mutant: string;
  /** The behaviour a user relies on that this breaks. */
  breaks: string;
  /** Test files to run; default: {@linkcode TESTS}[file]. */
  tests?: readonly string[];
  /**
   * Why no test can tell this mutant from the original (an equivalent mutant): it is still run,
   * and its survival is expected instead of a failure.
   */
  equivalent?: string;
}

/** The test files that cover each module: only these run for its mutations, to keep it fast. */
export const TESTS: Readonly<Record<string, readonly string[]>> = {
  "lib/files.ts": ["tests/files_test.ts", "tests/data/mnist_test.ts"],
  "lib/random.ts": ["tests/random_test.ts"],
  "lib/parameters.ts": ["tests/parameters_test.ts", "tests/programs/train_test.ts"],
  "lib/command_line.ts": ["tests/command_line_test.ts", "tests/programs/train_test.ts"],
  "lib/misspelt_variables.ts": ["tests/misspelt_variables_test.ts"],
  "lib/training/run_parameters.ts": ["tests/parameters_test.ts"],
  "lib/data/idx.ts": ["tests/data/idx_test.ts", "tests/data/mnist_test.ts"],
  "lib/data/mnist.ts": ["tests/data/mnist_test.ts"],
  "lib/data/preprocess.ts": ["tests/data/preprocess_test.ts"],
  "lib/data/augment.ts": ["tests/data/augment_test.ts"],
  "lib/engine/kernels/kernels.ts": [
    "tests/engine/kernels_test.ts",
    "tests/engine/conv_options_test.ts",
  ],
  "lib/engine/kernels/fallbacks.ts": [
    "tests/engine/kernels_test.ts",
    "tests/engine/conv_options_test.ts",
  ],
  "lib/engine/backend.ts": ["tests/engine/backend_test.ts"],
  "lib/engine/kernels/batch_norm_grad.ts": ["tests/models/variants_test.ts"],
  "lib/models/model.ts": ["tests/models/model_test.ts"],
  "lib/models/variants.ts": ["tests/models/variants_test.ts"],
  "lib/models/model_files.ts": ["tests/models/model_files_test.ts"],
  "lib/training/train.ts": ["tests/training/train_test.ts"],
  "lib/training/batch_norm_statistics.ts": ["tests/training/batch_norm_test.ts"],
  "lib/deno_version.ts": ["tests/jupyter/kernel_launcher_test.ts"],
  "jupyter/kernels/deno/start.sh": ["tests/jupyter/kernel_launcher_test.ts"],
  "jupyter/check_notebook.ts": ["tests/jupyter/notebook_test.ts"],
  "lib/engine/adam.ts": ["tests/engine/adam_test.ts"],
  "lib/engine/flat_optimizer.ts": ["tests/engine/flat_optimizer_test.ts"],
  "lib/engine/optimizer_state.ts": [
    "tests/engine/flat_optimizer_test.ts",
    "tests/engine/adam_test.ts",
  ],
  "lib/engine/data_parallel.ts": [
    "tests/engine/data_parallel_test.ts",
    "tests/engine/replica_models_test.ts",
  ],
  "lib/engine/replica_worker.ts": [
    "tests/engine/data_parallel_test.ts",
    "tests/engine/replica_models_test.ts",
    "tests/training/train_test.ts",
  ],
  "lib/engine/kernels/single_channel_conv.ts": ["tests/engine/single_channel_conv_test.ts"],
  "lib/engine/errors.ts": ["tests/training/engine_errors_test.ts"],
  "lib/training/engine_errors.ts": ["tests/training/engine_errors_test.ts"],
  "lib/training/evaluate.ts": ["tests/training/train_test.ts"],
  "lib/training/metrics.ts": ["tests/training/metrics_test.ts"],
  "lib/training/experiment.ts": ["tests/training/experiment_test.ts"],
  "lib/training/run_metrics.ts": ["tests/training/run_metrics_test.ts"],
  "lib/training/compare.ts": ["tests/training/compare_test.ts"],
  "lib/training/experiment_summary.ts": ["tests/training/experiment_summary_test.ts"],
  "lib/display/figures.ts": ["tests/display/figures_test.ts"],
  "lib/display/jupyter.ts": ["tests/display/jupyter_test.ts"],
  "lib/display/plotly.ts": ["tests/display/plotly_test.ts"],
  "lib/display/progress.ts": ["tests/display/progress_test.ts"],
  "lib/display/tables.ts": ["tests/display/tables_test.ts"],
  "programs/train.ts": ["tests/programs/train_test.ts"],
  "programs/check_doc_examples.ts": ["tests/programs/check_doc_examples_test.ts"],
  "programs/bench.ts": ["tests/programs/bench_test.ts"],
  "programs/predict.ts": ["tests/programs/predict_test.ts"],
  "lib/models/inspect.ts": ["tests/models/inspect_test.ts"],
  "lib/data/digit_image.ts": ["tests/data/digit_image_test.ts"],
  "lib/data/image_file.ts": ["tests/data/image_file_test.ts"],
  "lib/models/predict_digit.ts": ["tests/models/predict_digit_test.ts"],
  "lib/display/digit_prediction.ts": ["tests/display/digit_prediction_test.ts"],
  "lib/display/drawing_pad.ts": ["tests/display/drawing_pad_test.ts"],
  "programs/experiments.ts": ["tests/programs/experiments_test.ts"],
  "lib/training/calibration.ts": ["tests/training/calibration_test.ts"],
  "lib/display/calibration_figures.ts": ["tests/display/calibration_figures_test.ts"],
  "lib/display/confusion_explorer.ts": ["tests/display/confusion_explorer_test.ts"],
};

/** The test files a mutation runs. */
export function testsFor(mutation: Mutation): readonly string[] {
  const tests = mutation.tests ?? TESTS[mutation.file];
  if (!tests) {
    throw new Error(
      `No tests are mapped to ${mutation.file}: add it to TESTS in tests/mutation/mutations.ts.`,
    );
  }
  return tests;
}

/** Every mutation, module by module. */
export const MUTATIONS: readonly Mutation[] = [
  // lib/files.ts
  {
    id: "files-direct-write",
    file: "lib/files.ts",
    original:
      "    await Deno.writeFile(temporary, bytes);\n    await Deno.rename(temporary, path);",
    mutant: "    await Deno.writeFile(path, bytes);",
    breaks: "atomic write replaced by a direct write to the target",
  },
  {
    id: "files-temporary-left",
    file: "lib/files.ts",
    original: "    await Deno.remove(temporary).catch(() => {});",
    mutant: "",
    breaks: "a failed write leaves its temporary file behind",
  },
  {
    id: "files-no-parent-folder",
    file: "lib/files.ts",
    original: "  await Deno.mkdir(dirname(path), { recursive: true });\n  const temporary",
    mutant: "  const temporary",
    breaks: "writing into a folder that does not exist yet fails",
  },
  {
    id: "files-json-not-indented",
    file: "lib/files.ts",
    original: 'JSON.stringify(value, null, 2) + "\\n"',
    mutant: "JSON.stringify(value)",
    breaks: "metrics.json written on one line, without its final newline",
  },
  {
    id: "files-writable-check-skipped",
    file: "lib/files.ts",
    original: "    await Deno.writeFile(probe, new Uint8Array());\n    await Deno.remove(probe);",
    mutant: "",
    breaks: "an existing but read-only output folder is accepted (the run fails only at the end)",
  },
  // lib/random.ts
  {
    id: "random-unseeded-shuffle",
    file: "lib/random.ts",
    original: "  const random = createRandom(seed);\n  const order",
    mutant: "  const random = Math.random;\n  const order",
    breaks: "unseeded shuffles: the same seed gives another order",
  },
  {
    id: "random-seed-ignored",
    file: "lib/random.ts",
    original: "let state = checkSeed(seed) >>> 0;",
    mutant: "checkSeed(seed);\n  let state = 0;",
    breaks: "every seed gives the same sequence",
  },
  {
    id: "random-biased-shuffle",
    file: "lib/random.ts",
    original: "const j = Math.floor(random() * (i + 1));",
    mutant: "const j = Math.floor(random() * i);",
    breaks: "a biased shuffle (Sattolo's: no image ever keeps its place)",
  },
  {
    id: "random-negative-seed",
    file: "lib/random.ts",
    original: "!Number.isSafeInteger(seed) || seed < 0",
    mutant: "!Number.isSafeInteger(seed) || seed < -1",
    breaks: "a negative seed is accepted",
  },
  // lib/parameters.ts
  {
    id: "parameters-precedence-reversed",
    file: "lib/parameters.ts",
    original: "    const value = explicit !== undefined\n" +
      "      ? checkExplicit(table, name, explicit)\n" +
      '      : text !== undefined && text !== ""\n' +
      '      ? parseFrom(table, name, text, `${table.rows[name].env}="${text}"`)\n',
    mutant: '    const value = text !== undefined && text !== ""\n' +
      '      ? parseFrom(table, name, text, `${table.rows[name].env}="${text}"`)\n' +
      "      : explicit !== undefined\n" +
      "      ? checkExplicit(table, name, explicit)\n",
    breaks: "parameter precedence reversed: the variable beats the flag",
  },
  {
    id: "parameters-dataset-inherited-key",
    file: "lib/parameters.ts",
    tests: ["tests/parameters_test.ts"],
    original: "if (!Object.hasOwn(catalogue.datasets, text)) {",
    mutant: "if (!(text in catalogue.datasets)) {",
    breaks: "DATASET=constructor is taken for a dataset (an inherited key of the catalogue)",
  },
  {
    id: "parameters-threads-beyond-cores",
    file: "lib/parameters.ts",
    tests: ["tests/parameters_test.ts"],
    original: "parse: (text) => parseWholeNumber(text, { min: 1, max: catalogue.cores }),",
    mutant: "parse: (text) => parseWholeNumber(text, { min: 1, max: catalogue.cores + 1 }),",
    breaks: "more threads than the catalogue's cores are accepted",
  },
  {
    id: "parameters-other-variables-forgotten",
    file: "lib/parameters.ts",
    tests: ["tests/misspelt_variables_test.ts", "tests/parameters_test.ts"],
    original: "    ...catalogue.otherVariables ?? [],\n",
    mutant: "",
    breaks: "a near miss of DATA_MIRROR (DATA_MIRORR) gets no warning",
  },
  {
    id: "parameters-first-dataset-not-default",
    file: "lib/parameters.ts",
    tests: ["tests/parameters_test.ts"],
    original: "    defaultValue: () => datasets[0],",
    mutant: "    defaultValue: () => datasets[datasets.length - 1],",
    breaks: "the default dataset is not the catalogue's first (mnist)",
  },
  {
    id: "parameters-misspelt-warning-dropped",
    file: "lib/command_line.ts",
    original: "    warnings: misspeltVariables(table.variables, env),",
    mutant: "    warnings: [],",
    breaks: "a misspelt variable (EPOCH=3) is ignored without a warning",
  },
  {
    id: "parameters-near-miss-not-seen",
    file: "lib/misspelt_variables.ts",
    original: "editDistance(a, b) <= 1",
    mutant: "editDistance(a, b) < 1",
    breaks: "only exact names are matched: EPOCH=3 gets no warning",
  },
  {
    id: "parameters-epochs-not-variants",
    file: "lib/parameters.ts",
    original: "defaultValue: (values) => training(values).epochs,",
    mutant: "defaultValue: () => training({}).epochs,",
    breaks: "the default epochs ignore the variant (tuned trains 5, not 15)",
  },
  {
    id: "parameters-split-of-1-accepted",
    file: "lib/parameters.ts",
    original: "value < 0 || value >= 1",
    mutant: "value < 0 || value > 1",
    breaks: "VALIDATION_SPLIT=1 accepted (nothing left to train on)",
  },
  {
    id: "parameters-whole-number-min-off-by-one",
    file: "lib/parameters.ts",
    original: "!Number.isSafeInteger(value) || value < min ||",
    mutant: "!Number.isSafeInteger(value) || value < min - 1 ||",
    breaks: "EPOCHS=0 and BATCH_SIZE=0 accepted",
  },
  {
    id: "parameters-default-seed",
    file: "lib/parameters.ts",
    original: "    defaultValue: () => 42,",
    mutant: "    defaultValue: () => 0,",
    breaks: "the default seed is not the documented 42",
  },
  {
    id: "parameters-combination-unchecked",
    file: "lib/parameters.ts",
    original: "if (training < 1) {",
    mutant: "if (training < 0) {",
    breaks: "a split that leaves no training image is accepted",
  },
  {
    id: "parameters-program-default-beats-variable",
    file: "lib/parameters.ts",
    original: '      : text !== undefined && text !== ""\n' +
      '      ? parseFrom(table, name, text, `${table.rows[name].env}="${text}"`)\n' +
      "      : name in (options.defaults ?? {})\n" +
      "      ? options.defaults?.[name]\n",
    mutant: "      : name in (options.defaults ?? {})\n" +
      "      ? options.defaults?.[name]\n" +
      '      : text !== undefined && text !== ""\n' +
      '      ? parseFrom(table, name, text, `${table.rows[name].env}="${text}"`)\n',
    breaks: "a program's own default (bench's 12,800 images) beats the user's variable",
  },
  // lib/data/idx.ts
  {
    id: "idx-magic-unchecked",
    file: "lib/data/idx.ts",
    original: "if (magic !== expectedMagic) {",
    mutant: "if (magic >>> 16 !== expectedMagic >>> 16) {",
    breaks: "a labels file is read as images (only the magic's zero bytes are checked)",
  },
  {
    id: "idx-trailing-bytes-accepted",
    file: "lib/data/idx.ts",
    original: "if (actual !== expected) {",
    mutant: "if (actual < expected) {",
    breaks: "a file longer than its header says is accepted",
  },
  {
    id: "idx-label-10-accepted",
    file: "lib/data/idx.ts",
    original: "label >= options.classes",
    mutant: "label > options.classes",
    breaks: "a label of 10 is accepted",
  },
  {
    id: "idx-little-endian",
    file: "lib/data/idx.ts",
    original: "shape.push(view.getUint32(4 + 4 * i))",
    mutant: "shape.push(view.getUint32(4 + 4 * i, true))",
    breaks: "dimensions read little-endian",
  },
  // lib/data/mnist.ts
  {
    id: "mnist-source-checksum-skipped",
    file: "lib/data/mnist.ts",
    original: "    const actual = await sha256(bytes);\n    if (actual !== expected) {",
    mutant: "    const actual = expected;\n    if (actual !== expected) {",
    breaks: "checksum check skipped for a mirror or a download",
  },
  {
    id: "mnist-cache-checksum-skipped",
    file: "lib/data/mnist.ts",
    original: "if (actual === expected) return cached;",
    mutant: "return cached;",
    breaks: "a bad cached file is used",
  },
  {
    id: "mnist-bad-cache-kept",
    file: "lib/data/mnist.ts",
    original: "    await Deno.remove(cachePath).catch(() => {});",
    mutant: "",
    breaks: "a cached file that fails its check is not deleted",
  },
  {
    id: "mnist-not-cached",
    file: "lib/data/mnist.ts",
    original: "    await writeFileAtomically(cachePath, bytes);",
    mutant: "",
    breaks: "verified files are not copied to the cache",
  },
  {
    id: "mnist-count-mismatch-accepted",
    file: "lib/data/mnist.ts",
    original: "if (count !== labels.length) {",
    mutant: "if (count < labels.length) {",
    breaks: "more images than labels is accepted",
  },
  {
    id: "mnist-train-test-swapped",
    file: "lib/data/mnist.ts",
    original: '    train: pairSplit(trainImages, trainLabels, "train"),\n' +
      '    test: pairSplit(testImages, testLabels, "t10k"),',
    mutant: '    train: pairSplit(testImages, testLabels, "t10k"),\n' +
      '    test: pairSplit(trainImages, trainLabels, "train"),',
    breaks: "the training and test sets swapped",
  },
  {
    id: "mnist-data-mirror-ignored",
    file: "lib/data/mnist.ts",
    original: 'options.mirror === undefined ? Deno.env.get("DATA_MIRROR") : options.mirror',
    mutant: "options.mirror",
    breaks: "DATA_MIRROR is ignored",
  },
  {
    id: "mnist-error-omits-sources",
    file: "lib/data/mnist.ts",
    original: '      failures.map((line) => `  - ${line}`).join("\\n") +',
    mutant: '      "" +',
    breaks: "the error no longer names the sources tried and what went wrong",
  },
  // lib/data/preprocess.ts
  {
    id: "preprocess-divide-by-256",
    file: "lib/data/preprocess.ts",
    original: "out[i] = pixels[i] / 255;",
    mutant: "out[i] = pixels[i] / 256;",
    breaks: "/256 instead of /255: white is not 1",
  },
  {
    id: "preprocess-first-10-percent-held-out",
    file: "lib/data/preprocess.ts",
    original:
      "return { train: sliceSplit(split, 0, at), validation: sliceSplit(split, at, split.count) };",
    mutant: "return {\n    train: sliceSplit(split, split.count - at, split.count),\n" +
      "    validation: sliceSplit(split, 0, split.count - at),\n  };",
    breaks: "the first 10% held out instead of the last",
  },
  {
    id: "preprocess-split-rounds-up",
    file: "lib/data/preprocess.ts",
    original: "return Math.floor(count * (1 - fraction));",
    mutant: "return Math.ceil(count * (1 - fraction));",
    breaks: "the split point rounds up, unlike Keras (one image fewer held out)",
  },
  {
    id: "preprocess-labels-not-gathered",
    file: "lib/data/preprocess.ts",
    original: "labels[i] = split.labels[indices[i]];",
    mutant: "labels[i] = split.labels[i];",
    breaks: "shuffled images paired with unshuffled labels",
  },
  {
    id: "preprocess-take-last",
    file: "lib/data/preprocess.ts",
    original: "  return sliceSplit(split, 0, count);",
    mutant: "  return sliceSplit(split, split.count - count, split.count);",
    breaks: "TRAIN_SAMPLES keeps the last N images, not the first",
  },
  // lib/data/augment.ts
  {
    id: "augment-centre-half-pixel",
    file: "lib/data/augment.ts",
    original: "const CENTRE = (SIDE - 1) / 2;",
    mutant: "const CENTRE = SIDE / 2;",
    breaks: "rotation and zoom centre moved by half a pixel",
  },
  {
    id: "augment-rotation-becomes-shear",
    file: "lib/data/augment.ts",
    original: "const sy = -sin * dx + cos * dy + CENTRE;",
    mutant: "const sy = sin * dx + cos * dy + CENTRE;",
    breaks: "a sign flip turns the rotation into a shear",
  },
  {
    id: "augment-rotation-clockwise",
    file: "lib/data/augment.ts",
    original: "const sx = cos * dx + sin * dy + CENTRE;\n" +
      "      const sy = -sin * dx + cos * dy + CENTRE;",
    mutant: "const sx = cos * dx - sin * dy + CENTRE;\n" +
      "      const sy = sin * dx + cos * dy + CENTRE;",
    breaks: "rotation in the opposite direction to the documented one",
  },
  {
    id: "augment-zoom-inverted",
    file: "lib/data/augment.ts",
    original: "  const cos = Math.cos(radians) / warp.scale;\n" +
      "  const sin = Math.sin(radians) / warp.scale;",
    mutant: "  const cos = Math.cos(radians) * warp.scale;\n" +
      "  const sin = Math.sin(radians) * warp.scale;",
    breaks: "a scale above 1 shrinks the digit instead of enlarging it",
  },
  {
    id: "augment-shift-sign",
    file: "lib/data/augment.ts",
    original: "const dx = x - CENTRE - warp.shiftX;",
    mutant: "const dx = x - CENTRE + warp.shiftX;",
    breaks: "a shift to the right moves the digit left",
  },
  {
    id: "augment-degrees-as-radians",
    file: "lib/data/augment.ts",
    original: "const radians = (warp.degrees * Math.PI) / 180;",
    mutant: "const radians = warp.degrees;",
    breaks: "rotation angles taken as radians",
  },
  {
    id: "augment-nearest-not-bilinear",
    file: "lib/data/augment.ts",
    original: "const value = top * (1 - fy) + bottom * fy;",
    mutant: "const value = fy < 0.5 ? top : bottom;",
    breaks: "sub-pixel moves snap to whole rows",
  },
  {
    id: "augment-one-warp-per-batch",
    file: "lib/data/augment.ts",
    original:
      "    for (let i = 0; i < count; i++) {\n      const warp = randomWarp(random, ranges);",
    mutant: "    const warp = randomWarp(random, ranges);\n    for (let i = 0; i < count; i++) {",
    breaks: "every image of a batch gets the same warp",
  },
  {
    id: "augment-one-sided-draws",
    file: "lib/data/augment.ts",
    original: "(2 * random() - 1) * range",
    mutant: "random() * range",
    breaks: "rotations, shifts and zooms only ever go one way",
  },
  // lib/training/train.ts
  {
    id: "train-same-order-every-epoch",
    file: "lib/training/train.ts",
    original: ": epochOrder(train.count, { seed: context.seed, epoch });",
    mutant: ": epochOrder(train.count, { seed: context.seed, epoch: 0 });",
    breaks: "every epoch visits the images in the first epoch's order",
  },
  {
    id: "train-epoch-order-ignores-epoch",
    file: "lib/training/train.ts",
    original: "return shuffledIndices(count, options.seed * 1000 + options.epoch);",
    mutant: "return shuffledIndices(count, options.seed * 1000);",
    breaks: "epochOrder gives the same order for every epoch",
  },
  {
    id: "train-epoch-order-unseeded",
    file: "lib/training/train.ts",
    original: "return shuffledIndices(count, options.seed * 1000 + options.epoch);",
    mutant: "return shuffledIndices(count, Math.floor(Math.random() * 1e9));",
    breaks: "the batch order does not repeat for the same seed",
  },
  {
    id: "train-not-shuffled",
    file: "lib/training/train.ts",
    original: "const order = context.shuffle === false",
    mutant: "const order = context.shuffle !== null",
    breaks: "images visited in file order, never shuffled",
  },
  {
    id: "train-last-batch-dropped",
    file: "lib/training/train.ts",
    original: "const batches = Math.ceil(train.count / batchSize);",
    mutant: "const batches = Math.floor(train.count / batchSize);",
    breaks: "the last, smaller batch of every epoch is skipped",
  },
  {
    id: "train-loss-weighted-by-full-batch",
    file: "lib/training/train.ts",
    original: "lossSum += loss * indices.length;",
    mutant: "lossSum += loss * batchSize;",
    breaks: "the epoch loss weights the last, smaller batch as a full one",
  },
  {
    id: "train-augmentation-not-applied",
    file: "lib/training/train.ts",
    original: "    context.augment?.(pixels, indices.length, context.random);\n",
    mutant: "",
    breaks: "the augmented variants train on unaugmented images",
  },
  {
    id: "train-best-weights-not-restored",
    file: "lib/training/train.ts",
    original: "    run.stopper?.restoreBest(model, history.loss.length);\n",
    mutant: "",
    breaks: "early stopping keeps the last epoch's weights, not the best",
  },
  {
    id: "train-patience-off-by-one",
    file: "lib/training/train.ts",
    original: "logs.epoch - this.bestEpoch >= this.patience",
    mutant: "logs.epoch - this.bestEpoch > this.patience",
    breaks: "early stopping waits one epoch more than its patience",
  },
  {
    id: "train-weights-divergence-unchecked",
    file: "lib/training/train.ts",
    original: "    : !(weightsFinite ?? weightsAreFinite(model))\n",
    mutant: "    : false\n",
    breaks: "NaN weights with a finite reported loss go unnoticed",
  },
  {
    id: "train-label-10-accepted",
    file: "lib/training/train.ts",
    original: "split.labels.findIndex((label) => label >= classes)",
    mutant: "split.labels.findIndex((label) => label > classes)",
    breaks: "a label of 10 reaches training",
  },
  {
    id: "train-schedule-ignored",
    file: "lib/training/train.ts",
    original: "  setLearningRate(model, lr);\n",
    mutant: "",
    breaks: "the learning-rate schedule is reported but not applied",
  },
  {
    id: "train-validates-on-training-images",
    file: "lib/training/train.ts",
    original: "await context.replicas.predict(validation.images, validation.count)",
    mutant: "await context.replicas.predict(train.images, validation.count)",
    breaks: "validation loss and accuracy measured on the training images",
  },
  {
    id: "train-eta-one-epoch-too-many",
    file: "lib/display/progress.ts",
    original:
      "const remaining = (params.epochs - epoch - 1) * params.samples + params.samples - seen;",
    mutant: "const remaining = (params.epochs - epoch) * params.samples + params.samples - seen;",
    breaks: "the progress ETA counts one epoch too many",
  },
  {
    id: "train-batch-norm-not-reestimated",
    file: "lib/training/train.ts",
    original: "  const normalized = hasBatchNormalization(model);",
    mutant: "  const normalized = false;",
    breaks: "Batch Normalization variants predict on lagging moving statistics after a short run",
    tests: ["tests/training/batch_norm_test.ts"],
  },
  {
    id: "batch-norm-statistics-with-dropout",
    file: "lib/training/batch_norm_statistics.ts",
    original: "    dropouts.forEach((layer) => settable(layer).rate = 0);\n",
    mutant: "",
    breaks: "the statistics are measured with Dropout on, which predicting does not use",
    tests: ["tests/training/batch_norm_test.ts"],
  },
  {
    id: "train-validation-split-ignored",
    file: "lib/training/train.ts",
    original: "  return splitValidation(data, options.validationSplit);",
    mutant: "  return { train: data, validation: undefined };",
    breaks: "validationSplit neither holds images out nor validates",
  },
  {
    id: "variants-keras-batch-norm-momentum",
    file: "lib/models/variants.ts",
    original: "tf.layers.batchNormalization({ momentum: BATCH_NORM_MOMENTUM })",
    mutant: "tf.layers.batchNormalization()",
    breaks: "moving statistics move 1% a step and lag far behind after a short run",
  },
  {
    id: "deno-version-warning-silent",
    file: "lib/deno_version.ts",
    original: "  if (version === PINNED_DENO) return undefined;",
    mutant: "  if (version !== undefined) return undefined;",
    breaks: "a kernel on another Deno release runs without a word about misplaced outputs",
  },
  {
    id: "kernel-launcher-any-deno",
    file: "jupyter/kernels/deno/start.sh",
    original: '"deno $PINNED "*) exec deno jupyter --kernel --conn "$1" ;;',
    mutant: '*) exec deno jupyter --kernel --conn "$1" ;;',
    breaks: "the kernelspec starts whichever deno is on PATH again",
  },
  {
    id: "check-notebook-cell-limit-off-by-one",
    file: "jupyter/check_notebook.ts",
    original: "if (lines > MAX_CELL_LINES) {",
    mutant: "if (lines > MAX_CELL_LINES + 1) {",
    breaks: "a 16-line code cell passes the notebook check",
  },
  // lib/training/evaluate.ts
  {
    id: "evaluate-last-partial-batch-dropped",
    file: "lib/training/evaluate.ts",
    original: "for (let start = 0; start < count; start += batchSize) {",
    mutant: "for (let start = 0; start + batchSize <= count; start += batchSize) {",
    breaks: "the images after the last full batch are not predicted",
  },
  {
    id: "evaluate-loss-of-predicted-class",
    file: "lib/training/evaluate.ts",
    original: "probabilities[i * classes + split.labels[i]]",
    mutant: "probabilities[i * classes + predicted[i]]",
    breaks: "the loss uses the predicted class instead of the true one",
  },
  // lib/training/metrics.ts
  {
    id: "metrics-confusion-transposed",
    file: "lib/training/metrics.ts",
    original: "matrix[a][p]++;",
    mutant: "matrix[p][a]++;",
    breaks: "transposed confusion matrix",
  },
  {
    id: "metrics-precision-recall-swapped",
    file: "lib/training/metrics.ts",
    original: "    const precision = ratio(truePositives, predictedAs);\n" +
      "    const recall = ratio(truePositives, support);",
    mutant: "    const precision = ratio(truePositives, support);\n" +
      "    const recall = ratio(truePositives, predictedAs);",
    breaks: "precision and recall swapped",
  },
  {
    id: "metrics-weighted-is-macro",
    file: "lib/training/metrics.ts",
    original: 'rows.push(average((row) => row.support, "weighted avg"));',
    mutant: 'rows.push(average(() => 1, "weighted avg"));',
    breaks: "the weighted average ignores support",
  },
  {
    id: "metrics-f1-arithmetic-mean",
    file: "lib/training/metrics.ts",
    original: "f1: ratio(2 * precision * recall, precision + recall),",
    mutant: "f1: (precision + recall) / 2,",
    breaks: "F1 as the arithmetic mean, not the harmonic one",
  },
  {
    id: "metrics-argmax-last-tie",
    file: "lib/training/metrics.ts",
    original: "if (values[start + i] > values[start + best]) best = i;",
    mutant: "if (values[start + i] >= values[start + best]) best = i;",
    breaks: "a tie predicts the last class, unlike tf.argMax and numpy",
  },
  {
    id: "metrics-mistakes-least-confident-first",
    file: "lib/training/metrics.ts",
    original: "b.confidence - a.confidence",
    mutant: "a.confidence - b.confidence",
    breaks: "the 'most confident mistakes' are the least confident ones",
  },
  // lib/models/model.ts
  {
    id: "model-adam-epsilon",
    file: "lib/models/model.ts",
    original: "tf.train.adam(checkLearningRate(learningRate), 0.9, 0.999, 1e-7)",
    mutant: "tf.train.adam(checkLearningRate(learningRate))",
    breaks: "Adam with tfjs' epsilon, not Keras' 1e-7",
    equivalent:
      "tfjs' Adam defaults its epsilon to the backend's, which is 1e-7 on wasm and cpu: " +
      "the same value",
  },
  {
    id: "model-unseeded-initialisation",
    file: "lib/models/model.ts",
    original: "tf.initializers.glorotUniform({ seed: next++ })",
    mutant: "tf.initializers.glorotUniform({})",
    breaks: "the initial weights are not fixed by the seed",
  },
  {
    id: "model-bias-with-batch-norm",
    file: "lib/models/variants.ts",
    original: 'const plain = { activation: "linear", useBias: false } as const;',
    mutant: 'const plain = { activation: "linear", useBias: true } as const;',
    breaks: "redundant biases before Batch Normalization (parameter counts change)",
  },
  {
    id: "model-dropout-same-mask",
    file: "lib/models/model.ts",
    original: "get: () => seed + 1_000_003 * calls++,",
    mutant: "get: () => seed,",
    breaks: "Dropout uses the same mask every step",
    tests: ["tests/models/model_test.ts", "tests/models/variants_test.ts"],
  },
  {
    id: "model-optimizer-leaked",
    file: "lib/models/model.ts",
    original: "  optimizer?.dispose();\n",
    mutant: "",
    breaks: "disposeModel leaks the optimizer's moments",
  },
  // lib/models/variants.ts
  {
    id: "variants-exponential-off-by-one",
    file: "lib/models/variants.ts",
    original: "return schedule.initial * schedule.rate ** epoch;",
    mutant: "return schedule.initial * schedule.rate ** (epoch + 1);",
    breaks: "the decaying schedule starts one step down",
  },
  {
    id: "variants-one-cycle-floor",
    file: "lib/models/variants.ts",
    original: "const low = peak / 100;",
    mutant: "const low = peak / 10;",
    breaks: "the one-cycle schedule ends at a tenth of its peak, not a hundredth",
  },
  {
    id: "variants-fingerprint-ignores-layers",
    file: "lib/models/variants.ts",
    original: "const definition = { model: config, ...training };",
    mutant: "const definition = { ...training };",
    breaks: "a changed model keeps its old fingerprint, so stale results are shown",
  },
  {
    id: "variants-no-augmentation",
    file: "lib/models/variants.ts",
    original: "augment: augmentation && createAugmentation(augmentation),",
    mutant: "augment: undefined,",
    breaks: "the augmented variants train without augmentation",
  },
  {
    id: "variants-patience-plus-one",
    file: "lib/models/variants.ts",
    original: ": { patience: earlyStoppingPatience },",
    mutant: ": { patience: earlyStoppingPatience + 1 },",
    breaks: "early stopping waits longer than the variant says",
  },
  {
    id: "variants-baseline-epochs",
    file: "lib/models/variants.ts",
    original: "training: { epochs: 5, batchSize: 128 },",
    mutant: "training: { epochs: 6, batchSize: 128 },",
    breaks: "the tutorial's 5 epochs changed",
    tests: ["tests/models/variants_test.ts", "tests/parameters_test.ts"],
  },
  // lib/engine/kernels/batch_norm_grad.ts
  {
    id: "batch-norm-grad-variance-sign",
    file: "lib/engine/kernels/batch_norm_grad.ts",
    original: "tf.scalar(-0.5)",
    mutant: "tf.scalar(0.5)",
    breaks: "the variance gradient has the wrong sign",
  },
  {
    id: "batch-norm-grad-offset-scaled",
    file: "lib/engine/kernels/batch_norm_grad.ts",
    original: "offset: () => tf.reshape(reduce(dyTensor), mean.shape),",
    mutant: "offset: () => tf.reshape(reduce(dyTimesScale), mean.shape),",
    breaks: "the offset gradient multiplied by the scale",
  },
  // lib/engine/kernels/kernels.ts
  {
    id: "kernels-max-pool-grad-all-ties-2x2",
    file: "lib/engine/kernels/fallbacks.ts",
    original: "          dx[p01 + d] = g * (na & (1 - nb));\n" +
      "          dx[p10 + d] = g * (na & nb & (1 - nc));\n",
    mutant: "          dx[p01 + d] = g * (1 - nb);\n          dx[p10 + d] = g * (1 - nc);\n",
    breaks: "max-pool gradient sent to every tied maximum, not the first",
  },
  {
    id: "kernels-max-pool-grad-last-tie",
    file: "lib/engine/kernels/fallbacks.ts",
    original: "                dx[i] += dyv[yBase + d];\n                break search;",
    mutant: "                dx[i] += dyv[yBase + d];",
    breaks: "max-pool gradient (general windows) sent to every tie",
  },
  {
    id: "kernels-filter-grad-halved",
    file: "lib/engine/kernels/fallbacks.ts",
    original: "eyeV[e * k + e] = 1;",
    mutant: "eyeV[e * k + e] = 0.5;",
    breaks: "filter gradient halved (first layer)",
  },
  {
    id: "kernels-filter-grad-transposed",
    file: "lib/engine/kernels/fallbacks.ts",
    original: "{ x: cut }, { perm: [1, 2, 0, 3] }",
    mutant: "{ x: cut }, { perm: [2, 1, 0, 3] }",
    breaks: "filter gradient transposed (rows and columns of the kernel swapped)",
  },
  {
    id: "kernels-input-grad-filter-not-flipped",
    file: "lib/engine/kernels/fallbacks.ts",
    original: "{ x: filter }, { dims: [0, 1] }",
    mutant: "{ x: filter }, { dims: [0] }",
    breaks: "input gradient with the filter flipped on one axis only",
  },
  {
    id: "kernels-zero-insert-row-stride",
    file: "lib/engine/kernels/fallbacks.ts",
    original: "const dstRow = (b * oh * sh + r * sh) * rowOut;",
    mutant: "const dstRow = (b * oh * sh + r) * rowOut;",
    breaks: "strided input gradient with rows packed together",
  },
  {
    id: "kernels-sum-overwrites",
    file: "lib/engine/kernels/kernels.ts",
    original: "acc[i] += xv[base + i];",
    mutant: "acc[i] = xv[base + i];",
    breaks: "Sum keeps only the last slice",
  },
  {
    id: "kernels-matmul-double-transpose",
    file: "lib/engine/kernels/kernels.ts",
    original: "transposeA: Boolean(attrs.transposeA) && a === inputs.a,",
    mutant: "transposeA: Boolean(attrs.transposeA),",
    breaks: "BatchMatMul transposes A twice",
  },
  {
    id: "kernels-gather-ignores-indices",
    file: "lib/engine/kernels/fallbacks.ts",
    original: "const r = ids[i] * row;",
    mutant: "const r = i * row;",
    breaks: "GatherV2 returns the first rows whatever the indices",
  },
  {
    id: "kernels-slice-stride",
    file: "lib/engine/kernels/fallbacks.ts",
    original: "let from = begin[k] * stride(k);",
    mutant: "let from = begin[k];",
    breaks: "Slice cuts from the wrong place along inner axes",
  },
  {
    id: "kernels-cast-shares-across-dtypes",
    file: "lib/engine/kernels/kernels.ts",
    original: 'if (x.dtype !== attrs.dtype || x.dtype === "string") {',
    mutant: 'if (x.dtype === "string") {',
    breaks: "Cast to another dtype reuses the bytes unconverted",
  },
  {
    id: "kernels-crop-axes-swapped",
    file: "lib/engine/kernels/fallbacks.ts",
    original: "begin: [0, cut[0], cut[2], 0],",
    mutant: "begin: [0, cut[2], cut[0], 0],",
    breaks: "padding cropped from the wrong sides",
  },
  // lib/engine/backend.ts
  {
    id: "backend-one-thread-by-default",
    file: "lib/engine/backend.ts",
    original: "const threads = options.threads ?? logicalCores();",
    mutant: "const threads = options.threads ?? 1;",
    breaks: "the default is one thread, not one per core",
  },
  {
    id: "backend-too-many-threads-accepted",
    file: "lib/engine/backend.ts",
    original: "threads < 1 || threads > cores",
    mutant: "threads < 1 || threads > 2 * cores",
    breaks: "more threads than cores accepted",
  },
  {
    id: "backend-pool-not-terminated",
    file: "lib/engine/backend.ts",
    original:
      "    for (const w of [...pthread.runningWorkers, ...pthread.unusedWorkers]) w.terminate();\n",
    mutant: "",
    breaks: "shutdown leaves the worker threads running",
    equivalent:
      "Emscripten's terminateAllThreads already terminates every worker and empties both " +
      "lists, so the loop after it finds none",
  },
  // lib/models/model_files.ts
  {
    id: "model-files-training-config-dropped",
    file: "lib/models/model_files.ts",
    original:
      "    if (artifacts.trainingConfig) modelJson.trainingConfig = artifacts.trainingConfig;\n",
    mutant: "",
    breaks: "a reloaded model forgets its loss and metrics",
    equivalent:
      "saveModel does not ask tfjs for the optimizer (includeOptimizer), so the artifacts " +
      "never hold a training config: the line is dead",
  },
  {
    id: "model-files-direct-write",
    file: "lib/models/model_files.ts",
    original: '      await writeFileAtomically(\n        join(dir, "model.json"),',
    mutant: '      await Deno.writeFile(\n        join(dir, "model.json"),',
    breaks: "model.json written in place: an interrupted save leaves a broken model",
  },
  {
    id: "model-files-error-without-fix",
    file: "lib/models/model_files.ts",
    original: "}): train and save a model first (deno task train, or the notebook).`,",
    mutant: "})`,",
    breaks: "a missing model's error no longer says what to do",
  },
  // lib/training/experiment.ts
  {
    id: "experiment-no-validation",
    file: "lib/training/experiment.ts",
    original: "      validationData: validation,\n      classes: data.classNames.length,",
    mutant: "      classes: data.classNames.length,",
    breaks: "no validation scores and no early stopping in runs",
  },
  {
    id: "experiment-seed-not-used-for-weights",
    file: "lib/training/experiment.ts",
    original: "buildVariant(variant, { seed: options.seed,",
    mutant: "buildVariant(variant, { seed: 42,",
    breaks: "runs over seeds 1, 2, 3 start from the same weights",
  },
  {
    id: "experiment-scored-on-validation",
    file: "lib/training/experiment.ts",
    original: "const evaluation = await evaluateModel(model, data.test);",
    mutant: "const evaluation = await evaluateModel(model, validation);",
    breaks: "the test accuracy is measured on the validation images",
  },
  // lib/training/run_metrics.ts
  {
    id: "run-metrics-sample-counts-swapped",
    file: "lib/training/run_metrics.ts",
    original: "    train_samples: run.train.count,\n    validation_samples: run.validation.count,",
    mutant: "    train_samples: run.validation.count,\n    validation_samples: run.train.count,",
    breaks: "metrics.json swaps the training and validation counts",
  },
  {
    id: "run-metrics-epochs-run-is-epochs",
    file: "lib/training/run_metrics.ts",
    original: "epochs_run: run.training.epoch.length,",
    mutant: "epochs_run: run.params.epochs,",
    breaks: "metrics.json hides an early stop",
  },
  // lib/training/compare.ts
  {
    id: "compare-key-without-seed",
    file: "lib/training/compare.ts",
    original: "-seed${params.seed}`",
    mutant: "`",
    breaks: "a result for another seed is shown as this seed's",
  },
  {
    id: "compare-retrain-ignored",
    file: "lib/training/compare.ts",
    original: "const kept = options.retrain ? undefined : await readMetrics(path);",
    mutant: "const kept = await readMetrics(path);",
    breaks: "retrain: true reads the old result back",
  },
  {
    id: "compare-quick-run-epochs",
    file: "lib/training/compare.ts",
    original: "requested < VARIANTS.baseline.training.epochs",
    mutant: "requested <= VARIANTS.baseline.training.epochs",
    breaks: "the comparison trains tuned for 5 epochs at the default EPOCHS",
  },
  // lib/training/experiment_summary.ts
  {
    id: "summary-population-sd",
    file: "lib/training/experiment_summary.ts",
    original: "Math.sqrt(ss / (values.length - 1))",
    mutant: "Math.sqrt(ss / values.length)",
    breaks: "population instead of sample standard deviation",
  },
  {
    id: "summary-groups-ignore-dataset",
    file: "lib/training/experiment_summary.ts",
    original: "      dataset: run.metrics.dataset,\n      fingerprint",
    mutant: '      dataset: "mnist",\n      fingerprint',
    breaks: "MNIST and Fashion-MNIST runs averaged together",
  },
  {
    id: "summary-unfinished-run-fails",
    file: "lib/training/experiment_summary.ts",
    original: "      if (error instanceof Deno.errors.NotFound) continue;\n",
    mutant: "",
    breaks: "a folder without metrics.json (a run in progress) stops the summary",
  },
  // lib/display/figures.ts
  {
    id: "figures-confusion-transposed",
    file: "lib/display/figures.ts",
    original: "z: matrix.map((row) => row.map((v) => Math.log10(1 + v))),",
    mutant: "z: matrix[0].map((_, c) => matrix.map((row) => Math.log10(1 + row[c]))),",
    breaks: "the confusion-matrix figure is transposed",
  },
  {
    id: "figures-rates-by-column",
    file: "lib/display/figures.ts",
    original: "return row.map((v) => (total === 0 ? 0 : v / total));",
    mutant: "return row.map((v) => (total === 0 ? 0 : v / Math.max(...row)));",
    breaks: "hover shares not normalised by the true class's count",
  },
  {
    id: "figures-right-predictions-flagged",
    file: "lib/display/figures.ts",
    original: "flagged: indices.map((i) => predicted[i] !== split.labels[i]),",
    mutant: "flagged: indices.map((i) => predicted[i] === split.labels[i]),",
    breaks: "right predictions drawn in red",
  },
  {
    id: "figures-digit-transposed",
    file: "lib/display/figures.ts",
    original: "z[top + r][left + c] = image[r * TILE + c];",
    mutant: "z[top + r][left + c] = image[c * TILE + r];",
    breaks: "digits drawn transposed",
  },
  {
    id: "figures-validation-curves-swapped",
    file: "lib/display/figures.ts",
    original: 'line(history.val_loss, "validation", 1,',
    mutant: 'line(history.val_acc, "validation", 1,',
    breaks: "validation accuracy drawn on the loss plot",
  },
  // lib/display/tables.ts
  {
    id: "tables-class-counts-swapped",
    file: "lib/display/tables.ts",
    original: "    train: count(data.train.labels),\n    test: count(data.test.labels),",
    mutant: "    train: count(data.test.labels),\n    test: count(data.train.labels),",
    breaks: "class counts of train and test swapped",
  },
  {
    id: "tables-missing-validation-as-0",
    file: "lib/display/tables.ts",
    original: '"val loss": optional(history.val_loss),',
    mutant: '"val loss": history.loss.map((_, i) => round(history.val_loss?.[i] ?? 0)),',
    breaks: "no validation shown as a loss of 0",
  },
  {
    id: "tables-report-recall-is-precision",
    file: "lib/display/tables.ts",
    original: "recall: rows.map((r) => round(r.recall)),",
    mutant: "recall: rows.map((r) => round(r.precision)),",
    breaks: "the report table shows precision as recall",
  },
  // lib/display/progress.ts
  {
    id: "progress-final-state-dropped",
    file: "lib/display/progress.ts",
    original: "    if (state) {\n      this.#latest = state;\n      this.#pending = true;\n    }\n",
    mutant: "",
    breaks: "the final state given to done() is not shown",
  },
  {
    id: "progress-stopped-early-bar-partial",
    file: "lib/display/progress.ts",
    original: "        last.value = last.total;\n",
    mutant: "",
    breaks: "an early stop leaves the bar looking broken off",
  },
  {
    id: "progress-bar-off-by-one-epoch",
    file: "lib/display/progress.ts",
    original: "value: epoch * params.steps + batch + 1,",
    mutant: "value: (epoch + 1) * params.steps + batch + 1,",
    breaks: "the bar runs one epoch ahead",
  },
  {
    id: "progress-duration-unpadded",
    file: "lib/display/progress.ts",
    original: 'String(s % 60).padStart(2, "0")',
    mutant: "String(s % 60)",
    breaks: "65 s shown as 1m5s",
  },
  {
    id: "progress-new-output-every-update",
    file: "lib/display/progress.ts",
    original: 'const type = this.#shown ? "update_display_data" : "display_data";',
    mutant: 'const type = "display_data";',
    breaks: "every update adds an output instead of updating in place",
  },
  // lib/display/jupyter.ts
  {
    id: "jupyter-escape-order",
    file: "lib/display/jupyter.ts",
    original: 'text.replaceAll("&", "&amp;").replaceAll("<", "&lt;")',
    mutant: 'text.replaceAll("<", "&lt;").replaceAll("&", "&amp;")',
    breaks: "< escaped twice (&amp;lt;)",
  },
  {
    id: "jupyter-script-json-unescaped",
    file: "lib/display/jupyter.ts",
    original: 'json.replaceAll("<", "\\\\u003c")',
    mutant: "json",
    breaks: "a </script> in figure data ends the script early",
  },
  // lib/display/plotly.ts
  {
    id: "plotly-library-every-figure",
    file: "lib/display/plotly.ts",
    original: "const library = this.#loaded ? [] : this.libraryBundles();",
    mutant: "const library = this.libraryBundles();",
    breaks: "plotly.js (3 MB) inlined again with every figure",
  },
  {
    id: "plotly-config-overridden",
    file: "lib/display/plotly.ts",
    original: "config: { ...DEFAULT_PLOT_CONFIG, ...figure.config },",
    mutant: "config: { ...figure.config, ...DEFAULT_PLOT_CONFIG },",
    breaks: "a figure's own config is overridden by the defaults",
  },
  {
    id: "plotly-chunk-loses-a-character",
    file: "lib/display/plotly.ts",
    original: "packed.slice(i * this.#chunkChars, (i + 1) * this.#chunkChars)",
    mutant: "packed.slice(i * this.#chunkChars, (i + 1) * this.#chunkChars - 1)",
    breaks: "the inlined library loses a character at every chunk boundary",
  },
  // programs/train.ts
  {
    id: "program-train-default-out",
    file: "programs/train.ts",
    original: 'join("outputs", `${variant}-${dataset}`)',
    mutant: 'join("outputs", variant)',
    breaks: "Fashion-MNIST runs overwrite MNIST runs of the same variant",
  },
  {
    id: "program-train-usage-exit-1",
    file: "lib/command_line.ts",
    tests: ["tests/programs/train_test.ts"],
    original: "    console.error(`Error: ${error.message}`);\n    return USAGE_EXIT_CODE;",
    mutant: "    console.error(`Error: ${error.message}`);\n    return 1;",
    breaks: "bad flags exit 1 like a failed training, not 2",
  },
  {
    id: "program-train-warnings-not-printed",
    file: "lib/command_line.ts",
    tests: ["tests/programs/train_test.ts"],
    original: "    for (const warning of options.warnings) console.error(`Warning: ${warning}`);\n",
    mutant: "",
    breaks: "misspelt-variable warnings not printed by the trainer",
  },
  {
    id: "program-train-out-checked-late",
    file: "lib/command_line.ts",
    tests: ["tests/programs/train_test.ts"],
    original: "    await checkWritableDir(program.outputDir(options)).catch((error) => {\n" +
      "      throw new UsageError(error.message);\n    });\n",
    mutant: "",
    breaks: "an unusable --out is found only after training",
  },
  {
    id: "parameters-batch-checked-against-all-samples",
    file: "lib/parameters.ts",
    original: "} else if (batchSize > training) {",
    mutant: "} else if (batchSize > images) {",
    breaks: "a batch larger than the images left after the split is accepted",
  },
  {
    id: "model-files-weights-hash-unchecked",
    file: "lib/models/model_files.ts",
    original: "if (hash !== undefined && !(await sha256(bytes)).startsWith(hash)) {",
    mutant: "if (false) {",
    breaks: "damaged weights whose name promises another SHA-256 are loaded",
  },
  {
    id: "model-files-old-weights-kept",
    file: "lib/models/model_files.ts",
    original: "      await removeOtherWeights(dir, weightsFile);\n",
    mutant: "",
    breaks: "every save leaves the previous weights file behind",
  },
  {
    id: "model-files-lock-not-exclusive",
    file: "lib/models/model_files.ts",
    original: "await Deno.writeFile(lock, owner, { createNew: true });",
    mutant: "await Deno.writeFile(lock, owner);",
    breaks: "two runs saving into one folder at once are not stopped",
  },
  {
    id: "model-files-weights-outside-folder",
    file: "lib/models/model_files.ts",
    original: ' || normalize(path).startsWith("..")',
    mutant: "",
    breaks: "a model.json can make loadModel read a file outside its folder",
  },
  {
    id: "model-files-size-unchecked",
    file: "lib/models/model_files.ts",
    original: "if (total !== expected) {",
    mutant: "if (total < expected) {",
    breaks: "weights longer than the shapes need are loaded without a word",
  },
  {
    id: "train-batch-larger-than-set",
    file: "lib/training/train.ts",
    original: "if (options.batchSize > train.count) {",
    mutant: "if (options.batchSize > train.count + 1) {",
    breaks: "a batch larger than the training set is accepted",
  },
  // lib/data/digit_image.ts
  {
    id: "digit-image-not-inverted",
    file: "lib/data/digit_image.ts",
    original: "const inverted = background > 0.5;",
    mutant: "const inverted = background > 1;",
    breaks: "dark ink on white paper is not inverted to MNIST's light-on-dark",
  },
  {
    id: "digit-image-box-not-20",
    file: "lib/data/digit_image.ts",
    original: "const scale = DIGIT_BOX / Math.max(box.width, box.height);",
    mutant: "const scale = DIGIT_SIZE / Math.max(box.width, box.height);",
    breaks: "the digit fills 28x28 instead of MNIST's 20x20 box",
  },
  {
    id: "digit-image-aspect-lost",
    file: "lib/data/digit_image.ts",
    original: "Math.round(box.height * scale)));",
    mutant: "Math.round(DIGIT_BOX)));",
    breaks: "a wide digit is stretched to a square",
  },
  {
    id: "digit-image-centred-by-box",
    file: "lib/data/digit_image.ts",
    original: "const left = clamp(Math.round(half - mx / mass), 0, DIGIT_SIZE - outWidth);",
    mutant: "const left = clamp(Math.round(half - outWidth / 2), 0, DIGIT_SIZE - outWidth);",
    breaks: "centred by the bounding box, not the centre of mass as MNIST",
  },
  {
    id: "digit-image-rgb-weights",
    file: "lib/data/digit_image.ts",
    original: "(0.299 * data[p] + 0.587 * data[p + 1] + 0.114 * data[p + 2]) / 255",
    mutant: "data[p] / 255",
    breaks: "colour images read from the red channel only",
  },
  {
    id: "digit-image-noise-kept",
    file: "lib/data/digit_image.ts",
    original: "const floor = base + threshold * contrast;",
    mutant: "const floor = base;",
    breaks: "paper noise counted as ink: the box grows to the noise",
  },
  {
    id: "digit-image-blank-accepted",
    file: "lib/data/digit_image.ts",
    original: "if (!(contrast >= minContrast)) return undefined;",
    mutant: "if (!(contrast > 0)) return undefined;",
    breaks: "a nearly uniform image is taken for a digit",
  },
  // lib/data/image_file.ts
  {
    id: "image-file-size-limit-off",
    file: "lib/data/image_file.ts",
    original: "if (megapixels > MAX_MEGAPIXELS) {",
    mutant: "if (megapixels > 100 * MAX_MEGAPIXELS) {",
    breaks: "a huge PNG is decoded instead of refused",
  },
  {
    id: "image-file-error-unnamed",
    file: "lib/data/image_file.ts",
    original: "`${name} is not a PNG or JPEG image",
    mutant: "`This is not a PNG or JPEG image",
    breaks: "the error does not name the file",
  },
  {
    id: "image-file-png-colour-type",
    file: "lib/data/image_file.ts",
    original: "const PNG_COLOR_TYPES = { 1: 0, 2: 4, 3: 2, 4: 6 } as const;",
    mutant: "const PNG_COLOR_TYPES = { 1: 0, 2: 4, 3: 6, 4: 2 } as const;",
    breaks: "RGB and RGBA images encoded with each other's colour type",
  },
  // lib/models/predict_digit.ts
  {
    id: "predict-digit-ranking-ascending",
    file: "lib/models/predict_digit.ts",
    original: ".sort((a, b) => b.probability - a.probability || a.index - b.index);",
    mutant: ".sort((a, b) => a.probability - b.probability || a.index - b.index);",
    breaks: "the least probable class is printed as the answer",
  },
  {
    id: "predict-digit-shape-unchecked",
    file: "lib/models/predict_digit.ts",
    original:
      "if (model.inputs.length !== 1 || shape?.join() !== [DIGIT_SIZE, DIGIT_SIZE, 1].join()) {",
    mutant: "if (model.inputs.length !== 1) {",
    breaks: "a model for other images is used on digits",
  },
  {
    id: "predict-digit-raw-image",
    file: "lib/models/predict_digit.ts",
    original: "const probabilities = predictPixels(model, digit.pixels);",
    mutant: "const probabilities = predictPixels(model, digit.pixels.map((v) => 1 - v));",
    breaks: "the model is shown the digit with its colours inverted",
  },
  // lib/display/digit_prediction.ts
  {
    id: "digit-prediction-bars-by-rank",
    file: "lib/display/digit_prediction.ts",
    original: "const names = ranking.toSorted((a, b) => a.index - b.index);",
    mutant: "const names = ranking;",
    breaks: "the bars are in order of probability, not 0 to 9",
  },
  {
    id: "digit-prediction-source-unescaped",
    file: "lib/display/digit_prediction.ts",
    original: "const source = escapeHtml(options.source);",
    mutant: "const source = options.source;",
    breaks: "a file name with < or & breaks the page",
  },
  // lib/display/drawing_pad.ts
  {
    id: "drawing-pad-weights-dropped",
    file: "lib/display/drawing_pad.ts",
    original:
      "const weights = new Uint8Array(tf.io.concatenateArrayBuffers(artifacts.weightData ?? []));",
    mutant: "const weights = new Uint8Array(0);",
    breaks: "the page gets the model without its weights",
  },
  // lib/models/inspect.ts
  {
    id: "inspect-filter-transposed",
    file: "lib/models/inspect.ts",
    original: "filter[p] = values[p * inChannels * count + f];",
    mutant:
      "filter[p] = values[((p % width) * height + Math.floor(p / width)) * inChannels * count + f];",
    breaks: "the filters are drawn transposed",
  },
  {
    id: "inspect-maps-channels-last",
    file: "lib/models/inspect.ts",
    original: "const values = x.transpose([0, 3, 1, 2]).dataSync() as Float32Array;",
    mutant: "const values = x.dataSync() as Float32Array;",
    breaks: "feature maps cut from channels-last data: each map mixes channels",
  },
  {
    id: "inspect-maps-in-training-mode",
    file: "lib/models/inspect.ts",
    original: "x = layer.apply(x, { training: false }) as tf.Tensor;",
    mutant: "x = layer.apply(x, { training: true }) as tf.Tensor;",
    breaks: "feature maps computed with Dropout and batch statistics on",
  },
  // programs/bench.ts
  {
    id: "bench-warm-up-counted",
    file: "programs/bench.ts",
    original: "train_samples_per_s: round(samples / training.seconds, 1),",
    mutant: "train_samples_per_s: round((samples + p.batchSize) / training.seconds, 1),",
    breaks: "the warm-up batch counted in the timed images/s",
  },
  {
    id: "bench-predict-0-accepted",
    file: "programs/bench.ts",
    original: "if (!Number.isSafeInteger(predict) || predict < 1) {",
    mutant: "if (!Number.isSafeInteger(predict)) {",
    breaks: "--predict 0 accepted (a division by zero in the report)",
  },
  // programs/predict.ts
  {
    id: "program-predict-no-digit-exit-0",
    file: "programs/predict.ts",
    original: "export const NO_DIGIT_EXIT_CODE = 1;",
    mutant: "export const NO_DIGIT_EXIT_CODE = 0;",
    breaks: "a blank image exits 0 as if predicted",
  },
  {
    id: "program-predict-dataset-record-ignored",
    file: "programs/predict.ts",
    original: 'options.dataset ?? (isDatasetName(recorded) ? recorded : "mnist");',
    mutant: 'options.dataset ?? "mnist";',
    breaks: "a Fashion-MNIST model's predictions named as digits",
  },
  {
    id: "program-predict-default-model",
    file: "programs/predict.ts",
    original: 'join("outputs", "model")',
    mutant: 'join("outputs", "models")',
    breaks: "the default model folder is not where the notebook writes it",
  },
  // programs/experiments.ts
  {
    id: "experiments-finished-run-retrained",
    file: "programs/experiments.ts",
    original: 'if (await exists(join(folder, "provenance.json"))) {',
    mutant: 'if (await exists(join(folder, "provenance.json")) && false) {',
    breaks: "a finished run is trained again on every call",
  },
  {
    id: "experiments-quick-run-folder",
    file: "programs/experiments.ts",
    original: '(trainSamples ? `-n${trainSamples}` : "")',
    mutant: '""',
    breaks: "a quick run (TRAIN_SAMPLES) shares the folder of a full run and stands in for it",
  },
  // programs/check_doc_examples.ts
  {
    id: "check-doc-console-assert-allowed",
    file: "programs/check_doc_examples.ts",
    original: "if (/console\\.assert\\s*\\(/.test(body)) {",
    mutant: "if (/console\\.asserts\\s*\\(/.test(body)) {",
    breaks: "an example that only console.asserts passes the check",
  },
  {
    id: "check-doc-ignore-not-skipped",
    file: "programs/check_doc_examples.ts",
    original: "/\\bignore\\b/.test(fence[2])",
    mutant: "false",
    breaks: "examples marked ignore are flagged",
  },
  // lib/engine/adam.ts, data_parallel.ts, replica_worker.ts, lib/engine/kernels/single_channel_conv.ts
  {
    id: "adam-second-moment-of-gradient",
    file: "lib/engine/adam.ts",
    original: "const vi = beta2 * v[i] + keep2 * g * g;",
    mutant: "const vi = beta2 * v[i] + keep2 * g;",
    breaks: "Adam's second moment tracks the gradient, not its square",
  },
  {
    id: "adam-step-not-counted",
    file: "lib/engine/adam.ts",
    original: "  moments.iterations = t;\n",
    mutant: "",
    breaks: "the bias correction stays at the first step's forever",
  },
  {
    id: "data-parallel-predict-chunk-misplaced",
    file: "lib/engine/data_parallel.ts",
    original: "out.set(this.#outputs.subarray(0, n * classes), first * classes);",
    mutant: "out.set(this.#outputs.subarray(0, n * classes), 0);",
    breaks: "every chunk of predictions lands on the first images'",
  },
  {
    id: "data-parallel-out-of-memory-advice-lost",
    file: "lib/engine/data_parallel.ts",
    original: "const outOfMemory = isOutOfMemory(what);",
    mutant: "const outOfMemory = false;",
    breaks: "a replica whose heap ran out says to run again instead of lowering batchCapacity",
  },
  {
    id: "replica-divergence-summed-in-double",
    file: "lib/engine/replica_worker.ts",
    original: "total = Math.fround(total + s.flat[i]);",
    mutant: "total += s.flat[i];",
    breaks: "weights at the float32 limit count as finite on replicas, but not in-process",
  },
  {
    id: "replica-predict-wrong-rows",
    file: "lib/engine/replica_worker.ts",
    original: "outputs.set(out.dataSync(), at * classes);",
    mutant: "outputs.set(out.dataSync(), (at - start) * classes);",
    breaks: "the second replica's predictions overwrite the first's",
  },
  {
    id: "data-parallel-explicit-failure-hidden",
    file: "lib/engine/data_parallel.ts",
    original: "    if (options.explicit) throw error;\n",
    mutant: "",
    breaks: "workers asked for explicitly fail silently into in-process work",
  },
  {
    id: "single-channel-relu-dropped",
    file: "lib/engine/kernels/single_channel_conv.ts",
    original: "fused.relu ? 1 : 0,",
    mutant: "0,",
    breaks: "prediction's first layer skips its ReLU",
  },
  // lib/training/calibration.ts
  {
    id: "calibration-ece-unweighted",
    file: "lib/training/calibration.ts",
    original: "s + (b.count / total) * Math.abs(b.accuracy - b.confidence)",
    mutant: "s + Math.abs(b.accuracy - b.confidence) / binCount",
    breaks: "the calibration error weighs a bin of 3 answers like one of 9,000",
  },
  {
    id: "calibration-threshold-highest",
    file: "lib/training/calibration.ts",
    original: "reaching.reduce((a, b) => (b.threshold < a.threshold ? b : a))",
    mutant: "reaching.reduce((a, b) => (b.threshold > a.threshold ? b : a))",
    breaks:
      "the not-sure threshold is the highest that keeps the promise: the model hardly answers",
  },
  {
    id: "calibration-ties-left-out",
    file: "lib/training/calibration.ts",
    original: "while (answered < count && confidence[order[answered]] >= threshold) answered++;",
    mutant: "",
    breaks: "answers as sure as the threshold are counted as not sure on the curve",
  },
  // lib/display/calibration_figures.ts
  {
    id: "calibration-figure-rule-on-validation",
    file: "lib/display/calibration_figures.ts",
    original: "x: [point.coverage],",
    mutant: "x: [rule.coverage],",
    breaks: "the threshold is drawn where it lands on the validation images, on the test curve",
  },
  {
    id: "calibration-figure-histogram-counts",
    file: "lib/display/calibration_figures.ts",
    original: "y: counts.map((n) => (100 * n) / total),",
    mutant: "y: counts,",
    breaks: "groups of different sizes are compared by counts, not shares",
  },
  // lib/display/confusion_explorer.ts
  {
    id: "confusion-explorer-least-sure-first",
    file: "lib/display/confusion_explorer.ts",
    original: "images.sort((a, b) => b.probability - a.probability || a.index - b.index);",
    mutant: "images.sort((a, b) => a.probability - b.probability || a.index - b.index);",
    breaks: "a cell shows its least confident images first",
  },
  {
    id: "confusion-explorer-click-transposed",
    file: "lib/display/confusion_explorer.ts",
    original: "var i = data.classNames.indexOf(String(point.y));",
    mutant: "var i = data.classNames.indexOf(String(point.x));",
    breaks: "clicking a cell shows another cell's images",
  },
  {
    id: "confusion-explorer-ink-white",
    file: "lib/display/confusion_explorer.ts",
    original: "data: pixels.map((v) => 255 - v)",
    mutant: "data: pixels",
    breaks: "the cell's digits are white on black, unlike every other figure",
  },
  {
    id: "run-metrics-not-sure-dropped",
    file: "lib/training/run_metrics.ts",
    original: "...(run.notSureBelow === undefined ? {} : { notSureBelow: run.notSureBelow }),",
    mutant: "",
    breaks: "metrics.json loses the threshold: deno task predict never says not sure",
  },
  {
    id: "experiment-not-sure-on-test",
    file: "lib/training/experiment.ts",
    original: "notSureBelow: await notSureBelowOn(model, validation),",
    mutant: "notSureBelow: await notSureBelowOn(model, prepareSplit(data.test)),",
    breaks: "the not-sure threshold is chosen on the test images",
  },
  {
    id: "program-predict-always-sure",
    file: "programs/predict.ts",
    original: "console.log(formatPrediction(file, prediction.ranking, record));",
    mutant: "console.log(formatPrediction(file, prediction.ranking));",
    breaks: "deno task predict ignores the recorded not-sure threshold",
  },
  {
    id: "predict-digit-not-sure-at-threshold",
    file: "lib/models/predict_digit.ts",
    original: "ranking[0].probability >= options.notSureBelow",
    mutant: "ranking[0].probability > options.notSureBelow + 0.01",
    breaks: "answers just above the threshold are called not sure",
    tests: ["tests/programs/predict_test.ts"],
  },
  // lib/engine/flat_optimizer.ts, the replicas' refusals and losses, the fused-activation route
  {
    id: "flat-sgd-wrong-sign",
    file: "lib/engine/flat_optimizer.ts",
    original: "const c = f(-learningRate);",
    mutant: "const c = f(learningRate);",
    breaks: "plain SGD climbs the gradient on the replicas",
  },
  {
    id: "flat-momentum-no-decay",
    file: "lib/engine/flat_optimizer.ts",
    original: "const a = f(f(m * accumulation[i]) + g);",
    mutant: "const a = f(accumulation[i] + g);",
    breaks: "SGD with momentum keeps every past gradient at full weight",
  },
  {
    id: "flat-momentum-nesterov-ignored",
    file: "lib/engine/flat_optimizer.ts",
    original: "nesterov ? f(g + f(a * m)) : a",
    mutant: "a",
    breaks: "tf.train.momentum(rate, m, true) steps as plain momentum on the replicas",
  },
  {
    id: "flat-settings-nesterov-dropped",
    file: "lib/engine/flat_optimizer.ts",
    original: "useNesterov: !!config.useNesterov",
    mutant: "useNesterov: false",
    breaks: "a Nesterov optimizer reaches the replicas as plain momentum",
  },
  {
    id: "flat-rmsprop-decay-swapped",
    file: "lib/engine/flat_optimizer.ts",
    original: "const decay = f(settings.decay), keep = f(1 - settings.decay);",
    mutant: "const decay = f(1 - settings.decay), keep = f(settings.decay);",
    breaks: "RMSProp's mean square forgets the past instead of the new gradient",
  },
  {
    id: "flat-rmsprop-momentum-dropped",
    file: "lib/engine/flat_optimizer.ts",
    original: "const mom = f(f(moments[i] * momentum) + f(f(g * rate) / root));",
    mutant: "const mom = f(f(g * rate) / root);",
    breaks: "RMSProp with momentum steps without it",
  },
  {
    id: "flat-rmsprop-centered-ignored",
    file: "lib/engine/flat_optimizer.ts",
    original: "if (settings.centered) {",
    mutant: "if (false) {",
    breaks: "centered RMSProp divides by the raw mean square",
  },
  {
    id: "flat-settings-centered-dropped",
    file: "lib/engine/flat_optimizer.ts",
    original: "centered: !!config.centered,",
    mutant: "centered: false,",
    breaks: "a centered RMSProp reaches the replicas as a plain one",
  },
  {
    id: "optimizer-state-slots-swapped",
    file: "lib/engine/optimizer_state.ts",
    original:
      "const group = Number.isInteger(per) ? state.values.slice(kind * per, (kind + 1) * per) : [];",
    mutant:
      "const group = Number.isInteger(per) ? state.values.slice((kinds - 1 - kind) * per, (kinds - kind) * per) : [];",
    breaks: "a second training call swaps RMSProp's mean squares and moments (or Adam's m and v)",
  },
  {
    id: "data-parallel-any-optimizer-accepted",
    file: "lib/engine/data_parallel.ts",
    original: "if (flatOptimizerSettings(optimizer) === undefined) {",
    mutant: "if (false) {",
    breaks: "an Adagrad model goes to replicas that cannot step it",
    tests: ["tests/engine/replica_models_test.ts"],
  },
  {
    id: "data-parallel-two-inputs-accepted",
    file: "lib/engine/data_parallel.ts",
    original: "if (model.inputs.length !== 1 || model.outputs.length !== 1) {\n    return `it has",
    mutant: "if (model.outputs.length !== 1) {\n    return `it has",
    breaks: "a model of two inputs goes to replicas that feed one",
    tests: ["tests/engine/replica_models_test.ts"],
  },
  {
    id: "data-parallel-any-loss-accepted",
    file: "lib/engine/data_parallel.ts",
    original: "return LOSSES.find((name) => name === loss);",
    mutant: 'return "sparseCategoricalCrossentropy";',
    breaks: "a mean-squared-error model trains on the replicas with cross-entropy",
    tests: ["tests/engine/replica_models_test.ts"],
  },
  {
    id: "data-parallel-loss-function-refused",
    file: "lib/engine/data_parallel.ts",
    original: 'if (loss === tf.metrics.categoricalCrossentropy) return "categoricalCrossentropy";',
    mutant: "",
    breaks: "a model compiled with tf.metrics.categoricalCrossentropy trains one core only",
    tests: ["tests/engine/replica_models_test.ts"],
  },
  {
    id: "data-parallel-loss-function-unnamed",
    file: "lib/engine/data_parallel.ts",
    original:
      'if (typeof loss === "function") return `the function ${loss.name || "(anonymous)"}`;',
    mutant: "",
    breaks: "the refusal of a custom loss function does not name it",
    tests: ["tests/engine/replica_models_test.ts"],
  },
  {
    id: "data-parallel-refusal-silent",
    file: "lib/engine/data_parallel.ts",
    original: 'if (tf.getBackend() !== "wasm" || model.optimizer === undefined) return 0;',
    mutant:
      'if (tf.getBackend() !== "wasm" || replicaUnsupportedReason(model) !== undefined) return 0;',
    breaks: "a model the replicas refuse trains on one core without a word",
    tests: ["tests/engine/data_parallel_test.ts"],
  },
  {
    id: "replica-one-hot-labels-not-made",
    file: "lib/engine/replica_worker.ts",
    original: 'const target = s.init.loss === "categoricalCrossentropy"',
    mutant: "const target = false",
    breaks: "categorical cross-entropy gets class numbers instead of one-hot labels",
    tests: ["tests/engine/replica_models_test.ts"],
  },
  {
    id: "replica-state-not-continued",
    file: "lib/engine/replica_worker.ts",
    original: ": flatOptimizerState(init.optimizer, trainableSize, init.optimizerState),",
    mutant: ": flatOptimizerState(init.optimizer, trainableSize),",
    breaks: "a second training call restarts momentum and RMSProp's averages from zero",
    tests: ["tests/engine/replica_models_test.ts"],
  },
  {
    id: "replica-custom-layer-unnamed",
    file: "lib/engine/replica_worker.ts",
    original: "  checkLayersKnown(topology);\n",
    mutant: "",
    breaks: "a custom layer's refusal is tfjs' several-line message",
    tests: ["tests/engine/data_parallel_test.ts"],
  },
  {
    id: "kernels-fused-activation-dropped",
    file: "lib/engine/kernels/kernels.ts",
    original: '(activation === "linear" || activation === "relu") &&',
    mutant: "true &&",
    breaks: "a convolution fused with elu, sigmoid or relu6 runs as linear on the replicas",
  },
  // lib/engine/errors.ts, lib/training/engine_errors.ts: engine errors in the tutorial's words
  {
    id: "engine-error-rename-ignored",
    file: "lib/engine/errors.ts",
    original: 'new EngineError(this.#template.replaceAll("{option}", name), this.option',
    mutant: "new EngineError(this.#template, this.option",
    breaks: "a re-worded engine error still names the engine's option",
  },
  {
    id: "engine-errors-batch-size-as-threads",
    file: "lib/training/engine_errors.ts",
    original: 'batchCapacity: "batchSize",',
    mutant: 'batchCapacity: "threads",',
    breaks: "a replica out of memory tells users to change WASM_THREADS instead of BATCH_SIZE",
  },
  {
    id: "data-parallel-bytes-without-scaling",
    file: "lib/engine/data_parallel.ts",
    original: "if (!(inputs instanceof Float32Array) && toFloats === undefined) {",
    mutant: "if (false) {",
    breaks: "bytes given without toFloats fail deep inside with no sentence saying what to pass",
  },
];
