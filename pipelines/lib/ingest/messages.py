"""Rejection messages for the clerk who made the file: the header as they typed it, the row as
Excel or the text editor numbers it, the value, and the rule in plain Chinese with English beside
it (the words are contracts/check_messages.yaml). One line each; no JSON, no code lists.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

import contracts
from contracts import yaml_files

MESSAGES_FILE = Path(contracts.__file__).resolve().parent / "check_messages.yaml"
_CHECK_NAME = re.compile(r"^(\w+)")


@cache
def check_words() -> dict[str, Any]:
    with open(MESSAGES_FILE, encoding="utf-8") as f:
        return dict(yaml_files.safe_load(f))


def check_kind(check: str) -> str:
    """A pandera check's name without its arguments: isin(['900101', ...]) -> isin."""
    found = _CHECK_NAME.match(check)
    return found.group(1) if found else check


Where = Callable[[int, str | None], tuple[str, str]]
"""How a message names a row, or a cell of it: 第12行 在校生数, or 教基5176!C3（运动场地面积·数量）."""


def plain_messages(rejected: pl.DataFrame, header_of: Callable[[str], str], place: Where) -> pl.DataFrame:
    """`rejected` (audit.rejected_rows rows of one file) with messages in plain words, the
    `check` of a code-list rule without its list, and the values a row rule compares as `value`.
    `place` names rows and cells (MappedHeaders.where: the row and the header as typed, or a
    form workbook's sheet and cell)."""
    if rejected.is_empty():
        return rejected
    others = _other_rows(rejected)
    rows = []
    for r in rejected.iter_rows(named=True):
        r = dict(r)
        kind = check_kind(r["check"])
        if kind in ("dtype", "scientific_notation"):  # already in plain words; say the header
            zh, en = place(r["source_row"], r["column"])
            typed_zh = f"{r['source_file']} 第{r['source_row']}行 {r['column']}: "
            typed_en = f"{r['source_file']} row {r['source_row']} {r['column']}: "
            r["message_zh"] = r["message_zh"].replace(typed_zh, f"{r['source_file']} {zh}: ", 1)
            r["message_en"] = r["message_en"].replace(typed_en, f"{r['source_file']} {en}: ", 1)
        elif r["column"] == "(row)":
            r.update(_row_rule(r, header_of, place))
        else:
            r.update(_column_rule(r, kind, place, others.get((r["check"], r["value"]), [])))
        if kind == "isin":
            r["check"] = "isin"
        rows.append(r)
    return pl.DataFrame(rows, schema=rejected.schema)


def _other_rows(rejected: pl.DataFrame) -> dict[tuple[str, str], list[int]]:
    """Rows sharing a repeated value, for 与第 N 行重复."""
    repeated = rejected.filter(pl.col("check") == "field_uniqueness")
    found: dict[tuple[str, str], list[int]] = {}
    for r in repeated.iter_rows(named=True):
        found.setdefault((r["check"], r["value"]), []).append(int(r["source_row"]))
    return found


def _where(r: dict, place: Where, column: str | None = None) -> tuple[str, str]:
    zh, en = place(r["source_row"], column)
    return f"{r['source_file']} {zh}", f"{r['source_file']} {en}"


def _column_rule(r: dict, kind: str, place: Where, same: list[int]) -> dict:
    spec = check_words()["columns"].get(kind)
    if spec is None:
        return {}
    words = spec.get(r["column"]) or spec["default"]
    other = min((row for row in same if row != r["source_row"]), default=r["source_row"])
    zh, en = (words[lang].format(other_row=other) for lang in ("zh", "en"))
    shown = "（空）" if r["value"] in (None, "None") else f"'{r['value']}'"
    shown_en = "(blank)" if r["value"] in (None, "None") else f"'{r['value']}'"
    where_zh, where_en = _where(r, place, r["column"])
    return {
        "message_zh": f"{where_zh}: {shown} {zh}",
        "message_en": f"{where_en}: {shown_en} {en}",
    }


def _row_rule(r: dict, header_of: Callable[[str], str], place: Where) -> dict:
    """A rule across the columns of one row, said with the file's headers and the values compared."""
    try:
        values = json.loads(r["value"]) if r["value"] else {}
    except json.JSONDecodeError:
        values = {}
    for rule in check_words()["rows"]:
        found = re.match(rule["pattern"], r["check"])
        if not found:
            continue
        columns = {k: v for k, v in found.groupdict().items() if k != "stage"}
        fill: dict[str, object] = {k: header_of(column) for k, column in columns.items()}
        fill |= {f"{k}_value": values.get(column) for k, column in columns.items()}
        fill["school_type_code_value"] = values.get("school_type_code")
        where_zh, where_en = _where(r, place)
        compared = "; ".join(f"{column}={values.get(column)}" for column in columns.values())
        return {
            "message_zh": f"{where_zh}: {rule['zh'].format(**fill)}",
            "message_en": f"{where_en}: {rule['en'].format(**fill)}",
            "value": compared,
        }
    where_zh, where_en = _where(r, place)  # a rule without words yet: its name, never the row's dump
    return {
        "message_zh": f"{where_zh}: {r['check']}",
        "message_en": f"{where_en}: {r['check']}",
        "value": None,
    }
