"""`junheng generate --messy`: the same province, written the way counties really send it.

Census years rotate through four shapes: GBK CSV with Chinese headers (title, note and blank
lines above the header, a blank line among the schools, a 合计 line); Excel with a title row, a
blank row, a total row and equipment in 万元 (one prefecture's workbook in the old .xls format
with books in 万册, one with a 汇总 sheet first and a two-row header, the others .xlsx); UTF-8 CSV
with English headers; and Parquet. Chinese headers carry units on counts (在校生数（人）), Chinese
values (九年一贯制学校, 公办/民办, 是/否), some 12-digit 驻地地域码, full-width digits and thousands
separators. Beside the first file of every year lies the Office lock file Excel or WPS leaves
while it is open (`~$<name>`), which the load lists as ignored. Every year also gets bad rows of
every kind the contract catches; each is listed in truth.json with the column and check that
must catch it. Two good schools a year have a blank measure (BLANK_CELLS), listed in truth.json as
blank_cells: they load, and their counties' results are provisional.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import xlsxwriter
import xlwt

from contracts.code_lists import load_code_list
from contracts.columns import CENSUS_COLUMN_NAMES, CHECKLIST_MEASURES
from contracts.headers import header_table

SHAPES = ("gbk_csv_chinese", "xlsx_chinese_wan", "utf8_csv_english", "parquet_english")
FULL_WIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")


@dataclass(frozen=True)
class Defect:
    defect: str
    column: str  # the column the rejection names ("(row)" for rules across columns)
    check: str  # a fragment of the check name that must catch it
    apply: Callable[[dict], None]
    needs: Callable[[dict], bool] = lambda row: True


def _no_junior(row: dict) -> bool:
    return row["school_type_code"] == "211" and row["junior_students"] == 0


DEFECTS = (
    Defect("school_id_pattern", "school_id", "str_matches", lambda r: r.update(school_id=r["school_id"][:8])),
    Defect("unknown_county", "county_code", "isin", lambda r: r.update(county_code="999999")),
    Defect("unknown_school_type", "school_type_code", "isin", lambda r: r.update(school_type_code="999")),
    Defect("unknown_urban_rural", "urban_rural_code", "isin", lambda r: r.update(urban_rural_code="300")),
    Defect("unknown_ownership", "ownership", "isin", lambda r: r.update(ownership="集体")),
    Defect(
        "negative_students",
        "primary_students",
        "greater_than_or_equal_to",
        lambda r: r.update(primary_students=-r["primary_students"]),
        lambda r: r["primary_students"] > 0,
    ),
    Defect("not_a_number", "books", "dtype", lambda r: r.update(books="一万二")),
    Defect("not_a_boolean", "is_county_run", "dtype", lambda r: r.update(is_county_run="部分")),
    Defect("missing_name", "school_name", "not_nullable", lambda r: r.update(school_name=None)),
    Defect(
        "subcount_over_total",
        "(row)",
        "primary_key_teachers",
        lambda r: r.update(primary_key_teachers=r["primary_teachers"] + 3),
        lambda r: r["primary_students"] > 0,
    ),
    Defect(
        "stage_not_taught",
        "(row)",
        "does not teach the junior stage",
        lambda r: r.update(junior_students=40, junior_classes=1),
        _no_junior,
    ),
    Defect(
        "students_without_classes",
        "(row)",
        "primary_classes is 0",
        lambda r: r.update(primary_classes=0),
        lambda r: r["primary_students"] > 0,
    ),
    Defect("list_in_a_count", "books", "dtype", lambda r: r.update(books="1,2,3,4")),
    Defect(
        "id_in_scientific_notation",
        "school_id",
        "scientific_notation",
        lambda r: r.update(school_id="2.19E+9"),
    ),
    Defect(
        "missing_parent",
        "parent_school_id",
        "parent exists",
        lambda r: r.update(parent_school_id="2190999999"),
        lambda r: r["school_type_code"] == "218",
    ),
)


BLANK_CELLS = ("equipment_value_yuan", "primary_pe_art_teachers")
"""Measures left blank in one good school each per year: the row loads, the school stays in every
indicator that does not need the measure, and its county's results are provisional."""


