/**
 * Prepares `@tensorflow/tfjs-backend-wasm` 4.22 for training in Deno: locates the `.wasm`
 * binaries in the installed package, turns on SIMD and (Emscripten pthread) threads, registers
 * the missing and faulty gradient kernels, and shuts the thread pool down again.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { getThreadsCount, setThreadsCount, setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import wt from "node:worker_threads";
import os from "node:os";
import { createRequire } from "node:module";
import { registerWasmTrainingKernels } from "./kernels/kernels.ts";
import { EngineError } from "./errors.ts";

/**
 * What {@link setupWasmBackend} set up.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { setupWasmBackend, shutdownWasmBackend, type WasmBackendInfo } from "./backend.ts";
 * const info: WasmBackendInfo = await setupWasmBackend({ threads: 1 });
 * assert.deepEqual([info.backend, info.simd, info.threads], ["wasm", true, 1]);
 * shutdownWasmBackend();
 * ```
 */
export interface WasmBackendInfo {
  /** Always `"wasm"`. */
  backend: string;
  /** Whether the SIMD binary is in use. */
  simd: boolean;
  /** Number of threads XNNPACK actually uses (as reported by the C++ side). */
  threads: number;
  /** Version of `@tensorflow/tfjs`. */
  tfjsVersion: string;
}

/**
 * Options of {@link setupWasmBackend}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { setupWasmBackend, shutdownWasmBackend, type WasmBackendOptions } from "./backend.ts";
 * const options: WasmBackendOptions = { threads: 1 }; // single-threaded SIMD binary
 * assert.equal((await setupWasmBackend(options)).threads, 1);
 * shutdownWasmBackend();
 * ```
 */
export interface WasmBackendOptions {
  /**
   * XNNPACK thread count, from 1 to the machine's logical cores. Default: one per logical core.
   * `1` loads the single-threaded SIMD binary (no worker threads at all).
   */
  threads?: number;
  /** Use the SIMD binary (default `true`). `false` forces the plain, single-threaded binary. */
  simd?: boolean;
}

/** The parts of the Emscripten pthread runtime we need to stop the pool. */
interface PThreadRuntime {
  terminateAllThreads(): void;
  runningWorkers: { terminate(): unknown }[];
  unusedWorkers: { terminate(): unknown }[];
}

/** The registered wasm backend, seen through the fields this module touches. */
interface WasmBackendInternals {
  wasm: { PThread?: PThreadRuntime };
}

type BackendFactory = () => tf.KernelBackend | Promise<tf.KernelBackend>;

/** Priority the wasm package registers its backend with (tfjs-backend-wasm/src/base.ts). */
const WASM_PRIORITY = 2;

let current: (WasmBackendInfo & { key: string }) | undefined;
let pending: Promise<WasmBackendInfo> | undefined;
let savedFactory: BackendFactory | undefined;

/** Directory holding the package's `package.json` (`.../@tensorflow/tfjs-backend-wasm/`). */
function packageDir(): string {
  const tried: string[] = [];
  // import.meta.resolve gives a file: URL of the package entry when node_modules is used.
  try {
    const entry = import.meta.resolve("@tensorflow/tfjs-backend-wasm");
    if (entry.startsWith("file:")) {
      const dir = new URL("../", entry).pathname;
      if (exists(dir + "package.json")) return dir;
      tried.push(dir);
    }
  } catch (e) {
    tried.push(String(e));
  }
  try {
    const req = createRequire(import.meta.url);
    const pkg = req.resolve("@tensorflow/tfjs-backend-wasm/package.json");
    return pkg.slice(0, -"package.json".length);
  } catch (e) {
    tried.push(String(e));
  }
  for (const base of [new URL("../../", import.meta.url).pathname, Deno.cwd() + "/"]) {
    const dir = base + "node_modules/@tensorflow/tfjs-backend-wasm/";
    if (exists(dir + "package.json")) return dir;
    tried.push(dir);
  }
  throw new Error(
    "Cannot find the installed @tensorflow/tfjs-backend-wasm package (looked in " +
      tried.join(", ") +
      "). Run `deno install` in the repository root so node_modules/ holds it.",
  );
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The logical cores of this machine (at least 1): the default thread count.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { logicalCores } from "./backend.ts";
 * assert.ok(Number.isInteger(logicalCores()) && logicalCores() >= 1);
 * ```
 */
export function logicalCores(): number {
  return Math.max(1, navigator.hardwareConcurrency || os.cpus().length || 1);
}

/** The thread count asked for, checked: one per core by default. */
function requestedThreads(options: WasmBackendOptions): number {
  const threads = options.threads ?? logicalCores();
  const cores = logicalCores();
  if (!Number.isInteger(threads) || threads < 1 || threads > cores) {
    throw new RangeError(
      `threads must be a whole number from 1 to ${cores} (this machine's logical cores), got ` +
        `${threads}. Pass e.g. { threads: 1 } for the single-threaded binary.`,
    );
  }
  return threads;
}

