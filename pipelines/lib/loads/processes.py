"""Which process is this, and is that one still running? Used to tell a dead load from a live one.

A process is named by host, pid and the kernel's start time of the pid (Linux /proc), so a pid the
kernel has since given to another program does not pass for the process that died.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcessId:
    host: str
    pid: int
    started: str
    """Start time of the pid in clock ticks since boot ('' where /proc is not available)."""

    def describe(self) -> str:
        here = self.host == socket.gethostname()
        return f"pid {self.pid}" + ("" if here else f" on {self.host}")


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (which may contain spaces), or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def start_ticks(pid: int) -> str:
    fields = _stat_fields(pid)
    return fields[19] if fields and len(fields) > 19 else ""


def this_process() -> ProcessId:
    pid = os.getpid()
    return ProcessId(host=socket.gethostname(), pid=pid, started=start_ticks(pid))


def is_alive(process: ProcessId) -> bool | None:
    """True or False for a process of this host; None when it ran on another host (cannot tell)."""
    if process.host != socket.gethostname():
        return None
    try:
        os.kill(process.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    fields = _stat_fields(process.pid)
    if fields is None:  # no /proc: the signal test is all there is
        return True
    if fields[0] in ("Z", "X"):  # killed, not yet reaped by its parent
        return False
    return not process.started or fields[19] == process.started
