"""Everything the reports show, read from the (published, read-only) warehouse in one pass.

Each table is queried once for the report year (or for all years up to it) and split per county
in Python afterwards, so 60 county pages cost a dozen queries, not 60 × a dozen. Values are
bound as parameters; every result is fetched whole before the next statement (DuckDB 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import duckdb
import polars as pl

from pipelines.lib.outputs.labels import Labels, read_labels
from pipelines.lib.queries import sql
from pipelines.lib.warehouse import connect, query_frame, table_exists

# How many driver schools per indicator the county page lists (monitoring.school_drivers).
TOP_DRIVERS = 3

REQUIRED_TABLES = (
    "marts.dim_counties",
    "marts.certifications",
    "marts.standards",
    "marts.standard_indicators",
    "marts.standard_thresholds",
    "marts.alert_severities",
    "marts.dim_school_types",
    "marts.county_balance",
    "marts.county_indicator_cv",
    "marts.school_compliance",
    "monitoring.county_trends",
    "monitoring.school_drivers",
    "monitoring.backsliding_alerts",
    "monitoring.county_data_status",
)


@dataclass(frozen=True)
class ReportData:
    census_year: int
    years: list[int]  # loaded census years up to census_year, ascending
    labels: Labels
    counties: pl.DataFrame  # marts.dim_counties, by county_code
    certifications: pl.DataFrame
    standards: pl.DataFrame  # marts.standards
    indicators: pl.DataFrame  # marts.standard_indicators
    thresholds: pl.DataFrame  # marts.standard_thresholds
    school_types: dict[str, str]
    urban_rural: dict[str, str]
    balance: pl.DataFrame  # marts.county_balance, years up to census_year
    indicator_cv: pl.DataFrame  # marts.county_indicator_cv, years up to census_year
    trends: pl.DataFrame  # monitoring.county_trends, census_year
    alerts: pl.DataFrame  # monitoring.backsliding_alerts, census_year, worst first
    drivers: pl.DataFrame  # monitoring.school_drivers, census_year, driver_rank <= TOP_DRIVERS
    failing_schools: pl.DataFrame  # marts.school_compliance sections failing a check, census_year
    data_status: pl.DataFrame  # monitoring.county_data_status, census_year
    revisions: pl.DataFrame  # audit.revisions, census years up to census_year (empty before any)

    @property
    def stage_ids(self) -> list[str]:
        """Stages in display order (the order of the labels file), then any others."""
        present = set(self.thresholds["stage"].to_list())
        ordered = [s for s in self.labels.stages if s in present]
        return ordered + sorted(present - set(ordered))

    @property
    def standard_ids(self) -> list[str]:
        return self.standards.sort("standard_id")["standard_id"].to_list()

    @cached_property
    def _cv_rules(self) -> dict[str, str]:
        return {str(r["standard_id"]): str(r["cv_rule"]) for r in self.standards.iter_rows(named=True)}

    @cached_property
    def _thresholds(self) -> dict[tuple[str, str], float]:
        return {
            (str(r["standard_id"]), str(r["stage"])): float(r["cv_threshold"])
            for r in self.thresholds.iter_rows(named=True)
            if r["cv_threshold"] is not None
        }

    def cv_rule(self, standard_id: str) -> str:
        return self._cv_rules.get(standard_id, "composite")

    def threshold(self, standard_id: str, stage: str) -> float | None:
        return self._thresholds.get((standard_id, stage))


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
        counties = query_frame(con, sql("reports/counties"))
        if county_code is not None and county_code not in set(counties["county_code"].to_list()):
            raise ValueError(
                f"未知的县区代码 {county_code}（marts.dim_counties 中没有） / "
                f"unknown county code {county_code!r} (not in marts.dim_counties)"
            )
        y = {"census_year": year}
        standards = query_frame(con, sql("reports/standards"))
        data = ReportData(
            census_year=year,
            years=[v for v in loaded if v <= year],
            labels=read_labels(con),
            counties=counties,
            certifications=query_frame(con, sql("reports/certifications")),
            standards=standards,
            indicators=query_frame(con, sql("reports/indicators")),
            thresholds=query_frame(con, sql("reports/thresholds")),
            school_types=dict(con.execute(sql("reports/school_types")).fetchall()),
            urban_rural=_urban_rural(con),
            balance=query_frame(con, sql("reports/balance"), y),
            indicator_cv=query_frame(con, sql("reports/indicator_cv"), y),
            trends=query_frame(con, sql("reports/trends"), y),
            alerts=query_frame(con, sql("reports/alerts"), y),
            drivers=query_frame(con, sql("reports/drivers"), y | {"top_drivers": TOP_DRIVERS}),
            failing_schools=query_frame(con, sql("reports/failing_schools"), y),
            data_status=query_frame(con, sql("reports/data_status"), y),
            revisions=query_frame(con, sql("reports/revisions"), y)
            if table_exists(con, "audit", "revisions")
            else pl.DataFrame(),
        )
    return data


def _urban_rural(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    if not table_exists(con, "marts", "dim_urban_rural"):
        return {}
    return dict(con.execute(sql("reports/urban_rural")).fetchall())


def by_county(frame: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Split a frame per county_code (one pass, instead of one query per county)."""
    if frame.is_empty():
        return {}
    return {str(key[0]): part for key, part in frame.partition_by("county_code", as_dict=True).items()}
