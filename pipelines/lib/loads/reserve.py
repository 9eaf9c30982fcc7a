"""Room on the disk of the working warehouse, kept so that a failed load can always be rolled back.

A census-year load that fails because that disk is full leaves its year half-written until it is
rolled back (pipelines.lib.loads.year_loads), and the rollback writes too: DuckDB logs the year's
restored rows in the WAL. So while it loads, a run holds a file of allocated blocks beside the
working warehouse, `<warehouse>.reserve` (its size: models/operations/runs.yaml,
rollback_reserve). When a rollback fails for want of room, the file is deleted and the rollback
tried again in the room it leaves. A run killed while holding it leaves the file; the next run
uses it the same way and then holds it anew.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import yaml

from pipelines.lib.paths import MODELS_DIR

RUNS_SETTINGS_FILE = MODELS_DIR / "operations" / "runs.yaml"
MIB = 2**20


def reserve_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".reserve")


def reserve_bytes(warehouse: Path) -> int:
    """The room a load of `warehouse` sets aside: a share of the working file (and its WAL), at
    least a minimum (models/operations/runs.yaml)."""
    with open(RUNS_SETTINGS_FILE, encoding="utf-8") as f:
        setting = yaml.safe_load(f)["rollback_reserve"]
    size = sum(
        p.stat().st_size for p in (warehouse, warehouse.with_name(warehouse.name + ".wal")) if p.exists()
    )
    wanted = max(int(size * float(setting["share_of_warehouse"])), int(float(setting["minimum_mib"]) * MIB))
    return -(-wanted // MIB) * MIB  # whole MiB


def free_bytes(folder: Path) -> int:
    stats = os.statvfs(folder)
    return stats.f_bavail * stats.f_frsize


class NoRoom(OSError):
    """The disk of the working warehouse has no room for the reserve."""


def _allocate(fd: int, size: int) -> None:
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
            raise
        block = b"\0" * MIB  # a file system that cannot allocate without writing
        for _ in range(-(-size // MIB)):
            os.write(fd, block)
        os.fsync(fd)


def hold(warehouse: Path, size: int) -> None:
    """Allocate `size` bytes in `<warehouse>.reserve` (a reserve already there is replaced). Raises
    NoRoom when the disk has not that much room."""
    path = reserve_path(warehouse)
    release(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        _allocate(fd, size)
    except OSError as exc:
        path.unlink(missing_ok=True)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise NoRoom(exc.errno, exc.strerror, str(path)) from None
        raise
    finally:
        os.close(fd)


def release(warehouse: Path) -> bool:
    """Delete the reserve, giving its room back. True if there was one and it is gone (a
    read-only file system keeps it)."""
    path = reserve_path(warehouse)
    try:
        path.unlink()
    except OSError:
        return False
    return True
