"""The landing sensor on a real instance: a run per changed census year, none when nothing changed."""

import os
import shutil

import dagster as dg
import pytest

from pipelines.defs.ingest.sensors import landing_sensor
from pipelines.defs.resources import Warehouse
from pipelines.lib.synthetic.province import generate

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("generated")
    generate(out, counties=4, years=[2022, 2023, 2024], seed=9)
    return out


@pytest.fixture
def landing(tmp_path, generated):
    target = tmp_path / "landing"
    shutil.copytree(generated, target)
    return target


def tick(instance, landing, cursor):
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"warehouse": Warehouse(landing=str(landing))}
    ) as context:
        result = landing_sensor(context)
    return result, result.cursor


def primed(instance, landing):
    """The cursor after the sensor has requested the reference data and every year once."""
    _, cursor = tick(instance, landing, None)
    _, cursor = tick(instance, landing, cursor)
    return cursor


def requested(result):
    return sorted((r.job_name, r.partition_key) for r in result.run_requests)


def test_reference_first_then_each_year_then_nothing(landing):
    with dg.instance_for_test() as instance:
        first, cursor = tick(instance, landing, None)
        assert requested(first) == [("reference_job", None)]
        second, cursor = tick(instance, landing, cursor)
        assert requested(second) == [("census_year_job", y) for y in ("2022", "2023", "2024")]
        assert second.dynamic_partitions_requests[0].partition_keys == ["2022", "2023", "2024"]
        third, _ = tick(instance, landing, cursor)
        assert requested(third) == []


def test_touching_a_file_without_changing_it_starts_nothing(landing):
    with dg.instance_for_test() as instance:
        cursor = primed(instance, landing)
        extract = sorted((landing / "2024").glob("*.csv"))[0]
        stat = extract.stat()
        os.utime(extract, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
        result, _ = tick(instance, landing, cursor)
        assert requested(result) == []


def test_a_changed_or_new_file_starts_a_run_for_its_year_only(landing):
    with dg.instance_for_test() as instance:
        cursor = primed(instance, landing)
        extract = sorted((landing / "2023").glob("*.csv"))[0]
        extract.write_bytes(extract.read_bytes().replace(b"\n", b"\r\n"))  # re-saved on Windows
        result, cursor = tick(instance, landing, cursor)
        assert requested(result) == [("census_year_job", "2023")]
        run_key = result.run_requests[0].run_key
        new_year = landing / "2025"
        shutil.copytree(landing / "2024", new_year)
        result, cursor = tick(instance, landing, cursor)
        assert requested(result) == [("census_year_job", "2025")]
        assert result.run_requests[0].run_key != run_key


def test_a_changed_registry_reloads_the_reference_data(landing):
    with dg.instance_for_test() as instance:
        cursor = primed(instance, landing)
        registry = landing / "reference" / "counties.csv"
        registry.write_text(registry.read_text(encoding="utf-8") + "\n", encoding="utf-8")
        result, _ = tick(instance, landing, cursor)
        assert requested(result) == [("reference_job", None)]
