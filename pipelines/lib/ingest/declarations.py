"""County declaration files (县区申报表): the checkpoints of the quality-balance checklist that the
census cannot compute (models/checklists/quality_2017.yaml, `judged_by: declared`), declared by
each county for a census year, read from the year's landing folder beside the census extracts.

A declaration file is a .csv, .xlsx or .xls whose name says 申报 or "declaration". County clerks
make it in Excel or WPS: title rows above the header, blank rows, a signature line at its foot,
spaces and full-width characters in cells, a county code stored as a number. The reader takes
all of that as it comes, and holds the values to the checklist without guessing: a percentage
is written with its % sign, a number in the checkpoint's unit, a yes/no checkpoint as 是 or 否.

Every row read is accepted or rejected with its reasons (one rejected row per failed check, with
the file, the row as the clerk sees it, the header as typed and the rule in plain Chinese and
English), so rows_read = accepted rows + rejected rows. A file that cannot be read as a
declaration at all (no header, a required column missing, another year's file) is refused whole
with one message (`DeclarationLoad.file_message`).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

import pandera.polars as pa
import polars as pl

from contracts import yaml_files
from contracts.census import COUNTY_CODE_PATTERN, FIRST_CENSUS_YEAR, LAST_CENSUS_YEAR, ingest_rules
from contracts.headers import header_key
from pipelines.lib.ingest.readers import (
    ReadError,
    detect_encoding,
    invisible_pattern,
    misnamed,
    other_year_problem,
    what_file_is,
)

SUFFIXES = (".csv", ".xlsx", ".xls")
NAME_MARKERS = ("申报", "declaration")
HEADER_SEARCH_ROWS = 10
"""The header is looked for among a sheet's first this many rows that are not blank."""
FOOTER_WORDS = ("合计", "备注", "说明", "注：", "注:", "填表人", "填报人", "审核人")
"""A trailing row whose first filled cell starts with one of these (or with a signature word of
contracts/ingest_rules.yaml, non_school_rows.footer_words) is the form's foot, not a declaration."""
CHECKPOINT_PATTERN = r"^C\d+[a-z]?$"
RELATION = "audit.rejected_rows"

CHECK_COUNTY = "declared_county_code"
CHECK_CHECKPOINT = "declared_checkpoint"
CHECK_VALUE = "declared_value"
CHECK_DECLARED_BY = "declared_by"
CHECK_TWICE = "declared_twice"


@dataclass(frozen=True)
class DeclarationColumn:
    name: str  # canonical
    zh: str  # how a message names the column when the file lacks it
    en: str
    aliases: tuple[str, ...]
    required: bool


COLUMNS = (
    DeclarationColumn(
        "county_code",
        "县区代码",
        "county code",
        ("县区代码", "行政区划代码", "县代码", "区县代码", "county_code"),
        True,
    ),
    DeclarationColumn(
        "checkpoint_code",
        "检查点编号",
        "checkpoint code",
        ("检查点编号", "指标编号", "三级指标编号", "编号", "checkpoint_code"),
        True,
    ),
    DeclarationColumn(
        "value", "申报值", "declared value", ("申报值", "申报数据", "数值", "完成情况", "value"), True
    ),
    DeclarationColumn(
        "evidence_note",
        "佐证说明",
        "evidence note",
        ("佐证说明", "佐证材料", "说明", "备注", "evidence_note"),
        False,
    ),
    DeclarationColumn(
        "declared_by", "申报人", "declarant", ("申报人", "填报人", "填表人", "declared_by"), True
    ),
)
INFORMATIVE_HEADERS = ("县区名称", "县名", "检查点", "检查点内容", "指标", "指标内容", "标准值", "序号")
"""Columns a declaration file may carry for the reader's eye; read past without a note."""

YES_WORDS = ("是", "达到", "已落实", "y", "yes")
NO_WORDS = ("否", "未达到", "未落实", "n", "no")

ACCEPTED_SCHEMA: dict[str, Any] = {
    "census_year": pl.Int32,
    "county_code": pl.String,
    "checkpoint_code": pl.String,
    "value_number": pl.Float64,
    "value_text": pl.String,
    "evidence_note": pl.String,
    "declared_by": pl.String,
    "source_file": pl.String,
    "source_sha256": pl.String,
    "source_row": pl.Int64,
}


