/**
 * The browser tests' page: a thin layer over the project's one DevTools client
 * (`lib/display/chromium.ts`) that keeps every event the page sends, for the tests that check
 * what a page did (its exceptions, its requests).
 *
 * @module
 */
import { type CdpEvent, Chromium } from "../lib/display/chromium.ts";

export type { CdpEvent };

/** One Chromium page under remote control. */
export class ChromiumPage {
  /** Every event received so far, in order (a page lives for one test). */
  readonly events: CdpEvent[] = [];
  #browser: Chromium;

  private constructor(browser: Chromium) {
    this.#browser = browser;
    browser.onEvent((event) => this.events.push(event));
  }

  /**
   * Starts Chromium (a fresh profile, `window` as "WIDTHxHEIGHT") and attaches to its page.
   * Throws with the install command when Chromium is missing.
   */
  static async launch(window = "1000x700"): Promise<ChromiumPage> {
    const [width, height] = window.split("x").map(Number);
    return new ChromiumPage(await Chromium.launch({ windowSize: [width, height] }));
  }

  /** Sends a DevTools command and returns its result. */
  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    return this.#browser.send(method, params);
  }

  /** The first event `method` (for which `accept` holds) from now on, or a timeout error. */
  waitForEvent(
    method: string,
    timeoutMs = 30_000,
    accept: (params: Record<string, unknown>) => boolean = () => true,
  ): Promise<CdpEvent> {
    return this.#browser.waitForEvent(method, { timeoutMs, accept });
  }

  /** Evaluates `expression` in the page (awaiting a promise) and returns its JSON value. */
  evaluate<T>(expression: string): Promise<T> {
    return this.#browser.evaluate<T>(expression);
  }

  /** Polls `expression` until it is truthy; returns its value. */
  waitUntil<T>(expression: string, timeoutMs = 30_000): Promise<T> {
    return this.#browser.waitUntil<T>(expression, timeoutMs);
  }

  /**
   * Opens the local page at `path` with the network offline (so a page that needs anything from
   * the network fails visibly) and the Network, Page and Runtime events recorded in
   * {@linkcode events}; returns once the page has loaded.
   */
  async openOffline(path: string, timeoutMs = 60_000): Promise<void> {
    await this.send("Network.enable");
    await this.send("Page.enable");
    await this.send("Runtime.enable");
    await this.send("Network.emulateNetworkConditions", {
      offline: true,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: -1,
    });
    const loaded = this.waitForEvent("Page.loadEventFired", timeoutMs);
    await this.send("Page.navigate", { url: `file://${path}` });
    await loaded;
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
  close(): Promise<void> {
    return this.#browser.close();
  }
}
