/**
 * Loading MNIST and Fashion-MNIST: the four gzipped IDX files of a dataset are taken from the cache in
 * `data/`, else from the mirror named by `DATA_MIRROR`, else downloaded from a public mirror; every
 * file is checked against its SHA-256 and written to the cache atomically.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { readRegularFile, sha256, writeFileAtomically } from "../files.ts";
import { fileURLToPath } from "node:url";
import { downloadBounded } from "./download.ts";
import { gunzip, parseIdxImages, parseIdxLabels } from "./idx.ts";

/** Side of an image, in pixels. */
export const IMAGE_SIDE = 28;
/** Pixels per image. */
export const IMAGE_SIZE: number = IMAGE_SIDE * IMAGE_SIDE;
/** The shape of one image as the network takes it: height, width and one grey channel. */
export const IMAGE_SHAPE: readonly [number, number, number] = [IMAGE_SIDE, IMAGE_SIDE, 1];

/** The names of the datasets this loader knows. */
export const DATASET_NAMES = ["mnist", "fashion-mnist"] as const;

/** The datasets this loader knows. */
export type DatasetName = typeof DATASET_NAMES[number];

/**
 * Whether `name` names a dataset (own names only, never inherited keys such as `constructor`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isDatasetName } from "./mnist.ts";
 * assert.ok(isDatasetName("fashion-mnist"));
 * assert.ok(!isDatasetName("cifar") && !isDatasetName("toString"));
 * ```
 */
export function isDatasetName(name: string): name is DatasetName {
  return (DATASET_NAMES as readonly string[]).includes(name);
}

/** The four files of a dataset, named as first distributed. */
export type IdxFileName =
  | "train-images-idx3-ubyte.gz"
  | "train-labels-idx1-ubyte.gz"
  | "t10k-images-idx3-ubyte.gz"
  | "t10k-labels-idx1-ubyte.gz";

/** What the loader knows of a dataset. */
export interface DatasetInfo {
  /** Display names of the ten classes, by label. */
  classNames: readonly string[];
  /** SHA-256 (hex) of each gzipped file. */
  checksums: Readonly<Record<IdxFileName, string>>;
  /** Size in bytes of each gzipped file: no source may send more. */
  sizes: Readonly<Record<IdxFileName, number>>;
  /** Public HTTPS folders that hold the four files. */
  downloadUrls: readonly string[];
  /** How many training images the real files hold. */
  trainImages: number;
}

