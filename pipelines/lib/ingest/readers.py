"""Readers for census extracts as they arrive: text tables (CSV or tab-separated; UTF-8 with or
without BOM, GB18030/GBK, UTF-16), Excel workbooks, .xlsx and the older .xls (the sheet of
schools, with the sheets that continue it), and Parquet; and what every other entry of a year
folder is (ignored by name, or refused).

Nothing of a file is passed over in silence: every sheet of a workbook is read or named in the
file's note with the reason; a file that ends inside a row is refused with its last complete line;
a file that is something else under the name (a workbook saved as .csv, a web page saved as .xls)
is refused saying what it is; and any failure of a reader becomes that file's refusal.

Every reader returns the cells as text under their original headers, plus `source_row`: the
line of a CSV (header = line 1), the row of an Excel sheet as Excel numbers it, or the record
number of a Parquet file (first = 1). Header mapping and value normalisation happen later
(pipelines.lib.ingest.census_ingest), the same for every format.
"""

from __future__ import annotations

import csv
import html
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


@cache
def _rules() -> dict:
    """contracts/ingest_rules.yaml, read when a file is first read (never at import)."""
    return ingest_rules()


def header_search_rows() -> int:
    """How many of a file's first rows the header is looked for in (ingest_rules.yaml, header_search)."""
    return int(_rules()["header_search"]["rows"])


def _min_header_matches() -> int:
    return int(_rules()["header_search"]["min_matches"])


def _non_school() -> dict:
    return _rules()["non_school_rows"]


@cache
def _invisible() -> dict[int, str]:
    spec = _rules()["invisible_characters"]
    return str.maketrans({**dict.fromkeys(spec["removed"], ""), **dict.fromkeys(spec["to_space"], " ")})


def invisible_pattern() -> str:
    """A regular expression for the invisible characters a cell loses (ingest_rules.yaml)."""
    return "[" + "".join(_rules()["invisible_characters"]["removed"]) + "]"


class ReadError(ValueError):
    """A file that cannot be read as an extract; the message names the file (Chinese and English)."""


class EmptyFile(ReadError):
    """A file (or workbook) with nothing in it: skipped with a note, never the year's refusal."""


