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

/** Debian's interpreter: the apt-installed Jupyter modules live there, not in pyenv's. */
export const SYSTEM_PYTHON = "/usr/bin/python3";
/** The apt packages that provide what the runner imports. */
export const APT_INSTALL = "sudo apt-get update && sudo apt-get install -y " +
  "--no-install-recommends jupyter-nbconvert jupyter-client";
const APT_INSTALL_ARGS = [
  "apt-get",
  "install",
  "-y",
  "-q",
  "--no-install-recommends",
  "jupyter-nbconvert",
  "jupyter-client",
];

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Returns true when /usr/bin/python3 can import the runner's Jupyter modules. */
export async function jupyterAvailable(): Promise<boolean> {
  try {
    const probe = new Deno.Command(SYSTEM_PYTHON, {
      args: ["-c", "import jupyter_client, nbformat, nbconvert"],
      stdout: "null",
      stderr: "null",
    });
    return (await probe.output()).success;
  } catch {
    return false; // no /usr/bin/python3 at all
  }
}

/**
 * Installs Debian's Jupyter packages when this process may (as root, or with password-less sudo), so
 * that `deno task notebook` sets itself up on a fresh machine. Returns whether Jupyter is then there.
 */
async function installJupyter(): Promise<boolean> {
  const sudo = Deno.uid?.() === 0 ? [] : ["sudo", "-n"];
  if (sudo.length > 0) {
    const probe = await new Deno.Command("sudo", { args: ["-n", "true"], stderr: "null" })
      .output().catch(() => undefined);
    if (!probe?.success) return false;
  }
  console.error(`Jupyter is missing; installing it: ${APT_INSTALL}`);
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [["apt-get", "update", "-q"], APT_INSTALL_ARGS]) {
    const [cmd, ...rest] = [...sudo, ...args];
    const status = await new Deno.Command(cmd, { args: rest, env, stdin: "null" }).spawn().status;
    if (!status.success) return false;
  }
  return await jupyterAvailable();
}

/**
 * Runs the Python runner and returns its exit code. `args` are passed through
 * (`<notebook> [--output-dir DIR] [--timeout SECONDS] [--no-html]`).
 */
export async function runNotebook(
  args: string[],
  env: Record<string, string> = {},
): Promise<number> {
  if (!(await jupyterAvailable()) && !(await installJupyter())) {
    console.error(
      `error: Jupyter is not installed for ${SYSTEM_PYTHON}. Install it with:\n    ${APT_INSTALL}`,
    );
    return 1;
  }
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
      `error: cannot start ${SYSTEM_PYTHON} (${error}). Install it with:\n    ${APT_INSTALL}`,
    );
    return 1;
  }
}

if (import.meta.main) {
  const args = Deno.args.length > 0 ? Deno.args : ["mnist_handwritten_digit_recognizer.ipynb"];
  Deno.exit(await runNotebook(args));
}
