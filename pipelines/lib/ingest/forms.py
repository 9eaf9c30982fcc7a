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

from contracts import yaml_files
from contracts.code_lists import stages_taught
from contracts.headers import header_key, normalise_text, school_type_names
from pipelines.lib.ingest.readers import RawExtract, ReadError
from pipelines.lib.paths import REPO_ROOT

LAYOUTS_DIR = REPO_ROOT / "contracts" / "layouts"
FORM_SEARCH = re.compile(r"(教基|基础基)\s*\d{3,4}\s*续?")
"""A base form's name within a sheet's name: 教基3112, 教基1102续, 基础基312."""
_SEPARATORS = re.compile(r"[\s()（）\[\]【】\-_—－·.、,，]+")
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
            spec = yaml_files.safe_load(f)
        out.append(Layout(str(spec["layout_id"]), str(spec["identity_form"]), dict(spec["forms"])))
    return tuple(out)


def _key(text: object) -> str:
    return _PREFIX.sub("", header_key(str(text))) if text is not None else ""


def form_of(sheet_name: str) -> str | None:
    """The form a sheet is named after (教基3112), or None for another sheet."""
    found = FORM_SEARCH.search(normalise_text(sheet_name))
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


def schools_of(sheet_names: list[str]) -> dict[str, dict[str, str]]:
    """The workbook's form sheets grouped by school: {school key: {form: sheet}}. One school's
    workbook names its sheets after the forms alone; a workbook of many schools tells them apart by
    what follows or precedes the form's number: the copy numbers Excel gives when sheets are moved
    between workbooks (教基1001 (2)), or the school's name (教基1001-城关小学, 城关小学_教基1001)."""
    out: dict[str, dict[str, str]] = {}
    for sheet in sheet_names:
        text = normalise_text(sheet)
        found = FORM_SEARCH.search(text)
        if not found:
            continue
        form = re.sub(r"\s+", "", found.group(0))
        key = _SEPARATORS.sub("", text[: found.start()] + text[found.end() :])
        forms = out.setdefault(key, {})
        if form in forms:
            raise ReadError(f"两张工作表都是 {form}：“{forms[form]}”和“{sheet}” / two sheets are form {form}")
        forms[form] = sheet
    return out


def read_forms(path: Path, name: str) -> RawExtract:
    """A workbook of base forms (one school's, or many schools' told apart by their sheet names)
    as an extract of one row per school under canonical column names (with the form's unit): the
    form and cell of every value in `cells`, the school's identity sheet in `rows`, and the words of
    each value's form, row and column in `labels`."""
    grids = _grids(path, name)
    try:
        schools = schools_of(list(grids))
    except ReadError as exc:
        raise ReadError(f"{name}: {exc}") from None
    forms = {form for group in schools.values() for form in group}
    layout = next((lay for lay in layouts() if forms <= set(lay.forms)), None)
    if layout is None:
        known = {f for lay in layouts() for f in lay.forms}
        unknown = "、".join(sorted(forms - known))
        raise ReadError(
            f"{name}: 报表 {unknown} 的格式尚未收录（contracts/layouts/） / the layout of form(s) {unknown} "
            "is not known yet (contracts/layouts/): this workbook cannot be read"
        )
    records: list[dict[str, object]] = []
    cells: dict[tuple[int, str], str] = {}
    rows: dict[int, str] = {}
    headers: dict[str, str] = {}
    labels: dict[str, str] = {}
    for number, (key, sheets) in enumerate(
        sorted(schools.items(), key=lambda kv: _sheet_order(grids, kv[1])), 1
    ):
        which = f"（工作表 {'、'.join(sheets.values())}）" if len(schools) > 1 else ""
        if layout.identity_form not in sheets:
            raise ReadError(
                f"{name}: 缺少学校基本情况表 {layout.identity_form}{which} / the workbook has no "
                f"{layout.identity_form} (the school's identity){' for sheets ' + key if key else ''}: "
                "it cannot be read"
            )
        values, where = _school(layout, sheets, grids, name, which, headers, labels)
        records.append(values)
        cells |= {(number, headers[c]): cell for c, cell in where.items()}
        rows[number] = sheets[layout.identity_form]
    frame = pl.DataFrame(
        {h: [_text(record.get(c)) for record in records] for c, h in headers.items()},
        schema=dict.fromkeys(headers.values(), pl.String),
    ).with_columns(pl.int_range(1, len(records) + 1, dtype=pl.Int64).alias("source_row"))
    many = f"，{len(records)} 所学校 / {len(records)} schools" if len(records) > 1 else ""
    return RawExtract(
        frame,
        "xlsx",
        sheet=rows[1],
        preamble=list(grids),
        note=f"按 {layout.layout_id} 报表格式读取{many} / read as {layout.layout_id} forms",
        cells=cells,
        rows=rows,
        labels=labels,
    )


