"""Readers for census extracts as they arrive: CSV (UTF-8 with or without BOM, GB18030/GBK),
Excel workbooks, .xlsx and the older .xls (first sheet with a recognisable header row), and
Parquet; and what every other entry of a year folder is (ignored by name, or refused).

Every reader returns the cells as text under their original headers, plus `source_row`: the
line of a CSV (header = line 1), the row of an Excel sheet as Excel numbers it, or the record
number of a Parquet file (first = 1). Header mapping and value normalisation happen later
(pipelines.lib.ingest.census_ingest), the same for every format.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import polars as pl

from contracts.census import ingest_rules
from contracts.headers import HeaderError, match_header

SUFFIXES = (".csv", ".xlsx", ".xls", ".parquet")
SYSTEM_FILES = ("thumbs.db", "desktop.ini", ".ds_store")
"""Files Windows and macOS leave in folders: ignored (and listed as such)."""
TOTAL_MARKERS = ("合计", "总计", "小计")
_NUMBER = re.compile(r"^[\d.,\-+eE%]+$")
TOTAL_WORDS = (*TOTAL_MARKERS, "计", "#合计")  # a total column under a parent header (教学及辅助用房 / 计)
_SEARCH = ingest_rules()["header_search"]
HEADER_SEARCH_ROWS = int(_SEARCH["rows"])
"""The header is looked for among a file's first rows (contracts/ingest_rules.yaml, header_search)."""
MIN_HEADER_MATCHES = int(_SEARCH["min_matches"])


class ReadError(ValueError):
    """A file that cannot be read as an extract; the message names the file (Chinese and English)."""