/**
 * Source prepended to Emscripten's pthread worker script. Deno's worker global scope has
 * getter-only `self`, `location`, ...; the worker script does `Object.assign(global, {self,
 * location, ...})`, which throws on those, so we shadow them with writable data properties.
 */
const WORKER_PRELUDE = `"use strict";
for (const k of ["self", "location", "postMessage", "performance", "importScripts", "Worker", "Module", "require"]) {
  try {
    Object.defineProperty(globalThis, k, { value: globalThis[k], writable: true, configurable: true, enumerable: true });
  } catch (e) {
    require("fs").writeSync(2, "tfjs wasm worker: cannot redefine " + k + ": " + e + "\\n");
  }
}
`;

/**
 * Writes the pthread worker script to a real file (Deno's `node:worker_threads` cannot start
 * the `blob:` URL tfjs hands it). Written to `<repo>/.wasm-threads/`, else the OS temp dir;
 * written to a temporary name then renamed so concurrent processes never see half a file.
 */
function writeWorkerScript(pkgDir: string): string {
  const req = createRequire(import.meta.url);
  const { wasmWorkerContents } = req(
    pkgDir + "wasm-out/tfjs-backend-wasm-threaded-simd.worker.js",
  ) as { wasmWorkerContents: string };
  // Same escaping tfjs applies before it makes its Blob: the string holds "\n" escapes that
  // must stay escapes inside the script's string literals.
  const text = WORKER_PRELUDE + wasmWorkerContents.replace(/\n/g, "\\n");
  const name = `tfjs-backend-wasm-${tf.version_core}-threaded-simd.worker.cjs`;
  // The repository's git-ignored .wasm-threads/ first; a fresh temp dir only if that fails.
  const dirs: (() => string)[] = [
    () => new URL("../../.wasm-threads/", import.meta.url).pathname,
    () => Deno.makeTempDirSync({ prefix: "tfjs-wasm-threads-" }) + "/",
  ];
  const errors: string[] = [];
  for (const makeDir of dirs) {
    try {
      const dir = makeDir();
      const file = dir + name;
      if (exists(file) && Deno.readTextFileSync(file) === text) return file;
      Deno.mkdirSync(dir, { recursive: true });
      // A name of its own: test modules run side by side in one process share its pid.
      const tmp = `${file}.${crypto.randomUUID()}.tmp`;
      Deno.writeTextFileSync(tmp, text);
      Deno.renameSync(tmp, file);
      return file;
    } catch (e) {
      errors.push(String(e));
    }
  }
  throw new Error(
    `Cannot write the wasm worker script (${errors.join("; ")}). ` +
      "Run with --allow-write (or -A) or pass { threads: 1 } to use the single-threaded binary.",
  );
}

/**
 * The web `Worker` class, saved before {@link setupWasmBackend} runs: Emscripten's threaded glue
 * replaces `globalThis.Worker` with the `node:worker_threads` class it was given, for good.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { WebWorker } from "./backend.ts";
 * assert.equal(typeof WebWorker, "function");
 * ```
 */
export const WebWorker: typeof Worker = globalThis.Worker;

/** Workers made by {@link makeWorkerClass}; set to release them once the pool has started. */
const workers = new Set<wt.Worker>();
let releaseWorkers = false;
/** Set while the backend initializes: rejects the start-up when a worker fails. */
let reportWorkerError: ((e: unknown) => void) | undefined;
/** How long the worker threads may take to start before setup gives up. */
const START_TIMEOUT_MS = 60_000;

/**
 * A `node:worker_threads` Worker that starts Emscripten's pthread workers from real files:
 * any `blob:` URL becomes the worker script file, and the `load` message's main-script Blob
 * becomes the path of the package's threaded glue file (which defines the same factory).
 *
 * Once the pool has started ({@link unrefWorkers}), `ref()` becomes a no-op so pool threads never
 * keep the process alive: the main thread blocks synchronously while they compute, so nothing
 * is lost when the process ends. Before that the workers must stay referenced, or the event loop
 * would end while the backend waits for them to load.
 */
