"""Expectation suites over the published warehouse, run with great-expectations, and their Data
Docs (HTML) made to work offline.

The suites are data: models/quality/expectations.yaml (a name, a severity, the check that builds
its frames, and every bound with a note). A check is one function below: it runs a statement of
models/queries/quality.sql on the published DuckDB file, opened read-only, and returns small
frames, each with the expectations on it written as plain data (ExpectationSpec). Heavy lifting (grouping millions of school rows) stays
in DuckDB, so great-expectations only ever sees frames of about one row per county-year.
great-expectations then validates every frame and, when asked, writes Data Docs.

great-expectations takes seconds to import, so it is imported inside the functions that need it,
never at module level. Nothing here needs Dagster: the asset checks call run_suites().
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from contracts import yaml_files
from pipelines.lib.catalog import table_docs
from pipelines.lib.loads.run_write import limit_memory
from pipelines.lib.paths import MODELS_DIR
from pipelines.lib.publish.data_docs import (
    check_local_links,
    chinese_first,
    make_offline,
    replace_docs,
    staging_dir,
    write_index,
)
from pipelines.lib.publish.suites import SEVERITY_ZH, CheckFrame, ExpectationSpec, SuiteResult, SuiteSpec
from pipelines.lib.queries import sql

if TYPE_CHECKING:
    import pandas as pd

SEVERITIES = ("error", "warn")
"""error: a broken identity, the figures are wrong (blocking); warn: a soft signal."""

DEFAULT_SUITES_FILE = Path("quality") / "expectations.yaml"
MAX_EXAMPLES = 5
DOCS_SITE_NAME = "junheng_quality"

_TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")
_COLUMN_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class QualityConfigError(ValueError):
    """A suites file that cannot be used; the message names the file, the suite and the problem."""


# --- the suites file ------------------------------------------------------------------------------


def load_suites(path: Path | None = None) -> list[SuiteSpec]:
    """The suites of models/quality/expectations.yaml (or `path`), checked. The keys of the
    unique_keys suite are read from the table sidecars under models/."""
    path = path or MODELS_DIR / DEFAULT_SUITES_FILE
    with open(path, encoding="utf-8") as f:
        document = yaml_files.safe_load(f) or {}
    entries = document.get("suites")
    if not isinstance(entries, list) or not entries:
        raise QualityConfigError(f"{path}: no 'suites' list")
    specs: list[SuiteSpec] = []
    for entry in entries:
        name = str(entry.get("name", ""))
        where = f"{path}: suite '{name}'"
        if not name or any(s.name == name for s in specs):
            raise QualityConfigError(f"{where}: missing or repeated name")
        if entry.get("severity") not in SEVERITIES:
            raise QualityConfigError(f"{where}: severity must be one of {SEVERITIES}")
        if entry.get("check") not in CHECKS:
            raise QualityConfigError(f"{where}: check must be one of {sorted(CHECKS)}")
        if not str(entry.get("note", "")).strip():
            raise QualityConfigError(f"{where}: every suite needs a note saying why")
        if not str(entry.get("title_zh", "")).strip() or not str(entry.get("note_zh", "")).strip():
            raise QualityConfigError(f"{where}: every suite needs title_zh and note_zh (Chinese first)")
        problems = list(_numbers_without_note(entry))
        if problems:
            raise QualityConfigError(f"{where}: {problems[0]}")
        params = {
            k: v
            for k, v in entry.items()
            if k not in ("name", "severity", "check", "note", "title_zh", "note_zh")
        }
        if entry["check"] == "unique_keys":
            params["tables"] = _key_tables(params.get("key_sources", {}), where)
        _check_names(params, where)
        specs.append(
            SuiteSpec(
                name=name,
                severity=entry["severity"],
                check=entry["check"],
                note=" ".join(str(entry["note"]).split()),
                title_zh=str(entry["title_zh"]).strip(),
                note_zh=" ".join(str(entry["note_zh"]).split()),
                params=params,
            )
        )
    return specs


def _numbers_without_note(node: Any, trail: str = "") -> Iterable[str]:
    """Every mapping holding a number directly must say why in a `note`."""
    if isinstance(node, Mapping):
        numbers = [k for k, v in node.items() if isinstance(v, int | float) and not isinstance(v, bool)]
        if numbers and not str(node.get("note", "")).strip():
            yield f"{trail or 'entry'} holds {numbers} without a note saying why"
        for key, value in node.items():
            yield from _numbers_without_note(value, f"{trail}.{key}" if trail else str(key))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _numbers_without_note(item, f"{trail}[{i}]")


def _key_tables(key_sources: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
    """(table, key, note) for every table of the listed schemas: the unique_key of its sidecar,
    the one place a key is stated."""
    tables: list[dict[str, Any]] = []
    for schema in key_sources.get("from_sidecars", []):
        # a view's rows are its stored table's, joined on the keys of tables checked themselves
        docs = [doc for doc in table_docs() if doc.schema == schema and not doc.view]
        if not docs:
            raise QualityConfigError(f"{where}: no sidecars under models/{schema}/")
        for doc in docs:
            note = f"unique_key of models/{schema}/{doc.table}.yml; grain: {doc.grain}"
            tables.append({"table": doc.relation, "key": list(doc.unique_key), "note": note})
    for item in tables:
        bad = [c for c in item["key"] if not _COLUMN_NAME.match(c)]
        if bad:
            raise QualityConfigError(f"{where}: {item['table']} key has bad column names {bad}")
    return tables


def _check_names(params: Mapping[str, Any], where: str) -> None:
    """Table and column names must look like ones (a typo fails here, naming the suite, rather
    than in DuckDB); every range needs columns and a bound."""
    tables = [item["table"] if isinstance(item, Mapping) else str(item) for item in params.get("tables", [])]
    columns: list[str] = []
    for item in params.get("ranges", []):
        tables.append(str(item.get("table")))
        columns.extend(item.get("columns") or [])
        if not item.get("columns") or ("min" not in item and "max" not in item):
            raise QualityConfigError(f"{where}: range on {item.get('table')} needs columns and a min or max")
    for band in params.get("bands", []):
        tables.extend(str(t) for t in band.get("tables", []))
    for table in tables:
        if not _TABLE_NAME.match(table):
            raise QualityConfigError(f"{where}: '{table}' is not a schema.table name")
    for column in columns:
        if not _COLUMN_NAME.match(str(column)):
            raise QualityConfigError(f"{where}: '{column}' is not a column name")


# --- frames: one function per check, SQL visible --------------------------------------------------


def _query(con: duckdb.DuckDBPyConnection, statement: str, params: Mapping[str, object]) -> pd.DataFrame:
    """The result as a pandas frame (great-expectations' pandas batches). DuckDB 2 wants every
    result fetched in full before the next statement: .df() does that."""
    frame = con.execute(statement, dict(params)).df()
    # great-expectations' pair and map checks fail on pandas' NA ("boolean value of NA is
    # ambiguous"): nullable integers become floats with NaN, nullable booleans objects with None
    for column, dtype in frame.dtypes.items():
        if dtype.name.startswith(("Int", "UInt")):
            frame[column] = frame[column].astype("float64")
        elif dtype.name == "boolean":
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    return frame


def _shown(statement: str, params: Mapping[str, object]) -> str:
    """The statement as Data Docs show it: its parameters' values first, then the SQL."""
    values = [f"-- ${name} = {value!r}" for name, value in params.items()]
    return "\n".join([*values, statement])


def _frame(
    con: duckdb.DuckDBPyConnection,
    *,
    name: str,
    grain: str,
    statement: str,
    params: Mapping[str, object],
    id_columns: list[str],
    expectations: list[ExpectationSpec],
) -> CheckFrame:
    """Run the frame's statement (models/queries/quality.sql); a missing table or column makes a
    frame that fails with the reason."""
    shown = _shown(statement, params)
    try:
        data = _query(con, statement, params)
    except duckdb.Error as exc:
        first_line = str(exc).splitlines()[0]
        return CheckFrame(
            name, grain, shown, None, [], id_columns, error=f"could not build the frame: {first_line}"
        )
    return CheckFrame(name, grain, shown, data, expectations, id_columns)


def unique_keys_frames(
    con: duckdb.DuckDBPyConnection, spec: SuiteSpec, census_year: int | None
) -> list[CheckFrame]:
    """One frame, one row per table: how many of its keys repeat (and the first few of them);
    great-expectations expects none. A table that cannot be read gets a frame failing with the
    reason. (One validation for every table: great-expectations costs about 40 ms a validation
    whatever the frame, and there are 35 tables.)"""
    tables = spec.params["tables"]
    statement = sql("quality/repeated_keys")
    parts, failed = [], []
    for item in tables:
        params = {
            "table_name": item["table"],
            "key": item["key"],
            "census_year": census_year,
            "max_examples": MAX_EXAMPLES,
        }
        try:
            parts.append(_query(con, statement, params))
        except duckdb.Error as exc:
            error = f"could not build the frame: {str(exc).splitlines()[0]}"
            failed.append(
                CheckFrame(item["table"], "table", _shown(statement, params), None, [], [], error=error)
            )
    if not parts:
        return failed
    import pandas as pd  # (great-expectations' frames; pandas comes with it)

    keys = "\n".join(f"--   {item['table']}: {item['key']}" for item in tables)
    shown = (
        f"-- once per table, $table_name and $key (its unique_key) being:\n{keys}\n"
        f"-- $census_year = {census_year!r}, $max_examples = {MAX_EXAMPLES}\n{statement}"
    )
    expectation = ExpectationSpec(
        kind="ExpectColumnValuesToBeBetween",
        kwargs={"column": "repeated_keys", "min_value": 0, "max_value": 0},
        rule_zh="每张表每个主键只有一行（key_columns）",
        rule="every table has one row per its key (key_columns)",
        note="A table's key is the unique_key of its sidecar, models/<schema>/<table>.yml, where its grain is said.",
    )
    frame = CheckFrame(
        name="tables",
        grain="table checked",
        sql=shown,
        data=pd.concat(parts, ignore_index=True),
        expectations=[expectation],
        id_columns=["table_name", "key_columns", "examples"],
    )
    return [frame, *failed]


def composite_identity_frames(
    con: duckdb.DuckDBPyConnection, spec: SuiteSpec, census_year: int | None
) -> list[CheckFrame]:
    tolerance = float(spec.params["tolerance"]["value"])
    expectations = [
        ExpectationSpec(
            kind="ExpectColumnValuesToBeBetween",
            kwargs={"column": "composite_difference", "min_value": 0, "max_value": tolerance},
            rule_zh=f"综合差异系数等于各指标差异系数的平均值（差值绝对值 ≤ {tolerance:g}）",
            rule=(
                "marts.county_balance.composite_cv equals the mean of marts.county_indicator_cv.cv "
                f"(|difference| <= {tolerance:g})"
            ),
            note=str(spec.params["tolerance"]["note"]),
        ),
        ExpectationSpec(
            kind="ExpectColumnPairValuesToBeEqual",
            kwargs={"column_A": "composite_is_null", "column_B": "has_missing_indicator_cv"},
            rule_zh="综合差异系数为空，当且仅当该县该学段该标准有指标差异系数为空或缺失",
            rule=(
                "marts.county_balance.composite_cv is null exactly where a marts.county_indicator_cv.cv "
                "of the county, stage and standard is null or missing"
            ),
            note="The model sets composite_cv only when every indicator of the standard has a CV.",
        ),
    ]
    return [
        _frame(
            con,
            name="marts.county_balance",
            grain="census_year x county_code x stage x standard_id",
            statement=sql("quality/composite_identity"),
            params={"census_year": census_year},
            id_columns=["census_year", "county_code", "stage", "standard_id"],
            expectations=expectations,
        )
    ]


def county_coverage_frames(
    con: duckdb.DuckDBPyConnection, spec: SuiteSpec, census_year: int | None
) -> list[CheckFrame]:
    """Error: balance rows and indicator CVs cover the same county groups; counties are registered."""
    expectations = [
        ExpectationSpec(
            kind="ExpectColumnPairValuesToBeEqual",
            kwargs={"column_A": "n_balance_groups", "column_B": "n_indicator_cv_groups"},
            rule_zh="指标差异系数表中的每个县×学段×标准，在县域均衡表中都有且只有一行",
            rule=(
                "marts.county_balance has a row for every county_code x stage x standard_id "
                "of marts.county_indicator_cv, and no other"
            ),
            note="county_balance is built from county_indicator_cv by county, stage and standard.",
        ),
        ExpectationSpec(
            kind="ExpectColumnValuesToBeInSet",
            kwargs={"column": "is_registry_county", "value_set": [True]},
            rule_zh="县域均衡表和指标差异系数表中的每个县区代码都在县区名录中",
            rule=(
                "every county_code of marts.county_balance and marts.county_indicator_cv "
                "is in marts.dim_counties"
            ),
            note="Reports, trends and alerts join counties to the registry; an unknown code drops out.",
        ),
    ]
    return [_coverage_frame(con, census_year, expectations)]


def registry_coverage_frames(
    con: duckdb.DuckDBPyConnection, spec: SuiteSpec, census_year: int | None
) -> list[CheckFrame]:
    """Warn: every registry county has every stage x standard in every loaded year."""
    expectations = [
        ExpectationSpec(
            kind="ExpectColumnPairValuesToBeEqual",
            kwargs={"column_A": "n_balance_groups", "column_B": "n_expected_groups"},
            rule_zh="名录中的每个县区，在每个已载入年度、每个学段和标准都有县域均衡结果",
            rule=(
                "every marts.dim_counties county_code has a marts.county_balance row for every stage "
                "and standard (marts.standard_thresholds) in every loaded census_year"
            ),
            note=spec.note,
        )
    ]
    return [_coverage_frame(con, census_year, expectations)]


def _coverage_frame(
    con: duckdb.DuckDBPyConnection, census_year: int | None, expectations: list[ExpectationSpec]
) -> CheckFrame:
    return _frame(
        con,
        name="marts.county_balance",
        grain="census_year x county_code",
        statement=sql("quality/county_coverage"),
        params={"census_year": census_year},
        id_columns=["census_year", "county_code"],
        expectations=expectations,
    )


def value_ranges_frames(
    con: duckdb.DuckDBPyConnection, spec: SuiteSpec, census_year: int | None
) -> list[CheckFrame]:
    """Per table: column minima checked against `min`, maxima against `max`."""
    by_table: dict[str, list[Mapping[str, Any]]] = {}
    for item in spec.params["ranges"]:
        by_table.setdefault(item["table"], []).append(item)
    frames = []
    for table, items in by_table.items():
        min_columns: list[str] = []
        max_columns: list[str] = []
        expectations = []
        for item in items:
            note = " ".join(str(item["note"]).split())
            for column in item["columns"]:
                if "min" in item:
                    min_columns.append(column)
                    expectations.append(
                        ExpectationSpec(
                            kind="ExpectColumnValuesToBeBetween",
                            kwargs={"column": f"smallest_{column}", "min_value": item["min"]},
                            rule_zh=f"{table}.{column} 不小于 {item['min']:g}",
                            rule=f"{table}.{column} >= {item['min']:g}",
                            note=note,
                        )
                    )
                if "max" in item:
                    max_columns.append(column)
                    expectations.append(
                        ExpectationSpec(
                            kind="ExpectColumnValuesToBeBetween",
                            kwargs={"column": f"largest_{column}", "max_value": item["max"]},
                            rule_zh=f"{table}.{column} 不大于 {item['max']:g}",
                            rule=f"{table}.{column} <= {item['max']:g}",
                            note=note,
                        )
                    )
        params = {
            "table_name": table,
            "min_columns": min_columns,
            "max_columns": max_columns,
            "census_year": census_year,
        }
        frames.append(
            _frame(
                con,
                name=table,
                grain="census_year x county_code",
                statement=sql("quality/value_ranges"),
                params=params,
                id_columns=["census_year", "county_code"],
                expectations=expectations,
            )
        )
    return frames


def alert_codes_frames(
    con: duckdb.DuckDBPyConnection, spec: SuiteSpec, census_year: int | None
) -> list[CheckFrame]:
    try:
        severities = [str(r[0]) for r in con.execute(sql("quality/ladder")).fetchall()]
    except duckdb.Error as exc:
        ladder = sql("quality/ladder")
        return [CheckFrame("monitoring.backsliding_alerts", "alert", ladder, None, [], [], error=str(exc))]
    statuses = [str(s) for s in spec.params["statuses"]]
    expectations = [
        ExpectationSpec(
            kind="ExpectColumnValuesToNotBeNull",
            kwargs={"column": "severity"},
            rule_zh="每条预警都有预警级别",
            rule="monitoring.backsliding_alerts.severity is set",
            note=spec.note,
        ),
        ExpectationSpec(
            kind="ExpectColumnValuesToBeInSet",
            kwargs={"column": "severity", "value_set": severities},
            rule_zh=f"预警级别是预警级别表（marts.alert_severities）中的一级：{severities}",
            rule=(
                "monitoring.backsliding_alerts.severity is on the ladder of marts.alert_severities "
                f"{severities}"
            ),
            note=spec.note,
        ),
        ExpectationSpec(
            kind="ExpectColumnPairValuesToBeEqual",
            kwargs={"column_A": "severity_rank", "column_B": "ladder_rank"},
            rule_zh="预警级别序号与预警级别表中的序号一致",
            rule=(
                "monitoring.backsliding_alerts.severity_rank is the rank of its severity "
                "in marts.alert_severities"
            ),
            note="junheng alerts --min-severity and the reports sort and filter on severity_rank.",
        ),
        ExpectationSpec(
            kind="ExpectColumnValuesToNotBeNull",
            kwargs={"column": "status"},
            rule_zh="每条预警都有状态",
            rule="monitoring.backsliding_alerts.status is set",
            note=spec.note,
        ),
        ExpectationSpec(
            kind="ExpectColumnValuesToBeInSet",
            kwargs={"column": "status", "value_set": statuses},
            rule_zh=f"预警状态是以下之一：{statuses}",
            rule=f"monitoring.backsliding_alerts.status is one of {statuses}",
            note=spec.note,
        ),
    ]
    return [
        _frame(
            con,
            name="monitoring.backsliding_alerts",
            grain="alert",
            statement=sql("quality/alert_codes"),
            params={"census_year": census_year},
            id_columns=["census_year", "county_code", "stage", "standard_id", "rule_id"],
            expectations=expectations,
        )
    ]


def _row_counts(
    con: duckdb.DuckDBPyConnection, tables: Sequence[str], census_year: int | None
) -> tuple[str, pd.DataFrame | None, str | None]:
    """One row per checked census year: the previous loaded year, and per table its rows and their
    ratio to the previous year's (one column each: `<table>` and `<table> / previous year`).
    Every year is counted, so a single year still has its previous year; then the year is kept."""
    years = None
    statement = sql("quality/rows_per_year")
    for table in tables:
        params = {"table_name": table, "census_year": census_year}
        try:
            counts = _query(con, statement, params)
        except duckdb.Error as exc:
            return _shown(statement, params), None, f"could not count {table}: {str(exc).splitlines()[0]}"
        if years is None:
            years = counts[["census_year"]].copy()
            years["previous_census_year"] = years["census_year"].shift(1)
        years[table] = counts["n_rows"].to_numpy()
        previous = years[table].shift(1)
        years[f"{table} / previous year"] = years[table] / previous.where(previous > 0)
    assert years is not None
    if census_year is not None:
        years = years[years["census_year"] == census_year].reset_index(drop=True)
    return _shown(statement, {"table_name": "<each table>", "census_year": census_year}), years, None


def rows_per_year_frames(
    con: duckdb.DuckDBPyConnection, spec: SuiteSpec, census_year: int | None
) -> list[CheckFrame]:
    tables = [str(t) for t in spec.params["tables"]]
    shown, data, error = _row_counts(con, tables, census_year)
    expectations = [
        ExpectationSpec(
            kind="ExpectColumnValuesToBeBetween",
            kwargs={"column": table, "min_value": 1},
            rule_zh=f"{table} 在每个已载入年度都有数据行",
            rule=f"{table} has rows in every loaded census year",
            note=spec.note,
        )
        for table in tables
    ]
    return [CheckFrame("rows_per_year", "census year", shown, data, expectations, ["census_year"], error)]


def row_count_bands_frames(
    con: duckdb.DuckDBPyConnection, spec: SuiteSpec, census_year: int | None
) -> list[CheckFrame]:
    tables = [str(t) for t in spec.params["tables"]]
    bands = {table: spec.params["default_band"] for table in tables}
    for band in spec.params.get("bands", []):
        for table in band["tables"]:
            bands[table] = band
    shown, data, error = _row_counts(con, tables, census_year)
    expectations = []
    for table in tables:
        band = bands[table]
        low, high = float(band["min_ratio"]), float(band["max_ratio"])
        expectations.append(
            ExpectationSpec(
                kind="ExpectColumnValuesToBeBetween",
                kwargs={"column": f"{table} / previous year", "min_value": low, "max_value": high},
                rule_zh=f"{table} 的行数是上一载入年度的 {low:g}–{high:g} 倍",
                rule=f"rows of {table} are {low:g}-{high:g} times the previous loaded year's",
                note=" ".join(str(band["note"]).split()),
            )
        )
    return [CheckFrame("row_count_bands", "census year", shown, data, expectations, ["census_year"], error)]


CHECKS: dict[str, Callable[[duckdb.DuckDBPyConnection, SuiteSpec, int | None], list[CheckFrame]]] = {
    "unique_keys": unique_keys_frames,
    "composite_identity": composite_identity_frames,
    "county_coverage": county_coverage_frames,
    "registry_coverage": registry_coverage_frames,
    "value_ranges": value_ranges_frames,
    "alert_codes": alert_codes_frames,
    "rows_per_year": rows_per_year_frames,
    "row_count_bands": row_count_bands_frames,
}
"""Every check a suite may name: a function building its frames from the read-only warehouse."""


def build_frames(
    database: Path, suites: Sequence[SuiteSpec], census_year: int | None = None
) -> dict[str, list[CheckFrame]]:
    """The frames of every suite, read from `database` opened read-only (no great-expectations)."""
    if not Path(database).exists():
        raise FileNotFoundError(f"no warehouse file at {database}")
    con = duckdb.connect(str(database), read_only=True)
    try:
        limit_memory(con)
        return {spec.name: CHECKS[spec.check](con, spec, census_year) for spec in suites}
    finally:
        con.close()


# --- validation with great-expectations -----------------------------------------------------------


def _ephemeral_context(site_dir: Path | None) -> Any:
    """An in-memory great-expectations context: no analytics, no progress bars, and one Data Docs
    site (ours) when a folder is given; nothing else is written anywhere."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    sites = {}
    if site_dir is not None:
        sites[DOCS_SITE_NAME] = {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(site_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        data_docs_sites=sites,
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(project_config=config, mode="ephemeral")


def _validate(context: Any, suite: SuiteSpec, frame: CheckFrame) -> Any:
    """Validate one frame; returns great-expectations' ExpectationSuiteValidationResult."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    name = f"{suite.name}.{frame.name}"
    source = context.data_sources.get("published_warehouse")
    batch_definition = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe(name)
    expectations = [
        # great-expectations returns results in its own order; meta.spec says which spec each is
        getattr(gxe, e.kind)(**e.kwargs, notes=[e.rule_zh, e.rule, e.note], meta={"spec": i})
        for i, e in enumerate(frame.expectations)
    ]
    gx_suite = context.suites.add(
        gx.ExpectationSuite(
            name=name,
            expectations=expectations,
            notes=[
                f"{suite.title_zh}（{SEVERITY_ZH[suite.severity]}）：{suite.note_zh}",
                f"Severity {suite.severity}. {suite.note}",
                f"One row per {frame.grain}. Built with this SQL:\n\n```sql\n{frame.sql.strip()}\n```",
            ],
            meta={"severity": suite.severity},
        )
    )
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name=name, data=batch_definition, suite=gx_suite)
    )
    # BASIC gives every expectation's verdict, counts and observed value; the keys of the failing
    # rows (SUMMARY with id columns) cost about a third more, so they are asked for only when an
    # expectation failed. The second result has the first one's run id: it replaces it in the
    # store, and Data Docs show one validation of the frame.
    batch = {"dataframe": frame.data}
    result = validation.run(batch_parameters=batch, result_format={"result_format": "BASIC"})
    if result.success:
        return result
    return validation.run(
        batch_parameters=batch,
        result_format={
            "result_format": "SUMMARY",
            "partial_unexpected_count": MAX_EXAMPLES,
            "unexpected_index_column_names": frame.id_columns,
        },
        run_id=result.meta["run_id"],
    )