class DeclarationContract(pa.DataFrameModel):
    """The accepted declarations: the final guard over what the reader accepted (a failure here is
    a fault of the reader, never of the file)."""

    census_year: pl.Int32 = pa.Field(in_range={"min_value": FIRST_CENSUS_YEAR, "max_value": LAST_CENSUS_YEAR})
    county_code: str = pa.Field(str_matches=COUNTY_CODE_PATTERN)
    checkpoint_code: str = pa.Field(str_matches=CHECKPOINT_PATTERN)
    value_number: float = pa.Field(ge=0)
    value_text: str = pa.Field(str_length={"min_value": 1})
    evidence_note: str = pa.Field(nullable=True)
    declared_by: str = pa.Field(str_length={"min_value": 1})
    source_file: str
    source_sha256: str
    source_row: int = pa.Field(ge=1)

    class Config:
        strict = True
        unique = ["county_code", "checkpoint_code"]
        name = "declarations"


class ChecklistMismatch(RuntimeError):
    """A declared checkpoint of the checklist this reader cannot hold a value to (its value_type)."""


@dataclass(frozen=True)
class DeclarationLoad:
    accepted: pl.DataFrame  # ACCEPTED_SCHEMA, one row per (county, checkpoint)
    rejected: pl.DataFrame  # the columns of audit.rejected_rows, one row per failed check
    rows_read: int  # data rows (not title, header, blank or foot rows) = accepted + rejected rows
    file_message: str | None = None  # the whole file refused (Chinese / English); then nothing accepted
    note: str | None = None  # what was read and passed over (sheets, columns, rows), in one line
    rows_skipped: int = 0  # blank rows below the header and the rows of the form's foot


def is_declaration_file(name: str) -> bool:
    """A declaration file by its name: 申报 or "declaration" (any case, full-width too) in the
    name of a .csv, .xlsx or .xls; never an Office lock file (~$) or a hidden file."""
    base = Path(name).name
    if base.startswith(("~$", ".")) or Path(base).suffix.lower() not in SUFFIXES:
        return False
    stem = unicodedata.normalize("NFKC", Path(base).stem).lower()
    return any(marker in stem for marker in NAME_MARKERS)


def load_checkpoints(path: Path) -> dict[str, dict]:
    """Every checkpoint of a checklist YAML (areas -> items -> checkpoints) by its code, each its
    YAML entry as written (code, wording_zh, judged_by, value_type, unit, ...)."""
    with open(path, encoding="utf-8") as f:
        checklist = yaml_files.safe_load(f)
    found: dict[str, dict] = {}
    for area in checklist.get("areas") or []:
        for item in area.get("items") or []:
            for checkpoint in item.get("checkpoints") or []:
                code = str(checkpoint["code"])
                if code in found:
                    raise ValueError(f"{path}: checkpoint {code} is listed twice")
                found[code] = dict(checkpoint)
    return found


@cache
def rejected_schema() -> dict[str, pl.DataType]:
    """The polars types of audit.rejected_rows (its sidecar's `types:`)."""
    from pipelines.lib.warehouse import frame_schema  # the warehouse only when a file is read

    return frame_schema(RELATION)


def read_declarations(
    path: Path,
    name: str,
    census_year: int,
    county_codes: Collection[str],
    checkpoints: Mapping[str, Mapping[str, Any]],
    sha256: str,
) -> DeclarationLoad:
    """One declaration file read and checked: `name` as messages and source_file say it (relative
    to the landing folder), `county_codes` the county registry, `checkpoints` every checkpoint of
    the checklist by code (load_checkpoints), `sha256` the file's content hash."""
    try:
        sheets = _read_sheets(path, name)
        return _declarations(sheets, name, census_year, county_codes, checkpoints, sha256)
    except ReadError as exc:
        return _refused(str(exc))
    except OSError as exc:
        return _refused(
            f"{name}: 无法打开文件（{exc.strerror or exc}）；如果它正在别的程序中打开或还在复制，请稍后再运行 / the file "
            f"cannot be opened ({exc.strerror or exc}): if another program holds it or it is still copying, run "
            "again later"
        )
    except (pa.errors.SchemaError, AssertionError, ChecklistMismatch):
        raise  # the reader's or the checklist's fault: never passed off as the file's
    except Exception as exc:
        short = " ".join(str(exc).split())[:160]
        return _refused(
            f"{name}: 读取文件时出错，文件可能已损坏（{type(exc).__name__}: {short}）；请在 Excel 或 WPS 中打开后重新"
            f"保存 / the file could not be read (damaged?): {type(exc).__name__}: {short}"
        )


