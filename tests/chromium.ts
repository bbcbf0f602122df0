/**
 * Debian's headless Chromium driven over the DevTools protocol from Deno, with no dependency: one
 * page, its WebSocket, commands and events. For the tests that check pages in a real browser.
 *
 * @module
 */
import { HEADLESS_FLAGS } from "../lib/display/chromium.ts";

/** A DevTools protocol event: its method and parameters. */
export interface CdpEvent {
  method: string;
  params: Record<string, unknown>;
}

/** Chromium's flags for a quiet, isolated, offline-friendly headless run. */
export const CHROMIUM_FLAGS: readonly string[] = [...HEADLESS_FLAGS, "--remote-debugging-port=0"];

/** One Chromium page under remote control. */
export class ChromiumPage {
  /** Every event received so far, in order. */
  readonly events: CdpEvent[] = [];
  #socket: WebSocket;
  #process: Deno.ChildProcess;
  #profile: string;
  #nextId = 1;
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #listeners = new Set<(event: CdpEvent) => void>();

  private constructor(socket: WebSocket, process: Deno.ChildProcess, profile: string) {
    this.#socket = socket;
    this.#process = process;
    this.#profile = profile;
    socket.onmessage = (message) => {
      const data = JSON.parse(String(message.data));
      if (typeof data.id === "number") {
        const waiter = this.#pending.get(data.id);
        this.#pending.delete(data.id);
        if (data.error) waiter?.reject(new Error(`${data.error.message} (${data.error.code})`));
        else waiter?.resolve(data.result);
      } else {
        const event = { method: data.method, params: data.params ?? {} };
        this.events.push(event);
        for (const listener of this.#listeners) listener(event);
      }
    };
  }

  /**
   * Starts `chromium` (a fresh profile, `window` as "WIDTHxHEIGHT") and attaches to its page.
   * Throws with the install command when Chromium is missing.
   */
  static async launch(window = "1000x700"): Promise<ChromiumPage> {
    const profile = await Deno.makeTempDir({ prefix: "chromium-profile-" });
    let process: Deno.ChildProcess;
    try {
      process = new Deno.Command("chromium", {
        args: [
          ...CHROMIUM_FLAGS,
          `--user-data-dir=${profile}`,
          `--window-size=${window.replace("x", ",")}`,
          "about:blank",
        ],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
    } catch (error) {
      await Deno.remove(profile, { recursive: true });
      throw new Error(
        `Chromium is needed for the browser tests (${error}): sudo apt-get install -y chromium`,
      );
    }
    // Chromium prints its DevTools address on stderr; keep reading so that it never blocks.
    const lines = process.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = "";
    let address: string | undefined;
    const deadline = Date.now() + 30_000;
    while (address === undefined && Date.now() < deadline) {
      const { value, done } = await lines.read();
      if (done) break;
      buffered += value;
      address = /DevTools listening on (ws:\/\/\S+)/.exec(buffered)?.[1];
    }
    (async () => {
      while (!(await lines.read()).done) { /* drain */ }
    })().catch(() => {});
    if (address === undefined) {
      process.kill();
      await process.status;
      await Deno.remove(profile, { recursive: true });
      throw new Error(`Chromium did not start its DevTools server: ${buffered.slice(-500)}`);
    }
    const { host } = new URL(address);
    const targets = await (await fetch(`http://${host}/json/list`)).json() as {
      type: string;
      webSocketDebuggerUrl: string;
    }[];
    const page = targets.find((target) => target.type === "page");
    if (!page) throw new Error("Chromium opened no page.");
    const socket = new WebSocket(page.webSocketDebuggerUrl);
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = () => reject(new Error("Cannot connect to Chromium's page."));
    });
    return new ChromiumPage(socket, process, profile);
  }

  /** Sends a DevTools command and returns its result. */
  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    this.#socket.send(JSON.stringify({ id, method, params }));
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve: (v) => resolve(v as Record<string, unknown>), reject });
    });
  }

  /** The first event `method` (for which `accept` holds) from now on, or a timeout error. */
  waitForEvent(
    method: string,
    timeoutMs = 30_000,
    accept: (params: Record<string, unknown>) => boolean = () => true,
  ): Promise<CdpEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#listeners.delete(listener);
        reject(new Error(`No ${method} event within ${timeoutMs} ms.`));
      }, timeoutMs);
      const listener = (event: CdpEvent) => {
        if (event.method !== method || !accept(event.params)) return;
        clearTimeout(timer);
        this.#listeners.delete(listener);
        resolve(event);
      };
      this.#listeners.add(listener);
    });
  }

  /** Evaluates `expression` in the page (awaiting a promise) and returns its JSON value. */
  async evaluate<T>(expression: string): Promise<T> {
    const result = await this.send("Runtime.evaluate", {
      expression,
      returnByValue: true,
      awaitPromise: true,
    });
    if (result.exceptionDetails) {
      throw new Error(`The page threw: ${JSON.stringify(result.exceptionDetails)}`);
    }
    return (result.result as { value: T }).value;
  }

  /** Polls `expression` until it is truthy; returns its value. */
  async waitUntil<T>(expression: string, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const value = await this.evaluate<T>(expression);
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${expression}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Presses the left button at the first point, moves through the others, releases. */
  async drag(points: readonly (readonly [number, number])[]): Promise<void> {
    const mouse = (type: string, [x, y]: readonly [number, number], buttons: number) =>
      this.send("Input.dispatchMouseEvent", { type, x, y, button: "left", buttons, clickCount: 1 });
    await mouse("mousePressed", points[0], 1);
    for (const point of points.slice(1)) await mouse("mouseMoved", point, 1);
    await mouse("mouseReleased", points.at(-1)!, 0);
  }

  /** Closes the page and Chromium, and deletes the profile. */
  async close(): Promise<void> {
    this.#socket.close();
    try {
      this.#process.kill();
    } catch { /* already gone */ }
    await this.#process.status;
    await Deno.remove(this.#profile, { recursive: true }).catch(() => {});
  }
}
