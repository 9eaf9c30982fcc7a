"""One load at a time per warehouse, with real processes and no mocks.

While another process holds the load lock, acquiring it waits, says once who holds it, and gives up
with a message naming that process and what it is doing; a holder killed with SIGKILL leaves the
lock free at once; the file names the holder and what it is doing, and is emptied on release; and a
waiting acquire gets the lock as soon as the holder ends within the wait.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from pipelines.lib.loads.load_lock import Holder, LoadBusy, LoadLock

REPO = Path(__file__).resolve().parents[2]
HOLD = """
import sys, time
from pathlib import Path
from pipelines.lib.loads.load_lock import LoadLock
LoadLock(Path(sys.argv[1])).acquire(0, sys.argv[2])
print("ready", flush=True)
time.sleep(float(sys.argv[3]))
"""


@contextmanager
def holder(warehouse: Path, doing: str, seconds: float) -> Iterator[subprocess.Popen]:
    """A child process that takes the lock, says 'ready', holds it `seconds`, then exits."""
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(warehouse), doing, str(seconds)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        yield child
    finally:
        child.kill()
        child.wait()


def test_a_held_lock_makes_acquire_give_up_naming_the_holder(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    told: list[Holder | None] = []
    with holder(warehouse, "census year 2023", 60) as child, pytest.raises(LoadBusy) as busy:
        LoadLock(warehouse).acquire(1, "census year 2024", on_wait=told.append, poll_seconds=0.1)
    assert f"pid {child.pid}" in str(busy.value)
    assert "census year 2023" in str(busy.value)
    assert [(h.pid, h.host, h.doing) if h else None for h in told] == [
        (child.pid, socket.gethostname(), "census year 2023")
    ]


def test_a_killed_holder_frees_the_lock_and_the_file_follows_the_new_holder(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with holder(warehouse, "census year 2023", 60) as child:
        child.send_signal(signal.SIGKILL)
        child.wait()
    lock = LoadLock(warehouse)

    lock.acquire(0, "census year 2024")
    held = lock.holder()
    assert held is not None and (held.pid, held.doing) == (os.getpid(), "census year 2024")
    lock.note("census year 2024: models")
    held = lock.holder()
    assert held is not None and held.doing == "census year 2024: models"
    lock.release()

    assert lock.path.read_text() == ""
    with holder(warehouse, "census year 2025", 0) as child:
        assert child.wait() == 0


def test_a_waiting_acquire_gets_the_lock_when_the_holder_ends(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    told: list[Holder | None] = []
    with holder(warehouse, "census year 2023", 1.5) as child:
        started = time.monotonic()
        lock = LoadLock(warehouse)
        lock.acquire(20, "census year 2024", on_wait=told.append, poll_seconds=0.1)
        waited = time.monotonic() - started
        assert child.wait() == 0
    try:
        assert 1.0 < waited < 20
        assert [h.pid if h else None for h in told] == [child.pid]
        held = lock.holder()
        assert held is not None and held.pid == os.getpid()
    finally:
        lock.release()
