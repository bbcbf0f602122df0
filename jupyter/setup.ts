/**
 * Sets up the system packages that `deno task notebook` and `deno task test` need, the same way
 * for both: Debian's Jupyter on /usr/bin/python3 (and for the tests, the classic Notebook and
 * Chromium, which drive a real frontend, and PyTorch on OpenBLAS, which `deno task bench-pytorch`
 * runs). Whatever is missing is installed with apt when this
 * process may (as root, or with password-less sudo); otherwise set-up stops with the one command
 * to run.
 *
 * ```sh
 * deno run -A jupyter/setup.ts notebook   # what `deno task notebook` needs
 * deno run -A jupyter/setup.ts test       # what `deno task test` needs
 * deno run -A jupyter/setup.ts pytorch    # what `deno task bench-pytorch` needs
 * ```
 *
 * @module
 */

/** Debian's interpreter: the apt-installed Jupyter modules live there, not in pyenv's. */
export const SYSTEM_PYTHON = "/usr/bin/python3";
/** The browser the tests drive; Debian's package installs it as /usr/bin/chromium. */
export const CHROMIUM = "/usr/bin/chromium";

/** Something a command needs, how to tell whether it is there, and the apt packages giving it. */
export interface Requirement {
  /** What a reader calls it, e.g. "the classic Jupyter Notebook". */
  name: string;
  /** Debian packages that provide it. */
  packages: readonly string[];
  /** Resolves to true when it is installed and works. */
  probe: () => Promise<boolean>;
}

