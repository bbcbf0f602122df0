import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type IdxFileName, loadMnist, loadMnistOrExplain } from "../../lib/data/mnist.ts";
import {
  assertSameArray,
  checksumsOf,
  datasetFiles,
  gzip,
  idxBytes,
  listFiles,
  rejectionOf,
  syntheticSplit,
  writeMirror,
} from "../fixtures.ts";

const REPO = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

async function withTempDirs(fn: (mirror: string, cache: string) => Promise<void>) {
  const mirror = await Deno.makeTempDir({ prefix: "mnist-mirror-" });
  const cache = await Deno.makeTempDir({ prefix: "mnist-cache-" });
  try {
    await fn(mirror, cache);
  } finally {
    await Deno.remove(mirror, { recursive: true });
    await Deno.remove(cache, { recursive: true });
  }
}

Deno.test("loadMnist() reads the real MNIST files from DATA_MIRROR with the known class counts", async () => {
  // CI and the README set DATA_MIRROR; a checkout beside ../shared works without it.
  const mirror = Deno.env.get("DATA_MIRROR") ?? join(REPO, "..", "shared");
  const mnist = await loadMnist({ mirror, downloadUrls: [] });
  assert.deepEqual([mnist.train.count, mnist.test.count], [60_000, 10_000]);
  assert.deepEqual(mnist.train.images.length, 60_000 * 784);
  const counts = (labels: Uint8Array) => {
    const c = new Array(10).fill(0);
    for (const l of labels) c[l]++;
    return c;
  };
  assert.deepEqual(counts(mnist.train.labels), [
    5923,
    6742,
    5958,
    6131,
    5842,
    5421,
    5918,
    6265,
    5851,
    5949,
  ]);
  assert.deepEqual(counts(mnist.test.labels), [
    980,
    1135,
    1032,
    1010,
    982,
    892,
    958,
    1028,
    974,
    1009,
  ]);
  const mean = mnist.train.images.reduce((s, v) => s + v, 0) / mnist.train.images.length / 255;
  assert.deepEqual(mean.toFixed(4), "0.1307");
});

Deno.test("loadMnist() copies verified files from a mirror folder into the cache, then reads the cache", async () => {
  await withTempDirs(async (mirror, cache) => {
    const files = await datasetFiles();
    await writeMirror(mirror, "mnist", files);
    const checksums = await checksumsOf(files);
    const first = await loadMnist({ mirror, cacheDir: cache, downloadUrls: [], checksums });
    assert.deepEqual([first.train.count, first.test.count], [30, 10]);
    assert.deepEqual(first.train.labels[13], 3);
    assert.deepEqual(await listFiles(join(cache, "mnist")), Object.keys(files).sort());
    await Deno.remove(mirror, { recursive: true });
    await Deno.mkdir(mirror);
    const second = await loadMnist({ mirror: null, cacheDir: cache, downloadUrls: [], checksums });
    assertSameArray(second.train.images, first.train.images);
  });
});

Deno.test("loadMnist() reads the folder named by the DATA_MIRROR variable when no mirror is given", async () => {
  await withTempDirs(async (mirror, cache) => {
    const files = await datasetFiles();
    await writeMirror(mirror, "mnist", files);
    const checksums = await checksumsOf(files);
    // In a child process: the environment is the whole process's, and `deno task test` runs
    // test modules side by side (--parallel), so setting DATA_MIRROR here would reach them too.
    const script = `import { loadMnist } from ${JSON.stringify(join(REPO, "lib/data/mnist.ts"))};
const data = await loadMnist({ cacheDir: ${JSON.stringify(cache)}, downloadUrls: [], checksums: ${
      JSON.stringify(checksums)
    } });
console.log(JSON.stringify([data.train.count, data.test.count]));`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--ext=ts", script],
      cwd: REPO,
      env: { DATA_MIRROR: mirror, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), [30, 10]);
  });
});

Deno.test("loadMnist() serves Fashion-MNIST from the same mirror with its class names", async () => {
  await withTempDirs(async (mirror, cache) => {
    const files = await datasetFiles();
    await writeMirror(mirror, "fashion-mnist", files);
    const data = await loadMnist({
      dataset: "fashion-mnist",
      mirror,
      cacheDir: cache,
      downloadUrls: [],
      checksums: await checksumsOf(files),
    });
    assert.deepEqual(data.classNames[9], "Ankle boot");
    assert.deepEqual(await listFiles(join(cache, "fashion-mnist")), Object.keys(files).sort());
  });
});

