"""Worker processes die with their parent and never hold the store's lock: `kill -9` of a run that forked workers
must leave the store free for the next run at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from trendgan.store import Store

FORK_WHILE_LOCKED = """
import multiprocessing, os, signal, sys, time
from trendgan.store import Store
with Store(sys.argv[1]).writer("test"):
    child = multiprocessing.get_context("fork").Process(target=time.sleep, args=(60,))
    child.start()
    print(child.pid, flush=True)
    time.sleep(0.2)
    os.kill(os.getpid(), signal.SIGKILL)   # no cleanup: the kernel drops our hold on the lock
"""

POOL_THEN_KILLED = """
import os, signal, sys, time
from trendgan.ingest.examine import LocalExaminer
from trendgan.store import Store
with Store(sys.argv[1]).writer("ingest"):
    examiner = LocalExaminer(workers=2, jobs=100, max_pixels=10**6)
    futures = [examiner.pool.submit(time.sleep, 0.3) for _ in range(4)]
    [f.result() for f in futures]
    print(" ".join(str(p) for p in examiner.pool._processes), flush=True)
    examiner.pool.submit(time.sleep, 60)
    time.sleep(0.2)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (dead, not yet reaped by its parent) counts as gone
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().rsplit(")", 1)[1].split()[0] != "Z"


def _wait_gone(pids, seconds=10.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if _alive(p)]


def test_a_forked_child_never_keeps_the_store_locked(tmp_path, tally):
    """Before: a child forked while the lock was held shared it; with its parent killed, it kept the store locked
    until someone found and killed it."""
    store = Store(tmp_path / "store")
    # (the orphan keeps our pipe open: read its pid, wait for the parent, never for end of file)
    run = subprocess.Popen([sys.executable, "-c", FORK_WHILE_LOCKED, str(store.root)], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
    child = int(run.stdout.readline())
    assert run.wait(timeout=60) == -signal.SIGKILL
    try:
        assert _alive(child)  # the orphan still runs...
        with store.writer("next run"):  # ...and the store is free at once
            pass
    finally:
        os.kill(child, signal.SIGKILL)
    tally["faults injected"] += 1


def test_ingest_pool_workers_die_with_their_parent(tmp_path, tally):
    """Before: `kill -9` of ingest left its pool workers alive, blocked on a queue nobody would write to again."""
    store = Store(tmp_path / "store")
    run = subprocess.Popen([sys.executable, "-c", POOL_THEN_KILLED, str(store.root)], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
    workers = [int(p) for p in run.stdout.readline().split()]
    assert run.wait(timeout=120) == -signal.SIGKILL
    assert len(workers) == 2
    left = _wait_gone(workers)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"pool workers {left} outlived their parent"
    with store.writer("next run"):
        pass
    tally["faults injected"] += 1
