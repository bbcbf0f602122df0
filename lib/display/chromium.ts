/**
 * A headless Chromium driven over the Chrome DevTools Protocol (CDP), with nothing but Deno's
 * own `WebSocket`: enough to evaluate scripts in one blank page and take screenshots. It is how
 * the Plotly figures get their static pictures ({@link renderFigureImages} in `static_plot.ts`)
 * and how the rendered notebook is checked as a reader sees it.
 *
 * Each session starts a fresh browser with its own temporary profile, no network services and no
 * sandbox (it runs as root in CI), and removes the profile when closed.
 *
 * @module
 */

/** Where Debian's `chromium` package installs the browser. */
export const DEFAULT_CHROMIUM = "/usr/bin/chromium";

/**
 * What every headless Chromium started by the project needs: no GPU or sandbox, and nothing
 * fetched in the background (this machine's closed network refuses it, many times at each start).
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
];

/** The flags every session of {@link Chromium} uses: headless, quiet, no scrollbars in pictures. */
export const CHROMIUM_FLAGS: readonly string[] = [...HEADLESS_FLAGS, "--hide-scrollbars"];

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

interface CdpReply {
  id?: number;
  result?: Record<string, unknown>;
  error?: { message: string };
}

interface EvaluateResult {
  result?: { value?: unknown };
  exceptionDetails?: { text?: string; exception?: { description?: string } };
}

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
  #nextId = 1;
  #pending = new Map<number, { resolve: (r: CdpReply) => void; reject: (e: Error) => void }>();
  #closed = false;

  private constructor(
    process: Deno.ChildProcess,
    socket: WebSocket,
    profile: string,
    timeoutMs: number,
  ) {
    this.#process = process;
    this.#socket = socket;
    this.#profile = profile;
    this.#timeoutMs = timeoutMs;
    socket.onmessage = (event) => {
      const reply = JSON.parse(String(event.data)) as CdpReply;
      if (reply.id === undefined) return; // an event; nothing here subscribes to any
      const waiting = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      waiting?.resolve(reply);
    };
    socket.onclose = () => {
      for (const waiting of this.#pending.values()) {
        waiting.reject(new Error("Chromium closed its DevTools connection."));
      }
      this.#pending.clear();
    };
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
          ...CHROMIUM_FLAGS,
          `--user-data-dir=${profile}`,
          `--window-size=${width},${height}`,
          "--remote-debugging-port=0",
          "about:blank",
        ],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
    } catch (error) {
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      throw new Error(
        `Cannot start Chromium at ${executable} (${error}). Install it ` +
          "(`sudo apt-get install -y chromium`) or set CHROMIUM to the browser's path.",
      );
    }
    try {
      const port = await waitForPort(profile, process, timeoutMs);
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
      return new Chromium(process, socket, profile, timeoutMs);
    } catch (error) {
      process.kill("SIGKILL");
      await process.status;
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      throw error;
    }
  }

  /** Sends one CDP command to the page and returns its result. */
  async send(
    method: string,
    params: Record<string, unknown> = {},
  ): Promise<Record<string, unknown>> {
    if (this.#closed) throw new Error(`Cannot send ${method}: this Chromium session is closed.`);
    const id = this.#nextId++;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const reply = await new Promise<CdpReply>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`Chromium did not answer ${method} within ${this.#timeoutMs} ms.`));
      }, this.#timeoutMs);
      this.#socket.send(JSON.stringify({ id, method, params }));
    }).finally(() => clearTimeout(timer));
    if (reply.error) throw new Error(`Chromium refused ${method}: ${reply.error.message}`);
    return reply.result ?? {};
  }

  /**
   * Evaluates a JavaScript expression in the page, awaits it if it is a promise, and returns its
   * value (JSON-serialisable values only). A thrown exception becomes an `Error` here.
   */
  async evaluate(expression: string): Promise<unknown> {
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
    return reply.result?.value;
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

  /** Ends the browser and removes its temporary profile. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.close();
    try {
      this.#process.kill("SIGTERM");
    } catch {
      // already exited
    }
    await this.#process.status;
    await Deno.remove(this.#profile, { recursive: true }).catch(() => {});
  }
}

/** Chromium writes its DevTools port to `DevToolsActivePort` in the profile once it listens. */
async function waitForPort(
  profile: string,
  process: Deno.ChildProcess,
  timeoutMs: number,
): Promise<number> {
  let exited = false;
  process.status.then(() => exited = true);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) throw new Error("Chromium exited while starting; run it by hand to see why.");
    try {
      const [port] = (await Deno.readTextFile(`${profile}/DevToolsActivePort`)).split("\n");
      if (/^\d+$/.test(port)) return Number(port);
    } catch {
      // not written yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`Chromium did not open its DevTools port within ${timeoutMs} ms.`);
}