@dataclass
class RawExtract:
    frame: pl.DataFrame  # text cells under their original headers, plus source_row
    file_format: str
    encoding: str | None = None
    sheet: str | None = None
    rows_skipped: int = 0  # title, blank, total (合计), units, column-number and signature rows
    preamble: list[str] = field(default_factory=list)  # the sheet's name and the lines above the header
    note: str | None = None  # what was read and what was passed over (sheets, rows), in one line
    # base-form workbooks (教基): where each value was read, (source_row, header) -> 教基5170!F10;
    # each school's identity sheet by source_row; the form's words for each header
    cells: dict[tuple[int, str], str] = field(default_factory=dict)
    rows: dict[int, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    # the column letter Excel shows for each header (E), and each row of a continuation sheet by
    # its own sheet and Excel row (its source_row continues the numbering of the sheet before)
    letters: dict[str, str] = field(default_factory=dict)
    row_places: dict[int, tuple[str, int]] = field(default_factory=dict)


def column_letter(index: int) -> str:
    """Excel's name of the column at 0-based `index`: 0 -> A, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


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
    from pipelines.lib.ingest.declarations import is_declaration_file  # (it reads with this module)

    if is_declaration_file(path.name):
        return FolderEntry(path, name, "declaration")
    return FolderEntry(path, name, "extract")


def detect_encoding(data: bytes, name: str) -> tuple[str, str]:
    """Decode as UTF-8 (BOM or not), UTF-16 (as Excel's "Unicode text" saves it) or GB18030 (a
    superset of GBK), strictly; else refuse."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    utf16 = _utf16(data)
    if utf16:
        try:
            return data.decode(utf16).lstrip("\ufeff"), "utf-16"
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise ReadError(
            f"{name}: 无法识别文件编码（既不是 UTF-8，也不是 GBK/GB18030 或 UTF-16），第 {exc.start} 个字节起无法解码；"
            f"请在 Excel/WPS 中另存为“CSV UTF-8”或“CSV（逗号分隔）” / the file is neither UTF-8 nor GBK/GB18030 "
            f"nor UTF-16 (first bad byte at position {exc.start}); save it again as CSV UTF-8"
        ) from None


def _utf16(data: bytes) -> str | None:
    """The UTF-16 codec of `data`, by its byte order mark, or by the zero bytes every other byte
    of Chinese-free ASCII text has (UTF-16 without a mark); None for other text."""
    if data.startswith(b"\xff\xfe"):
        return "utf-16"
    if data.startswith(b"\xfe\xff"):
        return "utf-16"
    sample = data[:2000]
    if len(sample) >= 8 and len(sample) % 2 == 0:
        if sample[1::2].count(0) > 0.4 * len(sample) / 2 and sample[0::2].count(0) < 0.05 * len(sample) / 2:
            return "utf-16-le"
        if sample[0::2].count(0) > 0.4 * len(sample) / 2 and sample[1::2].count(0) < 0.05 * len(sample) / 2:
            return "utf-16-be"
    return None


def what_file_is(data: bytes) -> str | None:
    """What a file really holds, by its first bytes, whatever its name says: xlsx (a zip
    archive), xls (the older binary workbook), html (a web page, as many systems export "Excel"),
    xml2003 (Excel 2003 XML spreadsheet), parquet; None for anything else (text, or unknown)."""
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        return "xlsx"
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "xls"
    if data.startswith(b"PAR1"):
        return "parquet"
    utf16 = _utf16(data)
    head = data[:4000].decode(utf16 or "utf-8", errors="ignore").lstrip("\ufeff \t\r\n").lower()
    if head.startswith(("<!doctype html", "<html", "<table", "<meta")) or (
        head.startswith("<") and "<table" in head
    ):
        return "html"
    if head.startswith("<?xml") and "urn:schemas-microsoft-com:office:spreadsheet" in head:
        return "xml2003"
    return None


_WHAT = {
    "xlsx": ("Excel 工作簿（.xlsx）", "an Excel workbook (.xlsx)"),
    "xls": ("旧版 Excel 工作簿（.xls）", "an older Excel workbook (.xls)"),
    "parquet": ("Parquet 文件", "a Parquet file"),
    "html": ("网页（HTML 表格），不是真正的 Excel 文件", "a web page (an HTML table), not a real Excel file"),
    "xml2003": ("“XML 电子表格 2003”文件", "an Excel 2003 XML spreadsheet"),
    "docx": ("Word 文档", "a Word document"),
    "pptx": ("PowerPoint 演示文稿", "a PowerPoint presentation"),
}


def _office_document(path: Path) -> str | None:
    """docx or pptx: a zip archive that is another Office document, not a workbook."""
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    if any(n.startswith("xl/") for n in names):
        return None
    if any(n.startswith("word/") for n in names):
        return "docx"
    if any(n.startswith("ppt/") for n in names):
        return "pptx"
    return None


def misnamed(name: str, kind: str, suffix: str) -> ReadError:
    """The refusal of a file whose content is not what its name says."""
    zh, en = _WHAT[kind]
    fix_zh = "请在 Excel 或 WPS 中打开它，另存为 Excel 工作簿（.xlsx），再放回该文件夹"
    fix_en = "open it in Excel or WPS, save it as an Excel workbook (.xlsx), and put that in the folder"
    if kind in ("docx", "pptx"):
        fix_zh = "数据须为 Excel 工作簿或 CSV 文件；请把表格另存为 .xlsx，并把这个文件移出该文件夹"
        fix_en = (
            "extracts must be workbooks or CSV: save the table as .xlsx, and move this file out of the folder"
        )
    if kind in ("xlsx", "xls", "parquet"):
        fix_zh = f"请把文件扩展名改为 .{kind}（或在 Excel 中另存为需要的格式）"
        fix_en = f"rename it to .{kind} (or save it again in the format you meant)"
    return ReadError(
        f"{name}: 扩展名是 {suffix}，但文件内容实际是{' ' * zh[0].isascii()}{zh}；{fix_zh} / the name says {suffix}, "
        f"but the file is "
        f"{en}: {fix_en}"
    )


@dataclass(frozen=True)
class HeaderFound:
    row: int  # index of the header row (the lowest one of a header two or three rows deep)
    names: list[str]  # one per column: the header as the file has it, rows joined where needed
    score: int  # how many names are known headers

    @property
    def has_school_id(self) -> bool:
        return any(_column_of(n) == "school_id" for n in self.names)


def _cell(value: object) -> str:
    return "" if value is None else str(value).translate(_invisible()).strip()


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
    for i, row in enumerate(rows[: header_search_rows()]):
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
    return best if best is not None and best.score >= _min_header_matches() else None


def _named(names: list[str], width: int) -> list[str]:
    """The header names for a body `width` columns wide; blank headers named by their position."""
    padded = (names + [""] * width)[:width]
    return [n or f"(blank column {i + 1})" for i, n in enumerate(padded)]


def mentioned_years(text: str) -> list[int]:
    """Census years a file name, sheet name or title line says (contracts/ingest_rules.yaml,
    year_mentions): 2023年, 2023年度, 2023学年, 2023-2024学年 (2023); not a date like 2024年10月."""
    rules = _rules()["year_mentions"]
    school_years = [int(m.group(1)) for m in re.finditer(rules["school_year"], text)]
    rest = re.sub(rules["school_year"], " ", text)
    return school_years + [int(m.group(1)) for m in re.finditer(rules["year"], rest)]


def other_year_problem(name: str, places: list[tuple[str, str, str]], census_year: int) -> str | None:
    """The message for a file whose `places` (zh, en, text: its name, sheet name, title lines)
    say another census year and never `census_year`, the folder's; None when they do not."""
    said = [(zh, en, text, year) for zh, en, text in places for year in mentioned_years(text)]
    if not said or any(year == census_year for *_, year in said):
        return None
    zh, en, text, year = said[0]
    return (
        f"{name}: {zh}“{text}”写的是 {year} 年，但文件放在 {census_year} 文件夹中；请移到 {year} 文件夹，"
        f"或改正{zh} / the {en} '{text}' says {year}, but the file is in the {census_year} folder: move it "
        f"to {year}/, or correct the {en}"
    )


@cache
def _unit_words() -> frozenset[str]:
    """Every unit a header may state (contracts/headers.yaml), as a units row writes them."""
    from contracts.headers import header_key, header_table

    units = {
        header_key(str(u)) for spec in header_table()["columns"].values() for u in (spec.get("units") or {})
    }
    return frozenset(units)


def _units_row(cells: Sequence[object]) -> list[str] | None:
    """The units of a units row (人, 个, 万元, 平方米 under the headers), one per column (blank
    where none), or None when the row is anything else."""
    from contracts.headers import header_key

    markers = {header_key(m) for m in _rules()["empty_markers"]["values"]} | {"单位", "计量单位"}
    texts = [_cell(c) for c in cells]
    filled = [header_key(t) for t in texts if t]
    units = [t for t in filled if t in _unit_words()]
    if len(units) < 2 or any(t not in _unit_words() and t not in markers for t in filled):
        return None
    return [t if header_key(t) in _unit_words() else "" for t in texts]


def _with_units(names: list[str], units: list[str]) -> list[str]:
    """Each known header that states no unit, with the unit the units row gives its column."""
    out = []
    for i, name in enumerate(names):
        unit = units[i] if i < len(units) else ""
        known = bool(name) and _column_of(name) not in (None, "(known column, unknown unit)")
        out.append(f"{name}({unit})" if unit and known and not name.endswith(")") else name)
    return out


def _school_rows(body: pl.DataFrame, where: str = "") -> tuple[pl.DataFrame, int, list[str]]:
    """The body without the rows that are not schools: blank rows, total rows (合计/总计/小计 in
    one of the first three cells), column-number rows (栏次: 甲 乙 1 2 3 ...) and the signature
    lines at a form's foot (填表人, 审核人, 单位负责人 ...); how many were dropped, and one note per
    kind of row named (`where` prefixes the row numbers, for a continuation sheet)."""
    cells = [c for c in body.columns if c != "source_row"]
    words, footers = _non_school()["column_number_words"], _non_school()["footer_words"]

    def filled(c: str) -> pl.Expr:
        return pl.col(c).is_not_null() & (pl.col(c).str.strip_chars() != "")

    def number_word(c: str) -> pl.Expr:
        text = pl.col(c).str.strip_chars()
        return ~filled(c) | text.is_in(words) | text.str.contains(r"^\d{1,3}$").fill_null(False)

    # a row of schools starts with an id or a name: only rows whose first cells are blank, a column
    # number or a footer or total word are looked at whole (most files have none)
    starts = [
        pl.col(c).str.strip_chars().str.starts_with(w).fill_null(False) for c in cells[:3] for w in footers
    ]
    totals = [
        pl.col(c).str.strip_chars().str.starts_with(m).fill_null(False)
        for c in cells[:3]
        for m in TOTAL_MARKERS
    ]
    suspects = body.filter(
        pl.any_horizontal(*starts, *totals) | pl.all_horizontal(number_word(c) for c in cells[:3])
    )
    first = pl.coalesce(pl.when(filled(c)).then(pl.col(c).str.strip_chars()) for c in cells)
    flagged = suspects.select(
        "source_row",
        _blank=~pl.any_horizontal(filled(c) for c in cells),
        _total=pl.any_horizontal(totals),
        _footer=pl.any_horizontal(first.str.starts_with(w).fill_null(False) for w in footers),
        _numbering=pl.all_horizontal(number_word(c) for c in cells)
        & (pl.sum_horizontal(filled(c) for c in cells) >= 3),
    ).with_columns(pl.col("_footer") & ~pl.col("_blank"), pl.col("_numbering") & ~pl.col("_blank"))
    dropped = flagged.filter(pl.any_horizontal("_blank", "_total", "_footer", "_numbering"))["source_row"]
    kept = body.filter(~pl.col("source_row").is_in(dropped.implode())) if dropped.len() else body
    notes = []
    for flag, zh, en in (
        ("_numbering", "栏次行", "column-number (栏次) row"),
        ("_footer", "表尾签字行（填表人、审核人等）", "signature line (填表人, 审核人, ...)"),
    ):
        rows = flagged.filter(pl.col(flag))["source_row"].to_list()
        if rows:
            shown = "、".join(str(r) for r in rows[:5]) + ("等" if len(rows) > 5 else "")
            notes.append(
                f"{where}第{shown}行是{zh}，不是学校，已跳过 / row(s) {', '.join(str(r) for r in rows[:5])}"
                f"{' of ' + where.strip() if where else ''} skipped: {en}, not a school"
            )
    return kept, body.height - kept.height, notes


def read_csv(path: Path, name: str) -> RawExtract:
    """A text table (comma, tab or semicolon separated) whose header is on one of its first lines
    (one line, or two or three as in Excel): title and note lines above it, blank lines, 合计
    lines, a units line, a 栏次 line and signature lines are skipped and counted; row numbers are
    file lines."""
    return read_text(path.read_bytes(), name, path.suffix.lower() or ".csv")


def read_text(data: bytes, name: str, suffix: str = ".csv") -> RawExtract:
    if not data.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise EmptyFile(f"{name}: 空文件，已跳过 / an empty file, skipped")
    kind = what_file_is(data)
    if kind:
        raise misnamed(name, kind, suffix)
    text, encoding = detect_encoding(data.rstrip(b"\x00") if _utf16(data) is None else data, name)
    if data.endswith(b"\x00\x00\x00\x00") and _utf16(data) is None:
        _refuse_cut(text, name, "文件末尾是一串空字节", "it ends in a run of zero bytes")
    if not text.endswith(("\n", "\r")):
        _refuse_cut(text, name, "最后一行没有换行符", "its last line has no line break")
    delimiter, head, header = _text_header(text)
    if header is None:
        first = ", ".join(_cell(c) for c in head[0][:5]) if head else ""
        raise ReadError(
            f"{name}: 前 {header_search_rows()} 行中没有可识别的表头（已按逗号、制表符和分号分列尝试，按 {encoding} "
            f"编码读取；第 1 行：{first}…）/ no recognisable header in the first {header_search_rows()} lines "
            f"(tried comma, tab and semicolon separators; read as {encoding}; line 1: {first}...)"
        )
    best = header.row
    names = header.names
    units = _units_row(head[best + 1]) if len(head) > best + 1 else None
    notes = []
    if delimiter != ",":
        notes.append(
            f"按{_SEPARATOR_NAMES[delimiter][0]}分列读取 / read as {_SEPARATOR_NAMES[delimiter][1]}-separated text"
        )
    if units:
        names = _with_units(names, units)
        notes.append(
            f"第{best + 2}行是单位行，已作为各列的单位读取 / row {best + 2} is a units row, read as the columns' units"
        )
    frame, ragged = _text_frame(text, delimiter, best, len(names))
    frame.columns = _unique(_named(names, frame.width))
    frame = frame.with_row_index("source_row", offset=best + 2).with_columns(
        pl.col("source_row").cast(pl.Int64)
    )
    if units:
        frame = frame.filter(pl.col("source_row") != best + 2)
    if ragged:
        notes.append(ragged)
    kept, dropped, skipped = _school_rows(frame)
    preamble = [" ".join(_cell(cell) for cell in row if _cell(cell)) for row in head[:best]]
    letters = {c: column_letter(i) for i, c in enumerate(frame.columns[1:])}
    return RawExtract(
        kept,
        "csv",
        encoding=encoding,
        rows_skipped=best + dropped + (1 if units else 0),
        preamble=preamble,
        note="; ".join(notes + skipped) or None,
        letters=letters,
    )


_SEPARATOR_NAMES = {"\t": ("制表符", "tab"), ";": ("分号", "semicolon"), "|": ("竖线", "bar")}


def _refuse_cut(text: str, name: str, zh: str, en: str) -> None:
    """A text file that ends inside a row: refused, naming its last complete line."""
    lines = text.rstrip("\x00").splitlines() or [""]
    last = lines[-1].strip()
    shown = last if len(last) <= 40 else "…" + last[-40:]
    n = len(lines)
    complete_zh = f"最后一个完整的行是第{n - 1}行" if n > 1 else "文件中没有一行是完整的"
    complete_en = f"the last complete line is line {n - 1}" if n > 1 else "no line of it is complete"
    raise ReadError(
        f"{name}: 文件不完整：{zh}，在第{n}行（“{shown}”）中途结束，可能还没有复制完或保存时被中断；{complete_zh}。"
        f"请重新复制或重新导出该文件（如文件确实完整，在 Excel 或 WPS 中打开后重新保存即可） / the file is "
        f"incomplete: {en}, so it ends inside line {n} ('{shown}'); it may still be copying, or its saving was "
        f"interrupted; {complete_en}. Copy or export it again"
    )


def _text_header(text: str) -> tuple[str, list[list[str]], HeaderFound | None]:
    """The separator whose columns make the best header among the first lines, those lines, and
    the header (None when no separator makes one)."""
    sample = text[:1_000_000]
    found: tuple[str, list[list[str]], HeaderFound | None] = (",", [], None)
    for delimiter in (",", "\t", ";", "|"):
        if delimiter != "," and delimiter not in sample[:20_000]:
            continue
        head = list(
            itertools.islice(csv.reader(io.StringIO(sample), delimiter=delimiter), header_search_rows())
        )
        header = find_header(head)
        if delimiter == ",":
            found = (delimiter, head, header)
        if header is not None and (found[2] is None or header.score > found[2].score):
            found = (delimiter, head, header)
    return found


def _text_frame(text: str, delimiter: str, best: int, width: int) -> tuple[pl.DataFrame, str | None]:
    """The lines below the header as text columns (the header line is read and then renamed),
    and a note on the lines with filled cells beyond the header's columns, which are kept as
    unheaded columns (loaded nowhere, listed as unknown columns)."""
    try:
        frame = pl.read_csv(
            io.BytesIO(text.encode("utf-8")),
            separator=delimiter,
            infer_schema=False,
            raise_if_empty=False,
            skip_rows=best,
        )
        if frame.width >= width:
            return frame, None
    except Exception:  # polars refuses a line with more cells than the header: read it line by line
        pass
    records = list(csv.reader(io.StringIO(text), delimiter=delimiter))[best:]
    wide = max((len(r) for r in records), default=width)
    grid = [r + [""] * (wide - len(r)) for r in records]
    frame = pl.DataFrame(grid[1:], schema=[f"c{i}" for i in range(wide)], orient="row")
    frame = frame.with_columns(
        pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c) for c in frame.columns
    )
    extra = [(best + 2 + i, r[width:]) for i, r in enumerate(records[1:]) if any(_cell(c) for c in r[width:])]
    if not extra:
        return frame, None
    line, cells = extra[0]
    shown = "、".join(f"'{_cell(c)}'" for c in cells if _cell(c))
    more = f"等 {len(extra)} 行" if len(extra) > 1 else ""
    return frame, (
        f"第{line}行{more}在表头之外还有单元格（{shown}），这些值没有表头，未读取 / line {line}"
        f"{f' and {len(extra) - 1} more' if len(extra) > 1 else ''} has cells beyond the header ({shown}): "
        "they have no header and are not read"
    )