def plant_defects(
    census: pl.DataFrame, rng: np.random.Generator, protected: set[str]
) -> tuple[pl.DataFrame, list[dict], list[dict]]:
    """Corrupt one row per defect kind (plus one duplicated school id) and blank one cell of each
    of BLANK_CELLS in good rows; return the rows, the defects' truth and the blanks' truth.

    Schools of `protected` counties (the planted scenarios) are never corrupted, so the scenario
    values in truth.json hold for the messy twin too.
    """
    rows = census.to_dicts()
    for row in rows:
        row["_prefecture"] = row["county_code"][:4]  # the file a row goes to, whatever its defect
    used: set[int] = set()
    parent_ids = {r["parent_school_id"] for r in rows if r["parent_school_id"]}
    parents = {i for i, r in enumerate(rows) if r["school_id"] in parent_ids}  # corrupting one orphans others
    planted = []

    def free_rows(condition: Callable[[dict], bool]) -> list[int]:
        """Rows not yet corrupted, not a parent of others, outside the scenario counties."""
        return [
            i
            for i, r in enumerate(rows)
            if i not in used and i not in parents and r["county_code"] not in protected and condition(r)
        ]

    for defect in DEFECTS:
        candidates = free_rows(defect.needs)
        if not candidates:
            continue
        i = int(rng.choice(candidates))
        used.add(i)
        defect.apply(rows[i])
        planted.append(
            {
                "school_id": rows[i]["school_id"],
                "defect": defect.defect,
                "column": defect.column,
                "check": defect.check,
                "county_code": rows[i]["county_code"],
            }
        )
    blanks = []
    for column in BLANK_CELLS:
        candidates = free_rows(
            lambda r: (
                r["school_type_code"] == "211"
                and r["ownership"] == "public"
                and r["is_county_run"]
                and r["primary_students"] > 0
            )
        )
        i = int(rng.choice(candidates))
        used.add(i)
        rows[i][column] = None
        blanks.append(
            {"school_id": rows[i]["school_id"], "column": column, "county_code": rows[i]["county_code"]}
        )
    # a school id written twice in one file: both rows are refused, neither silently wins
    candidates = free_rows(lambda r: r["school_type_code"] == "211")
    i = int(rng.choice(candidates))
    copy = dict(rows[i])
    rows.insert(i + 1, copy)
    planted += [
        {
            "school_id": copy["school_id"],
            "defect": "duplicate_school_id",
            "column": "school_id",
            "check": "field_uniqueness",
            "county_code": copy["county_code"],
        }
    ]
    # the census columns the year has (years before the checklist columns were added lack them)
    columns = [*(c for c in CENSUS_COLUMN_NAMES if c in census.columns), "_prefecture"]
    frame = pl.DataFrame(
        [[_text(r[c]) if r[c] is not None else None for c in columns] for r in rows],
        schema={c: pl.String for c in columns},
        orient="row",
    )
    return frame, planted, blanks


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _chinese(
    frame: pl.DataFrame, rng: np.random.Generator, books_in_wan: bool = False
) -> tuple[list[str], list[list[str]]]:
    """Chinese headers and values, 万元 (and 万册 with `books_in_wan`), units on the count headers
    (在校生数（人）, 班数（个）), some 驻地地域码, full-width digits, thousands separators."""
    aliases = {c: spec["aliases"][0] for c, spec in header_table()["columns"].items()}
    aliases["equipment_value_yuan"] = "教学仪器设备资产值(万元)"
    for column in CENSUS_COLUMN_NAMES:
        if column.endswith("_students"):
            aliases[column] += "（人）"
        elif column.endswith("_classes"):
            aliases[column] += "（个）"
    if books_in_wan:
        aliases["books"] = "图书(万册)"
    names = {e["code"]: e["name_zh"] for e in load_code_list("school_types")}
    columns = _columns(frame)
    headers = [aliases[c] for c in columns]
    body = []
    for row in frame.iter_rows(named=True):
        cells = []
        for column in columns:
            text = row[column] or ""
            if column == "school_type_code":
                text = names.get(text, text)
            elif column == "ownership":
                text = {"public": "公办", "private": "民办"}.get(text, text)
            elif column == "is_county_run":
                text = {"true": "是", "false": "否"}.get(text, text)
            elif column == "county_code" and len(text) == 6 and rng.random() < 0.3:
                text = f"{text}{int(rng.integers(100, 999))}{int(rng.integers(100, 999))}"  # 驻地地域码
            elif column == "equipment_value_yuan" and text:
                text = _text(round(float(text) / 10_000, 4))
            elif column == "books" and books_in_wan and text.isdigit():
                text = _text(int(text) / 10_000)  # 1.2345 (万册): exact to the book
            elif column == "books" and text.isdigit() and int(text) >= 1000 and rng.random() < 0.5:
                text = f"{int(text):,}"
            elif (
                column.endswith("_students")
                and column not in CHECKLIST_MEASURES  # no quirks (nor draws) in the checklist columns
                and text.isdigit()
                and rng.random() < 0.05
            ):
                text = text.translate(FULL_WIDTH_DIGITS)
            cells.append(text)
        body.append(cells)
    return headers, body