def _value_text(value: Any) -> str:
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, tuple | list):
        return "(" + ", ".join(_value_text(v) for v in value) + ")"
    if isinstance(value, Mapping):
        return " ".join(f"{k}={_value_text(v)}" for k, v in value.items())
    return str(value)


def _exception_message(info: Mapping[str, Any]) -> str | None:
    """The message of an exception raised while validating: exception_info is either flat or keyed
    by the metric that raised."""
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    for value in info.values():
        if isinstance(value, Mapping) and value.get("raised_exception"):
            return str(value.get("exception_message"))
    return None


def failure_line(frame: CheckFrame, expectation: ExpectationSpec, result: Any) -> str:
    """One plain-English line for a failed expectation: the rule (table and column), the
    great-expectations expectation and its arguments, the counts and up to five examples."""
    args = ", ".join(f"{k}={_value_text(v)}" for k, v in expectation.kwargs.items() if k != "value_set")
    line = f"{expectation.rule_zh}（{expectation.rule}）: {result.expectation_config.type}({args}) failed"
    details = result.result or {}
    problem = _exception_message(result.exception_info or {})
    if problem:
        return f"{line}: great-expectations raised {problem}"
    if "unexpected_count" in details:
        line += (
            f" for {details['unexpected_count']} of {details.get('element_count')} rows"
            f" (one row per {frame.grain})"
        )
    examples = details.get("partial_unexpected_index_list") or details.get("partial_unexpected_list") or []
    texts = list(dict.fromkeys(_value_text(e) for e in examples))[:MAX_EXAMPLES]  # repeated keys once
    if texts:
        line += "; e.g. " + "; ".join(texts)
    elif "observed_value" in details:
        line += f"; observed {_value_text(details['observed_value'])}"
    return line


