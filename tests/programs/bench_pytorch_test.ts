/**
 * programs/bench_pytorch.ts and programs/pytorch_baseline.py: the PyTorch reference trains the
 * tutorial's CNN on a few hundred real MNIST images and prints one JSON line of sane figures;
 * bad data files and the reference BLAS stop it with a sentence saying what to do.
 *
 * Debian's python3-torch and libopenblas0-pthread are installed by `deno task test`'s set-up
 * (jupyter/setup.ts), so their absence is a failure here, never a skip.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runProgram } from "../fixtures.ts";
import { PYTORCH_SCRIPT } from "../../programs/bench_pytorch.ts";
import { SYSTEM_PYTHON } from "../../jupyter/setup.ts";

const BENCH_PYTORCH = new URL("../../programs/bench_pytorch.ts", import.meta.url).pathname;
const FILES = [
  "train-images-idx3-ubyte.gz",
  "train-labels-idx1-ubyte.gz",
  "t10k-images-idx3-ubyte.gz",
  "t10k-labels-idx1-ubyte.gz",
];

/** Runs the script itself with /usr/bin/python3. */
async function python(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(SYSTEM_PYTHON, { args, stdout: "piped", stderr: "piped" })
    .output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

Deno.test("deno task bench-pytorch trains 400 images for an epoch on OpenBLAS and prints one JSON line of sane figures", async () => {
  const r = await runProgram(BENCH_PYTORCH, ["--train-samples", "400", "--threads", "1"]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.equal(lines.length, 1, "one JSON line on stdout, the logs on stderr");
  const result = JSON.parse(lines[0]);
  // The last 10% held out, as Keras' validation_split.
  assert.equal(result.train_images, 360);
  assert.equal(result.validation_images, 40);
  assert.equal(result.epochs, 1);
  assert.equal(result.batch_size, 128);
  assert.equal(result.seed, 42);
  assert.equal(result.threads, 1);
  assert.equal(result.blas, "openblas", `runs on ${result.blas_library}`);
  assert.match(result.blas_library, /libopenblas/);
  assert.match(result.torch_version, /^\d+\.\d+/);
  assert.deepEqual(result.epoch_images_per_s, [result.train_images_per_s]);
  assert.ok(
    result.train_images_per_s > 20 && result.train_images_per_s < 100_000,
    `${result.train_images_per_s} images/s`,
  );
  // Three steps from Glorot-uniform weights: the loss has moved below chance's ln 10 = 2.30.
  assert.ok(result.final_loss > 1 && result.final_loss < 2.3, `loss ${result.final_loss}`);
  assert.ok(result.test_accuracy > 0.15 && result.test_accuracy < 1, `${result.test_accuracy}`);
  assert.ok(result.test_loss > 0 && result.test_loss < 2.3, `test loss ${result.test_loss}`);
});

Deno.test("pytorch_baseline.py names a file whose SHA-256 disagrees with the folder's SHA256SUMS, before loading torch", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const name of FILES) await Deno.writeFile(join(dir, name), new Uint8Array());
    await Deno.writeTextFile(join(dir, "SHA256SUMS"), `${"0".repeat(64)}  ${FILES[3]}\n`);
    const r = await python([PYTORCH_SCRIPT, "--data", dir]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.match(
      r.stderr,
      new RegExp(
        `${join(dir, FILES[3])} is damaged: its SHA-256 is e3b0c442[0-9a-f]+, .*Delete it`,
      ),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pytorch_baseline.py says where it looked when a data file is missing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await python([PYTORCH_SCRIPT, "--data", dir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`are not all in ${dir}: run \`deno task bench\` once`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pytorch_baseline.py refuses a speed on Debian's reference BLAS unless allowed, and tells the BLAS apart", async () => {
  // The reference BLAS cannot be installed beside OpenBLAS as the one torch loads, so the
  // classification and the refusal are run on the library lists /proc/self/maps gives.
  const code = `
import json, sys
sys.path.insert(0, ${JSON.stringify(new URL("../../programs", import.meta.url).pathname)})
import pytorch_baseline as p
reference = ["/usr/lib/x86_64-linux-gnu/libgomp.so.1", "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3"]
openblas = ["/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3",
            "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so"]
print(json.dumps([p.classify_blas(reference), p.classify_blas(openblas), p.classify_blas(["/lib/libc.so.6"]),
    p.refusal_for(p.classify_blas(reference), False), p.refusal_for(p.classify_blas(reference), True),
    p.refusal_for(p.classify_blas(openblas), False)]))
`;
  const r = await python(["-c", code]);
  assert.equal(r.code, 0, r.stderr);
  const [reference, openblas, none, refused, allowed, optimized] = JSON.parse(r.stdout);
  assert.deepEqual(reference, ["reference", "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3"]);
  assert.deepEqual(openblas, [
    "openblas",
    "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so",
  ]);
  assert.deepEqual(none, ["unknown", null]);
  assert.match(refused, /reference BLAS \(\/usr\/lib\/x86_64-linux-gnu\/blas\/libblas\.so\.3\)/);
  assert.match(refused, /apt-get install -y --no-install-recommends .*libopenblas0-pthread/);
  assert.match(refused, /--allow-reference-blas/);
  assert.equal(allowed, null);
  assert.equal(optimized, null);
});

Deno.test("pytorch_baseline.py refuses a bad flag with exit code 2 and the value named", async () => {
  const r = await python([PYTORCH_SCRIPT, "--epochs", "0"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--epochs: "0" is not valid: give a whole number of at least 1/);
});