/** The datasets, their class names, checksums and public mirrors. */
export const DATASETS: Readonly<Record<DatasetName, DatasetInfo>> = {
  mnist: {
    classNames: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
    checksums: {
      "train-images-idx3-ubyte.gz":
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
      "train-labels-idx1-ubyte.gz":
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
      "t10k-images-idx3-ubyte.gz":
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
      "t10k-labels-idx1-ubyte.gz":
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
    sizes: {
      "train-images-idx3-ubyte.gz": 9_912_422,
      "train-labels-idx1-ubyte.gz": 28_881,
      "t10k-images-idx3-ubyte.gz": 1_648_877,
      "t10k-labels-idx1-ubyte.gz": 4_542,
    },
    downloadUrls: [
      "https://storage.googleapis.com/cvdf-datasets/mnist/",
      "https://ossci-datasets.s3.amazonaws.com/mnist/",
    ],
    trainImages: 60_000,
  },
  "fashion-mnist": {
    classNames: [
      "T-shirt/top",
      "Trouser",
      "Pullover",
      "Dress",
      "Coat",
      "Sandal",
      "Shirt",
      "Sneaker",
      "Bag",
      "Ankle boot",
    ],
    checksums: {
      "train-images-idx3-ubyte.gz":
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
      "train-labels-idx1-ubyte.gz":
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
      "t10k-images-idx3-ubyte.gz":
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
      "t10k-labels-idx1-ubyte.gz":
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
    sizes: {
      "train-images-idx3-ubyte.gz": 26_421_880,
      "train-labels-idx1-ubyte.gz": 29_515,
      "t10k-images-idx3-ubyte.gz": 4_422_102,
      "t10k-labels-idx1-ubyte.gz": 5_148,
    },
    downloadUrls: ["https://storage.googleapis.com/tensorflow/tf-keras-datasets/"],
    trainImages: 60_000,
  },
};

/** Images and labels of one split. Image `i` is `images.subarray(i * IMAGE_SIZE, (i + 1) * IMAGE_SIZE)`. */
export interface MnistSplit {
  /** Pixels, `count` x 28 x 28, row-major, 0 (paper) to 255 (ink). */
  images: Uint8Array;
  /** Labels 0-9, one per image. */
  labels: Uint8Array;
  /** The number of images. */
  count: number;
}

/** A loaded dataset. */
export interface Mnist {
  dataset: DatasetName;
  classNames: readonly string[];
  train: MnistSplit;
  test: MnistSplit;
}

/** Options of {@linkcode loadMnist}. */
export interface LoadMnistOptions {
  /** Which dataset. Default `"mnist"`. */
  dataset?: DatasetName;
  /** The cache folder; files go to `<cacheDir>/<dataset>/`. Default: the repository's `data/`. */
  cacheDir?: string;
  /**
   * A folder, `file://` or `https://` URL under which `<dataset>/<file>` is found. Default: the
   * environment variable `DATA_MIRROR`; `null` to use none.
   */
  mirror?: string | null;
  /** Public folders to download from, tried in order. Default: the dataset's; `[]` for offline. */
  downloadUrls?: readonly string[];
  /** Override of the expected SHA-256 per file (tests use small generated files). */
  checksums?: Partial<Record<IdxFileName, string>>;
  /**
   * Override of the expected size in bytes per file. A file whose checksum is overridden and whose
   * size is not may hold up to {@linkcode MAX_FILE_BYTES}.
   */
  sizes?: Partial<Record<IdxFileName, number>>;
  /** The fetch to use for URLs. Default: the global `fetch`. */
  fetch?: typeof fetch;
  /** Told of each file fetched or refused, for a progress log. Default: silent. */
  log?: (message: string) => void;
  /**
   * A download that receives no bytes for this long is given up (a slow link that keeps making
   * progress is not). Default 30 seconds.
   */
  stallTimeoutMs?: number;
}

const FILES: readonly IdxFileName[] = [
  "train-images-idx3-ubyte.gz",
  "train-labels-idx1-ubyte.gz",
  "t10k-images-idx3-ubyte.gz",
  "t10k-labels-idx1-ubyte.gz",
];

/** The repository's `data/` folder, whatever the working directory. */
export const DEFAULT_CACHE_DIR: string = fileURLToPath(new URL("../../data/", import.meta.url));

const STALL_TIMEOUT_MS = 30_000;

/** The ceiling of a file whose size is not known: above the largest real file (26.4 MB). */
export const MAX_FILE_BYTES = 32_000_000;

/** A temporary file older than this is left over from a run that died; writes take milliseconds. */
const STALE_PARTIAL_MS = 60_000;

/**
 * Loads a dataset: 60,000 training and 10,000 test images with their labels for the real files.
 *
 * @throws {Error} naming the file and every source tried when no source has a good copy, or naming
 * the file when its contents are not the IDX data they should be.
 *
 * @example Load MNIST from the cache or the mirror in DATA_MIRROR
 * ```ts ignore
 * import { loadMnist } from "./mnist.ts";
 * const mnist = await loadMnist();
 * console.log(mnist.train.count, mnist.test.count); // 60000 10000
 * ```
 */
export async function loadMnist(options: LoadMnistOptions = {}): Promise<Mnist> {
  const dataset = options.dataset ?? "mnist";
  if (!isDatasetName(dataset)) {
    throw new RangeError(
      `Unknown dataset "${dataset}": use one of ${DATASET_NAMES.join(", ")}.`,
    );
  }
  const info = DATASETS[dataset];
  await removeStalePartials(join(options.cacheDir ?? DEFAULT_CACHE_DIR, dataset));
  // When one file cannot be had, the others' downloads are cancelled: the run stops now.
  const cancel = new AbortController();
  const settled = await Promise.allSettled(
    FILES.map(async (file) => {
      let gzipped: Uint8Array;
      try {
        gzipped = await fetchVerified(dataset, file, { ...options, signal: cancel.signal });
      } catch (error) {
        if (!cancel.signal.aborted) cancel.abort(error);
        throw error;
      }
      try {
        const bytes = await gunzip(gzipped, file);
        return file.includes("images")
          ? parseIdxImages(bytes, file).pixels
          : parseIdxLabels(bytes, file, { classes: info.classNames.length });
      } catch (error) {
        if (!cancel.signal.aborted) cancel.abort(error);
        throw error;
      }
    }),
  );
  // Every file has settled (no cache write is still going on) before the first failure is told.
  // The cause is the first failure, not the downloads it cancelled.
  if (cancel.signal.aborted) throw cancel.signal.reason;
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) throw failed.reason;
  const [trainImages, trainLabels, testImages, testLabels] = settled.map((s) =>
    (s as PromiseFulfilledResult<Uint8Array>).value
  );
  return {
    dataset,
    classNames: info.classNames,
    train: pairSplit(trainImages, trainLabels, "train"),
    test: pairSplit(testImages, testLabels, "t10k"),
  };
}

/**
 * Loads a dataset like {@linkcode loadMnist}, but when no source has a good copy (offline, no
 * mirror) returns a sentence saying so and what to do, instead of failing: for an optional part of
 * the notebook that must not stop Run All.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadMnistOrExplain } from "./mnist.ts";
 * const empty = await Deno.makeTempDir();
 * const result = await loadMnistOrExplain({ dataset: "fashion-mnist", cacheDir: empty, mirror: null, downloadUrls: [] });
 * assert.match(String(result), /^fashion-mnist is not available here/);
 * await Deno.remove(empty, { recursive: true });
 * ```
 */
export async function loadMnistOrExplain(options: LoadMnistOptions = {}): Promise<Mnist | string> {
  const dataset = options.dataset ?? "mnist";
  try {
    return await loadMnist(options);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (!message.startsWith("Could not get a good copy")) throw error;
    return `${dataset} is not available here, so this part is skipped. ` +
      `${message.split("\n")[0]} To run it, put the four ${dataset} files in ` +
      `data/${dataset}/ or set DATA_MIRROR to a folder or URL that holds ${dataset}/, then run ` +
      `this cell again, or the whole notebook on it: DATASET=${dataset} deno task notebook.`;
  }
}

function pairSplit(images: Uint8Array, labels: Uint8Array, prefix: string): MnistSplit {
  const count = images.length / IMAGE_SIZE;
  if (count !== labels.length) {
    throw new Error(
      `${prefix}-images-idx3-ubyte.gz holds ${count} images but ${prefix}-labels-idx1-ubyte.gz ` +
        `holds ${labels.length} labels: the two files are not from the same dataset.`,
    );
  }
  return { images, labels, count };
}

/** A source of a file: where it is, and how to read it. */
interface Source {
  label: string;
  read: () => Promise<Uint8Array>;
  cache: boolean;
}

/**
 * Returns the gzipped bytes of `file`, from the first source whose copy matches the checksum, and
 * leaves a verified copy in the cache.
 */
async function fetchVerified(
  dataset: DatasetName,
  file: IdxFileName,
  options: LoadMnistOptions & { signal: AbortSignal },
): Promise<Uint8Array> {
  const expected = (options.checksums?.[file] ?? DATASETS[dataset].checksums[file]).toLowerCase();
  const size = knownSize(dataset, file, options);
  const cachePath = join(options.cacheDir ?? DEFAULT_CACHE_DIR, dataset, file);
  const log = options.log ?? (() => {});
  const failures: string[] = [];

  // The cache is checked like any other source, but a bad copy there is deleted, never used.
  const cached = await readFileIfExists(cachePath, size);
  if (cached === undefined) {
    failures.push(`cache ${cachePath}: not present`);
  } else if ("size" in cached) {
    await Deno.remove(cachePath).catch(() => {});
    const reason =
      `it holds ${cached.size} bytes, expected ${size ?? `at most ${MAX_FILE_BYTES}`}` +
      "; the bad copy was deleted";
    log(`${cachePath}: ${reason}`);
    failures.push(`cache ${cachePath}: ${reason}`);
  } else {
    const actual = await sha256(cached.bytes);
    if (actual === expected) return cached.bytes;
    await Deno.remove(cachePath).catch(() => {});
    const reason = `SHA-256 is ${actual}, expected ${expected}; the bad copy was deleted`;
    log(`${cachePath}: ${reason}`);
    failures.push(`cache ${cachePath}: ${reason}`);
  }

  for (const source of sourcesFor(dataset, file, { ...options, size })) {
    if (options.signal.aborted) {
      throw new Error(`Loading ${file} was cancelled: another file failed.`);
    }
    let bytes: Uint8Array;
    try {
      bytes = await source.read();
    } catch (error) {
      failures.push(`${source.label}: ${error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    const actual = await sha256(bytes);
    if (actual !== expected) {
      failures.push(`${source.label}: SHA-256 is ${actual}, expected ${expected}`);
      continue;
    }
    await writeFileAtomically(cachePath, bytes);
    log(`${file}: copied from ${source.label} to ${cachePath}`);
    return bytes;
  }

  throw new Error(
    `Could not get a good copy of ${file} (${dataset}). Sources tried:\n` +
      failures.map((line) => `  - ${line}`).join("\n") +
      `\nTo work offline, put the four ${dataset} files in ${dirname(cachePath)}/, or set ` +
      `DATA_MIRROR to a folder or URL that holds ${dataset}/${file}.`,
  );
}

/**
 * The size `file` must have: the dataset's, or the one given; unknown (`undefined`, bounded by
 * {@linkcode MAX_FILE_BYTES}) when only its checksum is overridden.
 */
function knownSize(
  dataset: DatasetName,
  file: IdxFileName,
  options: LoadMnistOptions,
): number | undefined {
  if (options.sizes?.[file] !== undefined) return options.sizes[file];
  return options.checksums?.[file] === undefined ? DATASETS[dataset].sizes[file] : undefined;
}

function sourcesFor(
  dataset: DatasetName,
  file: IdxFileName,
  options: LoadMnistOptions & { signal: AbortSignal; size: number | undefined },
): Source[] {
  const download = (url: URL) =>
    downloadBounded(url, {
      fetch: options.fetch,
      signal: options.signal,
      stallTimeoutMs: options.stallTimeoutMs ?? STALL_TIMEOUT_MS,
      size: options.size,
      maxBytes: MAX_FILE_BYTES,
    });
  const sources: Source[] = [];
  const mirror = options.mirror === undefined ? Deno.env.get("DATA_MIRROR") : options.mirror;
  if (mirror) {
    if (/^(https?|file):\/\//i.test(mirror)) {
      const url = new URL(`${dataset}/${file}`, mirror.endsWith("/") ? mirror : `${mirror}/`);
      sources.push({
        label: `DATA_MIRROR ${url}`,
        read: () => download(url),
        cache: true,
      });
    } else {
      const path = join(mirror, dataset, file);
      sources.push({
        label: `DATA_MIRROR ${path}`,
        read: () => readMirrorFile(path, options.size),
        cache: true,
      });
    }
  }
  for (const base of options.downloadUrls ?? DATASETS[dataset].downloadUrls) {
    const url = new URL(file, base);
    sources.push({ label: url.href, read: () => download(url), cache: true });
  }
  return sources;
}

/**
 * Removes temporary files that a run killed while writing the cache left behind
 * (`<file>.<uuid>.partial`, older than a minute: a live write takes milliseconds).
 */
async function removeStalePartials(dir: string): Promise<void> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch {
    return; // no cache folder yet
  }
  for (const entry of entries) {
    if (!entry.isFile || !entry.name.endsWith(".partial")) continue;
    const path = join(dir, entry.name);
    const stat = await Deno.stat(path).catch(() => undefined);
    const age = Date.now() - (stat?.mtime?.getTime() ?? Date.now());
    if (age > STALE_PARTIAL_MS) await Deno.remove(path).catch(() => {});
  }
}

/**
 * Reads a file of a mirror folder: a regular file of the known size (a pipe or a device there is
 * refused by name, never read), or at most `MAX_FILE_BYTES` when the size is not known.
 */
async function readMirrorFile(path: string, size: number | undefined): Promise<Uint8Array> {
  const stat = await Deno.stat(path).catch((error) => {
    throw error instanceof Deno.errors.NotFound ? new Error("not found") : error;
  });
  if (stat.isFile && size !== undefined && stat.size !== size) {
    throw new Error(
      `${path} holds ${stat.size} bytes, but the file holds ${size} bytes: it is another file`,
    );
  }
  return await readRegularFile(path, { maxBytes: MAX_FILE_BYTES, what: "a dataset file" });
}

/**
 * Reads a cached file of the known size (at most `MAX_FILE_BYTES` when unknown); a file of another
 * size is not read, only its size returned, so that the caller deletes it.
 */
async function readFileIfExists(
  path: string,
  size: number | undefined,
): Promise<{ bytes: Uint8Array } | { size: number } | undefined> {
  try {
    const stat = await Deno.stat(path);
    if (stat.isFile && (size !== undefined ? stat.size !== size : stat.size > MAX_FILE_BYTES)) {
      return { size: stat.size };
    }
    return { bytes: await readRegularFile(path, { what: "a cached dataset file" }) };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    if ((await Deno.stat(path).catch(() => undefined))?.isDirectory) {
      throw new Error(
        `${path} is a folder, but the cache keeps the file ${basename(path)} there: remove the ` +
          `folder (rm -r ${path}) and run again.`,
      );
    }
    if (/is not a regular file/.test((error as Error).message)) {
      throw new Error(`${(error as Error).message} The cache keeps ${basename(path)} there.`);
    }
    throw new Error(`Cannot read the cached file ${path} (${(error as Error).message}).`);
  }
}
