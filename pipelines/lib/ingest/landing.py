"""What is in the landing folder, by content: the fingerprints the landing sensor compares.

A file's sha256 is recomputed only when its size or modification time changed since the last
scan, so a sensor tick over an unchanged national landing folder hashes nothing; a file that is
touched but not changed keeps its fingerprint and starts no run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pipelines.lib.ingest.census_ingest import sha256_of
from pipelines.lib.ingest.readers import folder_entry
from pipelines.lib.paths import census_years_in

REFERENCE = "reference"


@dataclass(frozen=True)
class FileState:
    size: int
    mtime_ns: int
    sha256: str


def scan(landing: Path, known: dict[str, FileState] | None = None) -> dict[str, FileState]:
    """Every file of the reference and census-year folders but the ignored ones (Office lock,
    hidden and system files), by path relative to the landing folder. A file the run will refuse
    (e.g. a .docx) counts: adding one starts a run that says so."""
    known = known or {}
    states: dict[str, FileState] = {}
    folders = [landing / REFERENCE] + [landing / str(y) for y in census_years_in(landing)]
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            name = path.relative_to(landing).as_posix()
            if not path.is_file() or folder_entry(path, name).kind == "ignored":
                continue
            stat = path.stat()
            old = known.get(name)
            if old is not None and (old.size, old.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
                states[name] = old
            else:
                states[name] = FileState(stat.st_size, stat.st_mtime_ns, sha256_of(path))
    return states


def fingerprints(states: dict[str, FileState]) -> dict[str, str]:
    """One content hash per folder (`reference` or a census year) over its files' names and hashes."""
    by_folder: dict[str, list[str]] = {}
    for name, state in sorted(states.items()):
        folder = name.split("/", 1)[0]
        by_folder.setdefault(folder, []).append(f"{name}:{state.sha256}")
    return {
        folder: hashlib.sha256("\n".join(lines).encode()).hexdigest() for folder, lines in by_folder.items()
    }
