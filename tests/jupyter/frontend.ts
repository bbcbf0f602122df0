/**
 * Drives a real Jupyter frontend for the tests: Debian's classic Notebook server
 * (`/usr/bin/python3 -m notebook`) with the repository's Deno kernelspec, opened in headless
 * Chromium and remote-controlled over the Chrome DevTools Protocol (CDP) on Deno's own
 * WebSocket (the project's one DevTools client, `lib/display/chromium.ts`), so no
 * browser-automation package is needed.
 *
 * Everything runs in a temporary folder (Jupyter's config, data and runtime folders and
 * Chromium's profile), and {@link openNotebookInBrowser} returns a handle whose `close()` stops
 * the kernel, the server and the browser even when a step failed.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CHROMIUM, SYSTEM_PYTHON } from "../../jupyter/setup.ts";
import { Chromium } from "../../lib/display/chromium.ts";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** What a cell shows in the classic Notebook, as its `output_area` holds it. */
export interface FrontendOutput {
  output_type: string;
  name?: string;
  text?: string;
  data?: Record<string, unknown>;
}

/** One code cell as the frontend shows it after a run. */
export interface FrontendCell {
  /** The execution count in the cell's prompt (`null` when it has not run). */
  executionCount: number | null;
  outputs: FrontendOutput[];
  /**
   * The kernel's messages for this cell's request as the page received them, in order: the
   * IOPub message types (`status` as `busy`/`idle`) and `reply` for the shell reply.
   */
  messages: string[];
}

/** A notebook open in the classic Notebook in headless Chromium. */
export interface NotebookPage {
  /** Evaluates `expression` in the page and returns its JSON value. */
  evaluate<T>(expression: string): Promise<T>;
  /** Sends one DevTools command to the page, e.g. `Input.dispatchMouseEvent`. */
  send(method: string, params?: Record<string, unknown>): Promise<unknown>;
  /**
   * Clicks Cell > Run All, waits until every code cell has run and `settleMs` more, then returns
   * the cells and whether the page still shows the kernel busy.
   */
  runAll(
    options?: { timeoutMs?: number; settleMs?: number },
  ): Promise<{ cells: FrontendCell[]; kernelBusy: boolean }>;
  /** The notebook server's log so far (it logs, e.g., messages it could not accept). */
  serverLog(): string;
  /** Stops the kernel, the notebook server and Chromium, and removes the temporary folder. */
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Thrown by a probe of {@link waitFor} to stop waiting at once. */
class GaveUp extends Error {}

async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      if (error instanceof GaveUp) throw error;
      lastError = error;
    }
    await sleep(200);
  }
  throw new Error(
    `Timed out after ${timeoutMs / 1000}s waiting for ${what}` +
      (lastError ? ` (last error: ${lastError})` : "") + ".",
  );
}

/** Reads a child's stream to the end into `sink`, so a chatty child never blocks on a full pipe. */
async function collect(stream: ReadableStream<Uint8Array>, sink: string[]): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) sink.push(decoder.decode(chunk, { stream: true }));
}

async function stop(child: Deno.ChildProcess, signal: Deno.Signal, graceMs: number) {
  try {
    child.kill(signal);
  } catch {
    // already exited
  }
  const exited = await Promise.race([
    child.status.then(() => true),
    sleep(graceMs).then(() => false),
  ]);
  if (!exited) {
    try {
      child.kill("SIGKILL");
    } catch {
      // exited meanwhile
    }
    await child.status;
  }
}

/** The page-side expression that lists every code cell's prompt number and outputs. */
const READ_CELLS = `Jupyter.notebook.get_cells().filter((c) => c.cell_type === "code").map((c) => ({
  executionCount: typeof c.input_prompt_number === "number" ? c.input_prompt_number : null,
  outputs: JSON.parse(JSON.stringify(c.output_area.outputs)),
  messages: window.__kernelMessages?.[c.last_msg_id] ?? [],
}))`;

/**
 * Records, per request, the order in which the page receives the kernel's messages: a message
 * that arrives after its request's idle and reply is dropped by the frontend, and this tells
 * such a loss from one under the wrong cell.
 */
const RECORD_MESSAGES = `(() => {
  const kernel = Jupyter.notebook.kernel;
  const log = window.__kernelMessages = {};
  const finish = kernel._finish_ws_message;
  kernel._finish_ws_message = function (msg) {
    const parent = msg.parent_header?.msg_id;
    if (parent) {
      const kind = msg.channel === "shell" ? "reply"
        : msg.header.msg_type === "status" ? msg.content.execution_state : msg.header.msg_type;
      (log[parent] ??= []).push(kind);
    }
    return finish.call(this, msg);
  };
})()`;

/**
 * Serves the folder of `notebookPath` with the classic Notebook (kernelspecs from
 * `jupyter/kernels`, the kernel's `deno` being the one running this process) and opens the
 * notebook in headless Chromium. Waits until the kernel is connected.
 */
