"""Per-school workbooks of the statistics system's base forms (教基): one sheet per form.

The layout (which form holds which figure, under which row and column labels, in which unit) is
data: contracts/layouts/*.yaml. A workbook with a sheet named after a form is read here: each
figure is found by its labels, never at a fixed cell, and the school becomes one row under the
canonical column names, with the form and cell each value came from (`RawExtract.cells`), so a
message can say "教基5170 F10". A workbook with a form the layout does not know, or without the
identity form, is refused with the form's name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from contracts.code_lists import stages_taught
from contracts.headers import header_key, normalise_text, school_type_names
from pipelines.lib.ingest.readers import RawExtract, ReadError
from pipelines.lib.paths import REPO_ROOT

LAYOUTS_DIR = REPO_ROOT / "contracts" / "layouts"
FORM_SHEET = re.compile(r"^\s*(教基|基础基)\s*\d{3,4}\s*续?")
"""A sheet named after a base form: 教基3112, 教基1102续, 基础基312 (with any suffix after it)."""
LABEL_COLUMNS = 4  # a row's label is looked for in its first cells
_PREFIX = re.compile(r"^(其中[:：]?|#|\d+[.、])")


@dataclass(frozen=True)
class Layout:
    layout_id: str
    identity_form: str
    forms: dict[str, dict[str, Any]]


@cache
def layouts() -> tuple[Layout, ...]:
    out = []
    for path in sorted(LAYOUTS_DIR.glob("*.yaml")):
        with open(path, encoding="utf-8") as f:
            spec = yaml.safe_load(f)
        out.append(Layout(str(spec["layout_id"]), str(spec["identity_form"]), dict(spec["forms"])))
    return tuple(out)


def _key(text: object) -> str:
    return _PREFIX.sub("", header_key(str(text))) if text is not None else ""


def form_of(sheet_name: str) -> str | None:
    """The form a sheet is named after (教基3112), or None for another sheet."""
    found = FORM_SHEET.match(normalise_text(sheet_name))
    return re.sub(r"\s+", "", found.group(0)) if found else None


def is_form_workbook(sheet_names: list[str]) -> bool:
    return any(form_of(s) for s in sheet_names)


def _address(row: int, column: int) -> str:
    letters = ""
    n = column + 1
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters}{row + 1}"


def _field(grid: list[list[object]], label: str) -> tuple[object, int, int] | None:
    """The value right of a label on a form of label-value pairs: (value, row, column)."""
    wanted = _key(label)
    for r, row in enumerate(grid):
        for c, cell in enumerate(row):
            if _key(cell) == wanted:
                for v in range(c + 1, len(row)):
                    if row[v] is not None and str(row[v]).strip():
                        return row[v], r, v
                return None, r, c + 1
    return None


def _cell(grid: list[list[object]], row_label: str, column_label: str) -> tuple[object, int, int] | str:
    """The value where the labelled row meets the labelled column, or what is missing."""
    wanted_row, wanted_column = _key(row_label), _key(column_label)
    r = next(
        (i for i, row in enumerate(grid) if any(_key(c) == wanted_row for c in row[:LABEL_COLUMNS])), None
    )
    if r is None:
        return f"行“{row_label}” / row '{row_label}'"
    c = next(
        (j for row in grid[:r] for j, cell in enumerate(row) if _key(cell) == wanted_column),
        None,
    )
    if c is None:
        return f"列“{column_label}” / column '{column_label}'"
    return (grid[r][c] if c < len(grid[r]) else None), r, c


def _grids(path: Path, name: str) -> dict[str, list[list[object]]]:
    import openpyxl  # only form workbooks need it

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise ReadError(f"{name}: 文件无法按 Excel 读取 / cannot be read as XLSX: {exc}") from exc
    try:
        return {
            sheet.title: [list(row) for row in sheet.iter_rows(values_only=True)] for sheet in book.worksheets
        }
    finally:
        book.close()


def read_forms(path: Path, name: str) -> RawExtract:
    """One school's base-form workbook as a one-row extract under canonical column names (with
    the form's unit), and the form and cell of every value in `cells`."""
    grids = _grids(path, name)
    forms = {form: sheet for sheet in grids if (form := form_of(sheet))}
    layout = next((lay for lay in layouts() if set(forms) <= set(lay.forms)), None)
    if layout is None:
        known = {f for lay in layouts() for f in lay.forms}
        unknown = "、".join(sorted(set(forms) - known))
        raise ReadError(
            f"{name}: 报表 {unknown} 的格式尚未收录（contracts/layouts/） / the layout of form(s) {unknown} "
            "is not known yet (contracts/layouts/): this workbook cannot be read"
        )
    if layout.identity_form not in forms:
        raise ReadError(
            f"{name}: 缺少学校基本情况表 {layout.identity_form} / the workbook has no {layout.identity_form} "
            "(the school's identity): it cannot be read"
        )
    values: dict[str, object] = {}
    cells: dict[str, str] = {}
    headers: dict[str, str] = {}
    identity = layout.forms[layout.identity_form]
    grid = grids[forms[layout.identity_form]]
    for column, spec in identity["fields"].items():
        found = _field(grid, spec["label"])
        if found is None:
            raise ReadError(
                f"{name}: {layout.identity_form} 找不到“{spec['label']}” / {layout.identity_form} has no "
                f"field '{spec['label']}'"
            )
        value, r, c = found
        values[column], cells[column], headers[column] = (
            value,
            f"{layout.identity_form}!{_address(r, c)}（{spec['label']}）",
            column,
        )
    type_code = normalise_text(str(values.get("school_type_code") or ""))
    type_code = school_type_names().get(type_code, type_code)
    taught = set(stages_taught().get(type_code, []))
    for form, spec in layout.forms.items():
        if form == layout.identity_form:
            continue
        stage = spec.get("stage")
        needed = stage is None or stage in taught
        if form not in forms:
            if needed:
                raise ReadError(
                    f"{name}: 缺少报表 {form}（{spec.get('title', '')}） / the workbook has no form {form} "
                    f"({spec.get('title', '')}), which a school of type {type_code} fills in"
                )
            for column in spec["cells"]:  # a stage the school does not teach
                values[column], cells[column], headers[column] = 0, f"{form}（未填报 / not filed）", column
            continue
        grid = grids[forms[form]]
        for column, cell in spec["cells"].items():
            located = _cell(grid, cell["row"], cell["column"])
            stage_of_row = column.split("_")[0]
            if isinstance(located, str):
                if stage_of_row in ("primary", "junior", "senior") and stage_of_row not in taught:
                    values[column], cells[column], headers[column] = (
                        0,
                        f"{form}（无此学段 / no such stage）",
                        column,
                    )
                    continue
                raise ReadError(f"{name}: {form} 找不到{located} (for {column})")
            value, r, c = located
            values[column], cells[column] = (
                value,
                f"{form}!{_address(r, c)}（{cell['row']}·{cell['column']}）",
            )
            unit = cell.get("unit")
            headers[column] = f"{column}({unit})" if unit else column
    frame = pl.DataFrame(
        {headers[c]: [None if v is None else str(v)] for c, v in values.items()},
        schema=dict.fromkeys((headers[c] for c in values), pl.String),
    ).with_columns(pl.lit(1, pl.Int64).alias("source_row"))  # one school: row 1 of the workbook
    return RawExtract(
        frame,
        "xlsx",
        sheet=forms[layout.identity_form],
        preamble=list(grids),
        note=f"按 {layout.layout_id} 报表格式读取 / read as {layout.layout_id} forms",
        cells={headers[c]: cells[c] for c in values},
    )