Deno.test("loadMnist() with no cache and no reachable source names the files, the sources and the fix", async () => {
  await withTempDirs(async (mirror, cache) => {
    const error = await rejectionOf(
      loadMnist({
        mirror,
        cacheDir: cache,
        downloadUrls: ["https://mirror.invalid/mnist/"],
        fetch: () => Promise.reject(new TypeError("network unreachable")),
      }),
    );
    assert.ok(/train-images-idx3-ubyte\.gz|t10k|labels/.test(error.message), error.message);
    assert.ok(error.message.includes(`cache ${join(cache, "mnist")}`), error.message);
    assert.ok(error.message.includes(`DATA_MIRROR ${join(mirror, "mnist")}`), error.message);
    assert.ok(error.message.includes("https://mirror.invalid/mnist/"), error.message);
    assert.ok(error.message.includes("network unreachable"), error.message);
    assert.ok(error.message.includes("To work offline"), error.message);
  });
});

Deno.test("loadMnist() rejects a mirror file whose SHA-256 does not match and caches nothing", async () => {
  await withTempDirs(async (mirror, cache) => {
    const files = await datasetFiles();
    await writeMirror(mirror, "mnist", files);
    const checksums = await checksumsOf(files);
    checksums["t10k-labels-idx1-ubyte.gz"] = "0".repeat(64);
    const error = await rejectionOf(
      loadMnist({ mirror, cacheDir: cache, downloadUrls: [], checksums }),
    );
    assert.ok(error.message.includes("t10k-labels-idx1-ubyte.gz"), error.message);
    assert.ok(error.message.includes("SHA-256"), error.message);
    assert.ok(!(await listFiles(join(cache, "mnist"))).includes("t10k-labels-idx1-ubyte.gz"));
  });
});

Deno.test("loadMnist() deletes a bad cached file and fetches a good copy instead", async () => {
  await withTempDirs(async (mirror, cache) => {
    const files = await datasetFiles();
    await writeMirror(mirror, "mnist", files);
    const checksums = await checksumsOf(files);
    await writeMirror(cache, "mnist", { "train-labels-idx1-ubyte.gz": new Uint8Array([1, 2, 3]) });
    const logged: string[] = [];
    const data = await loadMnist({
      mirror,
      cacheDir: cache,
      downloadUrls: [],
      checksums,
      log: (m) => logged.push(m),
    });
    assert.deepEqual(data.train.count, 30);
    assert.deepEqual(
      await Deno.readFile(join(cache, "mnist", "train-labels-idx1-ubyte.gz")),
      files["train-labels-idx1-ubyte.gz"],
    );
    assert.ok(logged.some((m) => m.includes("bad copy was deleted")), logged.join("\n"));
  });
});

Deno.test("loadMnist() never uses a bad cached file when no other source has one", async () => {
  await withTempDirs(async (_mirror, cache) => {
    const files = await datasetFiles();
    const checksums = await checksumsOf(files);
    await writeMirror(cache, "mnist", files);
    const path = join(cache, "mnist", "t10k-images-idx3-ubyte.gz");
    await Deno.writeFile(path, files["t10k-images-idx3-ubyte.gz"].subarray(0, 100));
    const error = await rejectionOf(
      loadMnist({ mirror: null, cacheDir: cache, downloadUrls: [], checksums }),
    );
    assert.ok(error.message.includes("t10k-images-idx3-ubyte.gz"), error.message);
    assert.ok(error.message.includes("bad copy was deleted"), error.message);
    assert.ok(!(await listFiles(join(cache, "mnist"))).includes("t10k-images-idx3-ubyte.gz"));
  });
});

/**
 * Loads a small dataset in which `name` is replaced by `bytes`, with checksums made to match, so that
 * the parser, not the hash, must catch what is wrong; returns the error it fails with.
 */
async function loadBroken(name: IdxFileName, bytes: Uint8Array): Promise<Error> {
  let error: Error | undefined;
  await withTempDirs(async (mirror, cache) => {
    const files = { ...(await datasetFiles()), [name]: bytes };
    await writeMirror(mirror, "mnist", files);
    const checksums = await checksumsOf(files);
    error = await rejectionOf(loadMnist({ mirror, cacheDir: cache, downloadUrls: [], checksums }));
  });
  if (error === undefined) throw new Error("unreachable");
  return error;
}

