"""The synthetic province written as base-form workbooks (教基, `--format jiaoji`, or
`jiaoji_county` for one workbook per county holding all its schools' forms).

One workbook per school and census year, one sheet per form of contracts/layouts/jiaoji_2021.yaml,
each figure under the row and column labels the layout names (with a few rows and columns the
reader must pass over, as real forms have). The forms of a stage the school does not teach are
left out. Amounts are written in the units the layout states (教学仪器设备资产值 in 万元), so that
the warehouse loaded from these workbooks equals the one loaded from the canonical files.

The checklist columns (contracts.columns.CHECKLIST_MEASURES: grade enrolment, 随迁子女, certified
teachers) are written where the layout names their cells, for the years that have them.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import xlsxwriter

from contracts.code_lists import load_code_list, stages_taught
from pipelines.lib.ingest.forms import layouts

_EXTRA_ROWS = {"总计": "其中：女", "合计": "其中：女"}  # a row under the total the reader passes over


def _text(value: object) -> object:
    if isinstance(value, bool):
        return "是" if value else "否"
    return value


def _identity_value(column: str, row: dict, type_names: dict[str, str]) -> object:
    value = row[column]
    if column == "county_code":
        return f"{value}000000"  # the 12-digit 行政区划代码 the form carries
    if column == "school_type_code":
        return type_names.get(value, value)
    if column == "ownership":
        return {"public": "公办", "private": "民办"}.get(value, value)
    return _text(value)


def _write_table(sheet, title: str, cells: dict[str, dict], row: dict) -> None:
    """A form table: a title, a header row of column labels (after a 项目 column and an extra
    column), then one row per row label (each followed by an extra 其中 row)."""
    columns = list(dict.fromkeys(spec["column"] for spec in cells.values()))
    rows = list(dict.fromkeys(spec["row"] for spec in cells.values()))
    sheet.write_string(0, 0, title)
    sheet.write_row(1, 0, ["项目", "编号", *columns])
    r = 2
    for label in rows:
        sheet.write_string(r, 0, label)
        sheet.write_number(r, 1, r - 1)
        for c, column_label in enumerate(columns, start=2):
            for column, spec in cells.items():
                if spec["row"] == label and spec["column"] == column_label:
                    value = row.get(column)  # the checklist's columns are absent before 2017
                    if value is None:
                        continue
                    if spec.get("unit") == "万元":
                        value = value / 10_000
                    sheet.write_number(r, c, value)
        r += 1
        if label in _EXTRA_ROWS:
            sheet.write_string(r, 0, _EXTRA_ROWS[label])
            r += 1


def write_form_books(census: pl.DataFrame, folder: Path, census_year: int, by_county: bool = False) -> int:
    """Base-form workbooks of the schools of `census` into `folder`: one per school, or with
    `by_county` one per county holding all its schools' forms, the second school's sheets named as
    Excel names copied sheets (教基1001 (2)). Returns the files written."""
    type_names = {e["code"]: e["name_zh"] for e in load_code_list("school_types")}
    if not by_county:
        for row in census.iter_rows(named=True):
            path = folder / f"{census_year}_{row['school_id']}_{row['school_name']}.xlsx"
            _write_book(path, [row], census_year, type_names)
        return census.height
    counties = census.partition_by("county_code", as_dict=True, maintain_order=True)
    for (county,), schools in counties.items():
        _write_book(folder / f"{census_year}_{county}_基表.xlsx", schools.to_dicts(), census_year, type_names)
    return len(counties)


def _write_book(path: Path, schools: list[dict], census_year: int, type_names: dict[str, str]) -> None:
    layout = layouts()[0]
    taught = stages_taught()
    book = xlsxwriter.Workbook(path, {"strings_to_numbers": False})
    for number, row in enumerate(schools, 1):
        stages = set(taught.get(row["school_type_code"], []))
        for form, spec in layout.forms.items():
            if spec.get("stage") and spec["stage"] not in stages:
                continue
            sheet = book.add_worksheet(form if number == 1 else f"{form} ({number})")
            if "fields" in spec:
                sheet.write_string(0, 0, f"{spec['title']}（{census_year}年）")
                for i, (column, field) in enumerate(spec["fields"].items(), start=2):
                    sheet.write_string(i, 0, field["label"])
                    value = _identity_value(column, row, type_names)
                    if value is None:
                        continue
                    if isinstance(value, str):
                        sheet.write_string(i, 2, value)  # the value two cells right, past a merged gap
                    else:
                        sheet.write_number(i, 2, value)
                continue
            cells = {
                c: s
                for c, s in spec["cells"].items()
                if c.split("_")[0] not in ("primary", "junior", "senior") or c.split("_")[0] in stages
            }
            _write_table(sheet, spec["title"], cells, row)
    book.close()
