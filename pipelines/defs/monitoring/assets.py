"""Backsliding alerts for one census year: read trends and evidence, apply the rules, write.

The rules and evidence are pipelines.lib.monitoring.alerts; this asset only reads, writes and reports.
"""

import dagster as dg
import polars as pl

from pipelines.defs.resources import WAREHOUSE_POOL, Warehouse, census_year_partitions
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
        ["marts", "school_compliance"],
        ["marts", "school_indicators"],
        ["marts", "alert_rules"],
    ],
    pool=WAREHOUSE_POOL,
    description=(
        "Backsliding alerts of certified counties: one row per fired rule per county, stage, "
        "standard and metric, with evidence and a what-if (models/monitoring/backsliding_alerts.yml)."
    ),
    check_specs=[
        dg.AssetCheckSpec("unique_key", asset=ALERTS_KEY, blocking=True),
        dg.AssetCheckSpec("no_breaches", asset=ALERTS_KEY),
    ],
)
def backsliding_alerts(context: dg.AssetExecutionContext, warehouse: Warehouse):
    census_year = int(context.partition_key)
    rules = load_rules(MODELS_DIR / "rules")
    with warehouse.year_writer(context) as con:
        inputs = alerts.read_inputs(con, census_year, rules)
        fired = alerts.fire_alerts(inputs, rules)
        evidence = alerts.read_evidence(con, inputs, fired, rules)
        result = alerts.attach_evidence(fired, evidence)
        rows = replace_year(con, alerts.ALERTS_RELATION, census_year, result)
        duplicates = scalar(con, sql("alerts/duplicate_alert_ids"), {"census_year": census_year})
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
        }
    )
    yield dg.AssetCheckResult(
        check_name="unique_key",
        passed=duplicates == 0,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"duplicate_alert_ids": int(duplicates or 0)},  # type: ignore[call-overload]
    )
    at_breach = {s: n for s, n in counts.items() if rules.rank(s) >= rules.rank(BREACH)}
    yield dg.AssetCheckResult(
        check_name="no_breaches",
        passed=sum(at_breach.values()) == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata=at_breach,
        description="WARN when a certified county no longer meets its standard (breach or critical alerts).",
    )