def read_parquet(path: Path, name: str) -> RawExtract:
    try:
        frame = pl.read_parquet(path)
    except Exception as exc:
        kind = what_file_is(path.read_bytes()[:4000])
        if kind and kind != "parquet":
            raise misnamed(name, kind, ".parquet") from None
        raise ReadError(
            f"{name}: 文件无法按 Parquet 读取，可能不完整（还在复制中）或已损坏 / cannot be read as Parquet "
            f"(incomplete or damaged?): {_short(exc)}"
        ) from None
    if frame.is_empty() and not frame.columns:
        raise EmptyFile(f"{name}: 空文件，已跳过 / an empty file, skipped")
    frame = frame.select(pl.col(c).cast(pl.String) for c in frame.columns)
    frame = frame.with_row_index("source_row", offset=1).with_columns(pl.col("source_row").cast(pl.Int64))
    return RawExtract(frame, "parquet")


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:160]


@dataclass
class SheetLayout:
    """Where a sheet's cells are, as Excel numbers them: the first used row (1-based) and column
    (0-based), since the reader returns a sheet from its first used cell; and its error cells
    (#REF!, #DIV/0!), which the reader returns as blanks: (row, column) -> error value."""

    first_row: int = 1
    first_col: int = 0
    errors: dict[tuple[int, int], str] = field(default_factory=dict)


