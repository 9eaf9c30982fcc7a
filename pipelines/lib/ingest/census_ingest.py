"""Reading one census year of canonical CSV extracts and applying the contract.

Every row read is either accepted or rejected with a reason naming file, row and column, so
read = accepted + rejected for every file. A file-level problem (unreadable, wrong year, a
required column missing, too many bad rows, a school id already seen in another file of the
year) raises FileRejected and nothing of that year is written.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandera.polars as pa
import polars as pl

from contracts.census import census_schema, ingest_rules
from contracts.columns import BLANK_MEASURES, CENSUS_COLUMN_NAMES, CENSUS_DTYPES, REQUIRED_COLUMNS
from contracts.headers import (
    HeaderError,
    header_key,
    header_units,
    input_columns,
    match_header,
    ownership_values,
    school_type_names,
)
from pipelines.lib.ingest.census_checks import all_students
from pipelines.lib.ingest.declarations import DeclarationLoad, load_checkpoints, read_declarations
from pipelines.lib.ingest.messages import plain_messages
from pipelines.lib.ingest.readers import (
    EmptyFile,
    FolderEntry,
    RawExtract,
    ReadError,
    folder_entry,
    invisible_pattern,
    other_year_problem,
    read_extract,
)
from pipelines.lib.ingest.resolve import resolve_inputs
from pipelines.lib.paths import MODELS_DIR

REJECTION_SCHEMA = {
    "source_file": pl.String,
    "source_row": pl.Int64,
    "school_id": pl.String,
    "column": pl.String,
    "check": pl.String,
    "value": pl.String,
    "message_zh": pl.String,
    "message_en": pl.String,
    "county_code": pl.String,
}

_TYPE_NAMES: dict[object, tuple[str, str]] = {
    pl.Int32: ("整数", "whole number"),
    pl.Int64: ("整数", "whole number"),
    pl.Float64: ("数值", "number"),
    pl.Boolean: ("是/否", "true/false value"),
}


class FileRejected(ValueError):
    """A whole file is refused; the message names the file and says why (Chinese and English)."""


class YearRejected(FileRejected):
    """One or more files of a census year were refused, so the year is not loaded.

    `files` reports every file of the year (the refused ones with their reason), for audit.loads.
    """

    def __init__(self, message: str, files: list[FileReport]):
        super().__init__(message)
        self.files = files


@dataclass
class FileReport:
    source_file: str
    sha256: str
    file_format: str | None = None
    encoding: str | None = None
    sheet: str | None = None
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rows_skipped: int = 0
    unknown_columns: list[str] = field(default_factory=list)
    status: str = "loaded"  # loaded | rejected | ignored (an Office lock, hidden or system file)
    message: str | None = None
    seconds: float = 0.0
    shape: str | None = None  # school_table | county_export | jiaoji_forms (file_shape); None when not read
    cells: dict[tuple[int, str], str] = field(default_factory=dict)  # (row, column) -> 教基5170!F10


def file_shape(headers: MappedHeaders, raw: RawExtract) -> str:
    """What a read file is: `jiaoji_forms`, one school's base-form workbook (one sheet per 教基
    form); `county_export`, an export of the statistics system that names the county (统计三级) or
    flags teaching points (是否计校数) in input-only columns; else `school_table`, one row per
    school with the county's code."""
    if raw.cells:
        return "jiaoji_forms"
    return "county_export" if set(headers.renames.values()) & set(input_columns()) else "school_table"


@dataclass
class YearLoad:
    census_year: int
    accepted: pl.DataFrame
    rejected: pl.DataFrame
    files: list[FileReport]
    # the counties' declarations (audit.county_declarations) and their refused rows
    declarations: pl.DataFrame | None = None
    declarations_rejected: pl.DataFrame | None = None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def previous_amounts(con: duckdb.DuckDBPyConnection, census_year: int) -> pl.DataFrame | None:
    """The previous loaded year's amounts (for the unit check); None before the first load."""
    from pipelines.lib.queries import sql
    from pipelines.lib.warehouse import query_frame, table_exists

    if not table_exists(con, "raw", "census_schools"):
        return None
    return query_frame(con, sql("warehouse/previous_year_amounts"), {"census_year": census_year})


def year_folder(landing: Path, census_year: int) -> list[FolderEntry]:
    """Every entry of the census year's folder, by name, with what becomes of it."""
    folder = landing / str(census_year)
    return [folder_entry(p, p.relative_to(landing).as_posix()) for p in sorted(folder.iterdir())]


def extract_files(landing: Path, census_year: int) -> list[Path]:
    return [e.path for e in year_folder(landing, census_year) if e.kind == "extract"]


def entry_report(entry: FolderEntry) -> FileReport:
    """The audit.loads record of an entry that is not read: ignored, or refused by name."""
    try:
        digest = sha256_of(entry.path) if entry.path.is_file() else ""
    except OSError:  # a lock file held by the program that made it
        digest = ""
    status = "ignored" if entry.kind == "ignored" else "rejected"
    return FileReport(source_file=entry.name, sha256=digest, status=status, message=entry.reason)


# full-width ASCII (！ to ～) and the ideographic space, to their half-width forms
_FULL_WIDTH = [chr(c) for c in range(0xFF01, 0xFF5F)] + ["\u3000"]
_HALF_WIDTH = [chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)] + [" "]
_FREE_TEXT = ("school_name",)


