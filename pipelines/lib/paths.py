"""Where things live. Explicit arguments win over environment variables, which win over defaults.

Resolved when called, never at import, so tests and the CLI can point a run anywhere.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
MODELS_DIR = REPO_ROOT / "models"

DEFAULTS = {
    "JUNHENG_LANDING": "warehouse/landing",
    "JUNHENG_WAREHOUSE": "warehouse/junheng.duckdb",
    "JUNHENG_PUBLISHED": "warehouse/published/junheng.duckdb",
    "JUNHENG_REPORTS": "warehouse/reports",
}


def resolve(variable: str, explicit: str | os.PathLike[str] | None = None) -> Path:
    """The path for one of the JUNHENG_* settings."""
    if explicit:
        return Path(explicit)
    return Path(os.environ.get(variable) or DEFAULTS[variable])


def landing_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    return resolve("JUNHENG_LANDING", explicit)


def warehouse_file(explicit: str | os.PathLike[str] | None = None) -> Path:
    return resolve("JUNHENG_WAREHOUSE", explicit)


def published_file(explicit: str | os.PathLike[str] | None = None) -> Path:
    return resolve("JUNHENG_PUBLISHED", explicit)


def reports_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    return resolve("JUNHENG_REPORTS", explicit)


def census_years_in(landing: Path) -> list[int]:
    """Census years that have a folder of extracts under the landing folder."""
    if not landing.is_dir():
        return []
    return sorted(
        int(p.name) for p in landing.iterdir() if p.is_dir() and p.name.isdigit() and len(p.name) == 4
    )


def path_problem(path: Path, what: str, is_folder: bool = False) -> str | None:
    """Why `path` cannot be written as a file (or a folder), in one line; None if it can."""
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            return (
                f"{path}: 上级路径 {parent} 是一个文件，不是文件夹 / the {what} cannot go there: "
                f"{parent} is a file, not a folder"
            )
    if is_folder and path.exists() and not path.is_dir():
        return f"{path}: 这是一个文件，不是文件夹 / the {what} must be a folder, and this is a file"
    if not is_folder and path.is_dir():
        return f"{path}: 这是一个文件夹 / the {what} must be a file, and this is a folder"
    return None


def write_log(text: str, log_dir: Path, name: str) -> Path | None:
    """Write a log file `name` to `log_dir` (logs/ beside the working warehouse), or, when that
    cannot be written (a full or read-only disk), to junheng-logs in the system's temporary
    folder. Returns where it went; None if neither could be written."""
    for folder in (log_dir, Path(tempfile.gettempdir()) / "junheng-logs"):
        path = folder / name
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError:
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
            continue
        return path
    return None
