// lib/display/chromium.ts against the real /usr/bin/chromium (CI installs it: its absence is a
// failure that names the install command, never a skipped test).
import assert from "node:assert/strict";
import { Chromium } from "../../lib/display/chromium.ts";

Deno.test("Chromium evaluates scripts, awaiting promises, and reports what the page throws", async () => {
  const browser = await Chromium.launch();
  try {
    assert.equal(await browser.evaluate("new Promise((r) => setTimeout(() => r(6 * 7), 10))"), 42);
    assert.deepEqual(await browser.evaluate("({ a: [1, 'two'] })"), { a: [1, "two"] });
    await assert.rejects(browser.evaluate("null.x"), /The page threw: TypeError/);
    await assert.rejects(browser.send("No.suchMethod"), /Chromium refused No\.suchMethod/);
  } finally {
    await browser.close();
  }
  await browser.close(); // twice is fine
  await assert.rejects(browser.evaluate("1"), /session is closed/);
});

Deno.test("Chromium opens a page and screenshots all of it", async () => {
  const dir = await Deno.makeTempDir();
  const page = `${dir}/page.html`;
  await Deno.writeTextFile(page, `<body style="margin:0"><div style="height:1500px"></div></body>`);
  const browser = await Chromium.launch({ windowSize: [640, 300] });
  try {
    await browser.open(`file://${page}`);
    const png = await browser.screenshot();
    const view = new DataView(png.buffer, png.byteOffset);
    assert.deepEqual([...png.subarray(1, 4)], [80, 78, 71], "a PNG");
    // IHDR: width and height, big-endian, at bytes 16 and 20: the whole page, not the window.
    assert.deepEqual([view.getUint32(16), view.getUint32(20)], [640, 1500]);
  } finally {
    await browser.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Chromium.launch() names a missing browser and says how to install one", async () => {
  await assert.rejects(
    Chromium.launch({ executable: "/nonexistent/chromium" }),
    /Cannot start Chromium at \/nonexistent\/chromium .*apt-get install -y chromium/,
  );
});

Deno.test("Chromium cuts a long page into screenshot slices", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/page.html`,
    `<body style="margin:0"><div style="height:2500px">`,
  );
  const browser = await Chromium.launch({ windowSize: [640, 300] });
  try {
    await browser.open(`file://${dir}/page.html`);
    const heights = (await browser.screenshotSlices(1000)).map((png) =>
      new DataView(png.buffer, png.byteOffset).getUint32(20)
    );
    assert.deepEqual(heights, [1000, 1000, 500]);
  } finally {
    await browser.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Chromium fails a command that gets no answer in time, and says so", async () => {
  const browser = await Chromium.launch();
  try {
    const never = { expression: "new Promise(() => {})", awaitPromise: true };
    await assert.rejects(
      browser.send("Runtime.evaluate", never, { timeoutMs: 500 }),
      /Chromium did not answer Runtime\.evaluate within 500 ms\./,
    );
    assert.equal(await browser.evaluate("1 + 1"), 2, "the page still answers after a timeout");
  } finally {
    await browser.close();
  }
});

Deno.test("Chromium that exits fails the waiting and the later commands with a sentence", async () => {
  const browser = await Chromium.launch();
  try {
    const waiting = browser.evaluate("new Promise(() => {})");
    const event = browser.waitForEvent("Page.never", { timeoutMs: 30_000 });
    await browser.send("Browser.close").catch(() => {}); // the browser may exit before replying
    await assert.rejects(waiting, /Chromium exited \(code \d+.*\) while this page was in use/);
    await assert.rejects(event, /Chromium exited/);
    await assert.rejects(browser.evaluate("1"), /Cannot send Runtime\.evaluate: Chromium exited/);
  } finally {
    await browser.close();
  }
});

Deno.test("Chromium passes events to its listeners and waits for one", async () => {
  const browser = await Chromium.launch();
  try {
    const seen: string[] = [];
    const stop = browser.onEvent((event) => seen.push(event.method));
    await browser.send("Runtime.enable");
    const logged = browser.waitForEvent("Runtime.consoleAPICalled", {
      accept: (params) => (params.args as { value?: unknown }[])[0]?.value === "two",
    });
    await browser.evaluate("console.log('one'); console.log('two')");
    const event = await logged;
    assert.equal((event.params.args as { value?: unknown }[])[0].value, "two");
    assert.ok(seen.includes("Runtime.consoleAPICalled"));
    stop();
    const count = seen.length;
    await browser.evaluate("console.log('three')");
    await browser.evaluate("1");
    assert.equal(seen.length, count, "a stopped listener hears nothing more");
  } finally {
    await browser.close();
  }
});