export async function openNotebookInBrowser(
  notebookPath: string,
  options: { timeoutMs?: number } = {},
): Promise<NotebookPage> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const work = await Deno.makeTempDir({ prefix: "frontend-" });
  const token = crypto.randomUUID().replaceAll("-", "");
  const port = freePort();
  const serverLog: string[] = [];
  const children: { child: Deno.ChildProcess; signal: Deno.Signal }[] = [];
  const pumps: Promise<void>[] = [];
  let browser: Chromium | undefined;
  let kernelUrl: string | undefined;

  const close = async () => {
    if (kernelUrl) {
      // Shut the kernel down through the server, so that no `deno jupyter` outlives the test.
      await fetch(kernelUrl, { method: "DELETE" }).then((r) => r.body?.cancel()).catch(() => {});
    }
    await browser?.close();
    for (const { child, signal } of children.reverse()) await stop(child, signal, 10_000);
    await Promise.allSettled(pumps);
    await Deno.remove(work, { recursive: true }).catch(() => {});
  };

  try {
    const notebookDir = dirname(notebookPath);
    const server = new Deno.Command(SYSTEM_PYTHON, {
      args: [
        "-m",
        "notebook",
        "--no-browser",
        "--ip=127.0.0.1",
        `--port=${port}`,
        "--port-retries=0",
        `--notebook-dir=${notebookDir}`,
        `--NotebookApp.token=${token}`,
        // Without it the server refuses to start as root, as in containers and CI.
        ...(Deno.uid() === 0 ? ["--allow-root"] : []),
      ],
      env: {
        JUPYTER_PATH: join(repo, "jupyter"),
        JUPYTER_CONFIG_DIR: join(work, "config"),
        JUPYTER_DATA_DIR: join(work, "data"),
        JUPYTER_RUNTIME_DIR: join(work, "runtime"),
        IPYTHONDIR: join(work, "ipython"),
        // The kernelspec starts `deno` from PATH: make it the deno that runs these tests.
        PATH: `${dirname(Deno.execPath())}:${Deno.env.get("PATH") ?? ""}`,
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    children.push({ child: server, signal: "SIGTERM" });
    pumps.push(collect(server.stdout, serverLog), collect(server.stderr, serverLog));
    let serverExit: number | undefined;
    server.status.then((status) => serverExit = status.code);
    const base = `http://127.0.0.1:${port}`;
    await waitFor(`the notebook server on port ${port}`, timeoutMs, async () => {
      if (serverExit !== undefined) {
        throw new GaveUp(`The notebook server exited with code ${serverExit}.`);
      }
      const response = await fetch(`${base}/api/status?token=${token}`);
      await response.body?.cancel();
      return response.ok ? true : undefined;
    });

    // A page that stops answering fails the test after 60 s rather than hanging it.
    const session = browser = await Chromium.launch({
      executable: CHROMIUM,
      windowSize: [1280, 2000],
      timeoutMs: 60_000,
    });
    const name = encodeURIComponent(notebookPath.slice(notebookDir.length + 1));
    await session.send("Page.navigate", { url: `${base}/notebooks/${name}?token=${token}` });
    const kernelId = await waitFor(
      `the notebook page to load and its kernel to connect\n${serverLog.join("")}`,
      timeoutMs,
      () =>
        session.evaluate<string | null>(
          `(typeof Jupyter !== "undefined" && Jupyter.notebook?._fully_loaded &&
            Jupyter.notebook.kernel?.is_connected() && Jupyter.notebook.kernel.info_reply?.status === "ok")
            ? Jupyter.notebook.kernel.id : null`,
        ).then((id) => id ?? undefined),
    );
    kernelUrl = `${base}/api/kernels/${kernelId}?token=${token}`;
    await session.evaluate(RECORD_MESSAGES);

    return {
      evaluate: (expression) => session.evaluate(expression),
      send: (method, params) => session.send(method, params),
      async runAll({ timeoutMs: runTimeoutMs = 300_000, settleMs = 3000 } = {}) {
        await session.evaluate(`document.querySelector("#run_all_cells > a").click()`);
        // Done when every code cell shows its execution count (the kernel replied to each).
        // Then wait a little: outputs that the kernel sends late are exactly what this checks.
        let state = "";
        try {
          await waitFor("Run All to finish", runTimeoutMs, async () => {
            state = await session.evaluate<string>(
              `JSON.stringify(Jupyter.notebook.get_cells().filter((c) => c.cell_type === "code")
                .map((c) => c.input_prompt_number ?? null))`,
            );
            return JSON.parse(state).every((p: unknown) => typeof p === "number")
              ? true
              : undefined;
          });
        } catch (error) {
          throw new Error(`${(error as Error).message} The cells' prompts: ${state}`);
        }
        await sleep(settleMs);
        return {
          cells: await session.evaluate<FrontendCell[]>(READ_CELLS),
          kernelBusy: await session.evaluate<boolean>(`Jupyter.notebook.kernel_busy`),
        };
      },
      serverLog: () => serverLog.join(""),
      close,
    };
  } catch (error) {
    await close();
    const logs = `\n--- notebook server ---\n${serverLog.join("").slice(-3000)}` +
      `\n--- chromium ---\n${browser?.output().slice(-2000) ?? ""}`;
    throw new Error(`${error instanceof Error ? error.message : error}${logs}`);
  }
}
