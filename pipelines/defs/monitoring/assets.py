"""Backsliding alerts for one census year (and every later loaded year, rebuilt in order), and
the record of a year revised by this load (audit.revisions).

The rules and evidence are pipelines.lib.monitoring.alerts; these assets only read, write and report.
"""

import dagster as dg
import polars as pl

from pipelines.defs.resources import WAREHOUSE_POOL, Warehouse, census_year_partitions
from pipelines.lib.loads.revisions import record_revision
from pipelines.lib.loads.year_loads import later_years
from pipelines.lib.monitoring import alerts
from pipelines.lib.paths import MODELS_DIR
from pipelines.lib.queries import sql
from pipelines.lib.reference.alert_rules import BREACH, load_rules
from pipelines.lib.warehouse import replace_year, scalar

ALERTS_KEY = dg.AssetKey(["monitoring", "backsliding_alerts"])
NEW_ALERTS_METADATA_LIMIT = 5000
"""New alerts carried in the materialisation metadata for the alert-file sensor (beyond this many,
the file says so and points to `junheng alerts`)."""


@dg.asset(
    key=ALERTS_KEY,
    group_name="monitoring",
    kinds={"duckdb", "polars"},
    partitions_def=census_year_partitions,
    deps=[
        ["monitoring", "county_trends"],
        ["monitoring", "county_data_status"],
        ["monitoring", "school_drivers"],
        ["monitoring", "county_verdict_runs"],
        ["monitoring", "what_if_plans"],
        ["marts", "county_balance"],
        ["marts", "alert_rules"],
    ],
    pool=WAREHOUSE_POOL,
    description=(
        "Backsliding alerts of certified counties: one row per problem (county, stage, standard and "
        "metric) at the highest severity its rules reached, with every rule that fired, its evidence "
        "and a what-if (models/monitoring/backsliding_alerts.yml)."
    ),
    check_specs=[
        dg.AssetCheckSpec(
            "unique_key",
            asset=ALERTS_KEY,
            blocking=True,
            description="One row per alert_id in the census year; a repeated id stops the run before publishing.",
        ),
    ],
)
def backsliding_alerts(context: dg.AssetExecutionContext, warehouse: Warehouse):
    census_year = int(context.partition_key)
    rules = load_rules(MODELS_DIR / "rules")
    with warehouse.year_writer(context) as con:
        rebuilt = later_years(con, census_year)
        duplicates = 0
        # this year, then every later loaded year in order: a year's status reads the year before
        for year in [census_year, *rebuilt]:
            year_result = alerts.build_alerts(con, year, rules)
            year_rows = replace_year(con, alerts.ALERTS_RELATION, year, year_result)
            duplicates += int(scalar(con, sql("alerts/duplicate_alert_ids"), {"census_year": year}) or 0)  # type: ignore[call-overload]
            if year == census_year:
                result, rows = year_result, year_rows
    if rebuilt:
        context.log.info(f"{alerts.ALERTS_RELATION}: rebuilt the later census years {rebuilt}")
    counts = alerts.severity_counts(result, rules.severity_names())
    new = result.filter(pl.col("status") == "new")
    yield dg.MaterializeResult(
        metadata={
            "census_year": census_year,
            "rows": rows,
            **{f"active_{severity}": n for severity, n in counts.items()},
            "new": new.height,
            "resolved": result.filter(pl.col("status") == "resolved").height,
            "breaches": dg.MetadataValue.md(alerts.breach_table(result, rules.rank(BREACH))),
            "new_alerts": dg.MetadataValue.json(
                alerts.alert_records(new.head(NEW_ALERTS_METADATA_LIMIT), rules)
            ),
            "new_alerts_total": new.height,
            **({"rebuilt_years": ", ".join(map(str, rebuilt))} if rebuilt else {}),
        }
    )
    yield dg.AssetCheckResult(
        check_name="unique_key",
        passed=duplicates == 0,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"duplicate_alert_ids": duplicates},
    )


REVISIONS_KEY = dg.AssetKey(["audit", "revisions"])


@dg.asset(
    key=REVISIONS_KEY,
    group_name="audit",
    kinds={"duckdb"},
    partitions_def=census_year_partitions,
    deps=[ALERTS_KEY, ["marts", "county_indicator_cv"]],
    pool=WAREHOUSE_POOL,
    description=(
        "The record of a census year loaded again (corrected) or late, with the later years "
        "whose trends, drivers and alerts this run rebuilt (models/audit/revisions.yml)."
    ),
)
def revisions(context: dg.AssetExecutionContext, warehouse: Warehouse):
    census_year = int(context.partition_key)
    with warehouse.year_writer(context) as con:
        row = record_revision(con, context.run_id, census_year)
    if row.is_empty():
        return dg.MaterializeResult(metadata={"census_year": census_year, "revision": "none"})
    record = row.row(0, named=True)
    context.log.info(
        f"census year {census_year} revised ({record['kind']}): later years rebuilt "
        f"{record['rebuilt_years']}, {record['n_counties_changed']} counties' coefficients changed"
    )
    return dg.MaterializeResult(
        metadata={
            "census_year": census_year,
            "revision": record["kind"],
            "rebuilt_years": ", ".join(map(str, record["rebuilt_years"])) or "none",
            "counties_changed": record["n_counties_changed"],
        }
    )
