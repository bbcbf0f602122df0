#!/usr/bin/python3
"""The tutorial's CNN trained with PyTorch on the CPU: the yardstick for `deno task bench-compare`.

The same network (Conv 32 3x3 relu, pool 2, Conv 64 3x3 relu, pool 2, Dense 64 relu, Dense 10) and
Keras' settings: Glorot-uniform weights, zero biases, Adam 1e-3 with eps 1e-7, batch 128, the last
10% of the training images held out, the rest shuffled each epoch, all seeded. It reads the
project's gzipped IDX files and prints ONE JSON line: training images/s per epoch and the best,
test accuracy, torch's version, threads and the BLAS it runs on. Logs go to stderr.

Written for Debian's python3-torch on /usr/bin/python3 with an optimized BLAS
(libopenblas0-pthread); on the reference BLAS (libblas3) it runs at about half speed and refuses to
report a speed unless --allow-reference-blas is given.

    /usr/bin/python3 programs/pytorch_baseline.py --epochs 1 --threads 2
"""
import argparse
import gzip
import hashlib
import json
import os
import platform
import struct
import sys
import time

FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INSTALL = "sudo apt-get install -y --no-install-recommends python3-torch libopenblas0-pthread"


class Refusal(Exception):
    """A sentence for the reader: what is wrong and what to do."""


def data_folder(given):
    """The folder holding the four MNIST files: --data, else data/mnist, else $DATA_MIRROR/mnist."""
    mirror = os.environ.get("DATA_MIRROR", "").strip()
    candidates = [given] if given else [os.path.join(REPOSITORY, "data", "mnist")] + (
        [os.path.join(mirror, "mnist")] if mirror and "://" not in mirror else [])
    for folder in candidates:
        if all(os.path.isfile(os.path.join(folder, f)) for f in FILES):
            return folder
    raise Refusal(f"The four MNIST files ({', '.join(FILES)}) are not all in "
                  f"{' or '.join(candidates)}: run `deno task bench` once to fill data/mnist/, "
                  "set DATA_MIRROR to a folder holding mnist/, or pass --data FOLDER.")


def verified_bytes(folder, name):
    """The gzipped file, checked against the folder's SHA256SUMS when it has one."""
    path = os.path.join(folder, name)
    with open(path, "rb") as f:
        data = f.read()
    sums = os.path.join(folder, "SHA256SUMS")
    if os.path.isfile(sums):
        with open(sums) as f:
            expected = dict(reversed(line.split()) for line in f if line.strip())
        actual = hashlib.sha256(data).hexdigest()
        if expected.get(name) not in (None, actual):
            raise Refusal(f"{path} is damaged: its SHA-256 is {actual}, {sums} says "
                          f"{expected[name]}. Delete it and copy it again.")
    return data


def read_idx(folder, name, magic, dims):
    """An IDX file as a uint8 array of shape (n, *dims), its header checked."""
    import numpy as np
    path = os.path.join(folder, name)
    try:
        data = gzip.decompress(verified_bytes(folder, name))
    except (OSError, EOFError) as error:
        raise Refusal(f"{path} cannot be read as gzip ({error}). Delete it and copy it again.")
    header = 4 * (2 + len(dims))
    if len(data) < header or struct.unpack(">I", data[:4])[0] != magic:
        raise Refusal(f"{path} is not an IDX file of magic number {magic}. Check the file name.")
    n = struct.unpack(">I", data[4:8])[0]
    if len(data) != header + n * int(np.prod(dims)):
        raise Refusal(f"{path} holds {len(data)} bytes, its header promises "
                      f"{header + n * int(np.prod(dims))}. Delete it and copy it again.")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape((n, *dims))


def blas_in_use(torch):
    """Which BLAS this process runs on: the library mapped after a matrix product."""
    a = torch.ones(64, 64)
    (a @ a).sum().item()
    with open("/proc/self/maps") as f:
        libraries = sorted({line.split()[-1] for line in f if ".so" in line})
    return classify_blas(libraries)


def classify_blas(libraries):
    """(name, path) of the BLAS among mapped library paths; 'reference' is Debian's libblas3."""
    for name, mark in (("mkl", "libmkl"), ("openblas", "libopenblas"), ("blis", "blis"),
                       ("atlas", "atlas"), ("reference", "/blas/libblas.so")):
        found = [path for path in libraries if mark in path]
        if found:
            return name, found[0]
    return "unknown", None


def refusal_for(blas, allow_reference):
    """The sentence refusing to report a speed measured on the reference BLAS, or None."""
    name, path = blas
    if name != "reference" or allow_reference:
        return None
    return (f"PyTorch runs on the reference BLAS ({path}), about half the speed of an optimized "
            f"one, so its speed would flatter any comparison. Install OpenBLAS ({INSTALL}), or "
            "pass --allow-reference-blas to measure it anyway.")


def build_model(torch, seed):
    """The tutorial's CNN with Keras' initialization: Glorot-uniform weights, zero biases."""
    nn = torch.nn
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),   # 28 -> 26 -> 13
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),  # 13 -> 11 -> 5
        nn.Flatten(), nn.Linear(64 * 5 * 5, 64), nn.ReLU(),
        nn.Linear(64, 10))                                 # logits: softmax is in the loss
    for layer in model:
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(layer.weight)  # Keras' glorot_uniform: same fan-in and fan-out
            nn.init.zeros_(layer.bias)
    return model