def _columns(frame: pl.DataFrame) -> list[str]:
    """The census columns of `frame`, in the contract's order."""
    return [c for c in CENSUS_COLUMN_NAMES if c in frame.columns]


def _english(frame: pl.DataFrame) -> tuple[list[str], list[list[str]]]:
    columns = _columns(frame)
    return columns, [[row[c] or "" for c in columns] for row in frame.iter_rows(named=True)]


def _csv(path: Path, headers: list[str], body: list[list[str]], encoding: str) -> None:
    frame = pl.DataFrame(body, schema=headers, orient="row")
    path.write_bytes(frame.write_csv().encode(encoding))


def _csv_as_saved_from_excel(
    path: Path, headers: list[str], body: list[list[str]], encoding: str, title: str
) -> None:
    """A sheet saved as CSV: a title and a note line and a blank line above the header, a blank
    line between two schools, and a 合计 line at the end (5 lines that are not schools)."""
    rows = pl.DataFrame(body, schema=headers, orient="row").write_csv().splitlines()
    middle = 1 + len(body) // 2
    lines = [
        title,
        "填报单位：县教育局,,填报日期：2024年10月31日",
        "",
        *rows[:middle],
        "",
        *rows[middle:],
        "合计," + ",".join("" for _ in headers[1:]),
    ]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))


def _excel_cells(headers: list[str], body: list[list[str]], title: str) -> list[tuple[int, int, object]]:
    """(row, column, value) of the sheet: a title, a blank row, the header, the schools (counts
    and 万元 amounts as numbers, the rest as text) and a 合计 row."""
    numeric = {i for i, h in enumerate(headers) if "在校生" in h or "班数" in h or "万元" in h}
    cells: list[tuple[int, int, object]] = [(0, 0, title)]
    cells += [(2, c, header) for c, header in enumerate(headers)]
    for r, row in enumerate(body, start=3):
        for c, cell in enumerate(row):
            value: object = cell
            if c in numeric and cell:
                with contextlib.suppress(ValueError):  # a planted bad value stays text
                    value = float(cell)
            cells.append((r, c, value))
    cells += [(3 + len(body), 0, "合计"), (3 + len(body), 2, f"{len(body)} 所")]
    return cells


def _xlsx(path: Path, headers: list[str], body: list[list[str]], title: str) -> None:
    book = xlsxwriter.Workbook(path, {"strings_to_numbers": False})
    sheet = book.add_worksheet("学校情况")
    for r, c, value in _excel_cells(headers, body, title):
        if isinstance(value, float):
            sheet.write_number(r, c, value)
        else:
            sheet.write_string(r, c, str(value))
    book.close()


