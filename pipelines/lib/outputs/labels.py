"""Chinese words for the warehouse's ids, in one place for every output (reports, Excel).

Stages, standards, the composite, alert statuses and CV rules come from the `labels` of the rules
file (models/rules/*.yaml); a standard it does not name (a provincial variant) falls back to its
full name in marts.standards. Severities come from marts.alert_severities, indicator names from
marts.standard_indicators. An id without a label is shown as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from pipelines.lib.paths import MODELS_DIR
from pipelines.lib.queries import sql
from pipelines.lib.reference.alert_rules import load_rules
from pipelines.lib.warehouse import query_frame, table_exists


@dataclass(frozen=True)
class Labels:
    stages: Mapping[str, str]
    standards: Mapping[str, str]
    composite: str
    severities: Mapping[str, str]
    severity_rank: Mapping[str, int]
    statuses: Mapping[str, str]
    cv_rules: Mapping[str, str]
    unmet_parts: Mapping[str, str]  # marts.county_balance.unmet_parts -> 中文
    indicators: pl.DataFrame  # standard_id, indicator_id, name_zh (with "composite" for each standard)

    def stage(self, stage: str) -> str:
        return self.stages.get(stage, stage)

    def standard(self, standard_id: str) -> str:
        return self.standards.get(standard_id, standard_id)

    def severity(self, severity: str | None) -> str:
        return "" if severity is None else self.severities.get(severity, severity)

    def status(self, status: str) -> str:
        return self.statuses.get(status, status)


def _rows(con: duckdb.DuckDBPyConnection, relation: str, query: str) -> list[tuple]:
    """The rows of a query on `relation`; none when the table is not there (an empty warehouse)."""
    schema, table = relation.split(".")
    return con.execute(query).fetchall() if table_exists(con, schema, table) else []


def read_labels(con: duckdb.DuckDBPyConnection, rules_dir: Path | None = None) -> Labels:
    words = load_rules(rules_dir or MODELS_DIR / "rules").labels
    severities = _rows(con, "marts.alert_severities", sql("outputs/severity_names"))
    standards = _rows(con, "marts.standards", sql("outputs/standard_names"))
    indicators = (
        query_frame(con, sql("outputs/indicator_names"))
        if table_exists(con, "marts", "standard_indicators")
        else pl.DataFrame(schema={"standard_id": pl.String, "indicator_id": pl.String, "name_zh": pl.String})
    )
    composite = str(words["composite"]["zh"])
    composite_rows = pl.DataFrame(
        {
            "standard_id": indicators["standard_id"].unique().sort(),
            "indicator_id": "composite",
            "name_zh": composite,
        }
    )
    return Labels(
        stages=dict(words["stages"]),
        standards={**dict(standards), **dict(words["standards"])},
        composite=composite,
        severities={severity: name for severity, _, name in severities},
        severity_rank={severity: int(rank) for severity, rank, _ in severities},
        statuses=dict(words.get("statuses") or {}),
        cv_rules=dict(words.get("cv_rules") or {}),
        unmet_parts=dict(words.get("unmet_parts") or {}),
        indicators=pl.concat([indicators, composite_rows]).unique(
            ["standard_id", "indicator_id"], keep="first"
        ),
    )
