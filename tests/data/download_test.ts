import assert from "node:assert/strict";
import { downloadBounded, MAX_REDIRECTS } from "../../lib/data/download.ts";
import { rejectionOf } from "../fixtures.ts";

/** How the test server answers. */
type Answer = "endless" | "long-header" | "short-header" | "loop" | "redirect-once" | "whole";

const FILE = new Uint8Array(5000).map((_, i) => i % 251);

/**
 * An HTTP server on 127.0.0.1 that answers every request the way `answer` says, counting the bytes
 * it managed to send and the requests it got. After 10 s its endless bodies end, so that a client
 * that reads without end gets a finished body and fails the test instead of hanging it (a graceful
 * shutdown waits for every response to end).
 */
async function withServer(
  answer: Answer,
  fn: (url: string, served: { bytes: number; requests: number }) => Promise<void>,
) {
  const served = { bytes: 0, requests: 0 };
  let ended = false;
  const pull = (c: ReadableStreamDefaultController<Uint8Array>) => {
    if (ended) return c.close();
    served.bytes += 1000;
    c.enqueue(new Uint8Array(1000));
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    served.requests++;
    const path = new URL(request.url).pathname;
    if (answer === "loop") {
      return new Response(null, {
        status: 302,
        headers: { location: path === "/a" ? "/b" : "/a" },
      });
    }
    if (answer === "redirect-once" && path !== "/moved") {
      return new Response(null, { status: 301, headers: { location: "/moved" } });
    }
    if (answer === "long-header" || answer === "short-header") {
      const length = answer === "long-header" ? FILE.length * 1000 : FILE.length - 1;
      // Announces one size; the body, never read, would have it.
      const body = new ReadableStream<Uint8Array>({ pull });
      return new Response(body, { headers: { "content-length": String(length) } });
    }
    if (answer === "endless") {
      const body = new ReadableStream<Uint8Array>({ pull });
      return new Response(body);
    }
    return new Response(FILE);
  });
  const deadline = setTimeout(() => ended = true, 10_000);
  try {
    await fn(`http://127.0.0.1:${server.addr.port}/a`, served);
  } finally {
    clearTimeout(deadline);
    await server.shutdown();
  }
}

Deno.test("downloadBounded() stops an endless body at the known size, naming the URL and both sizes", async () => {
  await withServer("endless", async (url, served) => {
    const start = performance.now();
    const error = await rejectionOf(downloadBounded(url, { size: FILE.length }));
    assert.ok(performance.now() - start < 5000, "stopped at once, not after a timeout");
    assert.match(
      error.message,
      new RegExp(`^${url} sent more than the 5000 bytes the file holds: .*stopped at \\d+ bytes`),
    );
    // The connection is closed: the server cannot send any more (what it sent before sat in the
    // sockets' buffers, not in the client's memory).
    await new Promise((r) => setTimeout(r, 200));
    const sent = served.bytes;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(served.bytes, sent, "the server kept sending after the download stopped");
  });
});

Deno.test("downloadBounded() stops an endless body at maxBytes when the size is unknown", async () => {
  await withServer("endless", async (url) => {
    const error = await rejectionOf(downloadBounded(url, { maxBytes: 20_000 }));
    assert.match(error.message, /sent more than 20000 bytes: .*nothing was kept/);
  });
});

Deno.test("downloadBounded() refuses a Content-Length that disagrees with the known size before reading", async () => {
  for (const answer of ["long-header", "short-header"] as const) {
    await withServer(answer, async (url) => {
      const error = await rejectionOf(downloadBounded(url, { size: FILE.length }));
      const announced = answer === "long-header" ? 5_000_000 : 4999;
      assert.match(
        error.message,
        new RegExp(
          `^${url} announces ${announced} bytes \\(Content-Length\\), but the file holds 5000 bytes`,
        ),
      );
    });
  }
});

Deno.test("downloadBounded() gives up a redirect loop after a bounded number of redirects", async () => {
  await withServer("loop", async (url, served) => {
    const error = await rejectionOf(downloadBounded(url, { size: FILE.length }));
    assert.match(
      error.message,
      new RegExp(`^${url} redirected more than ${MAX_REDIRECTS} times \\(last to /[ab]\\)`),
    );
    assert.equal(served.requests, MAX_REDIRECTS + 1);
  });
  await withServer("loop", async (url, served) => {
    await rejectionOf(downloadBounded(url, { size: FILE.length, maxRedirects: 0 }));
    assert.equal(served.requests, 1);
  });
});

Deno.test("downloadBounded() follows a redirect and returns a body of the known size", async () => {
  await withServer("redirect-once", async (url, served) => {
    assert.deepEqual(await downloadBounded(url, { size: FILE.length }), FILE);
    assert.equal(served.requests, 2);
  });
  await withServer("whole", async (url) => {
    // A body of another size than known is refused even without a Content-Length mismatch check.
    const error = await rejectionOf(downloadBounded(url, { size: FILE.length - 10 }));
    assert.match(error.message, /announces 5000 bytes \(Content-Length\), but the file holds 4990/);
  });
});
