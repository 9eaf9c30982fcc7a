"""Everything the reports show, read from the (published, read-only) warehouse in one pass.

Each statement of models/queries/reports.sql reads one table; its rows become `Row`s that remember
that table and their key (the sidecar's unique_key), so the page can say where every figure came
from (facts.py). Rows are split per county in Python afterwards, so 60 county pages cost a dozen
queries, not 60 × a dozen. Values are bound as parameters.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from pipelines.lib.catalog import table_doc
from pipelines.lib.monitoring.messages import Templates
from pipelines.lib.queries import sql
from pipelines.lib.sentences import Words, read_words
from pipelines.lib.warehouse import connect, table_exists

REQUIRED_TABLES = (
    "marts.dim_counties",
    "marts.certifications",
    "marts.standards",
    "marts.standard_indicators",
    "marts.alert_settings",
    "marts.alert_severities",
    "marts.alert_rules",
    "marts.alert_messages",
    "marts.dim_school_types",
    "marts.county_balance",
    "marts.county_indicator_cv",
    "marts.school_compliance",
    "monitoring.county_trends",
    "monitoring.school_drivers",
    "monitoring.backsliding_alerts",
    "monitoring.county_data_status",
    "monitoring.county_alert_status",
    "monitoring.county_verdict_runs",
    "monitoring.standard_summary",
    "monitoring.severity_summary",
    "monitoring.year_summary",
    "monitoring.what_if_plans",
    "monitoring.what_if_schools",
)


class Row(dict):
    """One warehouse row (column -> value) that knows its table and key, for citing it."""

    def __init__(self, relation: str, key: tuple[str, ...], values: dict[str, Any]):
        super().__init__(values)
        self.relation = relation
        self.key_columns = key

    @property
    def key(self) -> dict[str, Any]:
        return {column: self[column] for column in self.key_columns}

    def __getattr__(self, name: str) -> Any:  # row.column in templates
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def read_rows(
    con: duckdb.DuckDBPyConnection, relation: str, statement: str, params: dict | None = None
) -> list[Row]:
    """The rows of a statement that reads `relation`, each citing that table and its key."""
    key = tuple(table_doc(relation).unique_key)
    result = con.execute(sql(statement), params or {})
    names = [d[0] for d in result.description]
    return [Row(relation, key, dict(zip(names, values, strict=True))) for values in result.fetchall()]


def by_county(rows: Iterable[Row]) -> dict[str, list[Row]]:
    """Rows per county_code (one pass, instead of one query per county)."""
    out: dict[str, list[Row]] = {}
    for row in rows:
        out.setdefault(str(row["county_code"]), []).append(row)
    return out


def index(rows: Iterable[Row], *columns: str) -> dict[tuple, Row]:
    """Rows by the values of some columns (the caller knows they are unique)."""
    return {tuple(row[c] for c in columns): row for row in rows}


def group(rows: Iterable[Row], *columns: str) -> dict[tuple, list[Row]]:
    """Rows by the values of some columns, in their order."""
    out: dict[tuple, list[Row]] = {}
    for row in rows:
        out.setdefault(tuple(row[c] for c in columns), []).append(row)
    return out


@dataclass(frozen=True)
class ReportData:
    census_year: int
    years: list[int]  # loaded census years up to census_year, ascending
    words: Words
    templates: Templates
    counties: list[Row]  # marts.dim_counties
    provinces: list[Row]
    standards: list[Row]
    indicators: list[Row]  # marts.standard_indicators, in each standard's order
    settings: dict[str, Row]  # marts.alert_settings by setting_id
    school_types: dict[str, Row]
    urban_rural: dict[str, Row]
    balance: list[Row]  # marts.county_balance, years up to census_year
    ranking: list[Row]  # marts.county_balance of census_year, in ranking order
    indicator_cv: list[Row]  # marts.county_indicator_cv, years up to census_year
    trends: list[Row]  # monitoring.county_trends, census_year
    alerts: list[Row]  # monitoring.backsliding_alerts, census_year, worst first
    drivers: list[Row]  # monitoring.school_drivers, census_year, the top schools
    school_checks: list[Row]  # marts.school_compliance sections failing a check or undecided
    data_status: list[Row]
    alert_status: list[Row]  # monitoring.county_alert_status
    verdict_runs: list[Row]
    standard_summary: list[Row]
    severity_summary: list[Row]
    year_summary: Row
    what_if_plans: list[Row]
    what_if_schools: list[Row]
    revisions: list[Row]
    checklist: list[Row] = field(default_factory=list)  # marts.county_checklist, census_year

    @property
    def standard_ids(self) -> list[str]:
        return [str(r["standard_id"]) for r in self.standards]

    @property
    def stage_ids(self) -> list[str]:
        """Stages in the order the standards list them (primary, then junior)."""
        return list(dict.fromkeys(str(r["stage"]) for r in self.standard_summary))


def _years(con: duckdb.DuckDBPyConnection) -> list[int]:
    rows = con.execute(sql("reports/loaded_years")).fetchall()
    return [int(r[0]) for r in rows]


def read_report_data(
    database: Path, census_year: int | None = None, county_code: str | None = None
) -> ReportData:
    """Read the report's tables for one census year (None: the latest loaded year).

    Raises ValueError (Chinese and English) for a missing database or table, an unknown year or
    an unknown county.
    """
    if not Path(database).is_file():
        raise ValueError(f"找不到数据库文件 {database} / warehouse file not found: {database}")
    with connect(Path(database), read_only=True) as con:
        missing = [t for t in REQUIRED_TABLES if not table_exists(con, *t.split("."))]
        if missing:
            raise ValueError(
                f"数据库缺少数据表 {', '.join(missing)}，请先运行数据流程（junheng run） / "
                f"the warehouse lacks {', '.join(missing)}: run the pipeline first (junheng run)"
            )
        loaded = _years(con)
        if not loaded:
            raise ValueError("数据库中还没有任何普查年度的数据 / the warehouse has no census year loaded yet")
        year = loaded[-1] if census_year is None else int(census_year)
        if year not in loaded:
            raise ValueError(
                f"数据库中没有 {year} 年的数据（已载入：{loaded[0]}–{loaded[-1]}） / "
                f"census year {year} is not in the warehouse (loaded: {', '.join(map(str, loaded))})"
            )
        counties = read_rows(con, "marts.dim_counties", "reports/counties")
        if county_code is not None and county_code not in {r["county_code"] for r in counties}:
            raise ValueError(
                f"未知的县区代码 {county_code}（marts.dim_counties 中没有） / "
                f"unknown county code {county_code!r} (not in marts.dim_counties)"
            )
        y = {"census_year": year}

        def rows(relation: str, statement: str, params: dict | None = None) -> list[Row]:
            return read_rows(con, relation, statement, params)

        return ReportData(
            census_year=year,
            years=[v for v in loaded if v <= year],
            words=read_words(con),
            templates=Templates.from_warehouse(con),
            counties=counties,
            provinces=rows("marts.dim_counties", "reports/provinces"),
            standards=rows("marts.standards", "reports/standards"),
            indicators=rows("marts.standard_indicators", "reports/indicators"),
            settings={r["setting_id"]: r for r in rows("marts.alert_settings", "reports/settings")},
            school_types={
                r["school_type_code"]: r for r in rows("marts.dim_school_types", "reports/school_types")
            },
            urban_rural=(
                {r["urban_rural_code"]: r for r in rows("marts.dim_urban_rural", "reports/urban_rural")}
                if table_exists(con, "marts", "dim_urban_rural")
                else {}
            ),
            balance=rows("marts.county_balance", "reports/balance", y),
            ranking=rows("marts.county_balance", "reports/ranking", y),
            indicator_cv=rows("marts.county_indicator_cv", "reports/indicator_cv", y),
            trends=rows("monitoring.county_trends", "reports/trends", y),
            alerts=rows("monitoring.backsliding_alerts", "reports/alerts", y),
            drivers=rows("monitoring.school_drivers", "reports/drivers", y),
            school_checks=rows("marts.school_compliance", "reports/school_checks", y),
            data_status=rows("monitoring.county_data_status", "reports/data_status", y),
            alert_status=rows("monitoring.county_alert_status", "reports/alert_status", y),
            verdict_runs=rows("monitoring.county_verdict_runs", "reports/verdict_runs", y),
            standard_summary=rows("monitoring.standard_summary", "reports/standard_summary", y),
            severity_summary=rows("monitoring.severity_summary", "reports/severity_summary", y),
            year_summary=rows("monitoring.year_summary", "reports/year_summary", y)[0],
            what_if_plans=rows("monitoring.what_if_plans", "reports/what_if_plans", y),
            what_if_schools=rows("monitoring.what_if_schools", "reports/what_if_schools", y),
            revisions=rows("audit.revisions", "reports/revisions", y)
            if table_exists(con, "audit", "revisions")
            else [],
            checklist=rows("marts.county_checklist", "reports/checklist", y)
            if table_exists(con, "marts", "county_checklist")
            else [],
        )
