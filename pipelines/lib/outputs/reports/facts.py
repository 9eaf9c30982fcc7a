"""Citations: every number, year, count and verdict a page shows carries the table, key and column
it came from.

A page cites a warehouse row's column with `facts.cite(row, column, fmt)`: the value written in
the format `fmt` (pipelines/lib/sentences.py), inside

    <span data-row="r12" data-col="composite_cv" data-fmt="cv">0.765</span>

and at the end of the page one inert JSON block (`<script type="application/json">`, never run)
gives each table's key columns and each row id's table and key values:

    {"tables": {"marts.county_balance": ["census_year", "county_code", "stage", "standard_id"], …},
     "rows": {"r12": ["marts.county_balance", [2024, "900221", "primary", "basic_2012"]], …}}

tests/integration/test_claims.py reads every page of the demo's reports and checks each citation
against the warehouse. A sentence template is written the same way (`facts.sentence`), each slot
cited; charts put the same attributes on their SVG text (`facts.attrs`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from markupsafe import Markup, escape

from pipelines.lib.monitoring.messages import Templates, alert_message, what_if_message
from pipelines.lib.outputs.reports.data import Row
from pipelines.lib.sentences import Words, format_value, render

FACTS_ELEMENT_ID = "junheng-facts"


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


class Facts:
    """The rows one page cites (a new one per page)."""

    def __init__(self, words: Words, templates: Templates):
        self.words = words
        self.templates = templates
        self._ids: dict[tuple, str] = {}
        self._tables: dict[str, list[str]] = {}
        self._rows: dict[str, list[Any]] = {}

    def row_id(self, row: Row) -> str:
        values = tuple(_json_value(row[column]) for column in row.key_columns)
        identity = (row.relation, values)
        if identity not in self._ids:
            row_id = f"r{len(self._ids)}"
            self._ids[identity] = row_id
            self._tables.setdefault(row.relation, list(row.key_columns))
            self._rows[row_id] = [row.relation, list(values)]
        return self._ids[identity]

    def attrs(self, row: Row, column: str, fmt: str = "text") -> Markup:
        """The citation attributes, for an element that shows row[column] (an SVG text)."""
        return Markup(f'data-row="{self.row_id(row)}" data-col="{escape(column)}" data-fmt="{escape(fmt)}"')

    def mark(self, row: Row) -> Callable[[str, str, str], str]:
        def mark(column: str, fmt: str, text: str) -> str:
            return f"<span {self.attrs(row, column, fmt)}>{escape(text)}</span>"

        return mark

    def cite(self, row: Row | None, column: str, fmt: str = "text") -> Markup:
        """row[column] written in `fmt`, cited; a dash when there is no row."""
        if row is None:
            return Markup("—")
        return Markup(self.mark(row)(column, fmt, format_value(row, column, fmt, self.words)))

    def sentence(self, template: str, row: Row) -> Markup:
        """A template of the glossary or a page, over one row, every slot cited."""
        return Markup(
            render(template, row, self.words, mark=self.mark(row), literal=lambda t: str(escape(t)))
        )

    def _whole(self, row: Row, column: str, inner: str) -> Markup:
        """A sentence that is itself a stored column (data-fmt "sentence"): the claims test checks
        the whole text against that column, and each figure inside against its own."""
        return Markup(f"<span {self.attrs(row, column, 'sentence')}>{inner}</span>")

    def alert_message(self, alert: Row) -> Markup:
        """The alert's message as the warehouse stores it (message_zh), every figure cited."""
        inner = alert_message(
            alert, self.templates, self.words, mark=self.mark(alert), literal=lambda t: str(escape(t))
        )
        return self._whole(alert, "message_zh", inner)

    def what_if(self, plan: Row, alert: Row | None = None) -> Markup:
        """A plan's what-if, every figure cited from the plan; with `alert`, the whole sentence is
        also checked against the alert's stored what_if_zh."""
        inner = what_if_message(
            plan, self.templates, self.words, mark=self.mark(plan), literal=lambda t: str(escape(t))
        )
        return self._whole(alert, "what_if_zh", inner) if alert is not None else Markup(inner)

    def json(self) -> Markup:
        """The row table, for the page's inert JSON block ("</" cannot end the script early)."""
        text = json.dumps(
            {"tables": self._tables, "rows": self._rows}, ensure_ascii=False, separators=(",", ":")
        )
        return Markup(text.replace("</", "<\\/"))