_NS = r"(?:[\w.-]+:)?"  # any namespace prefix (<x:row>): valid XML, and Excel and WPS read it
_CELL_REF = re.compile(r"^([A-Z]{1,3})(\d+)$")


def _attribute(attrs: str, name: str) -> str | None:
    found = re.search(rf'(?:^|\s){name}="([^"]*)"', attrs)
    return html.unescape(found.group(1)) if found else None


def _column_index(letters: str) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + ord(ch) - 64
    return index - 1


def _xlsx_layouts(path: Path) -> list[SheetLayout]:
    """Each sheet's layout, in workbook order, read from the workbook's XML (with or without
    namespace prefixes)."""
    with zipfile.ZipFile(path) as book:
        workbook = book.read("xl/workbook.xml").decode("utf-8")
        rels = book.read("xl/_rels/workbook.xml.rels").decode("utf-8")
        targets = {}
        for attrs in re.findall(rf"<{_NS}Relationship\b([^>]*)>", rels):
            rid, target = _attribute(attrs, "Id"), _attribute(attrs, "Target")
            if rid and target:
                targets[rid] = target
        layouts = []
        for attrs in re.findall(rf"<{_NS}sheet\b([^>]*)>", workbook):
            relation = re.search(r'\s[\w.-]+:id="([^"]+)"', attrs)
            target = targets.get(relation.group(1), "") if relation else ""
            target = target.lstrip("/")
            target = target if target.startswith("xl/") else f"xl/{target}"
            xml = book.read(target).decode("utf-8") if target in book.namelist() else ""
            layouts.append(_sheet_layout(xml))
    return layouts


