"""Reading a report page's citations and checking each one against the warehouse.

A page marks every figure it shows with the row and column it came from
(pipelines/lib/outputs/reports/facts.py): `<span data-row="r3" data-col="cv" data-fmt="cv">0.765</span>`,
and a JSON block maps row ids to a table and key. `page_claims` reads them; `check_claims` looks
each one up in the warehouse and says, in a list of problems, where a page says something the
warehouse does not:

- a number must be the column's value, rounded as shown: the text is parsed back to a number and
  may differ from the value by at most half its last shown digit (a percentage is ×100);
- a year or count must be the value exactly; a dash must be a null;
- a word (a verdict, a stage, a severity, an indicator name) must be the glossary's word for the
  value; a stored sentence (data-fmt "sentence", an alert's message) must be the column's text.

`uncited_digits` lists the digits a page shows outside any citation (and outside what the page
marks as fixed text, class "static", and chart axes): a number with no source.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import duckdb

from pipelines.lib.outputs.reports.facts import FACTS_ELEMENT_ID
from pipelines.lib.sentences import NONE, NUMBER_FORMATS, Words, format_value

VOID = {
    "meta",
    "br",
    "img",
    "input",
    "link",
    "hr",
    "col",
    "area",
    "base",
    "wbr",
    "source",
    "path",
    "line",
    "rect",
    "circle",
}
NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?")
EXACT = {"int", "year"}


@dataclass
class Claim:
    page: str
    row: str
    column: str
    fmt: str
    text: str


@dataclass
class Page:
    path: Path
    claims: list[Claim] = field(default_factory=list)
    tables: dict[str, list[str]] = field(default_factory=dict)
    rows: dict[str, list[Any]] = field(default_factory=dict)
    uncited: list[str] = field(default_factory=list)  # visible text with digits outside any claim
    lists: list[tuple[str, int]] = field(default_factory=list)  # (data-list, rows) of school lists


class _Reader(HTMLParser):
    """Collects citations (with their full text), the facts block, and uncited visible text."""

    def __init__(self, page: Page):
        super().__init__(convert_charrefs=True)
        self.page = page
        self.stack: list[dict[str, Any]] = []  # open elements: tag, attrs, text parts, flags
        self.facts_text: list[str] = []

    def _flags(self) -> tuple[bool, bool, bool]:
        cited = any("data-col" in e["attrs"] for e in self.stack)
        static = any(
            "static" in (e["attrs"].get("class") or "").split()
            or e["tag"] in ("style", "title", "head")
            or (e["tag"] == "text" and "data-col" not in e["attrs"] and e["in_svg"])
            for e in self.stack
        )
        facts = any(e["attrs"].get("id") == FACTS_ELEMENT_ID for e in self.stack)
        return cited, static, facts

    def handle_starttag(self, tag: str, attrs_list: list) -> None:
        attrs = dict(attrs_list)
        in_svg = tag == "svg" or any(e["in_svg"] for e in self.stack)
        element = {"tag": tag, "attrs": attrs, "text": [], "in_svg": in_svg, "rows": 0}
        if tag == "tr" and "school" in (attrs.get("class") or "").split():
            for e in reversed(self.stack):
                if e["tag"] == "table" and "data-list" in e["attrs"]:
                    e["rows"] += 1
                    break
        if tag in VOID:
            return
        self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs_list: list) -> None:
        pass

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            element = self.stack.pop()
            if "data-col" in element["attrs"]:
                a = element["attrs"]
                self.page.claims.append(
                    Claim(
                        str(self.page.path.name),
                        a["data-row"],
                        a["data-col"],
                        a.get("data-fmt", "text"),
                        "".join(element["text"]),
                    )
                )
            if element["tag"] == "table" and "data-list" in element["attrs"]:
                self.page.lists.append((element["attrs"]["data-list"], element["rows"]))
            if element["tag"] == tag:
                break

    def handle_data(self, data: str) -> None:
        cited, static, facts = self._flags()
        if facts:
            self.facts_text.append(data)
            return
        for element in self.stack:
            element["text"].append(data)
        if not cited and not static and re.search(r"\d", data):
            self.page.uncited.append(data.strip())


def read_page(path: Path) -> Page:
    page = Page(path)
    reader = _Reader(page)
    reader.feed(path.read_text(encoding="utf-8"))
    reader.close()
    block = json.loads("".join(reader.facts_text))
    page.tables, page.rows = block["tables"], block["rows"]
    return page


class Warehouse:
    """The tables pages cite, read once each, by key."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self.cache: dict[str, dict[tuple, dict[str, Any]]] = {}

    def row(self, table: str, key_columns: list[str], key: list[Any]) -> dict[str, Any] | None:
        if table not in self.cache:
            result = self.con.execute(f"select * from {table}")
            names = [d[0] for d in result.description]
            rows = [dict(zip(names, values, strict=True)) for values in result.fetchall()]
            self.cache[table] = {tuple(_norm(r[c]) for c in key_columns): r for r in rows}
        return self.cache[table].get(tuple(_norm(v) for v in key))


def _norm(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _number_matches(text: str, value: Any, fmt: str) -> bool:
    shown = text.strip()
    if shown == NONE:
        return value is None or (isinstance(value, float) and not math.isfinite(value))
    if value is None:
        return False
    match = NUMBER.search(shown)
    if match is None:
        return False
    number = float(match.group().replace(",", ""))
    expected = float(value) * (100 if fmt in ("pct", "pct1") else 1)
    if fmt in EXACT:
        return number == expected
    decimals = len(match.group().split(".")[1]) if "." in match.group() else 0
    return abs(number - expected) <= 0.5 * 10**-decimals + 1e-9 * max(1.0, abs(expected))


def check_claims(pages: list[Page], warehouse: Warehouse, words: Words) -> list[str]:
    """Every claim of every page against the warehouse; the problems found, one line each."""
    problems = []
    for page in pages:
        for claim in page.claims:
            table, key = page.rows[claim.row]
            row = warehouse.row(table, page.tables[table], key)
            where = f"{page.path.name}: {table} {key} .{claim.column} ({claim.fmt}) shows {claim.text!r}"
            if row is None:
                problems.append(f"{where}: no such row")
                continue
            if claim.column not in row:
                problems.append(f"{where}: no such column")
                continue
            value = row[claim.column]
            if claim.fmt in NUMBER_FORMATS and claim.fmt != "date":
                ok = _number_matches(claim.text, value, claim.fmt)
            elif claim.fmt == "sentence":
                ok = claim.text == (value or "")
            else:
                ok = claim.text == format_value(row, claim.column, claim.fmt, words)
            if not ok:
                problems.append(f"{where}, the warehouse has {value!r}")
    return problems