def _xlsx_two_row_header(
    path: Path, headers: list[str], body: list[list[str]], title: str, columns: list[str]
) -> None:
    """A workbook as many county forms are: a 汇总 summary sheet first, then the schools under a
    two-row header (在校生数（人） merged over 小学/初中/高中, 班数（个） over 小学/初中, the other
    headers merged down over both rows), a title above it and a 合计 row below."""
    book = xlsxwriter.Workbook(path, {"strings_to_numbers": False})
    summary = book.add_worksheet("汇总")
    summary.write_row(0, 0, ["县区代码", "学校数", "小学在校生数", "初中在校生数"])
    summary.write_row(1, 0, ["(全部)", str(len(body)), "", ""])
    sheet = book.add_worksheet("学校情况")
    sheet.merge_range(0, 0, 0, len(headers) - 1, title)
    stage_words = {"primary": "小学", "junior": "初中", "senior": "高中"}
    spans: dict[str, list[int]] = {}
    for c, column in enumerate(columns):
        stage, _, rest = column.partition("_")
        parent = {"students": "在校生数（人）", "classes": "班数（个）"}.get(rest)
        if parent and stage in stage_words:
            spans.setdefault(parent, []).append(c)
            sheet.write_string(2, c, stage_words[stage])
        else:
            sheet.merge_range(1, c, 2, c, headers[c])
    for parent, span in spans.items():
        sheet.merge_range(1, min(span), 1, max(span), parent)
    numeric = {i for i, h in enumerate(headers) if "在校生" in h or "班数" in h or "万元" in h}
    for r, row in enumerate(body, start=3):
        for c, cell in enumerate(row):
            try:
                if c in numeric and cell:
                    sheet.write_number(r, c, float(cell))
                    continue
            except ValueError:
                pass  # a planted bad value stays text
            sheet.write_string(r, c, cell)
    sheet.write_string(3 + len(body), 0, "合计")
    book.close()


def _xls(path: Path, headers: list[str], body: list[list[str]], title: str) -> None:
    """The same sheet in the .xls format older WPS and Excel versions save."""
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("学校情况")
    for r, c, value in _excel_cells(headers, body, title):
        sheet.write(r, c, value)
    book.save(str(path))


def write_messy_year(
    census: pl.DataFrame,
    folder: Path,
    year: int,
    year_index: int,
    rng: np.random.Generator,
    protected: set[str] = frozenset(),  # type: ignore[assignment]
) -> tuple[list[dict], list[dict]]:
    """Write one census year in its shape with planted defects and blank cells; return their truth."""
    frame, planted, blanks = plant_defects(census, rng, set(protected))
    shape = SHAPES[year_index % len(SHAPES)]
    files: dict[str, str] = {}
    for (code,), part in frame.group_by(["_prefecture"], maintain_order=True):
        part = part.drop("_prefecture")
        code = str(code)
        title = f"{year}年 义务教育学校基本情况表 ({code})"
        if shape == "gbk_csv_chinese":
            path = folder / f"{year}年{code}学校基本情况.csv"
            _csv_as_saved_from_excel(path, *_chinese(part, rng), "gbk", title)
        elif shape == "xlsx_chinese_wan":
            # the first prefecture still saves .xls (books in 万册), the second a two-row header
            # behind a 汇总 sheet, the others one header row
            n = len(set(files.values()))
            path = folder / f"{year}年{code}学校基本情况.{'xls' if n == 0 else 'xlsx'}"
            headers, body = _chinese(part, rng, books_in_wan=n == 0)
            if n == 1:
                _xlsx_two_row_header(path, headers, body, title, _columns(part))
            else:
                (_xls if n == 0 else _xlsx)(path, headers, body, title)
        elif shape == "utf8_csv_english":
            path = folder / f"census_{year}_{code}.csv"
            _csv(path, *_english(part), "utf-8-sig")
        else:
            path = folder / f"census_{year}_{code}.parquet"
            headers, body = _english(part)
            pl.DataFrame(body, schema=headers, orient="row").write_parquet(path)
        for school_id in part["school_id"].to_list():
            files.setdefault(school_id, path.name)
    first = folder / min(files.values())
    (folder / f"~${first.name}").write_bytes(b"\x00" * 162)  # the workbook is open on a clerk's desk
    for defect in [*planted, *blanks]:
        defect["source_file"] = f"{year}/{files[defect['school_id']]}"
        defect["census_year"] = year
        defect["shape"] = shape
    return planted, blanks