def _sheet_layout(xml: str, rows: int = 200) -> SheetLayout:
    """The first used row and column (the column from the first `rows` rows holding values: the
    header and title rows span the table) and every error cell of a sheet's XML."""
    layout = SheetLayout()
    first_row = first_col = None
    seen = 0
    for found_row in re.finditer(rf"<{_NS}row\b[^>]*?(?:/>|>(.*?)</{_NS}row>)", xml, re.S):
        used = False
        for cell_attrs, content in re.findall(
            rf"<{_NS}c\b([^>]*?)(?:/>|>(.*?)</{_NS}c>)", found_row.group(1) or "", re.S
        ):
            if not re.search(rf"<{_NS}(?:v|is)\b", content or ""):
                continue
            ref = _CELL_REF.match(_attribute(cell_attrs, "r") or "")
            if not ref:
                continue
            used = True
            row, col = int(ref.group(2)), _column_index(ref.group(1))
            first_row = row if first_row is None else min(first_row, row)
            first_col = col if first_col is None else min(first_col, col)
        seen += used
        if seen >= rows:
            break
    errors = re.finditer(rf'<{_NS}c\b([^>]*\bt="e"[^>]*)>(.*?)</{_NS}c>', xml, re.S) if 't="e"' in xml else ()
    for found in errors:
        ref = _CELL_REF.match(_attribute(found.group(1), "r") or "")
        value = re.search(rf"<{_NS}v>([^<]*)</{_NS}v>", found.group(2))
        if ref:
            cell = (int(ref.group(2)), _column_index(ref.group(1)))
            layout.errors[cell] = html.unescape(value.group(1)) if value else "#ERROR"
    layout.first_row, layout.first_col = first_row or 1, first_col or 0
    return layout