Deno.test("loadMnist() rejects a truncated gzip file, naming it", async () => {
  const whole = (await datasetFiles())["train-images-idx3-ubyte.gz"];
  const error = await loadBroken(
    "train-images-idx3-ubyte.gz",
    whole.subarray(0, whole.length - 30),
  );
  assert.match(error.message, /^train-images-idx3-ubyte\.gz .*truncated or corrupt/s);
});

Deno.test("loadMnist() rejects a corrupt gzip file, naming it", async () => {
  const bytes = (await datasetFiles())["t10k-images-idx3-ubyte.gz"].slice();
  bytes[bytes.length >> 1] ^= 0xff;
  const error = await loadBroken("t10k-images-idx3-ubyte.gz", bytes);
  assert.match(error.message, /^t10k-images-idx3-ubyte\.gz /);
});

Deno.test("loadMnist() rejects an images file with the labels' magic number", async () => {
  const { images } = syntheticSplit(30);
  const error = await loadBroken(
    "train-images-idx3-ubyte.gz",
    await gzip(idxBytes(2049, [30 * 784], images)),
  );
  assert.match(
    error.message,
    /train-images-idx3-ubyte\.gz has IDX magic number 2049, expected 2051/,
  );
});

Deno.test("loadMnist() rejects images that are not 28x28", async () => {
  const error = await loadBroken(
    "t10k-images-idx3-ubyte.gz",
    await gzip(idxBytes(2051, [10, 32, 32], new Uint8Array(10 * 32 * 32))),
  );
  assert.match(error.message, /t10k-images-idx3-ubyte\.gz holds 32x32 images, expected 28x28/);
});

Deno.test("loadMnist() rejects a file holding fewer bytes than its header says", async () => {
  const error = await loadBroken(
    "train-labels-idx1-ubyte.gz",
    await gzip(idxBytes(2049, [30], new Uint8Array(29))),
  );
  assert.match(error.message, /train-labels-idx1-ubyte\.gz holds 29 bytes of data but its header/);
});

Deno.test("loadMnist() rejects image and label files of different counts", async () => {
  const error = await loadBroken(
    "train-labels-idx1-ubyte.gz",
    await gzip(idxBytes(2049, [29], new Uint8Array(29))),
  );
  assert.match(error.message, /holds 30 images but train-labels-idx1-ubyte\.gz holds 29 labels/);
});

Deno.test("loadMnist() rejects a label outside 0-9", async () => {
  const labels = syntheticSplit(10).labels;
  labels[4] = 12;
  const error = await loadBroken(
    "t10k-labels-idx1-ubyte.gz",
    await gzip(idxBytes(2049, [10], labels)),
  );
  assert.match(error.message, /t10k-labels-idx1-ubyte\.gz has label 12 at index 4/);
});

Deno.test("loadMnist() downloads from an https DATA_MIRROR and caches verified files", async () => {
  await withTempDirs(async (_mirror, cache) => {
    const files = await datasetFiles();
    const requested: string[] = [];
    const fakeFetch = (input: string | URL | Request) => {
      const url = String(input instanceof Request ? input.url : input);
      requested.push(url);
      const name = url.split("/").pop() as IdxFileName;
      return Promise.resolve(new Response(files[name] as Uint8Array<ArrayBuffer>));
    };
    const data = await loadMnist({
      mirror: "https://example.test/datasets",
      cacheDir: cache,
      downloadUrls: [],
      checksums: await checksumsOf(files),
      fetch: fakeFetch as typeof fetch,
    });
    assert.deepEqual(data.test.count, 10);
    assert.ok(requested.includes("https://example.test/datasets/mnist/t10k-labels-idx1-ubyte.gz"));
    assert.deepEqual(await listFiles(join(cache, "mnist")), Object.keys(files).sort());
  });
});

Deno.test("loadMnist() leaves no partial file in the cache when a download is interrupted", async () => {
  await withTempDirs(async (_mirror, cache) => {
    const files = await datasetFiles();
    const fakeFetch = (input: string | URL | Request) => {
      const name = String(input instanceof Request ? input.url : input).split("/")
        .pop() as IdxFileName;
      const bytes = files[name];
      // Half the file arrives, then the connection drops.
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(bytes.slice(0, bytes.length >> 1));
          controller.error(new TypeError("connection reset"));
        },
      });
      return Promise.resolve(new Response(body));
    };
    const error = await rejectionOf(loadMnist({
      mirror: null,
      cacheDir: cache,
      downloadUrls: ["https://example.test/mnist/"],
      checksums: await checksumsOf(files),
      fetch: fakeFetch as typeof fetch,
    }));
    assert.match(error.message, /connection reset/);
    assert.deepEqual(await listFiles(join(cache, "mnist")), []);
  });
});