def _refused(message: str) -> DeclarationLoad:
    return DeclarationLoad(_empty_accepted(), _empty_rejected(), 0, file_message=message)


def _empty_accepted() -> pl.DataFrame:
    return pl.DataFrame(schema=ACCEPTED_SCHEMA)


def _empty_rejected() -> pl.DataFrame:
    return pl.DataFrame(schema=rejected_schema())


# --- reading: every format to rows of cell texts numbered as the clerk sees them ---------------

Row = tuple[int, list[str]]  # (row number in the file, 1-based; cell texts, trimmed)


@dataclass
class _Sheet:
    name: str | None  # None for a text file
    rows: list[Row]
    hidden: bool = False


@cache
def _invisible() -> re.Pattern[str]:
    return re.compile(invisible_pattern())


def _clean(text: str) -> str:
    return _invisible().sub("", text.replace("\u00a0", " ")).strip()


def _number_text(value: float | int) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def _percent_text(value: float | int) -> str:
    """A number Excel shows in a percentage format (0.965 as 96.5%), as Excel shows it."""
    shown = (Decimal(repr(float(value))) * 100).normalize()
    return f"{shown:f}%"


def _cell_text(value: object, number_format: str | None = None) -> str:
    """A cell as its text, as Excel or WPS shows it: a whole number without .0, a number in a
    percentage format with its % sign."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        if number_format and "%" in re.sub(r'"[^"]*"|\\.', "", number_format):
            return _percent_text(value)
        return _number_text(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return _clean(str(value))


def _read_sheets(path: Path, name: str) -> list[_Sheet]:
    suffix = path.suffix.lower()
    data = path.read_bytes()
    if not data.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise ReadError(f"{name}: 空文件，没有任何申报 / an empty file: it declares nothing")
    kind = what_file_is(data[:4000])
    if suffix == ".csv":
        if kind:
            raise misnamed(name, kind, suffix)
        return [_Sheet(None, _text_rows(data, name))]
    if kind in ("html", "xml2003", "parquet"):
        raise misnamed(name, kind, suffix)
    if kind == "xlsx":
        return _xlsx_sheets(path)
    if kind == "xls":
        return _xls_sheets(path)
    return [_Sheet(None, _text_rows(data, name))]  # text saved under an Excel name, as many systems do


def _text_rows(data: bytes, name: str) -> list[Row]:
    """A CSV's rows (comma, tab or semicolon separated, whichever makes a header), each numbered
    by the line it starts on."""
    text, _ = detect_encoding(data, name)
    text = text.lstrip("\ufeff")
    chosen: list[Row] | None = None
    for delimiter in (",", "\t", ";"):
        if delimiter != "," and delimiter not in text[:20_000]:
            continue
        rows: list[Row] = []
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        line = 1
        for record in reader:
            rows.append((line, [_clean(c) for c in record]))
            line = reader.line_num + 1
        if chosen is None:
            chosen = rows
        if _find_header(rows)[0] is not None:
            return rows
    return chosen or []


def _xlsx_sheets(path: Path) -> list[_Sheet]:
    import openpyxl  # only workbooks need it

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        sheets = []
        for sheet in book.worksheets:
            sheet.reset_dimensions()  # WPS and other writers leave wrong dimensions: read every row
            rows: list[Row] = []
            for number, cells in enumerate(sheet.iter_rows(), start=1):
                texts = [_cell_text(c.value, getattr(c, "number_format", None)) for c in cells]
                rows.append((number, texts))
            sheets.append(_Sheet(sheet.title, rows, sheet.sheet_state != "visible"))
        return sheets
    finally:
        book.close()


def _xls_sheets(path: Path) -> list[_Sheet]:
    import xlrd  # only .xls workbooks need it

    book = xlrd.open_workbook(str(path), formatting_info=True)
    try:
        sheets = []
        for index in range(book.nsheets):
            sheet = book.sheet_by_index(index)
            rows: list[Row] = []
            for r in range(sheet.nrows):
                texts = []
                for c in range(sheet.ncols):
                    kind, value = sheet.cell_type(r, c), sheet.cell_value(r, c)
                    if kind in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                        texts.append("")
                    elif kind == xlrd.XL_CELL_NUMBER:
                        texts.append(_cell_text(value, _xls_format(book, sheet, r, c)))
                    elif kind == xlrd.XL_CELL_BOOLEAN:
                        texts.append(_cell_text(bool(value)))
                    elif kind == xlrd.XL_CELL_ERROR:
                        texts.append(xlrd.error_text_from_code.get(value, "#ERROR"))
                    else:
                        texts.append(_cell_text(value))
                rows.append((r + 1, texts))
            sheets.append(_Sheet(sheet.name, rows, sheet.visibility != 0))
        return sheets
    finally:
        book.release_resources()


def _xls_format(book: Any, sheet: Any, r: int, c: int) -> str | None:
    try:
        key = book.xf_list[sheet.cell_xf_index(r, c)].format_key
        return str(book.format_map[key].format_str)
    except (IndexError, KeyError, AttributeError):
        return None


# --- the header -------------------------------------------------------------------------------


@cache
def _aliases() -> dict[str, str]:
    return {header_key(alias): column.name for column in COLUMNS for alias in column.aliases}


@cache
def _informative() -> frozenset[str]:
    return frozenset(header_key(h) for h in INFORMATIVE_HEADERS)


@dataclass(frozen=True)
class _Header:
    position: int  # index of the header row in the sheet's rows
    columns: dict[str, int]  # canonical column -> cell index (the first column of that name)
    typed: dict[str, str]  # canonical column -> the header as typed
    unknown: list[str]  # headers that name no column
    repeated: dict[str, list[str]]  # canonical column -> every header as typed, when several name it


def _header_of(position: int, cells: Sequence[str]) -> _Header:
    columns: dict[str, int] = {}
    typed: dict[str, str] = {}
    unknown: list[str] = []
    every: dict[str, list[str]] = {}
    for index, text in enumerate(cells):
        if not text:
            continue
        key = header_key(text)
        # a header with a note in brackets (申报值（%）, 申报人(签字)) is the column it names
        column = _aliases().get(key) or _aliases().get(re.sub(r"\([^()]*\)$", "", key))
        if column is None:
            if key not in _informative():
                unknown.append(text)
            continue
        every.setdefault(column, []).append(text)
        if column not in columns:
            columns[column], typed[column] = index, text
    repeated = {c: names for c, names in every.items() if len(names) > 1}
    return _Header(position, columns, typed, unknown, repeated)


def _find_header(rows: Sequence[Row]) -> tuple[_Header | None, _Header | None]:
    """The header (the first of the first non-blank rows naming both a checkpoint code column and
    a value column), and else the row that comes nearest (the most known columns), for saying
    what is missing."""
    nearest: _Header | None = None
    seen = 0
    for position, (_, cells) in enumerate(rows):
        if not any(cells):
            continue
        seen += 1
        if seen > HEADER_SEARCH_ROWS:
            break
        header = _header_of(position, cells)
        if "checkpoint_code" in header.columns and "value" in header.columns:
            return header, header
        if header.columns and (nearest is None or len(header.columns) > len(nearest.columns)):
            nearest = header
    return None, nearest


def _missing_message(name: str, missing: Sequence[DeclarationColumn]) -> str:
    zh = "；".join(
        f"缺少必需的列“{c.zh}”（可用列名：{'、'.join(a for a in c.aliases if not a.isascii())}）"
        for c in missing
    )
    en = "; ".join(f"missing required column {c.name} (headers: {', '.join(c.aliases)})" for c in missing)
    return f"{name}: {zh} / {en}"


def _no_header_message(name: str, nearest: _Header | None) -> str:
    if nearest is not None:
        found = set(nearest.columns)
        return _missing_message(name, [c for c in COLUMNS if c.required and c.name not in found])
    return (
        f"{name}: 前 {HEADER_SEARCH_ROWS} 行中没有找到表头行（表头须有“检查点编号”和“申报值”等列）；申报表须有县区代码、"
        f"检查点编号、申报值、申报人四列 / no header row in the first {HEADER_SEARCH_ROWS} rows: a declaration "
        "file needs the columns county code (县区代码), checkpoint code (检查点编号), value (申报值) and "
        "declared by (申报人)"
    )


def _choose_sheet(sheets: list[_Sheet], name: str) -> tuple[_Sheet, _Header, list[str]]:
    """The first visible sheet with a header; a note on every other sheet that holds anything."""
    notes: list[str] = []
    filled = [s for s in sheets if any(any(cells) for _, cells in s.rows)]
    if not filled:
        raise ReadError(f"{name}: 空文件，没有任何申报 / an empty file: it declares nothing")
    chosen: tuple[_Sheet, _Header] | None = None
    nearest: _Header | None = None
    for sheet in filled:
        if sheet.hidden:
            notes.append(f"隐藏的工作表“{sheet.name}”未读取 / hidden sheet '{sheet.name}' not read")
            continue
        header, near = _find_header(sheet.rows)
        if header is not None and chosen is None:
            chosen = (sheet, header)
        elif sheet.name is not None:
            notes.append(f"工作表“{sheet.name}”未读取 / sheet '{sheet.name}' not read")
        if nearest is None or (near is not None and len(near.columns) > len(nearest.columns)):
            nearest = near
    if chosen is None:
        hidden = [s for s in filled if s.hidden and _find_header(s.rows)[0] is not None]
        if hidden:
            raise ReadError(
                f"{name}: 申报表在隐藏的工作表“{hidden[0].name}”中；请在 Excel 或 WPS 中取消隐藏后重新保存 / the "
                f"declarations are on the hidden sheet '{hidden[0].name}': unhide it and save the workbook again"
            )
        raise ReadError(_no_header_message(name, nearest))
    sheet, header = chosen
    if len(sheets) > 1:
        notes.insert(0, f"读取工作表“{sheet.name}” / read sheet '{sheet.name}'")
    return sheet, header, notes


def _header_problems(name: str, header: _Header) -> list[str]:
    """The header's refusal (a required column missing, or named twice) and its notes."""
    missing = [c for c in COLUMNS if c.required and c.name not in header.columns]
    if missing:
        raise ReadError(_missing_message(name, missing))
    notes = []
    for column, names in header.repeated.items():
        shown = "、".join(f"“{n}”" for n in names)
        spec = next(c for c in COLUMNS if c.name == column)
        if spec.required:
            raise ReadError(
                f"{name}: 有 {len(names)} 列都是{spec.zh}（{shown}），无法确定读哪一列；请只保留一列 / {len(names)} "
                f"columns are the {spec.en} ({', '.join(names)}): keep one"
            )
        notes.append(
            f"有 {len(names)} 列都是{spec.zh}（{shown}），读取“{names[0]}” / {len(names)} columns are the "
            f"{spec.en} ({', '.join(names)}): read '{names[0]}'"
        )
    if header.unknown:
        shown = "、".join(f"“{n}”" for n in header.unknown)
        notes.append(f"未识别的列 {shown} 未读取 / unknown column(s) {', '.join(header.unknown)} not read")
    return notes