def _xls_layouts(path: Path) -> list[SheetLayout]:
    """The same for an .xls workbook (the older binary format), read with xlrd."""
    import xlrd  # imported here: only .xls extracts need it

    book = xlrd.open_workbook(str(path), on_demand=True)
    try:
        layouts = []
        for index in range(book.nsheets):
            sheet = book.sheet_by_index(index)
            layout = SheetLayout()
            used = [
                (r, c)
                for r in range(sheet.nrows)
                for c in range(sheet.ncols)
                if sheet.cell_type(r, c) not in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK)
                and str(sheet.cell_value(r, c)).strip()
            ]
            if used:
                layout.first_row = min(r for r, _ in used) + 1
                layout.first_col = min(c for _, c in used)
            for r, c in used:
                if sheet.cell_type(r, c) == xlrd.XL_CELL_ERROR:
                    layout.errors[(r + 1, c)] = xlrd.error_text_from_code.get(
                        sheet.cell_value(r, c), "#ERROR"
                    )
            layouts.append(layout)
            book.unload_sheet(index)
        return layouts
    finally:
        book.release_resources()


@dataclass
class _Sheet:
    index: int
    name: str
    grid: pl.DataFrame
    header: HeaderFound | None
    layout: SheetLayout
    hidden: bool

    @property
    def rows(self) -> int:
        return self.grid.height


def _with_errors(grid: pl.DataFrame, layout: SheetLayout) -> pl.DataFrame:
    """The sheet with its error cells holding their error value (the reader returns blanks)."""
    if not layout.errors:
        return grid
    columns = {c: grid[c].to_list() for c in grid.columns}
    names = grid.columns
    for (row, col), value in layout.errors.items():
        i, j = row - layout.first_row, col - layout.first_col
        if 0 <= i < grid.height and 0 <= j < len(names):
            columns[names[j]][i] = value
    return pl.DataFrame(columns, schema=grid.schema)


def _is_blank(grid: pl.DataFrame) -> bool:
    if grid.is_empty():
        return True
    return not grid.select(
        pl.any_horizontal((pl.col(c).str.strip_chars() != "").fill_null(False) for c in grid.columns).any()
    ).item()


def _check_archive(path: Path, name: str, suffix: str) -> None:
    """An xlsx's zip archive whole, and a workbook's (not a Word document's): else its refusal."""
    try:
        with zipfile.ZipFile(path) as archive:
            broken = archive.testzip()
    except (zipfile.BadZipFile, EOFError, OSError):
        broken = "(directory)"
    other = _office_document(path) if not broken else None
    if other:
        raise misnamed(name, other, suffix)
    if broken:
        raise ReadError(
            f"{name}: 文件不完整或已损坏：xlsx 压缩包{'缺少目录' if broken == '(directory)' else f'中的 {broken} 损坏'}，"
            f"通常是还没有复制完、下载中断或保存时被中断；请重新复制或在 Excel 中重新保存 / the file is incomplete or "
            f"damaged (its zip archive {'has no directory' if broken == '(directory)' else f'has a bad {broken}'}): "
            "it may still be copying, or a download or save was interrupted; copy or save it again"
        )


def read_xlsx(path: Path, name: str, census_year: int | None = None) -> RawExtract:
    """An Excel workbook, .xlsx or .xls (calamine reads both, through fastexcel): the sheet of
    schools, with the sheets that continue it without a header; every other sheet that holds
    anything is named in the note (hidden, another year's copy, a summary, notes)."""
    import fastexcel  # imported here: only Excel extracts need it

    suffix = path.suffix.lower()
    with open(path, "rb") as f:
        head = f.read(4000)
    if not head.strip(b" \t\r\n\x00"):
        raise EmptyFile(f"{name}: 空文件，已跳过 / an empty file, skipped")
    kind = what_file_is(head)
    if kind in ("html", "xml2003", "parquet"):
        raise misnamed(name, kind, suffix)
    if kind is None:  # text under an Excel name (many systems export tab-separated "xls"): read as text
        try:
            raw = read_text(path.read_bytes(), name, suffix)
        except ReadError as exc:
            if "编码" not in str(exc):
                raise
            raise ReadError(
                f"{name}: 文件既不是 Excel 工作簿，也不是文本表格，可能已损坏；请在 Excel 或 WPS 中打开后另存为 .xlsx / the "
                "file is neither an Excel workbook nor a text table (damaged?): open it in Excel or WPS and save it as .xlsx"
            ) from None
        note = f"扩展名是 {suffix}，但内容是文本表格，已按文本读取 / named {suffix}, but the file is a text table: read as text"
        raw.note = "; ".join(n for n in (note, raw.note) if n)
        return raw
    is_xls = kind == "xls"
    if kind == "xlsx":
        _check_archive(path, name, suffix)
    try:
        book = fastexcel.read_excel(str(path))
        layouts = _xls_layouts(path) if is_xls else _xlsx_layouts(path)
    except Exception as exc:
        raise ReadError(
            f"{name}: 文件无法按 Excel 工作簿读取（{'xls' if is_xls else 'xlsx'}），可能已损坏；请在 Excel 或 WPS 中打开后"
            f"重新保存 / cannot be read as an Excel workbook (damaged?): {_short(exc)}"
        ) from None
    from pipelines.lib.ingest.forms import is_form_workbook, read_forms

    if not is_xls and is_form_workbook(book.sheet_names):  # a school's base forms, one per sheet
        return read_forms(path, name)
    sheets = []
    for index, sheet_name in enumerate(book.sheet_names):
        sheet = book.load_sheet(index, header_row=None, dtypes="string")
        grid = sheet.to_polars()
        if _is_blank(grid):
            continue
        layout = layouts[index] if index < len(layouts) else SheetLayout()
        grid = _with_errors(grid, layout)
        header = find_header(list(grid.head(header_search_rows()).iter_rows()))
        sheets.append(_Sheet(index, sheet_name, grid, header, layout, sheet.visible != "visible"))
    if not sheets:
        raise EmptyFile(f"{name}: 空工作簿（没有任何数据），已跳过 / an empty workbook, skipped")
    chosen, notes = _school_sheet(sheets, name, census_year)
    parts = [chosen, *_continuations(sheets, chosen, name, notes)]
    if len(sheets) > 1:
        notes.insert(0, f"读取工作表 '{chosen.name}' / read sheet '{chosen.name}'")
    return _workbook_extract(parts, "xls" if is_xls else "xlsx", notes)


