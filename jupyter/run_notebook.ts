/**
 * `deno task notebook`: executes a notebook headlessly in the Deno kernel and writes the
 * executed `.ipynb` plus standalone `.html` to `outputs/`.
 *
 * This is a thin entry around `jupyter/execute_notebook.py` (Debian's /usr/bin/python3 with
 * jupyter-client/nbformat/nbconvert), which works around Deno reporting a cell idle before
 * its last outputs arrive. Notebook parameters (DATASET, EPOCHS, BATCH_SIZE, SEED,
 * TRAIN_SAMPLES, VALIDATION_SPLIT, DATA_MIRROR, ...) are plain environment variables that
 * the kernel inherits unchanged.
 *
 * @example
 * ```sh
 * TRAIN_SAMPLES=2000 EPOCHS=1 deno task notebook
 * deno run -A jupyter/run_notebook.ts path/to/other.ipynb --output-dir /tmp/out
 * ```
 *
 * @module
 */

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { lockOutputDir } from "../lib/run_lock.ts";
import {
  ensureInstalled,
  installCommand,
  JUPYTER,
  REQUIREMENTS,
  SetupError,
  SYSTEM_PYTHON,
} from "./setup.ts";

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Runs the Python runner and returns its exit code. `args` are passed through
 * (`<notebook> [--output-dir DIR] [--timeout SECONDS] [--no-html]`).
 */
export async function runNotebook(
  args: string[],
  env: Record<string, string> = {},
): Promise<number> {
  try {
    await ensureInstalled(REQUIREMENTS.notebook);
  } catch (error) {
    if (!(error instanceof SetupError)) throw error;
    console.error(`error: ${error.message}`);
    return 1;
  }
  // Two runs into one folder would mix their notebooks, HTML pages and metrics.json: the second
  // stops here, before the kernel starts.
  const lock = await lockOutputDir(outputDirOf(args), "deno task notebook").catch((error) =>
    error as Error
  );
  if (lock instanceof Error) {
    console.error(`error: ${lock.message}`);
    return 1;
  }
  try {
    return await runPython(args, env);
  } finally {
    await lock.release();
  }
}

/** The folder the runner writes: `--output-dir DIR` (or `--output-dir=DIR`), else `outputs`. */
export function outputDirOf(args: readonly string[]): string {
  const at = args.indexOf("--output-dir");
  if (at >= 0 && at + 1 < args.length) return args[at + 1];
  const joined = args.find((arg) => arg.startsWith("--output-dir="));
  return joined ? joined.slice("--output-dir=".length) : "outputs";
}

async function runPython(args: string[], env: Record<string, string>): Promise<number> {
  // The kernelspec starts `deno` from PATH: make it the same deno that runs this task.
  const path = `${dirname(Deno.execPath())}:${Deno.env.get("PATH") ?? ""}`;
  const command = new Deno.Command(SYSTEM_PYTHON, {
    args: [join(repoRoot, "jupyter", "execute_notebook.py"), ...args],
    env: { ...env, PATH: path },
    stdin: "null",
  });
  try {
    return (await command.spawn().status).code;
  } catch (error) {
    console.error(
      `error: cannot start ${SYSTEM_PYTHON} (${error}). Install it with:\n    ` +
        installCommand(JUPYTER.packages),
    );
    return 1;
  }
}

if (import.meta.main) {
  const args = Deno.args.length > 0 ? Deno.args : ["mnist_handwritten_digit_recognizer.ipynb"];
  Deno.exit(await runNotebook(args));
}