@dataclass
class MappedHeaders:
    renames: dict[str, str]  # original header -> canonical column
    factors: dict[str, float]  # canonical column -> unit factor (万元 -> 10000)
    unknown: list[str]
    units: dict[str, str | None] = field(default_factory=dict)  # canonical column -> unit as typed
    # base-form workbooks: the form's words for a header, where each value was read, (source_row,
    # column) -> 教基5170!F10（…）, and each school's identity sheet
    labels: dict[str, str] = field(default_factory=dict)
    places: dict[tuple[int, str], str] = field(default_factory=dict)
    sheets: dict[int, str] = field(default_factory=dict)
    # the Excel column letter of each canonical column, and the rows of a continuation sheet by
    # their own sheet and row (readers.RawExtract.letters, row_places)
    letters: dict[str, str] = field(default_factory=dict)
    row_places: dict[int, tuple[str, int]] = field(default_factory=dict)

    def header_of(self, column: str) -> str:
        """The header as the file has it (the column's name when the file has no such header), or
        for a base-form workbook the form and its row and column words."""
        header = next((h for h, c in self.renames.items() if c == column), column)
        return self.labels.get(header, header)

    def where(self, row: int, column: str | None = None) -> tuple[str, str]:
        """How a message names a row, or a row's cell (in Chinese, in English): 第12行 在校生数, or
        for a base-form workbook the sheet and cell, 教基5176!C3（运动场地面积·数量）."""
        if (row, column or "") in self.places:
            place = self.places[(row, column or "")]
            return place, place
        if row in self.sheets:
            sheet = self.sheets[row]
            label = f" {self.header_of(column)}" if column else ""
            return f"工作表 {sheet}{label}", f"sheet {sheet}{label}"
        header = f" {self.header_of(column)}" if column else ""
        if row in self.row_places:
            sheet, number = self.row_places[row]
            return f"工作表 {sheet} 第{number}行{header}", f"sheet {sheet} row {number}{header}"
        return f"第{row}行{header}", f"row {row}{header}"

    def cell(self, row: int, column: str) -> str | None:
        """The cell as Excel names it (E12; Sheet2!E12 on a continuation sheet), where known."""
        letter = self.letters.get(column)
        if letter is None:
            return None
        if row in self.row_places:
            sheet, number = self.row_places[row]
            return f"{sheet}!{letter}{number}"
        return f"{letter}{row}"


def map_headers(headers: list[str], name: str) -> MappedHeaders:
    """Canonical column of every header (contracts/headers.yaml); two headers for one column refuse the file."""
    renames: dict[str, str] = {}
    factors: dict[str, float] = {}
    units: dict[str, str | None] = {}
    unknown = []
    for header in headers:
        if header == "source_row":
            continue
        try:
            found = match_header(header)
        except HeaderError as exc:
            raise FileRejected(f"{name}: {exc}") from None
        if found is None:
            unknown.append(header)
            continue
        clash = [h for h, c in renames.items() if c == found.column]
        if clash:
            raise FileRejected(
                f"{name}: 列 '{clash[0]}' 和 '{header}' 都对应 {found.column} / headers '{clash[0]}' and "
                f"'{header}' both mean {found.column}"
            )
        renames[header] = found.column
        factors[found.column] = found.factor
        units[found.column] = found.unit
    return MappedHeaders(renames, factors, unknown, units)


def unstated_unit_problem(
    text: pl.DataFrame,
    typed: pl.DataFrame,
    headers: MappedHeaders,
    name: str,
    previous: pl.DataFrame | None = None,
) -> str | None:
    """Why a column whose header states no unit reads as the scaled unit the census uses (万元,
    万册), or None: its per-pupil median, and its ratio to the same schools' values of the
    previous loaded year (`previous`: school_id and the columns). The rule and its numbers are in
    contracts/ingest_rules.yaml (unstated_units)."""
    check = ingest_rules()["unstated_units"]
    for column, scaled_unit in check["columns"].items():
        if column not in headers.units or headers.units[column] is not None or column not in typed.columns:
            continue
        if header_key(headers.header_of(column)) == column:
            continue  # the canonical name states its unit (equipment_value_yuan)
        # the cells as numbers, decimals too: 1.2 (万册) is no count of books, but it is a magnitude
        amounts = typed.with_columns(
            text[column].str.replace_all(",", "").cast(pl.Float64, strict=False).alias(column)
        )
        found = _per_pupil_reading(amounts, column, scaled_unit) or _last_year_reading(
            amounts, previous, column, scaled_unit
        )
        if found:
            header, unit = headers.header_of(column), _canonical_unit(column)
            zh, en = found
            return (
                f"{name}: 列 '{header}' 没有写单位；{zh}，数值看来是以{scaled_unit}为单位。请在表头写明单位，如 "
                f"'{header}({scaled_unit})' 或 '{header}({unit})' / header '{header}' states no unit, and {en}: "
                f"the values read as {scaled_unit}. Write the unit into the header, e.g. '{header}({scaled_unit})'"
            )
    return None


def unit_magnitude_problem(
    typed: pl.DataFrame, headers: MappedHeaders, name: str, previous: pl.DataFrame | None
) -> str | None:
    """Why a number column is in the wrong unit whatever its header states, or None: the same
    schools' values (in the canonical unit, after the header's unit) are about 10,000 times last
    year's, or 1/10,000 of them (contracts/ingest_rules.yaml, unit_magnitude). The message gives
    both readings and last year's figure."""
    if previous is None or previous.is_empty() or "school_id" not in previous.columns:
        return None
    check = ingest_rules()["unit_magnitude"]
    factor, band, least = float(check["factor"]), float(check["band"]), int(check["min_schools"])
    numeric = [
        c
        for c in headers.renames.values()
        if c in previous.columns and CENSUS_DTYPES.get(c) in (pl.Int32, pl.Int64, pl.Float64)
    ]
    for column in numeric:
        both = (
            typed.select("school_id", pl.col(column).cast(pl.Float64).alias("now"))
            .join(
                previous.select("school_id", pl.col(column).cast(pl.Float64).alias("before")), on="school_id"
            )
            .filter((pl.col("now") > 0) & (pl.col("before") > 0))
        )
        if both.height < least:
            continue
        ratio = float((both["now"] / both["before"]).median())  # type: ignore[arg-type]
        if factor / band <= ratio <= factor * band:
            other, other_zh, other_en = 1 / factor, "缩小一万倍", "divided by 10,000"
        elif 1 / (factor * band) <= ratio <= band / factor:
            other, other_zh, other_en = factor, "放大一万倍", "multiplied by 10,000"
        else:
            continue
        header, unit = headers.header_of(column), _unit_name(column)
        now, before = float(both["now"].median()), float(both["before"].median())  # type: ignore[arg-type]
        stated = headers.units.get(column) or unit
        times, read, other_read, last = (_figure(x) for x in (ratio, now, now * other, before))
        return (
            f"{name}: 列 '{header}' 的数值约为上一年度同一批学校（{both.height} 所）的 {times} 倍，单位很可能不对："
            f"按表头的单位（{stated}）读，中位数是 {read} {unit}；若{other_zh}，则是 {other_read} {unit}；上一年度是 "
            f"{last} {unit}。请核对该列数值和表头的单位后重新提交 / header '{header}': the values are about "
            f"{times} times the same {both.height} schools' values last year, so the unit is probably wrong: read "
            f"in the header's unit ({stated}) the median is {read} {unit}; {other_en} it is {other_read} "
            f"{unit}; last year it was {last} {unit}. Check the values and the header's unit"
        )
    return None