/** How a test server sends one file's bytes. */
type Behaviour = "whole" | "stall" | "cut" | "slow" | "missing";

/**
 * Serves the four files over HTTP on 127.0.0.1, each the way `behaviour` says, and records the
 * requests that the client gave up on (their body streams were cancelled).
 */
function serveFiles(
  files: Record<IdxFileName, Uint8Array>,
  behaviour: (file: IdxFileName) => Behaviour,
) {
  const cancelled: string[] = [];
  const started: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const file = new URL(request.url).pathname.split("/").pop() as IdxFileName;
    started.push(file);
    const bytes = files[file];
    const how = behaviour(file);
    if (how === "missing" || bytes === undefined) return new Response("no", { status: 404 });
    if (how === "whole") return new Response(bytes as Uint8Array<ArrayBuffer>);
    const half = bytes.length >> 1;
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (how === "slow") {
          // 8 slices, 120 ms apart: longer than the stall timeout in all, never silent for it.
          await new Promise((r) => setTimeout(r, 120));
          const end = Math.min(bytes.length, sent + Math.ceil(bytes.length / 8));
          controller.enqueue(bytes.slice(sent, end));
          sent = end;
          if (sent === bytes.length) controller.close();
        } else if (sent === 0) {
          controller.enqueue(bytes.slice(0, half));
          sent = half;
        } else if (how === "cut") {
          // After the first half has reached the client: cut mid-body, not before the headers.
          await new Promise((r) => setTimeout(r, 200));
          controller.error(new Error("connection cut"));
        } else {
          await new Promise(() => {}); // stall: never another byte
        }
      },
      cancel() {
        cancelled.push(file);
      },
    });
    return new Response(body, { headers: { "content-length": String(bytes.length) } });
  });
  return { url: `http://127.0.0.1:${server.addr.port}/mnist/`, cancelled, started, server };
}

Deno.test("loadMnist() gives up a stalled download quickly, saying how much arrived and what to do", async () => {
  await withTempDirs(async (_mirror, cache) => {
    const files = await datasetFiles({ train: 200 });
    const served = serveFiles(files, (f) => f === "train-images-idx3-ubyte.gz" ? "stall" : "whole");
    try {
      const start = performance.now();
      const error = await rejectionOf(loadMnist({
        mirror: null,
        cacheDir: cache,
        downloadUrls: [served.url],
        checksums: await checksumsOf(files),
        stallTimeoutMs: 300,
      }));
      assert.ok(performance.now() - start < 5000, "no whole-file deadline to wait for");
      const size = files["train-images-idx3-ubyte.gz"].length;
      assert.match(
        error.message,
        new RegExp(
          `train-images-idx3-ubyte\\.gz .*the download stalled: no data for 0\\.3 s after ` +
            `${size >> 1} bytes of ${size} bytes arrived`,
          "s",
        ),
      );
      assert.match(error.message, /set DATA_MIRROR to a folder or URL/);
      assert.ok(!(await listFiles(join(cache, "mnist"))).includes("train-images-idx3-ubyte.gz"));
    } finally {
      await served.server.shutdown();
    }
  });
});

Deno.test("loadMnist() completes a slow but steady download that outlasts the stall timeout", async () => {
  await withTempDirs(async (_mirror, cache) => {
    const files = await datasetFiles();
    const served = serveFiles(files, () => "slow");
    try {
      const start = performance.now();
      const data = await loadMnist({
        mirror: null,
        cacheDir: cache,
        downloadUrls: [served.url],
        checksums: await checksumsOf(files),
        stallTimeoutMs: 400,
      });
      assert.ok(performance.now() - start > 400, "the download took longer than the timeout");
      assert.equal(data.train.count, 30);
    } finally {
      await served.server.shutdown();
    }
  });
});

Deno.test("loadMnist() reports a cut connection with the bytes that arrived and caches nothing of it", async () => {
  await withTempDirs(async (_mirror, cache) => {
    const files = await datasetFiles();
    const served = serveFiles(files, (f) => f === "t10k-images-idx3-ubyte.gz" ? "cut" : "whole");
    try {
      const error = await rejectionOf(loadMnist({
        mirror: null,
        cacheDir: cache,
        downloadUrls: [served.url],
        checksums: await checksumsOf(files),
      }));
      assert.match(
        error.message,
        /t10k-images-idx3-ubyte\.gz .* after \d+ bytes of \d+ bytes arrived/s,
      );
      const cached = await listFiles(join(cache, "mnist"));
      assert.ok(!cached.includes("t10k-images-idx3-ubyte.gz"));
      assert.ok(cached.every((name) => !name.endsWith(".partial")), cached.join());
    } finally {
      await served.server.shutdown();
    }
  });
});