def _year_problem(name: str, sheet: _Sheet, header: _Header, census_year: int) -> str | None:
    """A file that says another census year (in its name, sheet name or title) and never the
    folder's: it was put in the wrong folder, and must not load as the folder's year."""
    places = [("文件名", "file name", Path(name).name)]
    if sheet.name:
        places.append(("工作表名", "sheet name", sheet.name))
    for _, cells in sheet.rows[: header.position]:
        line = " ".join(c for c in cells if c)
        if line:
            places.append(("标题", "title", line))
    return other_year_problem(name, places, census_year)


# --- the rows ---------------------------------------------------------------------------------


@cache
def _footer_words() -> tuple[str, ...]:
    words = ingest_rules().get("non_school_rows", {}).get("footer_words", [])
    return tuple(dict.fromkeys([*FOOTER_WORDS, *words]))


def _is_footer(cells: Sequence[str]) -> bool:
    first = next((c for c in cells if c), "")
    return unicodedata.normalize("NFKC", first).startswith(
        tuple(unicodedata.normalize("NFKC", w) for w in _footer_words())
    )


def _body(rows: Sequence[Row], header: _Header) -> tuple[list[Row], list[int], list[int]]:
    """The data rows below the header; the blank rows and the rows of the form's foot (the
    trailing rows starting with 合计, 备注, 填表人 ..., with blank rows among them), by number."""
    below = list(rows[header.position + 1 :])
    foot: list[int] = []
    end = len(below)
    while end and (not any(below[end - 1][1]) or _is_footer(below[end - 1][1])):
        if any(below[end - 1][1]):
            foot.append(below[end - 1][0])
        end -= 1
    blank = [number for number, cells in below if not any(cells)]
    data = [(number, cells) for number, cells in below[:end] if any(cells)]
    return data, blank, sorted(foot)


