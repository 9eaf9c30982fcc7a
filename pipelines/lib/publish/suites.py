"""What a data-quality suite is and what it found, as plain data: shared by the suites
(pipelines.lib.publish.quality) and their offline Data Docs (pipelines.lib.publish.data_docs)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class SuiteSpec:
    """One suite of the YAML file. params holds the rest of its entry (tables, bounds, notes);
    for unique_keys, load_suites has already read the keys of the sidecars into params["tables"]."""

    name: str
    severity: str
    check: str
    note: str
    title_zh: str = ""
    note_zh: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)


SEVERITY_ZH = {"error": "错误", "warn": "提示"}
"""The suites' severities in Chinese (Data Docs and their index)."""


@dataclass(frozen=True)
class SuiteResult:
    suite: str  # suite name from the YAML
    severity: str  # "error" | "warn"
    success: bool
    evaluated: int  # expectations evaluated
    failures: list[str]  # one plain-English line per failed expectation


@dataclass(frozen=True)
class ExpectationSpec:
    """One expectation as plain data: a great-expectations class name and its arguments, the rule
    in words (for failure lines) and why it holds (from the YAML, shown in Data Docs)."""

    kind: str  # e.g. "ExpectColumnValuesToBeBetween"
    kwargs: Mapping[str, Any]
    rule: str  # e.g. "marts.county_indicator_cv.cv >= 0"
    note: str
    rule_zh: str = ""  # the rule in Chinese, shown first in Data Docs


@dataclass(frozen=True)
class CheckFrame:
    """A frame built with SQL, and the expectations great-expectations validates on it."""

    name: str  # unique within its suite, e.g. the table it describes
    grain: str  # what one row is, for failure lines: "census_year x county_code"
    sql: str
    data: pd.DataFrame | None
    expectations: list[ExpectationSpec]
    id_columns: list[str]  # columns that say which row failed
    error: str | None = None  # the frame could not be built (missing table or column)
