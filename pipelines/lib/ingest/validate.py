"""`junheng validate`: the ingest's reading and contract checks on files, without a warehouse."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.lib.ingest.census_ingest import (
    REJECTION_SCHEMA,
    FileRejected,
    FileReport,
    entry_report,
    load_file,
    sha256_of,
)
from pipelines.lib.ingest.readers import folder_entry
from pipelines.lib.reference.registry import read_counties


@dataclass
class FileVerdict:
    report: FileReport
    rejected: pl.DataFrame


def census_year_of(path: Path) -> int | None:
    """The census year a file belongs to: its folder name, as in the landing layout."""
    return int(path.parent.name) if re.fullmatch(r"\d{4}", path.parent.name) else None


def validate_files(
    paths: list[Path], county_codes: list[str], census_year: int | None = None
) -> list[FileVerdict]:
    verdicts = []
    for path in paths:
        name = path.as_posix()
        year = census_year or census_year_of(path)
        if year is None:
            raise ValueError(
                f"{name}: 无法确定统计年度 / cannot tell the census year: put the file in a "
                "folder named after the year (2024/...) or pass --year"
            )
        entry = folder_entry(path, name)
        if entry.kind != "extract":  # a lock or system file, a folder, a .docx: as `run` treats it
            verdicts.append(FileVerdict(entry_report(entry), pl.DataFrame(schema=REJECTION_SCHEMA)))
            continue
        try:
            _, rejected, report = load_file(path, name, year, county_codes)
        except FileRejected as exc:
            report = FileReport(source_file=name, sha256=sha256_of(path), status="rejected", message=str(exc))
            rejected = pl.DataFrame(schema=REJECTION_SCHEMA)
        verdicts.append(FileVerdict(report, rejected))
    return verdicts


def registry_codes(landing: Path) -> list[str]:
    return read_counties(landing)["county_code"].to_list()


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