@dataclass
class _Context:
    name: str
    census_year: int
    county_codes: frozenset[str]
    checkpoints: Mapping[str, Mapping[str, Any]]
    header: _Header
    problems: list[dict[str, Any]] = field(default_factory=list)

    def cell(self, cells: Sequence[str], column: str) -> str:
        index = self.header.columns.get(column)
        return cells[index] if index is not None and index < len(cells) else ""

    def refuse(
        self, row: int, column: str, check: str, value: str, county: str | None, zh: str, en: str
    ) -> None:
        typed = self.header.typed[column]
        self.problems.append(
            {
                "load_id": None,
                "census_year": self.census_year,
                "source_file": self.name,
                "source_row": row,
                "school_id": None,
                "column": column,
                "check": check,
                "value": value or None,
                "message_zh": f"{self.name} 第{row}行 {typed}: {zh}",
                "message_en": f"{self.name} row {row} {typed}: {en}",
                "county_code": county or None,
            }
        )


def _declarations(
    sheets: list[_Sheet],
    name: str,
    census_year: int,
    county_codes: Collection[str],
    checkpoints: Mapping[str, Mapping[str, Any]],
    sha256: str,
) -> DeclarationLoad:
    sheet, header, notes = _choose_sheet(sheets, name)
    notes += _header_problems(name, header)
    wrong_year = _year_problem(name, sheet, header, census_year)
    if wrong_year:
        return _refused(wrong_year)
    data, blank, foot = _body(sheet.rows, header)
    if foot:
        shown = "、".join(str(r) for r in foot)
        notes.append(
            f"第{shown}行是表尾（合计、备注、填表人等），不是申报，已跳过 / row(s) {', '.join(map(str, foot))} "
            "skipped: the form's foot (合计, 备注, 填表人 ...), not declarations"
        )
    context = _Context(name, census_year, frozenset(county_codes), checkpoints, header)
    accepted = []
    keys: dict[tuple[str, str], list[int]] = {}
    for number, cells in data:
        before = len(context.problems)
        row = _check_row(context, number, cells)
        if row["county_code"] and row["checkpoint_code"]:
            keys.setdefault((row["county_code"], row["checkpoint_code"]), []).append(number)
        if len(context.problems) == before:
            accepted.append(row)
    twice = _declared_twice(context, keys, data)
    accepted = [r for r in accepted if r["source_row"] not in twice]
    frame = pl.DataFrame(
        [{**r, "source_file": name, "source_sha256": sha256} for r in accepted],
        schema=ACCEPTED_SCHEMA,
    ).select(list(ACCEPTED_SCHEMA))
    frame = DeclarationContract.validate(frame)
    rejected = pl.DataFrame(context.problems, schema=rejected_schema()).sort("source_row", "column", "check")
    assert frame.height + rejected["source_row"].n_unique() == len(data), (
        "a row neither accepted nor rejected"
    )
    return DeclarationLoad(
        frame,
        rejected,
        len(data),
        note="; ".join(notes) or None,
        rows_skipped=len(blank) + len(foot),
    )