def _school_sheet(sheets: list[_Sheet], name: str, census_year: int | None) -> tuple[_Sheet, list[str]]:
    """The sheet of schools: the one visible sheet whose header has a school id column (a 汇总
    summary sheet has none), passing over hidden sheets and copies of another year's table; with a
    note naming each sheet passed over. Several such sheets refuse the workbook."""
    notes = []
    for s in sheets:
        if s.hidden:
            notes.append(
                f"隐藏的工作表 '{s.name}'（{s.rows} 行）未读取 / hidden sheet '{s.name}' ({s.rows} rows) not read"
            )
    visible = [s for s in sheets if not s.hidden]
    tables = [s for s in visible if s.header is not None]
    with_ids = [s for s in tables if s.header is not None and s.header.has_school_id]
    if len(with_ids) > 1 and census_year is not None:
        other_years = {s.name: _other_year(s, census_year) for s in with_ids}
        kept = [s for s in with_ids if other_years[s.name] is None]
        if kept:
            for s in with_ids:
                year = other_years[s.name]
                if year is not None:
                    notes.append(
                        f"工作表 '{s.name}' 是 {year} 年度的表，未读取 / sheet '{s.name}' is the {year} table, not read"
                    )
            with_ids = kept
    if len(with_ids) > 1:
        named = "、".join(f"'{s.name}'" for s in with_ids)
        raise ReadError(
            f"{name}: 有 {len(with_ids)} 个工作表都有学校标识码列（{named}），请每个文件只放一张学校表 / "
            f"{len(with_ids)} sheets have a school id column ({named}): put one sheet of schools in each file"
        )
    if not tables:
        hidden = [s for s in sheets if s.hidden and s.header is not None]
        if hidden:
            raise ReadError(
                f"{name}: 学校表在隐藏的工作表 '{hidden[0].name}' 中；请在 Excel 中取消隐藏后重新保存 / the table of "
                f"schools is on the hidden sheet '{hidden[0].name}': unhide it and save the workbook again"
            )
        listed = "、".join(s.name for s in sheets)
        raise ReadError(
            f"{name}: 没有哪个工作表有可识别的表头行（工作表：{listed}） / no sheet has a recognisable header row "
            f"(sheets: {listed})"
        )
    chosen = with_ids[0] if with_ids else tables[0]
    for s in tables:
        if s is not chosen and s not in with_ids and s.header is not None and not s.header.has_school_id:
            notes.append(
                f"工作表 '{s.name}' 没有学校标识码列（汇总表），未读取 / sheet '{s.name}' (no school id column: a "
                "summary) not read"
            )
    return chosen, notes


def _other_year(sheet: _Sheet, census_year: int) -> int | None:
    """Another census year a sheet's name or title says, when it never says `census_year`."""
    assert sheet.header is not None
    above = [
        " ".join(_cell(c) for c in row if _cell(c)) for row in sheet.grid.head(sheet.header.row).iter_rows()
    ]
    years = [y for text in (sheet.name, *above) for y in mentioned_years(text)]
    return None if not years or census_year in years else years[0]