function makeWorkerClass(workerFile: string, mainScriptFile: string): typeof wt.Worker {
  return class FileWorker extends wt.Worker {
    constructor(filename: string | URL, options?: wt.WorkerOptions) {
      const isBlob = typeof filename === "string" && filename.startsWith("blob:");
      super(isBlob ? workerFile : filename, options);
      workers.add(this);
      this.once("exit", () => workers.delete(this));
      // A worker that cannot start would leave setBackend pending forever: report it.
      this.on("error", (e: unknown) => reportWorkerError?.(e));
      if (releaseWorkers) this.unref();
    }
    override ref(): void {
      if (!releaseWorkers) super.ref();
    }
    override postMessage(value: unknown, transferList?: readonly wt.TransferListItem[]): void {
      if (
        typeof value === "object" && value !== null && "cmd" in value && value.cmd === "load" &&
        "urlOrBlob" in value && value.urlOrBlob instanceof Blob
      ) {
        value = { ...value, urlOrBlob: mainScriptFile };
      }
      super.postMessage(value, transferList);
    }
  };
}

/** Lets the process exit while pool workers exist (see {@link makeWorkerClass}). */
function unrefWorkers(): void {
  releaseWorkers = true;
  for (const w of workers) w.unref();
}

/** Key describing a configuration; a different key needs a fresh backend instance. */
function configKey(simd: boolean, threads: number): string {
  return `simd=${simd},threads=${threads}`;
}

async function initialize(simd: boolean, threads: number): Promise<WasmBackendInfo> {
  const pkgDir = packageDir();
  checkWasmFiles(pkgDir + "dist/");
  const useThreads = simd && threads > 1;
  configureWasm({ dist: pkgDir + "dist/", simd, threads, useThreads });
  registerFreshFactory();
  const started = useThreads
    ? await withThreadedRuntime(pkgDir, threads, startBackend)
    : await startBackend();
  if (useThreads) unrefWorkers();
  if (!started.ok) {
    abandonFailedStart();
    throw new EngineError(
      "The tfjs wasm backend failed to start" +
        (started.cause ? ` (${String(started.cause)})` : "") +
        ". Run with -A (read access to node_modules and write access to .wasm-threads/), " +
        "or set {option} to 1 to rule out the threaded binary.",
      "threads",
      { cause: started.cause },
    );
  }
  registerWasmTrainingKernels();
  return {
    backend: "wasm",
    simd: await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT") as boolean,
    threads: getThreadsCount(),
    tfjsVersion: tf.version.tfjs,
  };
}

/** Fails early, with what to do, when the package's .wasm binaries cannot be read. */
function checkWasmFiles(dist: string): void {
  for (const f of ["tfjs-backend-wasm-simd.wasm", "tfjs-backend-wasm-threaded-simd.wasm"]) {
    try {
      Deno.statSync(dist + f);
    } catch (e) {
      throw new Error(
        `Cannot read ${dist}${f} (${e}). Run with --allow-read (or -A) and make sure ` +
          "node_modules/@tensorflow/tfjs-backend-wasm is installed (`deno install`).",
      );
    }
  }
}

function configureWasm(
  config: { dist: string; simd: boolean; threads: number; useThreads: boolean },
): void {
  setWasmPaths(config.dist);
  tf.env().set("WASM_HAS_SIMD_SUPPORT", config.simd);
  // tfjs hard-codes `false` when it believes it runs in Node (Deno reports process.versions.node).
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", config.useThreads);
  setThreadsCount(config.threads);
}

/** (Re-)registers the factory, so that the next start creates an instance with the new flags. */
function registerFreshFactory(): void {
  savedFactory ??= tf.findBackendFactory("wasm") as BackendFactory | undefined;
  if (savedFactory === undefined) {
    throw new Error(
      "The wasm backend factory is not registered. Import @tensorflow/tfjs-backend-wasm " +
        "(this module does) before calling setupWasmBackend.",
    );
  }
  if (tf.findBackendFactory("wasm") !== undefined) tf.removeBackend("wasm");
  tf.registerBackend("wasm", savedFactory, WASM_PRIORITY);
}

/**
 * Runs `start` with the two globals the threaded runtime reads patched, and restores them after:
 * `Worker` starts the pthread workers from real files (see {@link makeWorkerClass}), and
 * `os.cpus` reports 2 x threads cores, because the C++ side uses min(threads, logical cores / 2)
 * threads, assuming hyper-threading.
 */