Deno.test("loadMnist() cancels the other downloads as soon as one file cannot be had", async () => {
  await withTempDirs(async (_mirror, cache) => {
    const files = await datasetFiles();
    const served = serveFiles(
      files,
      (f) => f === "train-labels-idx1-ubyte.gz" ? "missing" : "stall",
    );
    try {
      const start = performance.now();
      const error = await rejectionOf(loadMnist({
        mirror: null,
        cacheDir: cache,
        downloadUrls: [served.url],
        checksums: await checksumsOf(files),
        stallTimeoutMs: 60_000,
      }));
      assert.match(error.message, /Could not get a good copy of train-labels-idx1-ubyte\.gz/);
      assert.match(error.message, /HTTP 404/);
      assert.ok(performance.now() - start < 5000, "the stalled downloads were not waited for");
      // The server learns of each cancel when its connection closes: wait for that, 2 s at most.
      // A download cancelled before its request went out never reached the server at all.
      const stalled = () => served.started.filter((f) => f !== "train-labels-idx1-ubyte.gz");
      for (let i = 0; i < 20 && served.cancelled.length < stalled().length; i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.deepEqual(served.cancelled.sort(), stalled().sort());
    } finally {
      await served.server.shutdown();
    }
  });
});

Deno.test("loadMnist() removes temporary files that a killed run left in the cache, and only old ones", async () => {
  await withTempDirs(async (mirror, cache) => {
    const files = await datasetFiles();
    await writeMirror(mirror, "mnist", files);
    await Deno.mkdir(join(cache, "mnist"), { recursive: true });
    const stale = join(cache, "mnist", `train-images-idx3-ubyte.gz.${crypto.randomUUID()}.partial`);
    const live = join(cache, "mnist", `t10k-images-idx3-ubyte.gz.${crypto.randomUUID()}.partial`);
    await Deno.writeFile(stale, new Uint8Array(10));
    await Deno.utime(stale, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
    await Deno.writeFile(live, new Uint8Array(10));
    await loadMnist({
      mirror,
      cacheDir: cache,
      downloadUrls: [],
      checksums: await checksumsOf(files),
    });
    const left = await listFiles(join(cache, "mnist"));
    assert.ok(!left.some((name) => name === stale.split("/").pop()), "the stale one is gone");
    assert.ok(left.includes(live.split("/").pop()!), "a write in progress is left alone");
  });
});

Deno.test("loadMnist() names a folder that sits where a cached file should be, and the fix", async () => {
  await withTempDirs(async (mirror, cache) => {
    const files = await datasetFiles();
    await writeMirror(mirror, "mnist", files);
    await Deno.mkdir(join(cache, "mnist", "train-labels-idx1-ubyte.gz"), { recursive: true });
    const error = await rejectionOf(
      loadMnist({ mirror, cacheDir: cache, downloadUrls: [], checksums: await checksumsOf(files) }),
    );
    assert.match(
      error.message,
      /train-labels-idx1-ubyte\.gz is a folder, but the cache keeps the file .* there: remove the folder \(rm -r /,
    );
  });
});

Deno.test("loadMnistOrExplain() says what to run when a dataset is nowhere, and loads it when it is", async () => {
  await withTempDirs(async (mirror, cache) => {
    const missing = await loadMnistOrExplain({
      dataset: "fashion-mnist",
      cacheDir: cache,
      mirror: null,
      downloadUrls: [],
    });
    assert.equal(typeof missing, "string");
    assert.match(
      String(missing),
      /^fashion-mnist is not available here, so this part is skipped\./,
    );
    assert.match(String(missing), /Could not get a good copy of .*fashion-mnist/);
    assert.match(String(missing), /put the four fashion-mnist files in data\/fashion-mnist\//);
    assert.match(String(missing), /DATASET=fashion-mnist deno task notebook\.$/);
    // Anything else than a missing dataset is still an error.
    await assert.rejects(
      () => loadMnistOrExplain({ dataset: "cifar" as "mnist", cacheDir: cache, downloadUrls: [] }),
      /Unknown dataset "cifar"/,
    );
    const files = await datasetFiles();
    await Deno.mkdir(join(mirror, "mnist"));
    for (const [name, bytes] of Object.entries(files)) {
      await Deno.writeFile(join(mirror, "mnist", name), bytes);
    }
    const found = await loadMnistOrExplain({
      cacheDir: cache,
      mirror,
      downloadUrls: [],
      checksums: await checksumsOf(files),
    });
    assert.equal(typeof found === "string" ? found : found.train.count, 30);
  });
});

Deno.test("loadMnist() stops a mirror that sends more than a file's known size, and caches nothing", async () => {
  await withTempDirs(async (_mirror, cache) => {
    const files = await datasetFiles();
    const sizes = Object.fromEntries(Object.entries(files).map(([n, b]) => [n, b.length]));
    const endless = new ReadableStream<Uint8Array>({ pull: (c) => c.enqueue(new Uint8Array(512)) });
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (r) => {
      const name = new URL(r.url).pathname.split("/").pop() as IdxFileName;
      return name === "t10k-images-idx3-ubyte.gz"
        ? new Response(endless)
        : new Response(files[name] as Uint8Array<ArrayBuffer>);
    });
    const deadline = setTimeout(() => server.shutdown(), 10_000);
    try {
      const url = `http://127.0.0.1:${server.addr.port}/data`;
      const error = await rejectionOf(loadMnist({
        mirror: url,
        cacheDir: cache,
        downloadUrls: [],
        checksums: await checksumsOf(files),
        sizes,
      }));
      const size = files["t10k-images-idx3-ubyte.gz"].length;
      assert.match(
        error.message,
        new RegExp(`${url}/mnist/t10k-images-idx3-ubyte\\.gz sent more than the ${size} bytes`),
      );
      assert.ok(!(await listFiles(join(cache, "mnist"))).includes("t10k-images-idx3-ubyte.gz"));
    } finally {
      clearTimeout(deadline);
      await server.shutdown();
    }
  });
});

Deno.test("loadMnist() refuses a named pipe or a file of the wrong size in a mirror folder, by name", async () => {
  await withTempDirs(async (mirror, cache) => {
    const files = await datasetFiles();
    const sizes = Object.fromEntries(Object.entries(files).map(([n, b]) => [n, b.length]));
    await writeMirror(mirror, "mnist", files);
    const pipe = join(mirror, "mnist", "train-labels-idx1-ubyte.gz");
    await Deno.remove(pipe);
    const made = await new Deno.Command("mkfifo", { args: [pipe] }).output();
    assert.ok(made.success, "mkfifo made the pipe");
    const options = {
      mirror,
      cacheDir: cache,
      downloadUrls: [],
      checksums: await checksumsOf(files),
    };
    const start = performance.now();
    const error = await rejectionOf(loadMnist({ ...options, sizes }));
    assert.ok(performance.now() - start < 5000, "the pipe was not opened");
    assert.match(error.message, new RegExp(`${pipe} is not a regular file \\(a named pipe\\)`));
    await Deno.remove(pipe);
    await Deno.writeFile(pipe, new Uint8Array(sizes["train-labels-idx1-ubyte.gz"] + 1));
    const wrong = await rejectionOf(loadMnist({ ...options, sizes }));
    const size = sizes["train-labels-idx1-ubyte.gz"];
    assert.match(
      wrong.message,
      new RegExp(`${pipe} holds ${size + 1} bytes, but the file holds ${size}`),
    );
  });
});

Deno.test("loadMnist() deletes a cached file of the wrong size without reading it", async () => {
  await withTempDirs(async (mirror, cache) => {
    const files = await datasetFiles();
    const sizes = Object.fromEntries(Object.entries(files).map(([n, b]) => [n, b.length]));
    await writeMirror(mirror, "mnist", files);
    await writeMirror(cache, "mnist", { "t10k-labels-idx1-ubyte.gz": new Uint8Array(100_000) });
    const messages: string[] = [];
    const data = await loadMnist({
      mirror,
      cacheDir: cache,
      downloadUrls: [],
      checksums: await checksumsOf(files),
      sizes,
      log: (m) => messages.push(m),
    });
    assert.equal(data.test.count, 10);
    assert.ok(
      messages.some((m) => /holds 100000 bytes, expected \d+; the bad copy was deleted/.test(m)),
    );
    const cached = await Deno.readFile(join(cache, "mnist", "t10k-labels-idx1-ubyte.gz"));
    assert.equal(cached.length, sizes["t10k-labels-idx1-ubyte.gz"]);
  });
});