def _continuations(sheets: list[_Sheet], chosen: _Sheet, name: str, notes: list[str]) -> list[_Sheet]:
    """The visible sheets without a header of their own that continue the school sheet (their
    school id column holds school ids where the school sheet has it); a sheet that holds numbers
    but neither has a header nor continues the table refuses the workbook; one without numbers
    (notes, an explanation of the form) is named in the note."""
    assert chosen.header is not None
    ids = [j for j, n in enumerate(chosen.header.names) if _column_of(n) == "school_id"]
    out = []
    for s in sheets:
        if s is chosen or s.hidden or s.header is not None:
            continue
        column = ids[0] + chosen.layout.first_col - s.layout.first_col if ids else -1
        if 0 <= column < s.grid.width and s.layout.first_col + s.grid.width <= chosen.layout.first_col + max(
            len(chosen.header.names), chosen.grid.width
        ):
            values = s.grid[s.grid.columns[column]].str.strip_chars().drop_nulls()
            values = values.filter(values != "")
            if values.len() and values.str.contains(r"^\d{10}$").sum() >= max(1, values.len() // 2):
                out.append(s)
                continue
        numeric = s.grid.select(
            pl.sum_horizontal(
                pl.col(c).str.contains(r"^\s*-?[\d.,]+\s*$").fill_null(False) for c in s.grid.columns
            )
        ).to_series()
        if (numeric >= 3).any():
            raise ReadError(
                f"{name}: 工作表 '{s.name}' 有数据但没有表头，也不像是 '{chosen.name}' 的续表（学校标识码列对不上）；请给它加上"
                f"表头，或把它的行并入 '{chosen.name}' / sheet '{s.name}' holds data but has no header, and does not "
                f"continue '{chosen.name}' (its school id column does not line up): give it a header, or move its "
                f"rows into '{chosen.name}'"
            )
        notes.append(
            f"工作表 '{s.name}' 没有表头，也没有学校数据（如填表说明），未读取 / sheet '{s.name}' (no header, no "
            "school data: notes?) not read"
        )
    return out


def _workbook_extract(parts: list[_Sheet], file_format: str, notes: list[str]) -> RawExtract:
    """The school sheet and its continuation sheets as one table: the continuation's columns lined
    up with the school sheet's by their position in Excel, their rows numbered on from the sheet
    before (each row's own sheet and row kept for messages)."""
    chosen = parts[0]
    assert chosen.header is not None
    best = chosen.header.row
    names = chosen.header.names
    grid = chosen.grid
    units = _units_row(list(grid.row(best + 1))) if grid.height > best + 1 else None
    if units:
        names = _with_units(names, units)
        row = chosen.layout.first_row + best + 1
        notes.append(
            f"第{row}行是单位行，已作为各列的单位读取 / row {row} is a units row, read as the columns' units"
        )
    body = grid.slice(best + 1 + (1 if units else 0))
    columns = _unique(_named(names, body.width))
    body.columns = columns
    start = chosen.layout.first_row + best + 1 + (1 if units else 0)
    body = body.with_columns(pl.int_range(start, start + body.height, dtype=pl.Int64).alias("source_row"))
    kept, dropped, skipped = _school_rows(body)
    notes += skipped
    frames = [kept]
    rows_skipped = best + dropped + (1 if units else 0)
    sheet_rows: dict[int, tuple[str, int]] = {}
    base = start + body.height - 1
    for part in parts[1:]:
        shift = part.layout.first_col - chosen.layout.first_col
        lined = part.grid.select(
            (
                pl.col(part.grid.columns[j - shift])
                if 0 <= j - shift < part.grid.width
                else pl.lit(None, pl.String)
            ).alias(c)
            for j, c in enumerate(columns)
        )
        first = part.layout.first_row
        lined = lined.with_columns(
            pl.int_range(base + 1, base + 1 + lined.height, dtype=pl.Int64).alias("source_row")
        )
        for i in range(lined.height):
            sheet_rows[base + 1 + i] = (part.name, first + i)
        more, dropped, skipped = _school_rows(lined, f"工作表 {part.name} ")
        rows_skipped += dropped
        notes += skipped
        notes.append(
            f"工作表 '{part.name}' 没有表头，按 '{chosen.name}' 的续表读取（{more.height} 行） / sheet '{part.name}' "
            f"(no header) read as the continuation of '{chosen.name}' ({more.height} rows)"
        )
        frames.append(more)
        base += lined.height
    above = [" ".join(_cell(c) for c in row if _cell(c)) for row in grid.head(best).iter_rows()]
    letters = {c: column_letter(chosen.layout.first_col + j) for j, c in enumerate(columns)}
    sheet_name = chosen.name if len(parts) == 1 else "、".join(p.name for p in parts)
    return RawExtract(
        pl.concat(frames),
        file_format,
        sheet=sheet_name,
        rows_skipped=rows_skipped,
        preamble=[chosen.name, *above],
        note="; ".join(notes) or None,
        letters=letters,
        row_places=sheet_rows,
    )


def _unique(headers: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for header in headers:
        seen[header] = seen.get(header, 0) + 1
        out.append(header if seen[header] == 1 else f"{header} ({seen[header]})")
    return out


def read_extract(path: Path, name: str, census_year: int | None = None) -> RawExtract:
    """The file read by what it is; any failure of a reader is that file's ReadError, naming it."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return read_csv(path, name)
        if suffix in (".xlsx", ".xls"):
            return read_xlsx(path, name, census_year)
        if suffix == ".parquet":
            return read_parquet(path, name)
    except ReadError:
        raise
    except OSError as exc:
        raise ReadError(
            f"{name}: 无法打开文件（{exc.strerror or exc}）；如果它正在别的程序中打开或还在复制，请稍后再运行 / the file "
            f"cannot be opened ({exc.strerror or exc}): if another program holds it or it is still copying, run again later"
        ) from None
    except Exception as exc:
        raise ReadError(
            f"{name}: 读取文件时出错，文件可能已损坏（{type(exc).__name__}: {_short(exc)}）；请在 Excel 或 WPS 中打开后重新保存 / "
            f"the file could not be read (damaged?): {type(exc).__name__}: {_short(exc)}"
        ) from None
    raise ReadError(
        f"{name}: 不支持的文件类型 / unsupported file type {suffix!r} (use csv, xlsx, xls, parquet)"
    )
