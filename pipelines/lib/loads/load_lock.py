"""One load at a time per working warehouse: an exclusive lock on `<warehouse>.lock`.

`junheng run` (and `demo`) hold it for the whole run. The kernel releases it when the holding
process ends in any way (SIGKILL included), so a dead load never keeps it. The file also says who
holds it (pid, host, since when, which census year), for the message a waiting run prints.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pipelines.lib.loads.processes import this_process


class LoadBusy(RuntimeError):
    """Another load held the warehouse for longer than this run was willing to wait."""


@dataclass(frozen=True)
class Holder:
    pid: int
    host: str
    since: str
    doing: str

    def describe(self) -> str:
        since = datetime.fromisoformat(self.since).astimezone().strftime("%H:%M") if self.since else "?"
        return f"{self.doing}, pid {self.pid}, since {since}"


def lock_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".lock")


class LoadLock:
    """The load lock of one working warehouse file."""

    def __init__(self, warehouse: Path):
        self.path = lock_path(warehouse)
        self._fd: int | None = None
        self._since = ""

    def holder(self) -> Holder | None:
        """Who holds the lock, as they wrote it (None if nobody wrote, or it is being rewritten)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8") or "null")
            return Holder(int(data["pid"]), str(data["host"]), str(data["since"]), str(data["doing"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def acquire(
        self,
        wait_seconds: float,
        doing: str,
        on_wait: Callable[[Holder | None], None] = lambda _: None,
        poll_seconds: float = 0.5,
    ) -> None:
        """Take the lock, waiting up to `wait_seconds` for another load to finish; `on_wait` is
        called once, with the holder, if the lock is taken. Raises LoadBusy on timeout."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + wait_seconds
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = self.holder()
                if not told:
                    on_wait(holder)
                    told = True
                if time.monotonic() >= deadline:
                    os.close(fd)
                    who = holder.describe() if holder else "unknown process"
                    raise LoadBusy(
                        f"另一个载入仍在运行（{who}），已等待 {wait_seconds:.0f} 秒 / another load is "
                        f"still running ({who}) after waiting {wait_seconds:.0f}s; try again later or "
                        f"wait longer with --wait SECONDS"
                    ) from None
                time.sleep(poll_seconds)
        self._fd = fd
        self._since = datetime.now().astimezone().isoformat(timespec="seconds")
        self.note(doing)

    def note(self, doing: str) -> None:
        """Say what the holder is doing now (e.g. which census year)."""
        if self._fd is None:
            raise RuntimeError("the load lock is not held")
        me = this_process()
        record = {"pid": me.pid, "host": me.host, "since": self._since, "doing": doing}
        try:
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, json.dumps(record).encode("utf-8"), 0)
        except OSError as exc:  # (a full disk): say which file
            raise OSError(exc.errno, exc.strerror, str(self.path)) from exc

    def release(self) -> None:
        if self._fd is None:
            return
        os.ftruncate(self._fd, 0)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None