def _figure(x: float) -> str:
    """A figure as a message writes it: 10,200 and 1,020,000; 0.0001 and 2.5 below 100."""
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.2g}"


def _unit_name(column: str) -> str:
    """The canonical unit of a number column, as a message writes it (元, 平方米, 人)."""
    units = header_units(column)
    found = next((u for u, f in units.items() if f == 1.0), None)
    return found or ""


def _per_pupil_reading(amounts: pl.DataFrame, column: str, scaled_unit: str) -> tuple[str, str] | None:
    rules = ingest_rules()
    students = all_students()
    values = amounts.filter((students > 0) & (pl.col(column) > 0)).select(pl.col(column) / students)
    if values.height < int(rules["unstated_units"]["min_schools"]):
        return None
    median = float(values.to_series().median())  # type: ignore[arg-type]
    factor = header_units(column)[scaled_unit]
    low, high = (float(x) for x in rules["plausibility"]["per_student"][column])
    if not (median < low and low <= median * factor <= high):
        return None
    unit = _canonical_unit(column)
    return (
        f"按{unit}计算，生均只有 {median:.4g} {unit}，远低于常见的 {low:g}–{high:g} {unit}",
        f"its median per pupil of {median:.4g} is far below the usual {low:g}-{high:g} {unit}",
    )


def _last_year_reading(
    amounts: pl.DataFrame, previous: pl.DataFrame | None, column: str, scaled_unit: str
) -> tuple[str, str] | None:
    check = ingest_rules()["unstated_units"]
    if previous is None or previous.is_empty() or column not in previous.columns:
        return None
    both = amounts.select("school_id", pl.col(column).alias("now")).join(
        previous.select("school_id", pl.col(column).alias("before")), on="school_id"
    )
    ratios = both.filter((pl.col("now") > 0) & (pl.col("before") > 0)).select(
        pl.col("now") / pl.col("before")
    )
    if ratios.height < int(check["min_schools"]):
        return None
    median = float(ratios.to_series().median())  # type: ignore[arg-type]
    factor = header_units(column)[scaled_unit]
    band = float(check["last_year_band"]["value"])
    if not (1 / (factor * band) <= median <= band / factor):
        return None
    return (
        f"同一批学校的数值只有上一年度的 {median:.2g} 倍（约 1/{factor:g}）",
        f"the same schools' values are {median:.2g} times last year's (about 1/{factor:g})",
    )


def _canonical_unit(column: str) -> str:
    """The unit whose factor is 1 (元, 册)."""
    return next(unit for unit, factor in header_units(column).items() if factor == 1.0)


def normalise_cells(frame: pl.DataFrame) -> pl.DataFrame:
    """Trim cells, drop invisible characters (zero-width spaces), full-width to half-width (codes
    and numbers), empty and unknown markers to null, and Chinese values to codes: school-type
    names, 公办/民办, 12-digit 驻地地域码 to the county."""
    rules = ingest_rules()
    markers = rules["empty_markers"]["values"] + rules["unknown_markers"]["values"]
    columns = [c for c in frame.columns if c != "source_row"]
    # full-width and invisible characters are rare; only columns holding non-ASCII text are rewritten
    non_ascii = frame.select(pl.col(c).str.contains(r"[^\x00-\x7F]").any() for c in columns).row(0)
    wide = {c for c, found in zip(columns, non_ascii, strict=True) if found}
    spaces = rules["invisible_characters"]["to_space"]

    def visible(c: str) -> pl.Expr:
        return (
            pl.col(c).str.replace_all(invisible_pattern(), "").str.replace_many(spaces, [" "] * len(spaces))
        )

    out = frame.with_columns(
        (
            visible(c).str.replace_many(_FULL_WIDTH, _HALF_WIDTH).str.strip_chars()
            if c in wide and c not in _FREE_TEXT
            else visible(c).str.strip_chars()
            if c in wide
            else pl.col(c).str.strip_chars()
        ).alias(c)
        for c in columns
    )
    out = out.with_columns(
        pl.when(pl.col(c).is_in(markers)).then(None).otherwise(pl.col(c)).alias(c) for c in columns
    )
    if "school_type_code" in out.columns:
        out = out.with_columns(
            pl.col("school_type_code").replace(school_type_names()).alias("school_type_code")
        )
    if "ownership" in out.columns:
        out = out.with_columns(pl.col("ownership").replace(ownership_values()).alias("ownership"))
    if "county_code" in out.columns:
        out = out.with_columns(
            pl.when(pl.col("county_code").str.contains(r"^\d{12}$"))
            .then(pl.col("county_code").str.slice(0, 6))
            .otherwise(pl.col("county_code"))
            .alias("county_code")
        )
    return out


def unknown_markers_note(frame: pl.DataFrame) -> str | None:
    """One line on the cells holding a marker for unknown (——, 暂无, N/A: ingest_rules.yaml,
    unknown_markers), which load as unknown, or None."""
    markers = ingest_rules()["unknown_markers"]["values"]
    columns = [c for c in frame.columns if c != "source_row"]
    if not columns:
        return None
    hits = frame.select(pl.col(c).str.strip_chars().is_in(markers).sum() for c in columns).row(0)
    hit = [c for c, n in zip(columns, hits, strict=True) if n]
    if not hit:
        return None
    found = (
        pl.concat([frame.select(pl.col(c).str.strip_chars().alias("cell")) for c in hit])
        .filter(pl.col("cell").is_in(markers))
        .group_by("cell")
        .len()
        .sort("len", "cell", descending=[True, False])
    )
    if found.is_empty():
        return None
    total = int(found["len"].sum())
    listed = "、".join(f"'{r['cell']}' {r['len']} 个" for r in found.iter_rows(named=True))
    listed_en = ", ".join(f"'{r['cell']}' {r['len']}" for r in found.iter_rows(named=True))
    return (
        f"{total} 个单元格写的是表示未知的记号（{listed}），按未知值载入 / {total} cells hold a marker for "
        f"unknown ({listed_en}): loaded as unknown"
    )


