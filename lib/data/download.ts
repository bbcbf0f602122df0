/**
 * Downloading one file with a ceiling: no more bytes than the file is known to hold are ever kept,
 * a `Content-Length` that disagrees with the known size is refused before the body is read,
 * redirects are followed a bounded number of times, and a download that stops sending is given up.
 *
 * @module
 */
import { concatBytes } from "../files.ts";

/** Options of {@linkcode downloadBounded}. */
export interface DownloadOptions {
  /** The fetch to use. Default: the global `fetch`. */
  fetch?: typeof fetch;
  /** Aborts the download (another file failed, say). */
  signal?: AbortSignal;
  /** Give up after this long without a byte (a slow but steady download is not given up). */
  stallTimeoutMs?: number;
  /**
   * The file's known size in bytes: a body or a `Content-Length` of any other size is refused.
   * When unknown, `maxBytes` is the ceiling.
   */
  size?: number;
  /** The ceiling when `size` is unknown. Default 64 MB. */
  maxBytes?: number;
  /** Redirects followed before giving up. Default 5. */
  maxRedirects?: number;
}

/** Redirects followed by default: real mirrors redirect once or twice, a loop forever. */
export const MAX_REDIRECTS = 5;

const DEFAULT_MAX_BYTES = 64_000_000;
const STALL_TIMEOUT_MS = 30_000;

/**
 * Downloads `url` whole, keeping at most the file's known size in memory whatever the server
 * sends.
 *
 * @throws {Error} saying what went wrong and, for a body of the wrong size, naming the URL and both
 * sizes; nothing of a refused body is returned.
 *
 * @example A server that sends more than the file holds is stopped at the known size
 * ```ts
 * import assert from "node:assert/strict";
 * import { downloadBounded } from "./download.ts";
 * let chunks = 0; // a server ready to send 1,000 chunks of 1,000 bytes
 * const tooMuch = () => Promise.resolve(new Response(new ReadableStream({
 *   pull: (c) => chunks++ < 1000 ? c.enqueue(new Uint8Array(1000)) : c.close(),
 * })));
 * await assert.rejects(
 *   downloadBounded("https://example.test/a.gz", { fetch: tooMuch, size: 2500 }),
 *   /https:\/\/example\.test\/a\.gz sent more than the 2500 bytes the file holds/,
 * );
 * assert.ok(chunks < 100, `read ${chunks} chunks: it should stop at the third`);
 * const exact = () => Promise.resolve(new Response(new Uint8Array(3)));
 * assert.equal((await downloadBounded("https://example.test/b", { fetch: exact, size: 3 })).length, 3);
 * ```
 */
export async function downloadBounded(
  url: string | URL,
  options: DownloadOptions = {},
): Promise<Uint8Array> {
  const stallTimeoutMs = options.stallTimeoutMs ?? STALL_TIMEOUT_MS;
  const stall = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stall.signal]) : stall.signal;
  let timer = setTimeout(() => stall.abort(), stallTimeoutMs);
  const progress = { received: 0, expected: options.size };
  const restartTimer = () => {
    clearTimeout(timer);
    timer = setTimeout(() => stall.abort(), stallTimeoutMs);
  };
  try {
    const response = await fetchFollowing(new URL(url), options, signal);
    return await readBounded(response, new URL(url), {
      ...options,
      signal,
      progress,
      restartTimer,
    });
  } catch (error) {
    const arrived = `${formatBytes(progress.received)}${
      progress.expected ? ` of ${formatBytes(progress.expected)}` : ""
    }`;
    if (stall.signal.aborted) {
      throw new Error(
        `the download stalled: no data for ${stallTimeoutMs / 1000} s after ${arrived} arrived`,
      );
    }
    if (options.signal?.aborted) throw new Error(`cancelled after ${arrived}: another file failed`);
    if (error instanceof SizeError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(progress.received > 0 ? `${reason} after ${arrived} arrived` : reason);
  } finally {
    clearTimeout(timer);
  }
}

/** A body or header of the wrong size: its message is already the whole sentence. */
class SizeError extends Error {}

/** Fetches `url`, following at most `maxRedirects` redirects itself; returns a 2xx response. */
async function fetchFollowing(
  url: URL,
  options: DownloadOptions,
  signal: AbortSignal,
): Promise<Response> {
  const fetcher = options.fetch ?? fetch;
  const maxRedirects = options.maxRedirects ?? MAX_REDIRECTS;
  let current = url;
  for (let redirects = 0;; redirects++) {
    const response = await fetcher(current, { signal, redirect: "manual" });
    const location = response.headers.get("location");
    if (response.status >= 300 && response.status < 400 && location !== null) {
      await response.body?.cancel();
      if (redirects === maxRedirects) {
        throw new Error(
          `${url} redirected more than ${maxRedirects} times (last to ${location}): the mirror ` +
            "is misconfigured or loops; use another DATA_MIRROR",
        );
      }
      current = new URL(location, current);
      continue;
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`HTTP ${response.status} ${response.statusText}`.trim());
    }
    return response;
  }
}

/** Reads the body into a buffer of the ceiling's size at most, refusing any other size. */
async function readBounded(
  response: Response,
  url: URL,
  options: DownloadOptions & {
    signal: AbortSignal;
    progress: { received: number; expected?: number };
    restartTimer: () => void;
  },
): Promise<Uint8Array> {
  const ceiling = options.size ?? options.maxBytes ?? DEFAULT_MAX_BYTES;
  const announced = response.headers.get("content-length");
  if (announced !== null) {
    const length = Number(announced);
    const wrong = options.size !== undefined ? length !== options.size : length > ceiling;
    if (wrong) {
      await response.body?.cancel();
      throw new SizeError(
        `${url} announces ${announced} bytes (Content-Length), but ${
          options.size !== undefined
            ? `the file holds ${options.size} bytes`
            : `at most ${ceiling} bytes are allowed`
        }: the server sends another file; nothing was kept`,
      );
    }
    options.progress.expected = length;
  }
  if (response.body === null) return new Uint8Array();
  // Chunks add up to the ceiling at most: memory stays bounded whatever the server sends.
  const chunks: Uint8Array[] = [];
  const reader = response.body.getReader();
  options.signal.addEventListener("abort", () => reader.cancel().catch(() => {}), { once: true });
  while (true) {
    const { done, value } = await reader.read();
    if (options.signal.aborted) throw options.signal.reason ?? new Error("aborted");
    if (done) break;
    const received = options.progress.received;
    if (received + value.byteLength > ceiling) {
      await reader.cancel().catch(() => {});
      throw new SizeError(
        `${url} sent more than ${
          options.size !== undefined
            ? `the ${options.size} bytes the file holds`
            : `${ceiling} bytes`
        }: the server sends another file ` +
          `or an endless body; the download was stopped at ${received + value.byteLength} ` +
          "bytes and nothing was kept",
      );
    }
    chunks.push(value);
    options.progress.received = received + value.byteLength;
    options.restartTimer();
  }
  return concatBytes(chunks);
}

/** A size in bytes for a message: bytes below 1 MB, else MB with one decimal. */
export function formatBytes(bytes: number): string {
  return bytes >= 1_000_000 ? `${(bytes / 1_000_000).toFixed(1)} MB` : `${bytes} bytes`;
}
