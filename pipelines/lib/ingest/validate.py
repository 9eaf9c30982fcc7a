"""`junheng validate`: exactly the checks of `junheng run` on files, without a warehouse.

A file is checked as if it were dropped into its census year's landing folder: together with
the files already there (a file of the same name is replaced by it), so that the checks across
the files of a year (a school id in two files, a teaching point whose parent school is in
another file) give the verdict `run` would give. A year folder may be given instead of files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipelines.lib.ingest.census_ingest import (
    REJECTION_SCHEMA,
    FileRejected,
    FileReport,
    YearRejected,
    check_census_year,
    previous_amounts,
)
from pipelines.lib.ingest.readers import FolderEntry, folder_entry


@dataclass
class FileVerdict:
    report: FileReport
    rejected: pl.DataFrame


@dataclass
class Validation:
    verdicts: list[FileVerdict]  # the files asked about, in the order given
    notes: list[str] = field(default_factory=list)  # per census year: would it load, and why not
    years_refused: list[int] = field(default_factory=list)  # years that would not load


def census_year_of(path: Path) -> int | None:
    """The census year a file belongs to: its folder name, as in the landing layout."""
    return int(path.parent.name) if re.fullmatch(r"\d{4}", path.parent.name) else None


def validate_paths(
    paths: list[Path],
    county_codes: list[str],
    landing: Path | None = None,
    census_year: int | None = None,
    published: Path | None = None,
    registry: pl.DataFrame | None = None,
) -> Validation:
    """Each path (a file, or a year folder for all its files) checked with its year's files, and,
    when the published snapshot `published` exists, with the previous year's values as loaded
    (the unit check compares with them, as `run` does)."""
    asked: dict[int, dict[str, Path]] = {}  # year -> name as `run` records it -> the file given
    for path in paths:
        if path.is_dir() and re.fullmatch(r"\d{4}", path.name):
            year = census_year or int(path.name)
            for child in sorted(path.iterdir()):
                asked.setdefault(year, {})[f"{year}/{child.name}"] = child
            continue
        found = census_year or census_year_of(path)
        if found is None:
            raise ValueError(
                f"{path}: 无法确定统计年度 / cannot tell the census year: put the file in a "
                "folder named after the year (2024/...) or pass --year"
            )
        asked.setdefault(found, {})[f"{found}/{path.name}"] = path
    result = Validation([])
    for year, files in sorted(asked.items()):
        check = _check_year(year, files, county_codes, landing, _previous(published, year), registry)
        for name in files:
            report, rejected = check.get(name, (None, None))
            assert report is not None and rejected is not None
            result.verdicts.append(FileVerdict(report, rejected))
        result.notes.append(_year_note(year, files, check, landing))
        if any(r.status == "rejected" for r, _ in check.values()):
            result.years_refused.append(year)
    return result


def _entries(year: int, files: dict[str, Path], landing: Path | None) -> list[FolderEntry]:
    """The year's landing folder as it would be with the given files dropped into it."""
    entries = {name: folder_entry(path, name) for name, path in files.items()}
    folder = landing / str(year) if landing is not None else None
    if folder is not None and folder.is_dir():
        for path in sorted(folder.iterdir()):
            name = f"{year}/{path.name}"
            if name not in entries:
                entries[name] = folder_entry(path, name)
    return [entries[name] for name in sorted(entries)]


def _previous(published: Path | None, year: int) -> pl.DataFrame | None:
    if published is None or not published.is_file():
        return None
    from pipelines.lib.warehouse import connect

    with connect(published, read_only=True) as con:
        return previous_amounts(con, year)


def _check_year(
    year: int,
    files: dict[str, Path],
    county_codes: list[str],
    landing: Path | None,
    previous: pl.DataFrame | None = None,
    registry: pl.DataFrame | None = None,
) -> dict[str, tuple[FileReport, pl.DataFrame]]:
    entries = _entries(year, files, landing)
    empty = pl.DataFrame(schema=REJECTION_SCHEMA)
    try:
        check = check_census_year(entries, year, county_codes, f"{year}/", previous, registry)
    except YearRejected as refused:  # nothing to read at all: each entry says why
        return {r.source_file: (r, empty) for r in refused.files}
    except FileRejected as refused:
        return {
            name: (FileReport(source_file=name, sha256="", status="rejected", message=str(refused)), empty)
            for name in files
        }
    return {name: (report, check.rejected.get(name, empty)) for name, report in check.reports.items()}


def _year_note(
    year: int, files: dict[str, Path], check: dict[str, tuple[FileReport, pl.DataFrame]], landing: Path | None
) -> str:
    others = [name for name in check if name not in files]
    refused = [r for r, _ in check.values() if r.status == "rejected"]
    with_others = (
        f" (with the {len(others)} other files of {landing / str(year)})" if others and landing else ""
    )
    if not refused:
        return f"{year}: 可以载入 / census year {year} would load{with_others}"
    names = ", ".join(r.source_file for r in refused)
    return f"{year}: 不会载入，被拒的文件：{names} / census year {year} would not load{with_others}: refused {names}"


def format_verdicts(verdicts: list[FileVerdict], top: int = 10) -> str:
    lines = []
    for v in verdicts:
        r = v.report
        if r.status in ("rejected", "ignored"):
            lines.append(
                f"{'REFUSED ' if r.status == 'rejected' else 'IGNORED '} {r.source_file}\n    {r.message}"
            )
            continue
        state = "OK      " if r.rows_rejected == 0 else "PROBLEMS"
        where = f" ({r.file_format}{', ' + r.encoding if r.encoding else ''}{', sheet ' + r.sheet if r.sheet else ''})"
        lines.append(
            f"{state} {r.source_file}{where}: {r.rows_read} rows read, {r.rows_accepted} would load, "
            f"{r.rows_rejected} would be refused"
        )
        if r.message:
            lines.append(f"    {r.message}")
        if r.unknown_columns:
            lines.append(f"    unknown columns (ignored): {', '.join(r.unknown_columns)}")
        for row in v.rejected.head(top).iter_rows(named=True):
            lines.append(f"    {row['message_zh']}")
            lines.append(f"    {row['message_en']}")
        if v.rejected.height > top:
            lines.append(f"    ... and {v.rejected.height - top} more problems (use --out to get them all)")
    return "\n".join(lines)
