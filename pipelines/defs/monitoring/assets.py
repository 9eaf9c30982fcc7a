"""The all-years graph's Python steps, each run once per run after the census years it loads:
backsliding alerts of every loaded year from the earliest the run loads (in order: a year's status
reads the year before), the year-over-year warnings of the year after a reloaded one, and the
record of the years the run revised (audit.revisions).

The rules and evidence are pipelines.lib.monitoring.alerts; these assets only read, write and report.
"""

import dagster as dg
import polars as pl

from pipelines.defs.resources import WAREHOUSE_POOL, Warehouse, run_census_years
from pipelines.lib.ingest.census_checks import refresh_following_years
from pipelines.lib.loads.revisions import record_revisions
from pipelines.lib.loads.run_write import years_to_rebuild
from pipelines.lib.monitoring import alerts
from pipelines.lib.paths import MODELS_DIR
from pipelines.lib.reference.alert_rules import BREACH, load_rules

ALERTS_KEY = dg.AssetKey(["monitoring", "backsliding_alerts"])


@dg.asset(
    key=ALERTS_KEY,
    group_name="monitoring",
    kinds={"duckdb", "polars"},
    deps=[
        ["monitoring", "county_trends"],
        ["monitoring", "county_data_status"],
        ["monitoring", "school_drivers"],
        ["monitoring", "county_verdict_runs"],
        ["monitoring", "certification_year_checks"],
        ["marts", "county_checklist"],
        ["monitoring", "what_if_plans"],
        ["marts", "county_balance"],
        ["marts", "alert_rules"],
    ],
    pool=WAREHOUSE_POOL,
    description=(
        "Backsliding alerts of certified counties: one row per problem (county, stage, standard and "
        "metric) at the highest severity its rules reached, with every rule that fired, its evidence "
        "and a what-if (models/monitoring/backsliding_alerts.yml). All years: rebuilt once per run "
        "from the earliest census year it loads."
    ),
    check_specs=[
        dg.AssetCheckSpec(
            "unique_key",
            asset=ALERTS_KEY,
            blocking=True,
            description="One row per alert_id in each census year built; a repeated id stops the run before publishing.",
        ),
    ],
)
def backsliding_alerts(context: dg.AssetExecutionContext, warehouse: Warehouse):
    rules = load_rules(MODELS_DIR / "rules")
    run_years = run_census_years(context)
    with warehouse.run_writer(context) as con:
        years = years_to_rebuild(con, run_years)
        built = alerts.rebuild_alerts(con, years, run_years, rules)
    # the latest census year the run loads is the one monitoring staff act on: its counts; earlier
    # years of a back-fill are history. The alerts to announce (the file the new_alerts_file sensor
    # writes) are new in the warehouse's latest year and were not there before the run.
    latest, rows, duplicates = built.latest, built.rows, built.duplicate_ids
    counts = alerts.severity_counts(latest, rules.severity_names())
    yield dg.MaterializeResult(
        metadata={
            "census_years": ", ".join(map(str, years)) or "none",
            "census_year": max(run_years) if run_years else (years[-1] if years else 0),
            "rows": rows,
            **{f"active_{severity}": n for severity, n in counts.items()},
            "new": latest.filter(pl.col("status") == "new").height,
            "resolved": latest.filter(pl.col("status") == "resolved").height,
            "breaches": dg.MetadataValue.md(alerts.breach_table(latest, rules.rank(BREACH))),
            "announced_year": years[-1] if years else 0,
            "announced_alert_ids": dg.MetadataValue.json(built.announced["alert_id"].to_list()),
        }
    )
    yield dg.AssetCheckResult(
        check_name="unique_key",
        passed=duplicates == 0,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"duplicate_alert_ids": duplicates},
    )


WARNINGS_KEY = dg.AssetKey(["audit", "following_year_warnings"])


@dg.asset(
    key=WARNINGS_KEY,
    group_name="audit",
    kinds={"duckdb", "polars"},
    deps=[["raw", "census_schools"]],
    pool=WAREHOUSE_POOL,
    description=(
        "The year-over-year warnings (audit.school_warnings) of each loaded census year that follows "
        "one the run loads and is not loaded by the run itself, compared anew with that year as the "
        "run leaves it. All years: once per run."
    ),
)
def following_year_school_warnings(context: dg.AssetExecutionContext, warehouse: Warehouse):
    run_years = run_census_years(context)
    with warehouse.run_writer(context) as con:
        refreshed = refresh_following_years(con, years_to_rebuild(con, run_years), run_years, context.run_id)
    return dg.MaterializeResult(metadata={"census_years": ", ".join(map(str, refreshed)) or "none"})


REVISIONS_KEY = dg.AssetKey(["audit", "revisions"])


@dg.asset(
    key=REVISIONS_KEY,
    group_name="audit",
    kinds={"duckdb"},
    deps=[ALERTS_KEY, WARNINGS_KEY, ["marts", "county_indicator_cv"]],
    pool=WAREHOUSE_POOL,
    description=(
        "The record of a census year loaded again (corrected) or late, with the later years "
        "whose trends, drivers and alerts this run rebuilt (models/audit/revisions.yml)."
    ),
)
def revisions(context: dg.AssetExecutionContext, warehouse: Warehouse):
    run_years = run_census_years(context)
    with warehouse.run_writer(context) as con:
        rebuilt = [y for y in years_to_rebuild(con, run_years) if y not in run_years]
        lines = record_revisions(con, context.run_id, run_years, rebuilt)
    for line in lines:
        context.log.info(f"census year revised: {line}")
    return dg.MaterializeResult(
        metadata={
            "census_years": ", ".join(map(str, run_years)) or "none",
            "revisions": dg.MetadataValue.md("\n".join(f"- {line}" for line in lines) or "none"),
        }
    )
