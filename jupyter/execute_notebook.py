#!/usr/bin/python3
"""Execute a Jupyter notebook headlessly in the Deno kernel, robustly.

Why not `jupyter nbconvert --execute`: Deno 2.9.6 sometimes publishes the
kernel's `status: idle` for a cell BEFORE that cell's last outputs (stream,
display_data, broadcast, even execute_result), still parented to that cell.
nbclient stops listening for a cell at its idle, so those outputs are silently
dropped. IOPub is also PUB/SUB, so anything published before the client's
subscription is live is lost ("slow joiner").

Measured (2 cores; "load" = a busy shell loop on each core) with a 40-cell
notebook whose cells print, Deno.jupyter.display, Deno.jupyter.broadcast,
print around an await, and end in an expression:
  * nbconvert 6.5 --execute: outputs missing in 3/6 runs idle, 4/6 under load
    (whole first cells, execute_results, second prints).
  * raw jupyter_client probe: outputs after their cell's idle in 5/10 runs.
  * this runner: complete notebook in 30/30 runs (20 under load); 19 of those
    runs had late outputs (46 in total), all recovered into the right cell.
Messages of ~10 MB and more arrive with an invalid HMAC signature from this
kernel, so lib/display/plotly.ts sends plotly.js in slices of 2 MB.

The project pins Deno 2.8.1 (see jupyter/README.md, "The Deno kernel pin"): with
the 31-cell notebook of tests/jupyter/notebook_test.ts this runner saw no late
output in 8 of 8 runs on 2.8.1, and late outputs in 7 of 8 runs on 2.9.6. The
safeguards below stay: they cost one empty request per cell and keep the runner
right on any Deno.

What this runner does instead:

* Waits until IOPub demonstrably delivers messages (a probe execute request's
  busy/idle is seen) before running the first cell.
* After each cell's idle + execute_reply, sends a tiny *sentinel* execute
  request (empty code) and only closes the cell when the sentinel's idle has
  arrived. Every IOPub message is routed to a cell by its parent msg_id, and
  anything parented to the sentinel belongs to the cell before it.
* Handles stream, display_data, update_display_data (replaces every output
  with that display_id, in any cell), execute_result, error, clear_output.
* Fails with a message naming the cell when a cell errors, times out, kills
  the kernel, or (unless tagged `allow-empty-output`) produces no output.
* Writes the executed notebook with nbformat and renders standalone HTML
  with `nbconvert --to html` (no --execute).

Runs on Debian's /usr/bin/python3 (jupyter-client, nbformat, nbconvert from
apt). Parameters for the notebook are passed through the environment, which
the kernel inherits unchanged.
"""

from __future__ import annotations

import argparse
import os
import queue
import subprocess
import sys
import time
from pathlib import Path

APT_PACKAGES = ["jupyter-nbconvert", "jupyter-client"]
APT_HINT = "sudo apt-get update && sudo apt-get install -y " + " ".join(APT_PACKAGES)
EMPTY_OK_TAG = "allow-empty-output"


def fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


class RunnerError(Exception):
    """A cell or the kernel failed; the partial notebook is still written."""


def log(message: str) -> None:
    print(f"[notebook] {message}", file=sys.stderr, flush=True)


def ensure_jupyter() -> None:
    """Import the Jupyter libraries; install them in CI as root, else explain."""
    try:
        import jupyter_client  # noqa: F401
        import nbconvert  # noqa: F401
        import nbformat  # noqa: F401
        return
    except ImportError as exc:
        missing = exc.name
    if os.environ.get("CI") == "true" and os.geteuid() == 0:
        log(f"Python module '{missing}' is missing; installing {' '.join(APT_PACKAGES)} (CI=true, root).")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", *APT_PACKAGES],
                       check=True, env=env)
        return
    fail(f"Jupyter is not installed for {sys.executable} (module '{missing}' missing). "
         f"Install it with:\n    {APT_HINT}")


def short_source(source: str) -> str:
    first = next((line.strip() for line in source.splitlines() if line.strip()), "")
    return first if len(first) <= 70 else first[:67] + "..."


class CellState:
    def __init__(self, index: int, cell: dict) -> None:
        self.index = index
        self.cell = cell
        self.outputs: list[dict] = []
        self.clear_pending = False
        self.error: dict | None = None


