"""Faults of the machine, not of the data: a full disk, a read-only file system, a folder the run may
not write. They reach the code as Python's OSError (`[Errno 28] No space left on device: '…'`), as
pyarrow's (`[Errno 30] Failed to open local file '…'`, or on a full disk no file at all) or as
DuckDB's errors (`Could not write file "….wal": No space left on device`), often as the cause of
another error, or only as the text of a failed Dagster step. `find_fault` reads any of these and
says which fault and which path; `where` says whose path it is (the working warehouse, the
published folder, the reports folder), so a message can name the place in words people use.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

DISK_FULL, READ_ONLY, NO_PERMISSION = "disk_full", "read_only", "no_permission"

_ERRNOS = {
    errno.ENOSPC: DISK_FULL,
    errno.EDQUOT: DISK_FULL,
    errno.EROFS: READ_ONLY,
    errno.EACCES: NO_PERMISSION,
    errno.EPERM: NO_PERMISSION,
}
_TEXTS = [
    (re.compile(r"No space left on device|Disk quota exceeded|\[Errno (?:28|122)\]"), DISK_FULL),
    (re.compile(r"Read-only file system|\[Errno 30\]"), READ_ONLY),
    (re.compile(r"Permission denied|Operation not permitted|\[Errno (?:13|1)\]"), NO_PERMISSION),
]
# DuckDB: Could not write file "/w/junheng.duckdb.wal": …, also inside its JSON (file \"/w/…\")
_DUCKDB_FILE = re.compile(r'(?:file|directory)\s+\\?"([^"\\]+)\\?"', re.IGNORECASE)
_QUOTED_PATH = re.compile(r'\\?"(/[^"\\]+)\\?"')
_PYTHON_PATHS = re.compile(r": '([^']+)'(?: -> '([^']+)')?")  # OSError: [Errno 28] …: 'a' -> 'b'
_ARROW_FILE = re.compile(r"local file '([^']+)'")  # pyarrow: [Errno 30] Failed to open local file '/p/…'
# publishing's own words, when the error under them names no file (pyarrow's full disk does not):
# could not write the snapshot's files in /p/pub: [Errno 28] Error writing bytes to file. …
_PUBLISH_FOLDER = re.compile(r"could not write the (?:snapshot's files|catalog) in (/.+?): ")

WORKING, PUBLISHED, REPORTS = "working", "published", "reports"


@dataclass(frozen=True)
class Fault:
    kind: str
    """DISK_FULL, READ_ONLY or NO_PERMISSION."""
    path: Path | None
    """The file or folder that could not be written, when the error names it."""


def _fault_of_text(text: str) -> Fault | None:
    kind = next((kind for pattern, kind in _TEXTS if pattern.search(text)), None)
    if kind is None:
        return None
    named = _PYTHON_PATHS.search(text)
    if named:  # a copy or rename names the source, then the target that could not be written
        return Fault(kind, Path(named.group(2) or named.group(1)))
    quoted = (
        _DUCKDB_FILE.search(text)
        or _QUOTED_PATH.search(text)
        or _ARROW_FILE.search(text)
        or _PUBLISH_FOLDER.search(text)
    )
    return Fault(kind, Path(quoted.group(1)) if quoted else None)


def _fault_of_error(error: BaseException) -> Fault | None:
    if isinstance(error, OSError) and error.errno in _ERRNOS:
        path = error.filename2 or error.filename
        if not path:  # pyarrow's OSError names its file in its text only, if at all
            in_text = _fault_of_text(str(error))
            path = in_text.path if in_text is not None else None
        return Fault(_ERRNOS[error.errno], Path(path) if path else None)
    return _fault_of_text(str(error))


def _faults(errors: Iterable[BaseException | str]) -> Iterator[Fault]:
    for error in errors:
        if isinstance(error, str):
            fault = _fault_of_text(error)
            if fault:
                yield fault
            continue
        seen: set[int] = set()
        current: BaseException | None = error
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            fault = _fault_of_error(current)
            if fault:
                yield fault
            current = current.__cause__ or current.__context__


def find_fault(errors: Iterable[BaseException | str]) -> Fault | None:
    """The first machine fault among these errors (exceptions with their causes, or error texts)
    that names the file or folder it could not write, else the first that names none; or None."""
    first: Fault | None = None
    for fault in _faults(errors):
        if fault.path is not None:
            return fault
        first = first or fault
    return first


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def where(fault: Fault, warehouse: Path, published: Path, reports: Path) -> str | None:
    """WORKING (the working warehouse, its WAL or lock beside it), PUBLISHED (the
    snapshot's folder), REPORTS, or None for another path or none."""
    if fault.path is None:
        return None
    path = fault.path.resolve()
    working = warehouse.resolve()
    if path.parent == working.parent and path.name.startswith(working.name):
        return WORKING
    if _inside(path, published.resolve().parent):
        return PUBLISHED
    if _inside(path, reports.resolve()):
        return REPORTS
    return None


_PLACE = {
    WORKING: ("工作库 {path}", "the working warehouse {path}"),
    PUBLISHED: ("发布目录 {path}", "the published folder {path}"),
    REPORTS: ("报告目录 {path}", "the reports folder {path}"),
    None: ("{path}", "{path}"),
}
_STATE = {
    DISK_FULL: ("所在磁盘已满", "is on a full disk"),
    READ_ONLY: ("只读", "is read-only"),
    NO_PERMISSION: ("没有访问权限", "cannot be accessed (permission denied)"),
}
_ADVICE = {
    DISK_FULL: ("腾出空间后再运行", "free some space and run again"),
    READ_ONLY: ("恢复可写后再运行", "make it writable and run again"),
    NO_PERMISSION: ("给予权限后再运行", "grant access and run again"),
}


def what_failed(fault: Fault, place: str | None, shown: Path | None) -> tuple[str, str]:
    """(Chinese, English): '发布目录 /x/pub 只读' / 'the published folder /x/pub is read-only'.
    `shown` is the path to name (the folder or file people know), else the fault's own."""
    path = shown or fault.path
    zh_place, en_place = _PLACE[place] if path else ("写入的位置", "a place the run writes")
    zh_state, en_state = _STATE[fault.kind]
    return f"{zh_place.format(path=path)} {zh_state}", f"{en_place.format(path=path)} {en_state}"


def advice(fault: Fault) -> tuple[str, str]:
    return _ADVICE[fault.kind]


def one_line(fault: Fault, place: str | None = None, shown: Path | None = None) -> str:
    """The fault alone, for an error caught outside a run: '… 所在磁盘已满 / … is on a full disk'."""
    zh, en = what_failed(fault, place, shown)
    if fault.kind != NO_PERMISSION:  # a refused permission may be a read's
        zh, en = f"{zh}，无法写入", f"{en}: it could not be written"
    zh_advice, en_advice = advice(fault)
    return f"{zh}；{zh_advice} / {en}; {en_advice}"
