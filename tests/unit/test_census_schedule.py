"""The yearly schedule: it loads the tick's census year when its files are there, and skips
(saying why) when they are not."""

from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg

from pipelines.defs.ingest.schedules import build_census_schedule
from pipelines.defs.resources import CENSUS_YEAR_PARTITIONS, Warehouse


def evaluate(landing, when):
    schedule = build_census_schedule()
    home = landing.parent / "dagster_home"
    home.mkdir(exist_ok=True)
    with dg.DagsterInstance.from_config(str(home)) as instance:  # a real instance on disk
        # closed before the instance: the context opens its own instance from the ref, and both
        # must give back Dagster's per-context storage in order
        with dg.build_schedule_context(
            instance=instance,
            scheduled_execution_time=when,
            resources={"warehouse": Warehouse(landing=str(landing))},
        ) as context:
            result = schedule(context)
        partitions = instance.get_dynamic_partitions(CENSUS_YEAR_PARTITIONS)
    return schedule, result, partitions


def test_the_schedule_runs_after_the_returns_are_due_in_beijing_time(tmp_path):
    schedule, _, _ = evaluate(
        tmp_path / "landing", datetime(2024, 10, 1, 2, tzinfo=ZoneInfo("Asia/Shanghai"))
    )
    assert schedule.cron_schedule == "0 2 1 10 *"
    assert schedule.execution_timezone == "Asia/Shanghai"
    assert schedule.job_name == "census_year_job"


def test_a_census_year_with_files_is_requested_and_added_as_a_partition(tmp_path):
    (tmp_path / "landing" / "2024").mkdir(parents=True)
    (tmp_path / "landing" / "2024" / "county_900101.csv").write_text("school_id\n1\n", encoding="utf-8")
    _, result, partitions = evaluate(
        tmp_path / "landing", datetime(2024, 10, 1, 2, tzinfo=ZoneInfo("Asia/Shanghai"))
    )
    assert isinstance(result, dg.RunRequest)
    assert result.partition_key == "2024" and result.run_key.startswith("scheduled-2024-")
    assert partitions == ["2024"]


def test_a_census_year_without_files_is_skipped_with_the_reason(tmp_path):
    (tmp_path / "landing" / "2023").mkdir(parents=True)
    (tmp_path / "landing" / "2023" / "county_900101.csv").write_text("school_id\n1\n", encoding="utf-8")
    _, result, partitions = evaluate(
        tmp_path / "landing", datetime(2024, 10, 1, 2, tzinfo=ZoneInfo("Asia/Shanghai"))
    )
    assert isinstance(result, dg.SkipReason)
    assert "2024" in (result.skip_message or "")
    assert partitions == []
