#!/usr/bin/python3
"""Interrupts a Deno kernel while a cell trains on replica workers; prints one JSON line.

Used by tests/jupyter/interrupt_test.ts. argv: the repository, the cell's code file.
Waits for the cell's first "training" line on IOPub (so the workers are busy), counts the
kernel's threads, interrupts as a frontend does (SIGINT, the kernelspec's default), then
reports whether the kernel process and its threads are gone and how much CPU it used after.
"""
import json
import os
import sys
import time

from jupyter_client.manager import KernelManager

repo, cell = sys.argv[1], sys.argv[2]
os.environ["JUPYTER_PATH"] = os.path.join(repo, "jupyter")
km = KernelManager(kernel_name="deno")
km.start_kernel(cwd=repo)
kc = km.client()
kc.start_channels()
kc.wait_for_ready(timeout=120)
pid = km.provisioner.process.pid


def threads():
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except FileNotFoundError:
        return 0


def running():
    """The process exists and is not a zombie waiting for its parent to reap it."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


result = {"training_seen": False, "threads_idle": threads()}
msg_id = kc.execute(open(cell).read())
deadline = time.time() + 180
while time.time() < deadline and not result["training_seen"]:
    try:
        m = kc.get_iopub_msg(timeout=1)
    except Exception:
        continue
    if m["parent_header"].get("msg_id") != msg_id:
        continue
    if m["msg_type"] == "stream" and "training" in m["content"]["text"]:
        result["training_seen"] = True
    if m["msg_type"] == "error":
        result["error"] = m["content"]["evalue"]
        break
result["threads_before"] = threads()
km.interrupt_kernel()
t0 = time.time()
while time.time() - t0 < 30 and running():
    time.sleep(0.2)
result["seconds_to_end"] = round(time.time() - t0, 1)
result["running_after"] = running()
result["threads_after"] = threads() if result["running_after"] else 0
print(json.dumps(result))
kc.stop_channels()
km.shutdown_kernel(now=True)
