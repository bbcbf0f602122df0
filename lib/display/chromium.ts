/**
 * The project's one DevTools client: a headless Chromium driven over the Chrome DevTools Protocol
 * (CDP), with nothing but Deno's own `WebSocket`. `deno task publish` draws the Plotly figures'
 * pictures with it ({@link renderFigureImages} in `static_plot.ts`), `jupyter/preview.ts` looks at
 * the rendered notebook with it, and the browser tests (the drawing pad, the Jupyter frontend)
 * drive their pages with it.
 *
 * Each browser starts with its own temporary profile, no network services and no sandbox (it runs
 * as root in CI), and its profile is removed when it is closed. Every command has a timeout, and a
 * browser that exits fails the commands waiting on it with a sentence that says so, with the end
 * of what it printed.
 *
 * @module
 */

/** Where Debian's `chromium` package installs the browser. */
export const DEFAULT_CHROMIUM = "/usr/bin/chromium";

/**
 * What every headless Chromium started by the project needs: no GPU or sandbox, nothing fetched
 * in the background (a closed network refuses it, many times at each start), no scrollbars in
 * pictures.
 */
export const HEADLESS_FLAGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--hide-scrollbars",
];

/** How much of the browser's own output is kept for error messages, in characters. */
const OUTPUT_TAIL = 4_000;

/** How long a closed connection waits for the browser's exit, to report that rather than itself. */
const EXIT_GRACE_MS = 5_000;

/** Options of {@link Chromium.launch}. */
export interface ChromiumOptions {
  /** The browser executable; defaults to `$CHROMIUM`, else {@link DEFAULT_CHROMIUM}. */
  executable?: string;
  /** How long to wait for the browser to start and for each command, in ms. Default 60,000. */
  timeoutMs?: number;
  /** The window size, `[width, height]` in CSS pixels. Default `[1280, 1024]`. */
  windowSize?: readonly [number, number];
  /**
   * The folder in which the browser's temporary profile is made (and removed). Default: the
   * system's temporary folder; a task that may write only its own folders passes one of them.
   */
  profileParent?: string;
}

/** A DevTools protocol event: its method and parameters. */
export interface CdpEvent {
  method: string;
  params: Record<string, unknown>;
}

interface CdpMessage {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string; code?: number };
}

interface EvaluateResult {
  result?: { value?: unknown };
  exceptionDetails?: { text?: string; exception?: { description?: string } };
}

