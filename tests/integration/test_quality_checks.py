"""The data-quality suites as the asset checks of the publish step: they pass on the demo, and a
corrupted warehouse fails them (ERROR), fails the run and publishes nothing."""

import hashlib
import shutil

import dagster as dg
import duckdb
import pytest

from pipelines.defs.publish.assets import PUBLISHED_KEY
from pipelines.runner import failure_lines, run_census_year, warehouse_config

pytestmark = pytest.mark.integration


def publish_step(demo, working, published, reports):
    """Run only the publish step (and its checks) of census year 2024 on `working`."""
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("census_year", ["2024"])
        config = warehouse_config(demo.landing, working, published, reports)
        result = run_census_year(2024, config, instance, asset_selection=[PUBLISHED_KEY])
        checks = {
            e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data
            for e in result.all_events
            if e.event_type_value == "ASSET_CHECK_EVALUATION"
        }
    return result, checks


def test_the_suites_pass_on_the_demo_and_write_offline_data_docs(demo, tmp_path):
    working = tmp_path / "w.duckdb"
    shutil.copyfile(demo.warehouse, working)
    result, checks = publish_step(demo, working, tmp_path / "pub" / "junheng.duckdb", tmp_path / "reports")
    assert result.success
    assert len(checks) >= 8
    assert {name for name, check in checks.items() if not check.passed} == set()
    index = tmp_path / "reports" / "data_docs" / "index.html"
    assert index.exists()
    assert "http" not in "".join(
        line for line in index.read_text(encoding="utf-8").splitlines() if "src=" in line or "href=" in line
    )


def test_a_corrupted_warehouse_fails_the_error_checks_and_publishes_nothing(demo, tmp_path):
    working, published = tmp_path / "w.duckdb", tmp_path / "pub" / "junheng.duckdb"
    published.parent.mkdir()
    shutil.copyfile(demo.published, published)  # the snapshot analysts have now
    before = hashlib.sha256(published.read_bytes()).hexdigest()
    shutil.copyfile(demo.warehouse, working)
    with duckdb.connect(str(working)) as con:
        con.execute(
            "update marts.county_balance set composite_cv = composite_cv + 0.01 "
            "where census_year = 2024 and county_code = '900221' and standard_id = 'basic_2012'"
        )
        con.execute(
            "insert into monitoring.backsliding_alerts select * replace ('bogus' as severity) "
            "from monitoring.backsliding_alerts where census_year = 2024 limit 1"
        )
    result, checks = publish_step(demo, working, published, tmp_path / "reports")
    assert not result.success
    failed = {name: check for name, check in checks.items() if not check.passed}
    assert {"composite_identity", "alert_codes", "unique_keys"} <= set(failed)
    assert all(check.severity == dg.AssetCheckSeverity.ERROR for check in failed.values())
    failures = failed["composite_identity"].metadata["failures"].value
    assert "marts.county_balance" in failures and "900221" in failures
    assert hashlib.sha256(published.read_bytes()).hexdigest() == before  # nothing published
    assert not list(published.parent.glob(".*.tmp"))


def test_a_subset_without_publishing_is_refused_before_it_writes(demo, tmp_path):
    """The asset page's "Materialize" on one asset for one partition once succeeded, published
    nothing and left the tables built on it stale."""
    working = tmp_path / "w.duckdb"
    shutil.copyfile(demo.warehouse, working)
    before = hashlib.sha256(working.read_bytes()).hexdigest()
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("census_year", ["2024"])
        config = warehouse_config(demo.landing, working, tmp_path / "pub" / "junheng.duckdb", tmp_path / "r")
        result = run_census_year(
            2024, config, instance, asset_selection=[dg.AssetKey(["marts", "county_balance"])]
        )
    assert not result.success
    message = " ".join(failure_lines(result))
    assert "只物化了部分资产（marts/county_balance），不会发布" in message
    assert "junheng run --years 2024" in message
    assert hashlib.sha256(working.read_bytes()).hexdigest() == before
    assert not (tmp_path / "pub" / "junheng.duckdb").exists()
