/**
 * `deno task bench-pytorch`: the PyTorch reference, `programs/pytorch_baseline.py`, on Debian's
 * `python3-torch` with OpenBLAS. It first makes sure both are installed (`jupyter/setup.ts`, mode
 * `pytorch`: with apt as root or with password-less sudo, else it stops with the one command to
 * run), and that `data/mnist/` holds the four files, checked (the same loader as the bench:
 * `DATA_MIRROR` or a download). The script's flags pass through; it prints ONE JSON line.
 *
 * @example
 * ```sh
 * DATA_MIRROR=/work/shared deno task bench-pytorch --epochs 1 --threads 2
 * deno task bench-pytorch --help
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_CACHE_DIR, loadMnist } from "../lib/data/mnist.ts";
import { ensureInstalled, REQUIREMENTS, SetupError, SYSTEM_PYTHON } from "../jupyter/setup.ts";

/** The reference script, beside this program. */
export const PYTORCH_SCRIPT: string = fileURLToPath(
  new URL("pytorch_baseline.py", import.meta.url),
);

/** The command line that runs the script on `args`, reading MNIST from `dataFolder`. */
export function pytorchCommand(args: readonly string[], dataFolder: string): string[] {
  return [SYSTEM_PYTHON, PYTORCH_SCRIPT, "--data", dataFolder, ...args];
}

/** Runs the reference with `args` (its flags); returns its exit code. */
export async function main(args: readonly string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    const help = await new Deno.Command(SYSTEM_PYTHON, { args: [PYTORCH_SCRIPT, "--help"] })
      .spawn().status;
    return help.code;
  }
  try {
    await ensureInstalled(REQUIREMENTS.pytorch);
  } catch (error) {
    if (!(error instanceof SetupError)) throw error;
    console.error(
      `Error: deno task bench-pytorch runs Debian's PyTorch on ${SYSTEM_PYTHON} with OpenBLAS. ` +
        error.message,
    );
    return 1;
  }
  if (!args.includes("--data")) {
    // Fills data/mnist/ with checked copies, as the bench does, for the script to read.
    await loadMnist({ dataset: "mnist", log: (message) => console.error(message) });
  }
  const [command, ...rest] = pytorchCommand(args, join(DEFAULT_CACHE_DIR, "mnist"));
  const status = await new Deno.Command(command, { args: rest, stdin: "null" }).spawn().status;
  return status.code;
}

if (import.meta.main) {
  try {
    Deno.exitCode = await main(Deno.args);
  } catch (error) {
    console.error(`Error: ${error instanceof Error ? error.message : String(error)}`);
    Deno.exitCode = 1;
  }
}