@dataclass
class RawExtract:
    frame: pl.DataFrame  # text cells under their original headers, plus source_row
    file_format: str
    encoding: str | None = None
    sheet: str | None = None
    rows_skipped: int = 0  # title, blank and total (合计) rows that are not schools
    preamble: list[str] = field(default_factory=list)  # the sheet's name and the lines above the header
    note: str | None = None  # which sheet of a workbook was read, when others were passed over
    # base-form workbooks (教基): where each value was read, (source_row, header) -> 教基5170!F10;
    # each school's identity sheet by source_row; the form's words for each header
    cells: dict[tuple[int, str], str] = field(default_factory=dict)
    rows: dict[int, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FolderEntry:
    """One entry of a census-year folder and what becomes of it."""

    path: Path
    name: str  # relative to the landing folder, as audit.loads records it
    kind: str  # extract (read), ignored (listed, not read) or refused (the year is not loaded)
    reason: str | None = None  # why ignored or refused, in Chinese and English


def folder_entry(path: Path, name: str) -> FolderEntry:
    """Whether a year folder's entry is an extract to read, a file to ignore (Office lock files,
    hidden and system files), or something that is refused by name: nothing is passed over."""
    lower = path.name.lower()
    if path.name.startswith("~$"):
        return FolderEntry(
            path,
            name,
            "ignored",
            f"{name}: Office 锁定文件（工作簿打开时自动生成，不含数据），已忽略 / an Office lock file "
            f"(made while a workbook is open; holds no data), ignored",
        )
    if path.name.startswith(".") or lower in SYSTEM_FILES:
        return FolderEntry(
            path, name, "ignored", f"{name}: 隐藏文件或系统文件，已忽略 / a hidden or system file, ignored"
        )
    if path.is_dir():
        return FolderEntry(
            path,
            name,
            "refused",
            f"{name}: 年度文件夹中的子文件夹不会被读取，请把其中的数据文件移到上一级 / a folder inside "
            f"the year folder is not read: move its extract files up into the year folder",
        )
    if path.suffix.lower() not in SUFFIXES:
        shown = path.suffix or "（无扩展名）"
        return FolderEntry(
            path,
            name,
            "refused",
            f"{name}: 不支持的文件类型 {shown}，数据文件须为 csv、xlsx、xls 或 parquet；请另存为其中一种，"
            f"或把它移出该文件夹 / unsupported file type {path.suffix or '(none)'}: extracts must be csv, "
            f"xlsx, xls or parquet; save it as one of them, or move it out of the folder",
        )
    return FolderEntry(path, name, "extract")


def detect_encoding(data: bytes, name: str) -> tuple[str, str]:
    """Decode as UTF-8 (BOM or not) or GB18030 (a superset of GBK), strictly; else refuse."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ReadError(
            f"{name}: 文件为 UTF-16 编码, 请另存为 UTF-8 或 GBK / the file is UTF-16; "
            "save it as UTF-8 or GBK CSV"
        )
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise ReadError(
            f"{name}: 无法识别文件编码 (既不是 UTF-8 也不是 GBK/GB18030) / the file is neither "
            f"UTF-8 nor GBK/GB18030 (first bad byte at position {exc.start})"
        ) from None


@dataclass(frozen=True)
class HeaderFound:
    row: int  # index of the header row (the lowest one of a header two or three rows deep)
    names: list[str]  # one per column: the header as the file has it, rows joined where needed
    score: int  # how many names are known headers

    @property
    def has_school_id(self) -> bool:
        return any(_column_of(n) == "school_id" for n in self.names)


def _cell(value: object) -> str:
    return "" if value is None else str(value).strip()


@cache
def _column_of(header: str) -> str | None:
    """The canonical column a header means, also for a known column in an unknown unit."""
    if not header:
        return None
    try:
        found = match_header(header)
    except HeaderError:
        return "(known column, unknown unit)"
    return None if found is None else found.column


def _stacked_names(levels: Sequence[Sequence[object]]) -> list[str]:
    """Headers of a header two or three rows deep. A parent merged over several columns (在校生数
    over 小学, 初中: Excel keeps its text in the first column only) carries to the columns under it,
    and each column's own header is joined with its parents where that makes a known header
    (小学在校生数; 专任教师 / 小学 / 合计 -> 小学专任教师). The lowest header always takes part,
    except a total (合计, 计), which is the value of its parent; so a breakdown column (专任教师 /
    #按学历分 / 研究生) never reads as the total. A header merged down over the rows (学校标识码)
    stays whole; a column that joins to no known header keeps its lowest header."""
    width = max(len(level) for level in levels)
    grid = [[_cell(level[j]) if j < len(level) else "" for j in range(width)] for level in levels]
    spans = [""] * len(levels)
    names = []
    for j in range(width):
        for depth in range(len(levels)):
            below = any(grid[d][j] for d in range(depth + 1, len(levels)))
            if grid[depth][j]:
                spans[depth] = grid[depth][j]
                spans[depth + 1 :] = [""] * (len(levels) - depth - 1)
            elif not below:
                spans[depth] = ""
        parts = list(dict.fromkeys(p for p in spans if p))
        names.append(_joined(parts))
    return names


def _joined(parts: list[str]) -> str:
    """The known header a column's stacked headers (top to bottom) make, else the lowest."""
    if not parts:
        return ""
    if len(parts) > 1 and parts[-1] in TOTAL_WORDS:
        parts = parts[:-1]
    lowest, uppers = parts[-1], parts[:-1]
    if not uppers or _NUMBER.match(lowest) or _column_of(lowest):
        return lowest  # (a number is a row of values, not a header: nothing to join)
    for size in range(1, len(uppers) + 1):
        for chosen in itertools.combinations(uppers, size):
            for order in itertools.permutations((*chosen, lowest)):
                if _column_of("".join(order)):
                    return "".join(order)
    return lowest


def find_header(rows: Sequence[Sequence[object]]) -> HeaderFound | None:
    """The header among a sheet's first rows: the row (alone, or joined with the one or two rows
    above it as a header two or three rows deep) that names the most known columns; None when none
    names enough."""
    best: HeaderFound | None = None
    alone: list[int] = []  # how many known headers each row names by itself
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        names = [_cell(c) for c in row]
        alone.append(sum(1 for n in names if _column_of(n)))
        candidates = [names]
        # rows are joined only near a row that names a header (a merged-down one, at least)
        candidates += [
            _stacked_names(rows[i - depth : i + 1])
            for depth in (1, 2)
            if i >= depth and any(alone[i - depth : i + 1])
        ]
        for names in candidates:
            score = sum(1 for n in names if _column_of(n))
            if best is None or score > best.score:
                best = HeaderFound(i, names, score)
    return best if best is not None and best.score >= MIN_HEADER_MATCHES else None


def _named(names: list[str], width: int) -> list[str]:
    """The header names for a body `width` columns wide; blank headers named by their position."""
    padded = (names + [""] * width)[:width]
    return [n or f"(blank column {i + 1})" for i, n in enumerate(padded)]


def _school_rows(body: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """The body without blank rows and total rows (合计/总计/小计 in one of the first three
    cells), and how many were dropped."""
    cells = [c for c in body.columns if c != "source_row"]
    blank = pl.all_horizontal(pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "") for c in cells)
    total = pl.any_horizontal(
        pl.col(c).str.strip_chars().str.starts_with(marker).fill_null(False)
        for c in cells[:3]
        for marker in TOTAL_MARKERS
    )
    kept = body.filter(~blank & ~total)
    return kept, body.height - kept.height


def read_csv(path: Path, name: str) -> RawExtract:
    """A CSV whose header is on one of its first lines (one line, or two as in Excel): title and
    note lines above it, blank lines and 合计 lines are skipped and counted; row numbers are file
    lines."""
    text, encoding = detect_encoding(path.read_bytes(), name)
    head = list(itertools.islice(csv.reader(io.StringIO(text)), HEADER_SEARCH_ROWS))
    header = find_header(head)
    if header is None:
        first = ", ".join(head[0][:5]) if head else ""
        raise ReadError(
            f"{name}: 前 {HEADER_SEARCH_ROWS} 行中没有可识别的表头 / no recognisable header in the first "
            f"{HEADER_SEARCH_ROWS} lines (read as {encoding}; line 1: {first}...)"
        )
    best = header.row
    try:
        frame = pl.read_csv(
            io.BytesIO(text.encode("utf-8")), infer_schema=False, raise_if_empty=False, skip_rows=best
        )
    except Exception as exc:  # polars raises several error types for malformed CSV
        raise ReadError(f"{name}: 文件无法按 CSV 读取 / cannot be read as CSV: {exc}") from exc
    frame.columns = _unique(_named(header.names, frame.width))
    frame = frame.with_row_index("source_row", offset=best + 2).with_columns(
        pl.col("source_row").cast(pl.Int64)
    )
    kept, dropped = _school_rows(frame)
    preamble = [" ".join(cell for cell in row if cell.strip()) for row in head[:best]]
    return RawExtract(kept, "csv", encoding=encoding, rows_skipped=best + dropped, preamble=preamble)


def read_parquet(path: Path, name: str) -> RawExtract:
    try:
        frame = pl.read_parquet(path)
    except Exception as exc:
        raise ReadError(f"{name}: 文件无法按 Parquet 读取 / cannot be read as Parquet: {exc}") from exc
    frame = frame.select(pl.col(c).cast(pl.String) for c in frame.columns)
    frame = frame.with_row_index("source_row", offset=1).with_columns(pl.col("source_row").cast(pl.Int64))
    return RawExtract(frame, "parquet")


def _first_used_rows(path: Path) -> list[int]:
    """Excel row number of each sheet's first row holding a value, in workbook order.

    The Excel reader returns a sheet from its first used cell; adding this offset back gives the
    row numbers a data clerk sees in Excel.
    """
    with zipfile.ZipFile(path) as book:
        workbook = book.read("xl/workbook.xml").decode("utf-8")
        rels = book.read("xl/_rels/workbook.xml.rels").decode("utf-8")
        targets = dict(re.findall(r'Id="([^"]+)"[^>]*Target="([^"]+)"', rels))
        targets.update({k: v for v, k in re.findall(r'Target="([^"]+)"[^>]*Id="([^"]+)"', rels)})
        firsts = []
        for rid in re.findall(r'<sheet\b[^>]*\br:id="([^"]+)"', workbook):
            target = targets[rid].lstrip("/")
            target = target if target.startswith("xl/") else f"xl/{target}"
            xml = book.read(target).decode("utf-8")
            first = 1
            for number, body in re.findall(r'<row\b[^>]*\br="(\d+)"[^>]*>(.*?)</row>', xml, re.S):
                if "<v>" in body or "<v " in body or "<is>" in body:
                    first = int(number)
                    break
            firsts.append(first)
    return firsts


def _first_used_rows_xls(path: Path) -> list[int]:
    """The same for an .xls workbook (the older binary format), read with xlrd."""
    import xlrd  # imported here: only .xls extracts need it

    book = xlrd.open_workbook(str(path), on_demand=True)
    try:
        firsts = []
        for index in range(book.nsheets):
            sheet = book.sheet_by_index(index)
            used = (row for row in range(sheet.nrows) if any(str(v).strip() for v in sheet.row_values(row)))
            firsts.append(next(used, 0) + 1)
            book.unload_sheet(index)
        return firsts
    finally:
        book.release_resources()


def read_xlsx(path: Path, name: str) -> RawExtract:
    """An Excel workbook, .xlsx or .xls (calamine reads both, through fastexcel)."""
    import fastexcel  # imported here: only Excel extracts need it

    is_xls = path.suffix.lower() == ".xls"
    try:
        book = fastexcel.read_excel(str(path))
        offsets = _first_used_rows_xls(path) if is_xls else _first_used_rows(path)
    except Exception as exc:
        kind = "XLS" if is_xls else "XLSX"
        raise ReadError(f"{name}: 文件无法按 Excel 读取 / cannot be read as {kind}: {exc}") from exc
    from pipelines.lib.ingest.forms import is_form_workbook, read_forms

    if not is_xls and is_form_workbook(book.sheet_names):  # a school's base forms, one per sheet
        return read_forms(path, name)
    found: list[tuple[int, str, pl.DataFrame, HeaderFound]] = []
    for index, sheet_name in enumerate(book.sheet_names):
        grid = book.load_sheet(index, header_row=None, dtypes="string").to_polars()
        header = None if grid.is_empty() else find_header(list(grid.head(HEADER_SEARCH_ROWS).iter_rows()))
        if header is not None:
            found.append((index, sheet_name, grid, header))
    if not found:
        raise ReadError(
            f"{name}: 没有找到可识别的表头行 / no sheet has a recognisable header row "
            f"(sheets: {', '.join(book.sheet_names)})"
        )
    index, sheet_name, grid, header, note = _school_sheet(found, name)
    best = header.row
    body = grid.slice(best + 1)
    body.columns = _unique(_named(header.names, body.width))
    body = body.with_columns(
        pl.int_range(best + 1, best + 1 + body.height, dtype=pl.Int64).alias("source_row") + offsets[index]
    )
    kept, dropped = _school_rows(body)
    above = [
        " ".join(str(c) for c in row if c is not None and str(c).strip())
        for row in grid.head(best).iter_rows()
    ]
    return RawExtract(
        kept,
        "xls" if is_xls else "xlsx",
        sheet=sheet_name,
        rows_skipped=best + dropped,  # rows above the header, blank and total rows
        preamble=[sheet_name, *above],
        note=note,
    )


def _school_sheet(
    found: list[tuple[int, str, pl.DataFrame, HeaderFound]], name: str
) -> tuple[int, str, pl.DataFrame, HeaderFound, str | None]:
    """The sheet of schools: the one sheet whose header has a school id column (a 汇总 summary
    sheet has none), with a note naming the sheets passed over; several refuse the workbook."""
    with_ids = [f for f in found if f[3].has_school_id]
    if len(with_ids) > 1:
        sheets = "、".join(f"'{f[1]}'" for f in with_ids)
        raise ReadError(
            f"{name}: 有 {len(with_ids)} 个工作表都有学校标识码列（{sheets}），请每个文件只放一张学校表 / "
            f"{len(with_ids)} sheets have a school id column ({sheets}): put one sheet of schools in each file"
        )
    chosen = with_ids[0] if with_ids else found[0]
    others = [f[1] for f in found if f is not chosen]
    note = None
    if others:
        passed = "、".join(f"'{s}'" for s in others)
        note = (
            f"读取工作表 '{chosen[1]}'；{passed} 没有学校标识码列，未读取 / read sheet '{chosen[1]}'; "
            f"{passed} (no school id column) not read"
        )
    return (*chosen, note)


def _unique(headers: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for header in headers:
        seen[header] = seen.get(header, 0) + 1
        out.append(header if seen[header] == 1 else f"{header} ({seen[header]})")
    return out


def read_extract(path: Path, name: str) -> RawExtract:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_csv(path, name)
    if suffix in (".xlsx", ".xls"):
        return read_xlsx(path, name)
    if suffix == ".parquet":
        return read_parquet(path, name)
    raise ReadError(
        f"{name}: 不支持的文件类型 / unsupported file type {suffix!r} (use csv, xlsx, xls, parquet)"
    )