def _suite_result(suite: SuiteSpec, frames: list[CheckFrame], validations: Mapping[str, Any]) -> SuiteResult:
    evaluated = 0
    failures: list[str] = []
    for frame in frames:
        if frame.error is not None or frame.data is None:
            failures.append(f"{frame.name}: {frame.error}")
            continue
        for outcome in validations[frame.name].results:
            evaluated += 1
            if not outcome.success:
                expectation = frame.expectations[outcome.expectation_config.meta["spec"]]
                failures.append(failure_line(frame, expectation, outcome))
    return SuiteResult(
        suite=suite.name,
        severity=suite.severity,
        success=not failures,
        evaluated=evaluated,
        failures=failures,
    )


def run_suites(
    database: Path,
    census_year: int | None = None,
    docs_dir: Path | None = None,
    suites: Sequence[SuiteSpec] | None = None,
    published_name: str | None = None,
) -> list[SuiteResult]:
    """Run the suites on the warehouse file `database` (opened read-only) for one census year, or
    every year when census_year is None; with docs_dir, write offline Data Docs there
    (docs_dir/index.html; the pages of an earlier run are replaced). published_name is the file
    the pages name (the snapshot being published, when `database` is its staged copy)."""
    suites = list(suites) if suites is not None else load_suites()
    # great-expectations wants an absolute folder for its file store
    docs_dir = Path(docs_dir).resolve() if docs_dir is not None else None
    frames = build_frames(Path(database), suites, census_year)
    site_dir = staging_dir(docs_dir) if docs_dir is not None else None
    try:
        context = _ephemeral_context(site_dir)
        context.data_sources.add_pandas("published_warehouse")
        validations: dict[str, dict[str, Any]] = {}
        for suite in suites:
            validations[suite.name] = {
                frame.name: _validate(context, suite, frame)
                for frame in frames[suite.name]
                if frame.error is None and frame.data is not None
            }
        results = [_suite_result(s, frames[s.name], validations[s.name]) for s in suites]
        if docs_dir is not None and site_dir is not None:
            context.build_data_docs(site_names=[DOCS_SITE_NAME], build_index=False)
            make_offline(site_dir)
            chinese_first(site_dir, suites, frames)
            write_index(site_dir, suites, frames, results, census_year, published_name or str(database))
            check_local_links(site_dir)
            replace_docs(site_dir, docs_dir)
    finally:
        if site_dir is not None:
            shutil.rmtree(site_dir, ignore_errors=True)
    return results