def evaluate(torch, model, x, y, batch):
    """Mean cross-entropy and accuracy on (x, y)."""
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            logits = model(x[i:i + batch])
            loss += torch.nn.functional.cross_entropy(logits, y[i:i + batch], reduction="sum").item()
            correct += (logits.argmax(1) == y[i:i + batch]).sum().item()
    return loss / len(x), correct / len(x)


def train_epoch(torch, model, optimizer, data, order, batch):
    """One epoch over data in `order`; returns (seconds, mean loss)."""
    x, y = data
    model.train()
    start, total = time.perf_counter(), 0.0
    for i in range(0, len(order), batch):
        index = order[i:i + batch]
        loss = torch.nn.functional.cross_entropy(model(x[index]), y[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(index)
    return time.perf_counter() - start, total / len(order)


def load(torch, folder, samples):
    """(fit, validation, test) tensors: pixels scaled to [0, 1], the last 10% held out."""
    import numpy as np
    images = read_idx(folder, FILES[0], 2051, (28, 28))
    labels = read_idx(folder, FILES[1], 2049, ())
    if samples is not None:
        images, labels = images[:samples], labels[:samples]
    to_x = lambda a: torch.from_numpy(a.astype(np.float32) / 255).unsqueeze(1)
    to_y = lambda a: torch.from_numpy(a.astype(np.int64))
    fit = len(images) - int(len(images) * 0.1)  # Keras' validation_split: the last 10%, unshuffled
    test = (read_idx(folder, FILES[2], 2051, (28, 28)), read_idx(folder, FILES[3], 2049, ()))
    return ((to_x(images[:fit]), to_y(labels[:fit])), (to_x(images[fit:]), to_y(labels[fit:])),
            (to_x(test[0]), to_y(test[1])))


def run(args):
    """Trains and measures; returns the JSON record."""
    folder = data_folder(args.data)
    for name in FILES:  # checked before torch loads (seconds), so a bad file stops the run at once
        verified_bytes(folder, name)
    try:
        import numpy as np
        import torch
    except ImportError as error:
        raise Refusal(f"{sys.executable} cannot import {error.name}: install Debian's PyTorch "
                      f"with an optimized BLAS ({INSTALL}) and run it with /usr/bin/python3.")
    torch.set_num_threads(args.threads)
    blas = blas_in_use(torch)
    refusal = refusal_for(blas, args.allow_reference_blas)
    if refusal:
        raise Refusal(refusal)
    fit, validation, test = load(torch, folder, args.train_samples)
    if len(fit[0]) < args.batch_size:
        raise Refusal(f"--train-samples {args.train_samples} leaves {len(fit[0])} images to train "
                      f"on, fewer than one batch of {args.batch_size}: give more.")
    model = build_model(torch, args.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    # One forward and backward pass, no update, so that one-time set-up is not timed (the bench
    # also times after a warm-up); the gradients are dropped, so training is unchanged.
    torch.nn.functional.cross_entropy(model(fit[0][:args.batch_size]), fit[1][:args.batch_size]).backward()
    optimizer.zero_grad(set_to_none=True)
    rng = np.random.default_rng(args.seed)
    rates, loss = [], None
    for epoch in range(args.epochs):
        order = torch.from_numpy(rng.permutation(len(fit[0])))
        seconds, loss = train_epoch(torch, model, optimizer, fit, order, args.batch_size)
        rates.append(round(len(fit[0]) / seconds, 1))
        print(f"epoch {epoch + 1}: {rates[-1]} images/s, loss {loss:.4f}", file=sys.stderr)
    record = dict(train_images_per_s=max(rates), epoch_images_per_s=rates,
                  train_images=len(fit[0]), validation_images=len(validation[0]),
                  epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
                  final_loss=round(loss, 4), threads=torch.get_num_threads(),
                  torch_version=torch.__version__, numpy_version=np.__version__,
                  python_version=platform.python_version(), blas=blas[0], blas_library=blas[1])
    if args.evaluate:
        # In batches of the training batch: one batch of 1,000 ran 7x slower here (cache misses).
        test_loss, accuracy = evaluate(torch, model, *test, args.batch_size)
        record.update(test_accuracy=round(accuracy, 4), test_loss=round(test_loss, 4))
    return record


def whole(least):
    """An argparse type: a whole number of at least `least`, else a sentence naming the value."""
    def check(text):
        if not text.isdigit() or int(text) < least:
            raise argparse.ArgumentTypeError(
                f'"{text}" is not valid: give a whole number of at least {least}')
        return int(text)
    return check


positive = whole(1)


def parse(argv):
    cores = len(os.sched_getaffinity(0))
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=positive, default=1, help="training epochs (default 1)")
    p.add_argument("--threads", type=positive, default=cores,
                   help=f"torch's threads (default: one per core, {cores})")
    p.add_argument("--train-samples", type=positive, default=None,
                   help="train on the first N training images, the last 10%% of them held out "
                   "(default: all 60,000)")
    p.add_argument("--seed", type=whole(0), default=42, help="initial weights and order (default 42)")
    p.add_argument("--batch-size", type=positive, default=128, help="images per step (default 128)")
    p.add_argument("--data", help="folder of the four gzipped IDX files "
                   "(default: data/mnist, else $DATA_MIRROR/mnist)")
    p.add_argument("--no-evaluate", dest="evaluate", action="store_false",
                   help="skip the test set")
    p.add_argument("--allow-reference-blas", action="store_true",
                   help="report a speed even on the unoptimized reference BLAS")
    return p.parse_args(argv)


if __name__ == "__main__":
    try:
        print(json.dumps(run(parse(sys.argv[1:]))))
    except Refusal as refusal:
        print(f"Error: {refusal}", file=sys.stderr)
        sys.exit(1)