async function succeeds(command: string, args: string[]): Promise<boolean> {
  try {
    const output = await new Deno.Command(command, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return output.success;
  } catch {
    return false; // the program itself is missing
  }
}

/** Jupyter's kernel client, nbformat and nbconvert: what the headless runner imports. */
export const JUPYTER: Requirement = {
  name: `Jupyter (jupyter_client, nbformat, nbconvert for ${SYSTEM_PYTHON})`,
  packages: ["jupyter-nbconvert", "jupyter-client"],
  probe: () => succeeds(SYSTEM_PYTHON, ["-c", "import jupyter_client, nbformat, nbconvert"]),
};

/** The classic Notebook server, the frontend that the Run All test drives. */
export const CLASSIC_NOTEBOOK: Requirement = {
  name: `the classic Jupyter Notebook (module notebook for ${SYSTEM_PYTHON})`,
  packages: ["jupyter-notebook"],
  probe: () => succeeds(SYSTEM_PYTHON, ["-c", "import notebook.notebookapp"]),
};

/** Headless Chromium, which renders the exported HTML and the classic Notebook in the tests. */
export const CHROMIUM_BROWSER: Requirement = {
  name: `Chromium (${CHROMIUM})`,
  packages: ["chromium"],
  probe: () => succeeds(CHROMIUM, ["--version"]),
};

/**
 * Debian's PyTorch on an optimized BLAS, the yardstick of `deno task bench-pytorch`: without
 * OpenBLAS, Debian's torch runs on the reference BLAS (libblas3) at about half speed.
 */
export const PYTORCH: Requirement = {
  name: `PyTorch on OpenBLAS (module torch for ${SYSTEM_PYTHON}, libopenblas0-pthread)`,
  packages: ["python3-torch", "libopenblas0-pthread"],
  probe: () =>
    succeeds(SYSTEM_PYTHON, [
      "-c",
      "import torch; torch.ones(8, 8) @ torch.ones(8, 8); import sys; " +
      "sys.exit(0 if 'libopenblas' in open('/proc/self/maps').read() else 1)",
    ]),
};

/** The purposes set-up serves: a README command each. */
export type Purpose = "notebook" | "test" | "pytorch";

/** What each README command needs. */
export const REQUIREMENTS: Readonly<Record<Purpose, readonly Requirement[]>> = {
  notebook: [JUPYTER],
  // The tests also run the PyTorch reference, once, on a few hundred images.
  test: [JUPYTER, CLASSIC_NOTEBOOK, CHROMIUM_BROWSER, PYTORCH],
  pytorch: [PYTORCH],
};

/**
 * The one command that installs `packages`, for a reader to run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { installCommand } from "./setup.ts";
 * assert.equal(
 *   installCommand(["chromium"]),
 *   "sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium",
 * );
 * ```
 */
export function installCommand(packages: readonly string[]): string {
  return "sudo apt-get update && sudo apt-get install -y --no-install-recommends " +
    packages.join(" ");
}

/** How {@link ensureInstalled} reaches the system; tests replace these. */
export interface SetupOptions {
  /** Whether this process runs as root. */
  isRoot?: () => boolean;
  /** Whether `sudo -n` works (password-less sudo). */
  canSudo?: () => Promise<boolean>;
  /** Runs a command (argv) with inherited output; resolves to whether it succeeded. */
  run?: (argv: string[]) => Promise<boolean>;
  /** Where progress goes. */
  log?: (message: string) => void;
}

/** Set-up could not provide what a command needs; the message says what to run. */
export class SetupError extends Error {
  override name = "SetupError";
}

async function runInherited(argv: string[]): Promise<boolean> {
  const [command, ...args] = argv;
  try {
    const child = new Deno.Command(command, {
      args,
      env: { DEBIAN_FRONTEND: "noninteractive" },
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    return (await child.status).success;
  } catch {
    return false;
  }
}

/**
 * Checks each requirement and installs the missing ones with apt, as root or with password-less
 * sudo. Throws a {@link SetupError} that gives the one install command when they are missing and
 * this process cannot install them, or when they are still missing after installing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ensureInstalled, SetupError } from "./setup.ts";
 * const tool = { name: "a tool", packages: ["tool"], probe: () => Promise.resolve(false) };
 * await assert.rejects(
 *   ensureInstalled([tool], { isRoot: () => false, canSudo: () => Promise.resolve(false) }),
 *   SetupError,
 * );
 * ```
 */
export async function ensureInstalled(
  requirements: readonly Requirement[],
  options: SetupOptions = {},
): Promise<void> {
  const isRoot = options.isRoot ?? (() => Deno.uid() === 0);
  const canSudo = options.canSudo ?? (() => succeeds("sudo", ["-n", "true"]));
  const run = options.run ?? runInherited;
  const log = options.log ?? ((message: string) => console.error(message));

  const missingOf = async (list: readonly Requirement[]) => {
    const present = await Promise.all(list.map((r) => r.probe()));
    return list.filter((_, i) => !present[i]);
  };
  const missing = await missingOf(requirements);
  if (missing.length === 0) return;

  const packages = [...new Set(missing.flatMap((r) => r.packages))];
  const command = installCommand(packages);
  const names = missing.map((r) => r.name).join(", ");
  const sudo = isRoot() ? [] : (await canSudo()) ? ["sudo", "-n"] : undefined;
  if (sudo === undefined) {
    throw new SetupError(
      `Missing: ${names}. This user is not root and cannot use sudo without a password, ` +
        `so install them yourself, then run this command again:\n    ${command}`,
    );
  }
  log(`Missing: ${names}. Installing with apt: ${packages.join(" ")}`);
  for (
    const args of [["apt-get", "update", "-q"], [
      "apt-get",
      "install",
      "-y",
      "-q",
      "--no-install-recommends",
      ...packages,
    ]]
  ) {
    if (!(await run([...sudo, ...args]))) {
      throw new SetupError(
        `\`${[...sudo, ...args].join(" ")}\` failed (see its output above), so ${names} ` +
          `could not be installed. Fix that, or install them yourself:\n    ${command}`,
      );
    }
  }
  const still = await missingOf(missing);
  if (still.length > 0) {
    throw new SetupError(
      `apt installed ${packages.join(" ")}, but ${still.map((r) => r.name).join(", ")} ` +
        `still does not work. Check the installation with:\n    ${command}`,
    );
  }
}

if (import.meta.main) {
  const purpose = Deno.args[0];
  if (purpose !== "notebook" && purpose !== "test" && purpose !== "pytorch") {
    console.error(
      `usage: deno run -A jupyter/setup.ts notebook|test|pytorch (got ${purpose ?? "nothing"})`,
    );
    Deno.exit(2);
  }
  try {
    await ensureInstalled(REQUIREMENTS[purpose]);
  } catch (error) {
    if (!(error instanceof SetupError)) throw error;
    console.error(`error: ${error.message}`);
    Deno.exit(1);
  }
}
