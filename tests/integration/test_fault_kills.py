"""A reload killed (SIGKILL) in any step of `junheng run`, before or after it commits: the next
run clears the dead run and its pool slot (and puts a committed version in place, or drops the
files of one that never committed), and finishes; every table then equals a clean build.

Real processes and a real on-disk Dagster instance with the project's dagster.yaml (pool
`warehouse` of 1) and no daemon: the way a provincial team runs `junheng run` from cron or a
terminal. The kills are real: the run process sends itself SIGKILL at a chosen point (a small
wrapper around one function of the pipeline), so the point is exact and the test is repeatable.
(The other faults of a load are in test_faults.py; the province is tests/integration/faults.py's.)
"""

import signal

import dagster as dg
import pytest

from tests.integration.faults import (
    KILL_POINTS,
    KILLER,
    RELOADED,
    cli,
    digests,
    finished,
    run_in_process,
    sha256,
)

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("kill_at", KILL_POINTS)
def test_a_reload_killed_in_any_step_is_undone_and_the_rerun_equals_a_clean_build(loaded, kill_at, capsys):
    setup, before, right = loaded
    snapshot = sha256(setup.published)
    code, _, err = finished(cli(setup, KILLER, "--years", str(RELOADED), kill_at=kill_at))
    assert code == -signal.SIGKILL, err[-2000:]
    assert sha256(setup.published) == snapshot  # killed before the rename, whatever the step

    # killed before its commit, the run left the working file as it was: it wrote in one transaction
    if kill_at != "commit":
        assert digests(setup.warehouse) == digests(before.warehouse)

    # the next run on the same instance neither hangs on the dead run's pool slot nor keeps its
    # files: it says what it cleared, then loads the year
    code, out, err = run_in_process(setup, capsys, "--years", str(RELOADED))
    assert code == 0, err
    assert "cleared a run whose process is gone: census year 2023" in out
    # a kill after the commit leaves a whole, checked version: the next run puts it in place first
    assert ("published version" in out) == (kill_at == "commit")
    # a kill while the new version's files were written leaves files no version names: dropped
    assert ("published files no kept version names" in out) == (kill_at in ("quality", "parquet", "staged"))
    assert digests(setup.warehouse) == digests(right.warehouse)
    assert digests(setup.published) == digests(right.published)
    with dg.DagsterInstance.from_config(str(setup.home)) as instance:
        statuses = sorted(r.status.value for r in instance.get_runs() if r.job_name == "census_year_job")
        assert statuses == ["FAILURE", "SUCCESS"]  # the dead run marked failed, the rerun done
        assert not instance.event_log_storage.get_concurrency_info("warehouse").claimed_slots