class Runner:
    def __init__(self, nb, cwd: Path, timeout: float, startup_timeout: float) -> None:
        from jupyter_client.manager import KernelManager

        self.nb = nb
        self.cwd = cwd
        self.timeout = timeout
        self.startup_timeout = startup_timeout
        kernel_name = nb.metadata.get("kernelspec", {}).get("name", "deno")
        self.km = KernelManager(kernel_name=kernel_name)
        self.kc = None
        # msg_id -> CellState that owns outputs parented to that request.
        self.owner: dict[str, CellState] = {}
        # display_id -> outputs (dicts) showing it, for update_display_data.
        self.displays: dict[str, list[dict]] = {}
        self.idle: set[str] = set()
        self.replies: dict[str, dict] = {}
        self.late_outputs = 0
        self.sentinels: set[str] = set()
        self.sentinel_outputs = 0

    # -- kernel lifecycle -------------------------------------------------
    def start(self) -> None:
        # env=None would also inherit, but be explicit: DATASET, EPOCHS, ... must reach the kernel.
        from jupyter_client.kernelspec import NoSuchKernel

        try:
            self.km.start_kernel(cwd=str(self.cwd), env=dict(os.environ))
        except NoSuchKernel:
            raise RunnerError(
                f"The notebook asks for kernel '{self.km.kernel_name}', but only the kernelspec "
                "'deno' is provided (jupyter/kernels/deno). Set the notebook's metadata.kernelspec "
                'to {"name": "deno", "display_name": "Deno", "language": "typescript"}.') from None
        self.kc = self.km.client()
        self.kc.start_channels()
        try:
            self.kc.wait_for_ready(timeout=self.startup_timeout)
        except RuntimeError as exc:
            raise RunnerError(f"The Deno kernel did not start within {self.startup_timeout:.0f}s ({exc}). "
                 "Check that `deno` is on PATH and `deno jupyter --kernel` works.")
        # IOPub is a PUB/SUB socket: messages published before the subscription is
        # established are lost. Probe until a probe request's idle is observed.
        deadline = time.monotonic() + self.startup_timeout
        while True:
            msg_id = self.kc.execute("", silent=False, store_history=False)
            probe_deadline = min(deadline, time.monotonic() + 2.0)
            while time.monotonic() < probe_deadline and msg_id not in self.idle:
                self.pump(0.1)
            if msg_id in self.idle:
                # Also drain its execute_reply so it does not linger.
                self.wait_reply(msg_id, 10.0, None)
                return
            if time.monotonic() >= deadline:
                raise RunnerError("The Deno kernel started but never published on IOPub; cannot collect outputs.")

    def stop(self) -> None:
        try:
            if self.kc is not None:
                self.kc.stop_channels()
            self.km.shutdown_kernel(now=False)
        except Exception:  # noqa: BLE001 - best effort cleanup
            self.km.shutdown_kernel(now=True)

    # -- message handling -------------------------------------------------
    def pump(self, timeout: float) -> bool:
        """Handle at most a burst of IOPub messages; True if any arrived."""
        try:
            msg = self.kc.get_iopub_msg(timeout=timeout)
        except queue.Empty:
            return False
        self.handle(msg)
        while True:
            try:
                msg = self.kc.get_iopub_msg(timeout=0)
            except queue.Empty:
                return True
            self.handle(msg)

    def handle(self, msg: dict) -> None:
        from nbformat.v4 import output_from_msg

        parent = msg.get("parent_header", {}).get("msg_id")
        kind = msg["header"]["msg_type"]
        content = msg["content"]
        if kind == "status":
            if content.get("execution_state") == "idle" and parent:
                self.idle.add(parent)
            return
        if kind == "update_display_data":
            # `or {}`: Deno 2.8's kernel sends `"transient": null` on displays without an id.
            display_id = (content.get("transient") or {}).get("display_id")
            for out in self.displays.get(display_id, []):
                out["data"] = content.get("data", {})
                out["metadata"] = content.get("metadata", {})
            return
        state = self.owner.get(parent)
        if state is None:
            return  # e.g. the startup probe, or a message from no request
        if kind == "execute_input":
            if content.get("execution_count") and state.cell.get("execution_count") is None:
                state.cell["execution_count"] = content["execution_count"]
            return
        if kind == "clear_output":
            if content.get("wait"):
                state.clear_pending = True
            else:
                state.outputs.clear()
            return
        if kind not in ("stream", "display_data", "execute_result", "error"):
            return
        if state.clear_pending:
            state.outputs.clear()
            state.clear_pending = False
        if parent in self.sentinels:
            self.sentinel_outputs += 1
        elif parent in self.idle:
            self.late_outputs += 1  # arrived after its own request's idle: the Deno trap
        out = output_from_msg(msg)
        if kind == "stream" and state.outputs and state.outputs[-1].get("output_type") == "stream" \
                and state.outputs[-1].get("name") == out["name"]:
            state.outputs[-1]["text"] += out["text"]
            return
        state.outputs.append(out)
        if kind == "error":
            state.error = out
        display_id = (content.get("transient") or {}).get("display_id")
        if display_id and kind in ("display_data", "execute_result"):
            self.displays.setdefault(display_id, []).append(out)

    def wait_reply(self, msg_id: str, timeout: float, state: CellState | None) -> dict:
        deadline = time.monotonic() + timeout
        while msg_id not in self.replies:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return {}
            try:
                reply = self.kc.get_shell_msg(timeout=min(0.2, remaining))
            except queue.Empty:
                self.pump(0)
                if not self.km.is_alive():
                    raise RunnerError(self.describe(state, "killed the kernel (it exited)") if state
                         else "The Deno kernel exited during startup.")
                continue
            pid = reply.get("parent_header", {}).get("msg_id")
            self.replies[pid] = reply
        return self.replies[msg_id]

    def wait_idle(self, msg_id: str, timeout: float, state: CellState | None) -> bool:
        deadline = time.monotonic() + timeout
        while msg_id not in self.idle:
            if time.monotonic() > deadline:
                return False
            if not self.pump(0.2) and not self.km.is_alive():
                raise RunnerError(self.describe(state, "killed the kernel (it exited)") if state
                     else "The Deno kernel exited.")
        return True

    def describe(self, state: CellState, what: str) -> str:
        return (f"Notebook cell {state.index} (first line: `{short_source(state.cell.source)}`) "
                f"{what}.")

    # -- execution --------------------------------------------------------
    def run_cell(self, state: CellState) -> None:
        msg_id = self.kc.execute(state.cell.source, store_history=True, allow_stdin=False,
                                 stop_on_error=True)
        self.owner[msg_id] = state
        # Same list object: a failure below still leaves the outputs so far in the notebook.
        state.cell["outputs"] = state.outputs
        started = time.monotonic()
        reply = self.wait_reply(msg_id, self.timeout, state)
        if not reply:
            self.km.interrupt_kernel()
            raise RunnerError(self.describe(state, f"did not finish within {self.timeout:.0f}s "
                               "(raise NOTEBOOK_CELL_TIMEOUT if this is expected)"))
        if not self.wait_idle(msg_id, 60.0, state):
            raise RunnerError(self.describe(state, "finished but the kernel never reported idle"))
        # The sentinel: its idle can only come after the kernel has processed it, by
        # which time outputs of the previous request have been flushed. Outputs the
        # kernel stamps with the sentinel's id belong to this cell too.
        sentinel = self.kc.execute("", silent=False, store_history=False, allow_stdin=False)
        self.owner[sentinel] = state
        self.sentinels.add(sentinel)
        if not self.wait_idle(sentinel, 120.0, state):
            raise RunnerError(self.describe(state, "left the kernel unresponsive (sentinel request got no idle)"))
        self.wait_reply(sentinel, 30.0, state)
        content = reply.get("content", {})
        if content.get("execution_count") and state.cell.get("execution_count") is None:
            state.cell["execution_count"] = content["execution_count"]
        elapsed = time.monotonic() - started
        log(f"cell {state.index} done in {elapsed:.1f}s, {len(state.outputs)} output(s)")
        if content.get("status") == "error" and state.error is None:
            ename = content.get("ename", "Error")
            state.error = {"ename": ename, "evalue": content.get("evalue", "")}

    def run(self) -> list[str]:
        problems: list[str] = []
        # 1-based like the check_notebook.ts reports: "cell 3" is the third cell in the notebook.
        code_cells = [CellState(i + 1, c) for i, c in enumerate(self.nb.cells) if c.cell_type == "code"]
        for c in self.nb.cells:
            if c.cell_type == "code":
                c["outputs"] = []
                c["execution_count"] = None
        for state in code_cells:
            if not state.cell.source.strip():
                continue
            log(f"running cell {state.index}: {short_source(state.cell.source)}")
            self.run_cell(state)
            if state.error is not None:
                problems.append(self.describe(
                    state, f"raised {state.error.get('ename')}: {state.error.get('evalue')}"))
                break  # later cells depend on this one; stop like nbconvert does
        # Final sweep: update_display_data may still be in flight for the last cell.
        self.pump(0.2)
        for state in code_cells:
            tags = state.cell.get("metadata", {}).get("tags", [])
            if state.cell.source.strip() and not state.outputs and EMPTY_OK_TAG not in tags \
                    and not problems:
                problems.append(self.describe(
                    state, f"produced no output (every code cell must show something; tag it "
                           f"'{EMPTY_OK_TAG}' if that is intended)"))
        if self.late_outputs or self.sentinel_outputs:
            log(f"recovered {self.late_outputs} output(s) that arrived after their cell's idle "
                f"and {self.sentinel_outputs} stamped with the following sentinel request")
        return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--output-dir", type=Path, default=Path("outputs"))
    parser.add_argument("--timeout", type=float,
                        default=float(os.environ.get("NOTEBOOK_CELL_TIMEOUT", "7200")),
                        help="per-cell timeout in seconds (default 7200, env NOTEBOOK_CELL_TIMEOUT): "
                             "the first run of the variant comparison takes most of an hour on 2 cores")
    parser.add_argument("--startup-timeout", type=float, default=120.0)
    parser.add_argument("--no-html", action="store_true", help="skip the HTML rendering")
    args = parser.parse_args()

    ensure_jupyter()
    import nbformat

    nb_path = args.notebook.resolve()
    if not nb_path.is_file():
        fail(f"Notebook {args.notebook} does not exist; create it (or pass the right path) and retry.")
    # The kernelspec lives in the repo (jupyter/kernels/deno) so no `deno jupyter --install`
    # is needed; prepend it to whatever JUPYTER_PATH the caller has.
    here = Path(__file__).resolve().parent
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        p for p in [str(here), os.environ.get("JUPYTER_PATH", "")] if p)

    nb = nbformat.read(str(nb_path), as_version=4)
    out_dir = args.output_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    out_nb = out_dir / nb_path.name
    started = time.monotonic()
    runner = Runner(nb, nb_path.parent, args.timeout, args.startup_timeout)
    log(f"starting kernel '{runner.km.kernel_name}' in {nb_path.parent}")
    try:
        runner.start()
        problems = runner.run()
    except RunnerError as exc:
        problems = [str(exc)]
    finally:
        runner.stop()
    # Written to a temporary name and renamed into place: a reader never sees half of a file.
    partial = f".{out_nb.stem}.{os.getpid()}.partial"
    partial_nb, partial_html = out_dir / f"{partial}.ipynb", out_dir / f"{partial}.html"
    try:
        nbformat.write(nb, str(partial_nb))
        os.replace(partial_nb, out_nb)
        log(f"wrote {out_nb} ({time.monotonic() - started:.0f}s)")
        if not args.no_html:
            result = subprocess.run(
                [sys.executable, "-m", "nbconvert", "--to", "html", "--log-level", "WARN",
                 "--output-dir", str(out_dir), "--output", partial, str(out_nb)])
            if result.returncode != 0:
                fail(f"nbconvert could not render {out_nb} to HTML (exit {result.returncode}).")
            os.replace(partial_html, out_nb.with_suffix(".html"))
            log(f"wrote {out_nb.with_suffix('.html')}")
    finally:
        for leftover in (partial_nb, partial_html):
            leftover.unlink(missing_ok=True)
    if problems:
        for p in problems:
            print(f"error: {p}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