def _sheet_order(grids: dict[str, list[list[object]]], sheets: dict[str, str]) -> int:
    """Schools in the order their first sheet has in the workbook."""
    order = list(grids)
    return min(order.index(s) for s in sheets.values())


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _school(
    layout: Layout,
    sheets: dict[str, str],
    grids: dict[str, list[list[object]]],
    name: str,
    which: str,
    headers: dict[str, str],
    labels: dict[str, str],
) -> tuple[dict[str, object], dict[str, str]]:
    """One school's values by canonical column, and the sheet and cell each was read from.
    `headers` (canonical column -> header with the form's unit) and `labels` (header -> the
    form's words for it) are filled in as columns are met."""
    values: dict[str, object] = {}
    where: dict[str, str] = {}
    identity = layout.identity_form
    sheet = sheets[identity]
    for column, spec in layout.forms[identity]["fields"].items():
        found = _field(grids[sheet], spec["label"])
        if found is None:
            raise ReadError(
                f"{name}: {identity} 找不到“{spec['label']}”{which} / {identity} has no field '{spec['label']}'"
            )
        values[column], r, c = found
        where[column] = f"{sheet}!{_address(r, c)}（{spec['label']}）"
        headers.setdefault(column, column)
        labels.setdefault(column, f"{identity}（{spec['label']}）")
    type_code = normalise_text(str(values.get("school_type_code") or ""))
    type_code = school_type_names().get(type_code, type_code)
    taught = set(stages_taught().get(type_code, []))
    for form, spec in layout.forms.items():
        if form == identity:
            continue
        needed = spec.get("stage") is None or spec.get("stage") in taught
        for column, cell in spec.get("cells", {}).items():
            unit = cell.get("unit")
            header = headers.setdefault(column, f"{column}({unit})" if unit else column)
            labels.setdefault(header, f"{form}（{cell['row']}·{cell['column']}）")
        if form not in sheets:
            if needed:
                raise ReadError(
                    f"{name}: 缺少报表 {form}（{spec.get('title', '')}）{which} / the workbook has no form "
                    f"{form} ({spec.get('title', '')}), which a school of type {type_code} fills in"
                )
            for column in spec["cells"]:  # a stage the school does not teach
                values[column], where[column] = 0, f"{form}（未填报 / not filed）"
            continue
        sheet = sheets[form]
        for column, cell in spec["cells"].items():
            located = _cell(grids[sheet], cell["row"], cell["column"])
            stage_of_row = column.split("_")[0]
            if isinstance(located, str):
                if stage_of_row in ("primary", "junior", "senior") and stage_of_row not in taught:
                    values[column], where[column] = 0, f"{form}（无此学段 / no such stage）"
                    continue
                if cell.get("optional"):  # an optional column the form does not carry: unknown
                    values[column], where[column] = None, f"{form}（表中无此项 / not on the form）"
                    continue
                raise ReadError(f"{name}: {sheet} 找不到{located}{which} (for {column})")
            values[column], r, c = located
            where[column] = f"{sheet}!{_address(r, c)}（{cell['row']}·{cell['column']}）"
    return values, where