def _check_row(context: _Context, number: int, cells: Sequence[str]) -> dict[str, Any]:
    """One data row checked: each failure recorded in the context; the row's values as far as
    they could be read (county_code and checkpoint_code normalised, or None)."""
    county = _check_county(context, number, context.cell(cells, "county_code"))
    code, checkpoint = _check_checkpoint(context, number, context.cell(cells, "checkpoint_code"), county)
    value_text = context.cell(cells, "value")
    value = _check_value(context, number, value_text, code, checkpoint, county)
    declared_by = context.cell(cells, "declared_by")
    if not declared_by:
        context.refuse(
            number,
            "declared_by",
            CHECK_DECLARED_BY,
            "",
            county,
            "申报人为空：每一项须写明申报人",
            "the declarant is blank: every declaration must name who declares it",
        )
    note = context.cell(cells, "evidence_note") if "evidence_note" in context.header.columns else ""
    return {
        "census_year": context.census_year,
        "county_code": county,
        "checkpoint_code": code,
        "value_number": value,
        "value_text": value_text,
        "evidence_note": note or None,
        "declared_by": declared_by,
        "source_row": number,
    }


def _plain(text: str) -> str:
    """NFKC (full-width to half-width) without any whitespace."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _county_code(text: str) -> str:
    plain = _plain(text)
    return re.sub(r"^(\d+)\.0+$", r"\1", plain)  # a code stored as a number: 900101.0


def _check_county(context: _Context, number: int, text: str) -> str | None:
    """The 6-digit county code of the registry, or None (refused)."""
    code = _county_code(text)
    if not code:
        context.refuse(
            number, "county_code", CHECK_COUNTY, text, None, "县区代码为空", "the county code is blank"
        )
        return None
    if not re.fullmatch(COUNTY_CODE_PATTERN, code):
        context.refuse(
            number,
            "county_code",
            CHECK_COUNTY,
            text,
            text,
            f"县区代码“{text}”不是 6 位数字",
            f"county code '{text}' is not 6 digits",
        )
        return None
    if code not in context.county_codes:
        context.refuse(
            number,
            "county_code",
            CHECK_COUNTY,
            text,
            code,
            f"县区代码“{code}”不在县区名录中（reference/counties.csv），请核对县区代码，或先把该县加入名录",
            f"county code '{code}' is not in the county registry (reference/counties.csv): check the code, "
            "or add the county to the registry first",
        )
    return code


def _checkpoint_code(text: str) -> str:
    """C31a as the checklist writes it: c31a, Ｃ３１Ａ and C 31a read as C31a."""
    plain = _plain(text)
    found = re.fullmatch(r"[cC]0*(\d+)([a-zA-Z]?)", plain)
    return f"C{found.group(1)}{found.group(2).lower()}" if found else plain


def _check_checkpoint(
    context: _Context, number: int, text: str, county: str | None
) -> tuple[str | None, Mapping[str, Any] | None]:
    """The checkpoint code and its checklist entry, or (None, None) when it is not declared."""
    code = _checkpoint_code(text)

    def refuse(zh: str, en: str) -> tuple[None, None]:
        context.refuse(number, "checkpoint_code", CHECK_CHECKPOINT, text, county, zh, en)
        return None, None

    if not code:
        return refuse("检查点编号为空", "the checkpoint code is blank")
    checkpoint = context.checkpoints.get(code)
    if checkpoint is None:
        return refuse(
            f"“{text}”不是清单中的检查点编号（应为 C29、C31a 这样的编号）",
            f"'{text}' is not a checkpoint code of the checklist (codes are like C29, C31a)",
        )
    judged_by = checkpoint.get("judged_by")
    if judged_by == "census":
        return refuse(
            f"检查点 {code} 由普查数据计算，不接受申报",
            f"checkpoint {code} is computed from the census; it is not declared",
        )
    if judged_by == "not_judged":
        return refuse(
            f"检查点 {code} 由督导评估组实地核查，不接受申报",
            f"checkpoint {code} is judged on site by the inspection team; it is not declared",
        )
    if judged_by != "declared":
        return refuse(
            f"检查点 {code} 不接受申报（评判方式：{judged_by}）",
            f"checkpoint {code} is not declared (judged by: {judged_by})",
        )
    return code, checkpoint


def _check_value(
    context: _Context,
    number: int,
    text: str,
    code: str | None,
    checkpoint: Mapping[str, Any] | None,
    county: str | None,
) -> float | None:
    """The value as a number by the checkpoint's value type (a fraction for a percentage, 1 or 0
    for 是/否), or None (refused, or not checked because the checkpoint is not a declared one)."""
    if not text:
        context.refuse(number, "value", CHECK_VALUE, "", county, "申报值为空", "the declared value is blank")
        return None
    if checkpoint is None:
        return None
    kind = checkpoint.get("value_type")
    parse = {"percent": _percent, "yes_no": _yes_no, "number": _number}.get(str(kind))
    if parse is None:
        raise ChecklistMismatch(f"checkpoint {code}: unknown value_type {kind!r} (percent, number or yes_no)")
    value, problem = parse(text, checkpoint)
    if problem is not None:
        zh, en = problem
        context.refuse(number, "value", CHECK_VALUE, text, county, f"“{text}”：{zh}", f"'{text}': {en}")
    return value


Problem = tuple[str, str] | None


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None


def _percent(text: str, checkpoint: Mapping[str, Any]) -> tuple[float | None, Problem]:
    plain = _plain(text)  # NFKC makes the full-width ％ a %
    found = re.fullmatch(r"([+-]?\d+(?:\.\d+)?)%", plain)
    if not found:
        return None, (
            "百分比须写成“96.5%”的形式，不能写“96.5”或“0.965”",
            "a percentage must be written like 96.5%, not 96.5 or 0.965",
        )
    percent = Decimal(found.group(1))
    if not 0 <= percent <= 100:
        return None, ("百分比须在 0% 到 100% 之间", "a percentage must be between 0% and 100%")
    return float(percent / 100), None


def _yes_no(text: str, checkpoint: Mapping[str, Any]) -> tuple[float | None, Problem]:
    plain = _plain(text).lower()
    if plain in YES_WORDS:
        return 1.0, None
    if plain in NO_WORDS:
        return 0.0, None
    return None, (
        "须填“是”或“否”（也可填 达到/未达到、已落实/未落实、Y/N、yes/no）",
        "must be 是 (yes) or 否 (no); also accepted: 达到/未达到, 已落实/未落实, Y/N, yes/no",
    )


_NUMBER = re.compile(r"([+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)(.*)")


def _number(text: str, checkpoint: Mapping[str, Any]) -> tuple[float | None, Problem]:
    plain = _plain(text)
    unit = str(checkpoint.get("unit") or "")
    found = _NUMBER.fullmatch(plain)
    amount = _decimal(found.group(1)) if found else None
    if found is None or amount is None:
        shown = f"（单位 {unit}）" if unit else ""
        return None, (
            f"须为数字{shown}，如 6500 或 6,500",
            f"must be a number{f' in {unit}' if unit else ''}, like 6500",
        )
    written = found.group(2)
    if written and (not unit or header_key(written) != header_key(unit)):
        if not unit:
            return None, ("须为不带单位的数字", "must be a number without a unit")
        return None, (f"单位须为 {unit}", f"the unit must be {unit}")
    if amount < 0:
        return None, ("不能为负数", "must not be negative")
    return float(amount), None


def _declared_twice(
    context: _Context, keys: Mapping[tuple[str, str], list[int]], data: Sequence[Row]
) -> set[int]:
    """Every copy of a (county, checkpoint) declared more than once, refused: which one the county
    meant is for the county to say. The rows refused."""
    refused: set[int] = set()
    texts = {number: context.cell(cells, "checkpoint_code") for number, cells in data}
    for (county, code), rows in keys.items():
        if len(rows) < 2:
            continue
        times_zh = "两次" if len(rows) == 2 else f" {len(rows)} 次"
        times_en = "twice" if len(rows) == 2 else f"{len(rows)} times"
        shown_zh = "、".join(f"第 {r} 行" for r in rows)
        shown_en = ", ".join(str(r) for r in rows)
        for row in rows:
            context.refuse(
                row,
                "checkpoint_code",
                CHECK_TWICE,
                texts[row],
                county,
                f"同一县区的检查点 {code} 申报了{times_zh}（{shown_zh}），请只保留一行",
                f"checkpoint {code} of county {county} is declared {times_en} (rows {shown_en}): keep one",
            )
        refused.update(rows)
    return refused