async function withThreadedRuntime<T>(
  pkgDir: string,
  threads: number,
  start: () => Promise<T>,
): Promise<T> {
  const origWorker = wt.Worker;
  const origCpus = os.cpus;
  releaseWorkers = false; // keep new workers referenced until they have loaded
  wt.Worker = makeWorkerClass(
    writeWorkerScript(pkgDir),
    pkgDir + "wasm-out/tfjs-backend-wasm-threaded-simd.js",
  );
  os.cpus = () => {
    const real = origCpus();
    return Array.from(
      { length: Math.max(real.length, 2 * threads) },
      (_, i) => real[i % real.length],
    );
  };
  try {
    return await start();
  } finally {
    // The Emscripten glue copied the class to globalThis.Worker already; restore the module.
    wt.Worker = origWorker;
    os.cpus = origCpus;
  }
}

/** `tf.setBackend("wasm")`, ended early by a worker that fails or by a start-up timeout. */
async function startBackend(): Promise<{ ok: boolean; cause?: unknown }> {
  const workerFailed = new Promise<never>((_, reject) => {
    reportWorkerError = reject;
  });
  const timer = setTimeout(
    () => reportWorkerError?.(new Error(`no worker thread started within ${START_TIMEOUT_MS} ms`)),
    START_TIMEOUT_MS,
  );
  try {
    return { ok: await Promise.race([tf.setBackend("wasm"), workerFailed]) };
  } catch (cause) {
    return { ok: false, cause };
  } finally {
    reportWorkerError = undefined;
    clearTimeout(timer);
  }
}

function abandonFailedStart(): void {
  for (const w of workers) void w.terminate();
  try {
    tf.removeBackend("wasm");
  } catch {
    // the half-started instance may not be removable; the factory is re-registered next time
  }
}

/**
 * Makes `wasm` the active tfjs backend, ready for training. Idempotent: calling it again with
 * the same options just re-activates the backend; different options re-create it (tensors that
 * lived on the old instance are lost, so call it before creating models).
 *
 * @param options thread count and SIMD; see {@link WasmBackendOptions}.
 * @returns what was set up, e.g. `{backend: "wasm", simd: true, threads: 2, tfjsVersion: "4.22.0"}`.
 * @throws Error with what to do when the `.wasm` files cannot be found or started.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { logicalCores, setupWasmBackend, shutdownWasmBackend } from "./backend.ts";
 * const info = await setupWasmBackend(); // { backend: "wasm", simd: true, threads: 2, ... }
 * assert.equal(tf.getBackend(), "wasm");
 * assert.equal(info.threads, logicalCores());
 * shutdownWasmBackend();
 * ```
 */
export async function setupWasmBackend(options: WasmBackendOptions = {}): Promise<WasmBackendInfo> {
  const simd = options.simd ?? true;
  const threads = simd ? requestedThreads(options) : 1;
  const key = configKey(simd, threads);
  while (pending) await pending.catch(() => undefined);
  if (current?.key === key && tf.findBackend("wasm") !== null) {
    if (tf.getBackend() !== "wasm" && !(await tf.setBackend("wasm"))) {
      throw new Error(
        "Re-activating the wasm backend failed. Call shutdownWasmBackend() and retry.",
      );
    }
    registerWasmTrainingKernels();
    const { key: _key, ...info } = current;
    return info;
  }
  if (current) shutdownWasmBackend();
  pending = initialize(simd, threads);
  try {
    const info = await pending;
    current = { ...info, key };
    return info;
  } finally {
    pending = undefined;
  }
}

/**
 * Stops the wasm backend's worker threads and removes the backend instance, so the process (or
 * a test file) can end by itself. A later {@link setupWasmBackend} starts a fresh instance.
 * Safe to call when nothing was set up.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { setupWasmBackend, shutdownWasmBackend } from "./backend.ts";
 * await setupWasmBackend({ threads: 1 });
 * // ... train ...
 * shutdownWasmBackend();
 * assert.equal(tf.findBackend("wasm"), null, "the instance and its threads are gone");
 * ```
 */
export function shutdownWasmBackend(): void {
  current = undefined;
  if (tf.findBackendFactory("wasm") === undefined) return;
  const backend = tf.engine().registry["wasm"] as unknown as WasmBackendInternals | undefined;
  const pthread = backend?.wasm.PThread;
  // removeBackend disposes the C++ side first (which joins XNNPACK's threads), then we end
  // the workers themselves; re-register the factory so the backend can be set up again.
  tf.removeBackend("wasm");
  if (pthread) {
    pthread.terminateAllThreads();
    for (const w of [...pthread.runningWorkers, ...pthread.unusedWorkers]) w.terminate();
  }
  if (savedFactory) tf.registerBackend("wasm", savedFactory, WASM_PRIORITY);
}