interface Waiting {
  method: string;
  resolve: (reply: CdpMessage) => void;
  reject: (error: Error) => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One headless browser with one page.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Chromium } from "./chromium.ts";
 * const browser = await Chromium.launch();
 * try {
 *   assert.equal(await browser.evaluate("Promise.resolve(6 * 7)"), 42);
 * } finally {
 *   await browser.close();
 * }
 * ```
 */
export class Chromium {
  #process: Deno.ChildProcess;
  #socket: WebSocket;
  #profile: string;
  #timeoutMs: number;
  #output: { text: string; drained: Promise<void> };
  #nextId = 1;
  #pending = new Map<number, Waiting>();
  #listeners = new Set<(event: CdpEvent) => void>();
  /** Called once if the browser exits before it is closed: the event waiters fail at once. */
  #exitListeners = new Set<(sentence: string) => void>();
  #closed = false;
  /** Set once the browser process has ended: the sentence every later command fails with. */
  #exited: string | undefined;

  private constructor(
    browser: { process: Deno.ChildProcess; output: { text: string; drained: Promise<void> } },
    socket: WebSocket,
    profile: string,
    timeoutMs: number,
  ) {
    this.#process = browser.process;
    this.#output = browser.output;
    this.#socket = socket;
    this.#profile = profile;
    this.#timeoutMs = timeoutMs;
    socket.onmessage = (event) => this.#receive(JSON.parse(String(event.data)) as CdpMessage);
    socket.onclose = async () => {
      // The socket closes when the browser exits: wait a moment so the error can say so.
      await Promise.race([this.#process.status, sleep(EXIT_GRACE_MS)]);
      this.#failPending((method) =>
        this.#exited ?? `Chromium closed its DevTools connection while ${method} was waiting.`
      );
    };
    this.#process.status.then((status) => {
      if (this.#closed) return;
      this.#exited = `Chromium exited (code ${status.code}${
        status.signal ? `, ${status.signal}` : ""
      }) while this page was in use. Its last output: ${this.output().trim() || "none"}`;
      this.#failPending(() => this.#exited ?? "");
      for (const listener of this.#exitListeners) listener(this.#exited);
    });
  }

  /** Starts a headless browser on a blank page. Close it with {@link Chromium.close}. */
  static async launch(options: ChromiumOptions = {}): Promise<Chromium> {
    const executable = options.executable ?? Deno.env.get("CHROMIUM") ?? DEFAULT_CHROMIUM;
    const timeoutMs = options.timeoutMs ?? 60_000;
    const [width, height] = options.windowSize ?? [1280, 1024];
    if (options.profileParent) await Deno.mkdir(options.profileParent, { recursive: true });
    const profile = await Deno.makeTempDir({
      prefix: "chromium-profile-",
      dir: options.profileParent,
    });
    let process: Deno.ChildProcess;
    try {
      process = new Deno.Command(executable, {
        args: [
          ...HEADLESS_FLAGS,
          `--user-data-dir=${profile}`,
          `--window-size=${width},${height}`,
          "--remote-debugging-address=127.0.0.1",
          "--remote-debugging-port=0",
          "about:blank",
        ],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
    } catch (error) {
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      throw new Error(
        `Cannot start Chromium at ${executable} (${error}). Install it ` +
          "(`sudo apt-get install -y chromium`) or set CHROMIUM to the browser's path.",
      );
    }
    const output = keepTail(process.stderr);
    try {
      const socket = await connectToPage({ profile, process, output, timeoutMs });
      return new Chromium({ process, output }, socket, profile, timeoutMs);
    } catch (error) {
      process.kill("SIGKILL");
      await process.status;
      await output.drained;
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      throw error;
    }
  }

  /** The end of what the browser printed (its stderr), for error messages. */
  output(): string {
    return this.#output.text;
  }

  /**
   * Sends one CDP command to the page and returns its result.
   *
   * @throws {Error} when Chromium refuses the command, does not answer within the timeout, or
   * exits meanwhile.
   */
  async send(
    method: string,
    params: Record<string, unknown> = {},
    options: { timeoutMs?: number } = {},
  ): Promise<Record<string, unknown>> {
    if (this.#closed) throw new Error(`Cannot send ${method}: this Chromium session is closed.`);
    if (this.#socket.readyState !== WebSocket.OPEN) {
      // The connection closes as the browser exits: give the exit a moment to be seen.
      await Promise.race([this.#process.status, sleep(EXIT_GRACE_MS)]);
    }
    if (this.#exited) throw new Error(`Cannot send ${method}: ${this.#exited}`);
    if (this.#socket.readyState !== WebSocket.OPEN) {
      throw new Error(`Cannot send ${method}: Chromium's DevTools connection is closed.`);
    }
    const id = this.#nextId++;
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const reply = await new Promise<CdpMessage>((resolve, reject) => {
      this.#pending.set(id, { method, resolve, reject });
      timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`Chromium did not answer ${method} within ${timeoutMs} ms.`));
      }, timeoutMs);
      this.#socket.send(JSON.stringify({ id, method, params }));
    }).finally(() => clearTimeout(timer));
    if (reply.error) {
      const code = reply.error.code === undefined ? "" : ` (${reply.error.code})`;
      throw new Error(`Chromium refused ${method}: ${reply.error.message}${code}`);
    }
    return reply.result ?? {};
  }

  /** Calls `listener` with every CDP event from now on; returns the function that stops it. */
  onEvent(listener: (event: CdpEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The first event `method` (for which `accept` holds) from now on, or a timeout error. */
  waitForEvent(
    method: string,
    options: { timeoutMs?: number; accept?: (params: Record<string, unknown>) => boolean } = {},
  ): Promise<CdpEvent> {
    const { timeoutMs = this.#timeoutMs, accept = () => true } = options;
    return new Promise((resolve, reject) => {
      const settle = (error?: Error, event?: CdpEvent) => {
        clearTimeout(timer);
        stop();
        this.#exitListeners.delete(exited);
        if (event) resolve(event);
        else reject(error);
      };
      const stop = this.onEvent((event) => {
        if (event.method === method && accept(event.params)) settle(undefined, event);
      });
      const exited = (sentence: string) => settle(new Error(`No ${method} event: ${sentence}`));
      this.#exitListeners.add(exited);
      const timer = setTimeout(
        () => settle(new Error(`No ${method} event within ${timeoutMs} ms.`)),
        timeoutMs,
      );
      if (this.#exited) settle(new Error(`No ${method} event: ${this.#exited}`));
    });
  }

  /**
   * Evaluates a JavaScript expression in the page, awaits it if it is a promise, and returns its
   * value (JSON-serialisable values only). A thrown exception becomes an `Error` here.
   */
  async evaluate<T = unknown>(expression: string): Promise<T> {
    const reply = await this.send("Runtime.evaluate", {
      expression,
      awaitPromise: true,
      returnByValue: true,
    }) as EvaluateResult;
    if (reply.exceptionDetails) {
      const details = reply.exceptionDetails;
      throw new Error(
        `The page threw: ${details.exception?.description ?? details.text ?? "an exception"}`,
      );
    }
    return reply.result?.value as T;
  }

  /** Evaluates `expression` every 50 ms until it is truthy; returns its value. */
  async waitUntil<T>(expression: string, timeoutMs: number = this.#timeoutMs): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const value = await this.evaluate<T>(expression);
      if (value) return value;
      if (Date.now() > deadline) {
        throw new Error(`The page did not reach ${expression} within ${timeoutMs} ms.`);
      }
      await sleep(50);
    }
  }

  /** Opens a URL (for example `file:///...`) in the page and waits until it has loaded. */
  async open(url: string): Promise<void> {
    await this.send("Page.navigate", { url });
    await this.evaluate(`new Promise((resolve) => {
      if (document.readyState === "complete") resolve(true);
      else addEventListener("load", () => resolve(true));
    })`);
  }

  /** A PNG screenshot of the whole page (its full scroll height), as bytes. */
  async screenshot(): Promise<Uint8Array> {
    const [width, height] = await this.#pageSize();
    return await this.#capture({ x: 0, y: 0, width, height });
  }

  /**
   * The whole page as PNG slices of at most `sliceHeight` CSS pixels each, top to bottom: a long
   * page in pieces small enough to look at.
   */
  async screenshotSlices(sliceHeight: number): Promise<Uint8Array[]> {
    const [width, height] = await this.#pageSize();
    const slices: Uint8Array[] = [];
    for (let y = 0; y < height; y += sliceHeight) {
      slices.push(
        await this.#capture({ x: 0, y, width, height: Math.min(sliceHeight, height - y) }),
      );
    }
    return slices;
  }

  /** Ends the browser (killed if it has not exited 5 s after being asked) and removes its profile. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.close();
    this.#failPending((method) => `Chromium was closed while ${method} was waiting.`);
    for (const signal of ["SIGTERM", "SIGKILL"] as const) {
      try {
        this.#process.kill(signal);
      } catch {
        break; // already exited
      }
      if (await Promise.race([this.#process.status.then(() => true), sleep(5_000)])) break;
    }
    await this.#process.status;
    await this.#output.drained;
    await Deno.remove(this.#profile, { recursive: true }).catch(() => {});
  }

  #receive(message: CdpMessage): void {
    if (message.id === undefined) {
      const event = { method: message.method ?? "", params: message.params ?? {} };
      for (const listener of this.#listeners) listener(event);
      return;
    }
    const waiting = this.#pending.get(message.id);
    this.#pending.delete(message.id);
    waiting?.resolve(message);
  }

  #failPending(sentence: (method: string) => string): void {
    for (const waiting of this.#pending.values()) {
      waiting.reject(new Error(sentence(waiting.method)));
    }
    this.#pending.clear();
  }

  async #pageSize(): Promise<[number, number]> {
    return await this.evaluate(
      "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]",
    ) as [number, number];
  }

  async #capture(clip: { x: number; y: number; width: number; height: number }) {
    const result = await this.send("Page.captureScreenshot", {
      format: "png",
      captureBeyondViewport: true,
      clip: { ...clip, scale: 1 },
    });
    return Uint8Array.from(atob(String(result.data)), (c) => c.charCodeAt(0));
  }
}

/** Reads a stream to its end, keeping only its last {@link OUTPUT_TAIL} characters. */
function keepTail(stream: ReadableStream<Uint8Array>): { text: string; drained: Promise<void> } {
  const output = { text: "", drained: Promise.resolve() };
  output.drained = (async () => {
    // A TextDecoder rather than a TextDecoderStream: the latter's types differ between Deno's
    // and the DOM's libraries, and the pad's and map's page modules bring in the DOM's.
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      output.text = (output.text + decoder.decode(chunk, { stream: true })).slice(-OUTPUT_TAIL);
    }
  })().catch(() => {});
  return output;
}

/** A browser that is starting: its profile, its process, its output and how long it may take. */
interface Starting {
  profile: string;
  process: Deno.ChildProcess;
  output: { text: string };
  timeoutMs: number;
}

/** Waits for the DevTools port, then opens a WebSocket to the browser's page. */
async function connectToPage(starting: Starting): Promise<WebSocket> {
  const port = await waitForPort(starting);
  const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as {
    type: string;
    webSocketDebuggerUrl: string;
  }[];
  const page = targets.find((t) => t.type === "page");
  if (page === undefined) throw new Error("Chromium started without a page to drive.");
  const socket = new WebSocket(page.webSocketDebuggerUrl);
  await new Promise<void>((resolve, reject) => {
    socket.onopen = () => resolve();
    socket.onerror = () => reject(new Error("Cannot open Chromium's DevTools connection."));
  });
  return socket;
}

/** Chromium writes its DevTools port to `DevToolsActivePort` in the profile once it listens. */
async function waitForPort({ profile, process, output, timeoutMs }: Starting): Promise<number> {
  let exited: Deno.CommandStatus | undefined;
  process.status.then((status) => exited = status);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) {
      throw new Error(
        `Chromium exited (code ${exited.code}) while starting. Its last output: ` +
          `${output.text.trim() || "none"}`,
      );
    }
    try {
      const [port] = (await Deno.readTextFile(`${profile}/DevToolsActivePort`)).split("\n");
      if (/^\d+$/.test(port)) return Number(port);
    } catch {
      // not written yet
    }
    await sleep(50);
  }
  throw new Error(`Chromium did not open its DevTools port within ${timeoutMs} ms.`);
}