def excel_error_cells(
    text: pl.DataFrame, name: str, headers: MappedHeaders
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The cells holding an Excel error value (#REF!, #DIV/0!: ingest_rules.yaml, excel_errors),
    each its row's refusal naming the cell; and the text with those cells blank (so that they are
    not refused a second time as "not a number")."""
    errors = ingest_rules()["excel_errors"]["values"]
    columns = [c for c in text.columns if c not in ("source_row", "census_year")]
    hit = [c for c in columns if text[c].is_in(errors).any()]
    problems = []
    for column in hit:
        bad = text.filter(pl.col(column).is_in(errors))
        for row in bad.select(
            "source_row",
            column,
            school_id=pl.col("school_id") if "school_id" in text.columns else pl.lit(None, pl.String),
        ).iter_rows(named=True):
            zh, en = headers.where(row["source_row"], column)
            cell = headers.cell(row["source_row"], column)
            at_zh, at_en = (f"单元格 {cell} ", f"cell {cell} ") if cell else ("", "")
            value = row[column]
            problems.append(
                {
                    "source_file": name,
                    "source_row": row["source_row"],
                    "school_id": row["school_id"],
                    "column": column,
                    "check": "excel_error",
                    "value": value,
                    "message_zh": f"{name} {zh}: {at_zh}是 Excel 错误值 {value}（公式出错，没有数值），该行未载入；请在 Excel "
                    "中改正公式或直接填写数值",
                    "message_en": f"{name} {en}: {at_en}holds the Excel error {value} (a broken formula, no value): "
                    "the row is not loaded; fix the formula or type the value",
                    "county_code": None,
                }
            )
    cleared = text.with_columns(
        pl.when(pl.col(c).is_in(errors)).then(None).otherwise(pl.col(c)).alias(c) for c in hit
    )
    return cleared, pl.DataFrame(problems, schema=REJECTION_SCHEMA)


def _cast_expr(name: str, factor: float = 1.0) -> pl.Expr:
    """The typed value of a cell; `factor` converts a header's unit (万册 -> 10000 册). A count
    must be whole after the conversion (1.2345 万册 is 12345 册; 1.23456 万册 is refused)."""
    dtype = CENSUS_DTYPES[name]
    if dtype == pl.Boolean:
        rules = ingest_rules()
        lowered = pl.col(name).str.to_lowercase()
        return (
            pl.when(lowered.is_in(rules["true_values"]))
            .then(True)
            .when(lowered.is_in(rules["false_values"]))
            .then(False)
            .otherwise(None)
            .alias(name)
        )
    if dtype == pl.String:
        return pl.col(name)
    # a comma is a thousands separator only between true groups of three digits (1,234,567);
    # "1,2,3,4" is no number, and is refused rather than read as 1234
    grouped = pl.col(name).str.contains(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
    cleaned = pl.when(grouped).then(pl.col(name).str.replace_all(",", "")).otherwise(pl.col(name))
    parsed = cleaned.cast(pl.Float64, strict=False)
    number: pl.Expr = pl.when(parsed.is_finite()).then(parsed)  # "inf" and "nan" are no census values
    if factor != 1.0:
        number = number * factor
    if dtype == pl.Float64:
        # 123.45 万元 is 1234500 元, not the 1234500.0000000002 of binary floating point
        return (number.round(6) if factor != 1.0 else number).alias(name)
    if factor != 1.0:  # 1.2345 * 10000 is 12344.999999999998 in binary: whole within a millionth
        nearest = number.round(0)
        number = pl.when((number - nearest).abs() < 1e-6).then(nearest).otherwise(number)
    # a whole number may arrive as "500.0" (Excel stores every number as a float); 500.5 is no count
    return pl.when(number == number.floor()).then(number).otherwise(None).cast(dtype).alias(name)


def _plain_cast(cells: pl.Series) -> pl.Series | None:
    """A numeric column whose every cell is a plain number ("500", "3.5") cast directly; None when
    any cell needs _cast_expr's rules (thousands separators, "500.0" counts, inf, overflow). Most
    columns of most files are plain, and this is about three times quicker."""
    dtype = CENSUS_DTYPES[cells.name]
    if dtype in (pl.Boolean, pl.String):
        return None
    cast = cells.cast(pl.Float64 if dtype == pl.Float64 else pl.Int64, strict=False).cast(dtype, strict=False)
    lost = cells.is_not_null() & cast.is_null()
    if dtype == pl.Float64:
        lost = lost | ~cast.is_finite().fill_null(True)
    return None if lost.any() else cast


def cast_columns(
    text: pl.DataFrame, name: str, factors: dict[str, float] | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Typed frame (in the canonical units: `factors` converts a header's unit), plus one
    rejection per cell whose text is not a value of its type."""
    factors = {c: f for c, f in (factors or {}).items() if f != 1.0}
    present = [c for c in CENSUS_COLUMN_NAMES if c in text.columns]
    plain = {c: cast for c in present if c not in factors and (cast := _plain_cast(text[c])) is not None}
    typed = text.select(
        "source_row", *(_cast_expr(c, factors.get(c, 1.0)) for c in present if c not in plain)
    )
    typed = typed.with_columns(plain.values()).select("source_row", *present)
    typed = typed.with_columns(
        pl.lit(None, dtype=CENSUS_DTYPES[c]).alias(c) for c in CENSUS_COLUMN_NAMES if c not in present
    )
    problems = []
    typed_columns = [c for c in present if CENSUS_DTYPES[c] != pl.String]
    # one pass to find the columns with any cell that did not convert; only those are itemised
    counts = (
        pl.DataFrame({c: (text[c].is_not_null() & typed[c].is_null()) for c in typed_columns}).sum()
        if typed_columns
        else pl.DataFrame()
    )
    for column in typed_columns:
        if not counts[column][0]:
            continue
        bad = text.select("source_row", column, school_id=pl.col("school_id")).filter(
            pl.col(column).is_not_null() & typed[column].is_null()
        )
        zh, en = _TYPE_NAMES[CENSUS_DTYPES[column]]
        for row in bad.iter_rows(named=True):
            value = row[column]
            hint_zh, hint_en = ("", "")
            if column in factors:
                hint_zh = f"（按表头的单位换算，乘以 {factors[column]:g} 后不是整数）"
                hint_en = f" (times {factors[column]:g} for the header's unit, it is not a whole number)"
            if "," in value:
                hint_zh = "（逗号只能作千分位分隔符，每三位数字一个，如 1,234）"
                hint_en = " (a comma may only separate groups of three digits, as in 1,234)"
            problems.append(
                {
                    "source_file": name,
                    "source_row": row["source_row"],
                    "school_id": row["school_id"],
                    "column": column,
                    "check": "dtype",
                    "value": value,
                    "message_zh": f"{name} 第{row['source_row']}行 {column}: '{value}' 不是有效的{zh}{hint_zh}",
                    "message_en": f"{name} row {row['source_row']} {column}: '{value}' is not a valid {en}{hint_en}",
                }
            )
    problems += _scientific_ids(text, name)
    return typed.select("source_row", *CENSUS_COLUMN_NAMES), pl.DataFrame(problems, schema=REJECTION_SCHEMA)


_SCIENTIFIC = r"^[+-]?\d+(\.\d+)?[eE][+-]?\d+$"
_ID_COLUMNS = ("school_id", "parent_school_id", "county_code")


def _scientific_ids(text: pl.DataFrame, name: str) -> list[dict]:
    """Identifiers that Excel turned into numbers and shows in scientific notation (2.19E+9):
    their digits are lost, so they are refused as what they are, not as duplicates or bad codes."""
    problems = []
    for column in (c for c in _ID_COLUMNS if c in text.columns):
        bad = text.filter(pl.col(column).str.contains(_SCIENTIFIC).fill_null(False))
        for row in bad.select(*dict.fromkeys(["source_row", "school_id", column])).iter_rows(named=True):
            value = row[column]
            problems.append(
                {
                    "source_file": name,
                    "source_row": row["source_row"],
                    "school_id": row["school_id"],
                    "column": column,
                    "check": "scientific_notation",
                    "value": value,
                    "message_zh": f"{name} 第{row['source_row']}行 {column}: '{value}' 是科学计数法，"
                    "Excel 把代码当作数字存放，后几位已经丢失；请把该列设为文本格式后重新填写代码",
                    "message_en": f"{name} row {row['source_row']} {column}: '{value}' is in scientific "
                    "notation: Excel stored the code as a number and its last digits are lost; format the "
                    "column as text and type the codes again",
                }
            )
    return problems


def contract_failures(
    typed: pl.DataFrame, county_codes: list[str], name: str, files: pl.Series | None = None
) -> pl.DataFrame:
    """One rejection per failed (row, column, check) of the pandera contract.

    `files`, when given, names the source file of each row of `typed` (several files checked in
    one pass); school ids must then be unique within each file, as they must be within one file.
    """
    names = files if files is not None else pl.Series([name] * typed.height, dtype=pl.String)
    schema = census_schema(county_codes, unique_school_id=files is None)
    try:
        schema.validate(typed, lazy=True)
        cases = pl.DataFrame(
            schema={"failure_case": pl.String, "schema_context": pl.String, "column": pl.String,
                    "check": pl.String, "index": pl.Int64}
        )  # fmt: skip
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases.select(
            pl.col("failure_case").cast(pl.String),
            "schema_context",
            "column",
            "check",
            pl.col("index").cast(pl.Int64),
        )
    no_row = cases.filter(pl.col("index").is_null())
    if no_row.height:
        details = "; ".join(f"{r['column']}: {r['check']}" for r in no_row.head(5).iter_rows(named=True))
        raise FileRejected(f"{name}: 文件结构不符合规范 / file does not match the contract: {details}")
    rows = typed.select(
        pl.col("source_row"),
        pl.col("school_id"),
        names.alias("source_file"),
        pl.int_range(pl.len(), dtype=pl.Int64).alias("index"),
    )
    if files is not None:
        repeated = rows.filter(
            pl.col("school_id").is_not_null() & (pl.len().over("source_file", "school_id") > 1)
        )
        cases = pl.concat(
            [
                cases,
                repeated.select(
                    pl.col("school_id").alias("failure_case"),
                    pl.lit("Column").alias("schema_context"),
                    pl.lit("school_id").alias("column"),
                    pl.lit("field_uniqueness").alias("check"),
                    "index",
                ),
            ]
        )
    if cases.is_empty():
        return pl.DataFrame(schema=REJECTION_SCHEMA)
    located = cases.join(rows, on="index", how="left")
    out = []
    for r in located.iter_rows(named=True):
        column = r["column"] if r["schema_context"] == "Column" else "(row)"
        value, source = r["failure_case"], r["source_file"]
        out.append(
            {
                "source_file": source,
                "source_row": r["source_row"],
                "school_id": r["school_id"],
                "column": column,
                "check": r["check"],
                "value": None if value is None else str(value),
                "message_zh": f"{source} 第{r['source_row']}行 {column}: 值 '{value}' 未通过检查 {r['check']}",
                "message_en": f"{source} row {r['source_row']} {column}: value '{value}' fails {r['check']}",
            }
        )
    return pl.DataFrame(out, schema=REJECTION_SCHEMA)


@dataclass
class PreparedFile:
    """One file read, mapped, normalised and typed; the contract is checked next."""

    name: str
    report: FileReport
    text: pl.DataFrame
    typed: pl.DataFrame
    cast_problems: pl.DataFrame
    headers: MappedHeaders

    @property
    def checked(self) -> pl.DataFrame:
        """The typed rows every cell of which converted: the rows the contract checks."""
        return self.typed.filter(~pl.col("source_row").is_in(self.cast_problems["source_row"].implode()))


def year_mention_problem(raw: RawExtract, name: str, census_year: int) -> str | None:
    """A file that says another census year (in its name, sheet name or title) and never the
    folder's: it was put in the wrong folder, and must not load as the folder's year."""
    places = [("文件名", "file name", Path(name).name)]
    if raw.sheet:
        places.append(("工作表名", "sheet name", raw.sheet))
    places += [("标题", "title", line) for line in raw.preamble if line != raw.sheet]
    return other_year_problem(name, places, census_year)


def prepare_file(
    path: Path,
    name: str,
    census_year: int,
    previous: pl.DataFrame | None = None,
    registry: pl.DataFrame | None = None,
) -> PreparedFile:
    """Read one extract and bring it to the canonical typed columns; FileRejected if it cannot be.
    `registry` (county_code, county_name, prefecture_name) resolves a county given by name
    (统计三级, pipelines.lib.ingest.resolve)."""
    report = FileReport(source_file=name, sha256=sha256_of(path))
    try:
        raw = read_extract(path, name, census_year)
    except EmptyFile:
        raise
    except ReadError as exc:
        raise FileRejected(str(exc)) from None
    report.file_format, report.encoding, report.sheet = raw.file_format, raw.encoding, raw.sheet
    report.rows_skipped = raw.rows_skipped
    report.message = raw.note  # which sheet of a workbook was read, when there was a choice
    headers = map_headers(raw.frame.columns, name)
    report.unknown_columns = headers.unknown
    report.shape = file_shape(headers, raw)
    headers.labels = {h: raw.labels[h] for h in headers.renames if h in raw.labels}
    headers.places = {(r, headers.renames[h]): c for (r, h), c in raw.cells.items() if h in headers.renames}
    headers.sheets = dict(raw.rows)
    headers.letters = {c: raw.letters[h] for h, c in headers.renames.items() if h in raw.letters}
    headers.row_places = dict(raw.row_places)
    report.cells = dict(headers.places)
    mapped = raw.frame.select("source_row", *headers.renames).rename(headers.renames)
    marker_note = unknown_markers_note(mapped)
    text = normalise_cells(mapped)
    text, error_cells = excel_error_cells(text, name, headers)
    text, unresolved = resolve_inputs(text, registry, name, headers.header_of)
    report.rows_read = text.height
    missing = [c for c in REQUIRED_COLUMNS if c not in text.columns]
    if missing:
        raise FileRejected(f"{name}: 缺少必需的列 / required column(s) missing: {', '.join(missing)}")
    if "census_year" in text.columns:
        years = set(text["census_year"].drop_nulls().unique().to_list())
        if years - {str(census_year)}:
            raise FileRejected(
                f"{name}: census_year {sorted(years)} 与文件夹年份 {census_year} 不一致 / "
                f"does not match the folder's census year {census_year}"
            )
    mismatch = year_mention_problem(raw, name, census_year)
    if mismatch:
        raise FileRejected(mismatch)
    text = text.with_columns(pl.lit(str(census_year)).alias("census_year"))
    typed, cast_problems = cast_columns(text, name, headers.factors)
    if unresolved:
        cast_problems = pl.concat([cast_problems, pl.DataFrame(unresolved, schema=REJECTION_SCHEMA)])
    cast_problems = pl.concat([cast_problems, error_cells])
    if marker_note:
        report.message = "; ".join(m for m in (report.message, marker_note) if m)
    problem = unstated_unit_problem(text, typed, headers, name, previous) or unit_magnitude_problem(
        typed, headers, name, previous
    )
    if problem:
        raise FileRejected(problem)
    return PreparedFile(name, report, text, typed, cast_problems, headers)


def finish_file(
    prepared: PreparedFile, failures: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame, FileReport]:
    """Accepted rows (with lineage) and rejections, given the file's contract failures."""
    name, report, text = prepared.name, prepared.report, prepared.text
    rejected = pl.concat([prepared.cast_problems, failures])
    # the row's county code as read, so that monitoring can tell which county lost rows
    rejected = rejected.drop("county_code").join(
        text.select("source_row", "county_code"), on="source_row", how="left"
    )
    rejected = plain_messages(rejected, prepared.headers.header_of, prepared.headers.where)
    bad_rows = rejected["source_row"].unique()
    accepted = prepared.typed.filter(~pl.col("source_row").is_in(bad_rows.implode()))
    report.rows_accepted = accepted.height
    report.rows_rejected = bad_rows.len()
    limit = float(ingest_rules()["max_invalid_row_share"])
    # a base-form workbook is one school: its bad value refuses that school, not the file
    if (
        report.shape != "jiaoji_forms"
        and report.rows_read
        and report.rows_rejected / report.rows_read > limit
    ):
        raise FileRejected(
            f"{name}: {report.rows_rejected}/{report.rows_read} 行无效, 超过上限 {limit:.0%} / "
            f"{report.rows_rejected} of {report.rows_read} rows invalid, over the {limit:.0%} limit; "
            f"first problem: {rejected['message_en'][0]}"
        )
    blank_note = blank_cells_note(accepted, prepared.headers.where)
    if blank_note:
        report.message = "; ".join(m for m in (report.message, blank_note) if m)
    accepted = accepted.with_columns(
        pl.lit(name).alias("source_file"), pl.lit(report.sha256).alias("source_sha256")
    )
    return accepted, rejected.sort("source_row", "column"), report


def blank_cells_note(
    accepted: pl.DataFrame, where: Callable[[int, str], tuple[str, str]], examples: int = 3
) -> str | None:
    """One line on the measure cells an accepted row left blank (loaded as unknown), or None."""
    columns = [c for c in BLANK_MEASURES if c in accepted.columns]
    if not columns or accepted.is_empty():
        return None
    cells = (
        accepted.select("source_row", *columns)
        .unpivot(index="source_row", on=columns, variable_name="column", value_name="value")
        .filter(pl.col("value").is_null())
        .sort("source_row", "column")
    )
    if cells.is_empty():
        return None
    shown = "；".join(
        where(r["source_row"], r["column"])[0] for r in cells.head(examples).iter_rows(named=True)
    )
    more = "等" if cells.height > examples else ""
    return (
        f"{cells.height} 个数据单元格为空（{shown}{more}），按未知值载入：这些学校不计入用到该数据的指标，所在县结果为暂定 / "
        f"{cells.height} measure cells blank, loaded as unknown: those schools are left out of the indicators "
        "that need them and their counties' results are provisional"
    )


def load_file(
    path: Path,
    name: str,
    census_year: int,
    county_codes: list[str],
    previous: pl.DataFrame | None = None,
    registry: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, FileReport]:
    """Accepted rows (with lineage) and rejections of one extract file."""
    prepared = prepare_file(path, name, census_year, previous, registry)
    return finish_file(prepared, contract_failures(prepared.checked, county_codes, name))


def year_contract_failures(prepared: list[PreparedFile], county_codes: list[str]) -> dict[str, pl.DataFrame]:
    """The contract checked over every file of a year in one pass (pandera's cost is mostly per
    call, not per row: 31 provincial files took 2.5 s one by one); failures by file name. A
    failure that names no row falls back to checking file by file, so the refusal names its file."""
    checked = [p.checked for p in prepared]
    files = pl.Series(
        "source_file",
        [p.name for p, c in zip(prepared, checked, strict=True) for _ in range(c.height)],
        dtype=pl.String,
    )
    try:
        failures = contract_failures(pl.concat(checked), county_codes, "(census year)", files)
    except FileRejected:
        return {
            p.name: contract_failures(c, county_codes, p.name) for p, c in zip(prepared, checked, strict=True)
        }
    return {p.name: failures.filter(pl.col("source_file") == p.name) for p in prepared}


def missing_parents(
    accepted: pl.DataFrame,
    header_of: dict[str, Callable[[str], str]] | None = None,
    refused: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Rejections for teaching points whose parent school is not loaded in the census year: not
    in any file, or refused itself (`refused`: the year's rejected rows; the message then names
    the parent's row and why it was refused)."""
    ids = accepted["school_id"].implode()
    orphans = accepted.filter(
        pl.col("parent_school_id").is_not_null() & ~pl.col("parent_school_id").is_in(ids)
    )
    headers = header_of or {}
    why: dict[str, dict] = {}
    if refused is not None and not refused.is_empty():
        for r in refused.filter(pl.col("school_id").is_not_null()).iter_rows(named=True):
            why.setdefault(r["school_id"], r)
    rows = []
    for r in orphans.iter_rows(named=True):
        header = headers.get(r["source_file"], lambda c: c)("parent_school_id")
        parent = r["parent_school_id"]
        zh = f"所属学校 {parent} 不在本年度的任何文件中"
        en = f"parent school {parent} is in no file of this census year"
        if parent in why:
            p = why[parent]
            reason_zh = p["message_zh"].split(": ", 1)[-1]
            reason_en = p["message_en"].split(": ", 1)[-1]
            zh = f"所属学校 {parent}（{p['source_file']} 第{p['source_row']}行）本身未通过检查、未载入：{reason_zh}"
            en = f"parent school {parent} ({p['source_file']} row {p['source_row']}) was itself refused: {reason_en}"
        rows.append(
            {
                "source_file": r["source_file"],
                "source_row": r["source_row"],
                "school_id": r["school_id"],
                "column": "parent_school_id",
                "check": "parent exists in the census year",
                "value": parent,
                "message_zh": f"{r['source_file']} 第{r['source_row']}行 {header}: {zh}",
                "message_en": f"{r['source_file']} row {r['source_row']} {header}: {en}",
                "county_code": r["county_code"],
            }
        )
    return pl.DataFrame(rows, schema=REJECTION_SCHEMA)


@dataclass
class YearCheck:
    """Every entry of a census year checked as `junheng run` checks it: per file its report, the
    rows it would load and the rows refused; the year loads only if no file is refused."""

    census_year: int
    reports: dict[str, FileReport]  # in file order
    accepted: dict[str, pl.DataFrame]
    rejected: dict[str, pl.DataFrame]
    declarations: dict[str, pl.DataFrame] = field(default_factory=dict)  # declaration files' rows
    declarations_rejected: dict[str, pl.DataFrame] = field(default_factory=dict)

    @property
    def refused(self) -> list[FileReport]:
        return [r for r in self.reports.values() if r.status == "rejected"]


def check_census_year(
    entries: list[FolderEntry],
    census_year: int,
    county_codes: list[str],
    folder: Path | str,
    previous: pl.DataFrame | None = None,
    registry: pl.DataFrame | None = None,
) -> YearCheck:
    """The checks of a census year over `entries` (a year folder's, or the files `validate` is
    given in their place). Every file is read even when an earlier one is refused, so one run
    reports every file-level problem. FileRejected (or YearRejected, listing what the folder
    holds) when there is no extract at all."""
    reports: dict[str, FileReport] = {}
    prepared: dict[str, PreparedFile] = {}
    declared: dict[str, DeclarationLoad] = {}
    for entry in entries:  # every file is read and typed first ...
        if entry.kind == "declaration":
            declared[entry.name], reports[entry.name] = read_declaration_file(
                entry, census_year, county_codes
            )
            continue
        if entry.kind != "extract":
            reports[entry.name] = entry_report(entry)
            continue
        started = time.perf_counter()
        try:
            prepared[entry.name] = prepare_file(entry.path, entry.name, census_year, previous, registry)
            reports[entry.name] = prepared[entry.name].report
        except EmptyFile as exc:  # an empty file beside the real ones: skipped, with a note
            reports[entry.name] = FileReport(
                source_file=entry.name, sha256=sha256_of(entry.path), status="ignored", message=str(exc)
            )
        except FileRejected as exc:
            reports[entry.name] = FileReport(
                source_file=entry.name, sha256=sha256_of(entry.path), status="rejected", message=str(exc)
            )
        reports[entry.name].seconds = time.perf_counter() - started
    if not any(e.kind == "extract" and reports[e.name].status != "ignored" for e in entries):
        message = f"{folder}: 没有数据文件 / no extract files (*.csv, *.xlsx, *.xls, *.parquet)"
        if reports:  # the folder holds something: say what, file by file
            lines = [r.message or r.source_file for r in reports.values()]
            raise YearRejected("\n".join([message, *lines]), list(reports.values()))
        raise FileRejected(message)
    failures = (
        year_contract_failures(list(prepared.values()), county_codes) if prepared else {}
    )  # ... checked at once
    check = YearCheck(census_year, reports, {}, {})
    seen: dict[str, str] = {}
    for name, file in prepared.items():  # ... and accepted or refused in file order
        started = time.perf_counter()
        try:
            accepted, rejected, report = finish_file(file, failures[name])
            clashes = [s for s in accepted["school_id"].to_list() if s in seen]
            if clashes:
                raise FileRejected(
                    f"{name}: 学校标识码 {clashes[0]} 已出现在 {seen[clashes[0]]} / school_id {clashes[0]} "
                    f"also appears in {seen[clashes[0]]} (same census year; {len(clashes)} such schools)"
                )
        except FileRejected as exc:
            seconds = file.report.seconds + time.perf_counter() - started
            reports[name] = FileReport(
                source_file=name,
                sha256=file.report.sha256,
                status="rejected",
                message=str(exc),
                seconds=seconds,
            )
            continue
        report.seconds += time.perf_counter() - started
        if report.rows_read == 0:  # a header and nothing under it
            report.status = "ignored"
            report.message = (
                f"{name}: 只有表头，没有学校行，已跳过 / a header but no rows of schools, skipped"
            )
            continue
        seen.update(dict.fromkeys(accepted["school_id"].to_list(), name))
        check.accepted[name], check.rejected[name] = accepted, rejected
    if not check.accepted and not check.refused:  # the year would leave no school at all
        for report in check.reports.values():
            if report.status == "ignored" and report.source_file in prepared:
                report.status = "rejected"
                report.message = (
                    f"{report.source_file}: 只有表头，没有学校行；本年度没有任何学校可以载入 / a header but no rows of "
                    "schools: no school of this census year would load"
                )
    _move_orphans(check, {name: file.headers.header_of for name, file in prepared.items()})
    _add_declarations(check, declared)
    return check


def read_declaration_file(
    entry: FolderEntry, census_year: int, county_codes: list[str]
) -> tuple[DeclarationLoad, FileReport]:
    """A county's declaration file (pipelines.lib.ingest.declarations), and its audit.loads record."""
    started = time.perf_counter()
    digest = sha256_of(entry.path)
    load = read_declarations(
        entry.path, entry.name, census_year, county_codes, declared_checkpoints(), digest
    )
    accepted = load.accepted.height
    report = FileReport(
        source_file=entry.name,
        sha256=digest,
        file_format=entry.path.suffix.lower().lstrip("."),
        rows_read=load.rows_read,
        rows_accepted=accepted,
        rows_rejected=load.rows_read - accepted,
        rows_skipped=load.rows_skipped,
        status="rejected" if load.file_message else "loaded",
        message=load.file_message or load.note,
        shape="declaration",
    )
    report.seconds = time.perf_counter() - started
    return load, report


def declared_checkpoints() -> dict[str, dict]:
    """Every checkpoint of every checklist (models/checklists/*.yaml) by code."""
    found: dict[str, dict] = {}
    for path in sorted((MODELS_DIR / "checklists").glob("*.yaml")):
        found |= load_checkpoints(path)
    return found


def _add_declarations(check: YearCheck, declared: dict[str, DeclarationLoad]) -> None:
    """The declarations of the year's files; a county's checkpoint declared in two files is
    refused in both (no file's value may silently win)."""
    loaded = {name: d for name, d in declared.items() if not d.file_message}
    if not loaded:
        return
    every = pl.concat([d.accepted for d in loaded.values()])
    twice = every.filter(pl.len().over("county_code", "checkpoint_code") > 1)
    files = twice.group_by("county_code", "checkpoint_code").agg(pl.col("source_file").unique().sort())
    for name, load in loaded.items():
        clash = twice.filter(pl.col("source_file") == name).join(
            files, on=["county_code", "checkpoint_code"], suffix="_all"
        )
        check.declarations[name] = load.accepted.join(
            clash.select("county_code", "checkpoint_code"), on=["county_code", "checkpoint_code"], how="anti"
        )
        moved = [
            {
                "load_id": None,
                "census_year": check.census_year,
                "source_file": name,
                "source_row": r["source_row"],
                "school_id": None,
                "column": "checkpoint_code",
                "check": "declared_in_two_files",
                "value": r["checkpoint_code"],
                "message_zh": f"{name} 第 {r['source_row']} 行: 县区 {r['county_code']} 的检查点 "
                f"{r['checkpoint_code']} 在本年度的多个申报表中都有申报（{'、'.join(r['source_file_all'])}），"
                "请只保留一份",
                "message_en": f"{name} row {r['source_row']}: county {r['county_code']} declares checkpoint "
                f"{r['checkpoint_code']} in more than one file this year ({', '.join(r['source_file_all'])}); keep one",
                "county_code": r["county_code"],
            }
            for r in clash.iter_rows(named=True)
        ]
        rejected = pl.concat(
            [load.rejected, pl.DataFrame(moved, schema=load.rejected.schema)], how="vertical_relaxed"
        )
        check.declarations_rejected[name] = rejected
        report = check.reports[name]
        report.rows_accepted = check.declarations[name].height
        report.rows_rejected = report.rows_read - report.rows_accepted


def _move_orphans(check: YearCheck, header_of: dict[str, Callable[[str], str]]) -> None:
    """A year-level rule: a teaching point's parent school may be in another file of the year,
    and must be in one of the files that load."""
    if not check.accepted:
        return
    refused = pl.concat(check.rejected.values()) if check.rejected else None
    orphans = missing_parents(pl.concat(check.accepted.values()), header_of, refused)
    for name in list(check.accepted):
        moved = orphans.filter(pl.col("source_file") == name)
        if moved.is_empty():
            continue
        keep = ~pl.col("school_id").is_in(moved["school_id"].implode())
        check.accepted[name] = check.accepted[name].filter(keep)
        check.rejected[name] = pl.concat([check.rejected[name], moved])
        check.reports[name].rows_accepted -= moved.height
        check.reports[name].rows_rejected += moved.height


def load_census_year(
    landing: Path,
    census_year: int,
    county_codes: list[str],
    load_id: str,
    previous: pl.DataFrame | None = None,
    registry: pl.DataFrame | None = None,
) -> YearLoad:
    """All extracts of one census year, checked (check_census_year; `previous`: the previous
    loaded year's rows, for the unit check); YearRejected, with every file's report, when any
    file is refused."""
    check = check_census_year(
        year_folder(landing, census_year),
        census_year,
        county_codes,
        landing / str(census_year),
        previous,
        registry,
    )
    if check.refused:
        raise YearRejected(
            "\n".join(r.message or r.source_file for r in check.refused), list(check.reports.values())
        )
    accepted_all = pl.concat(check.accepted.values()).with_columns(pl.lit(load_id).alias("load_id"))
    return YearLoad(
        census_year=census_year,
        # one chunk per column: polars 2.1.0 can panic filtering string columns that span several
        # chunks (`assertion failed: i < self.len()` in the plausibility warnings)
        accepted=accepted_all.rechunk(),
        rejected=pl.concat(check.rejected.values()),
        files=list(check.reports.values()),
        declarations=pl.concat(check.declarations.values()) if check.declarations else None,
        declarations_rejected=pl.concat(check.declarations_rejected.values())
        if check.declarations_rejected
        else None,
    )
