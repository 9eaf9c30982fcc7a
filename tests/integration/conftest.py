"""Fixtures of the integration tests that several modules share (tests/conftest.py has the rest)."""

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.lib.synthetic.province import generate
from pipelines.runner import run_pipeline
from tests.conftest import shared_build
from tests.integration.faults import (
    Build,
    FaultProvince,
    build_fault_province,
    copy_build,
    fault_province_at,
    new_instance,
)


@pytest.fixture(scope="session")
def fault_province(tmp_path_factory) -> FaultProvince:
    """The fault tests' province, built once per session and shared by the xdist workers
    (tests/integration/faults.py). Read-only: `loaded` copies what a test changes."""
    root, _ = shared_build(tmp_path_factory, "faults", build_fault_province)
    return fault_province_at(root)


@pytest.fixture
def loaded(fault_province, tmp_path, monkeypatch):
    """2021-2023 loaded and published, the corrected 2023 files in the landing folder: a reload.
    A copy of the shared build whose snapshot names its own files (faults.copy_build)."""
    before, right = fault_province.before, fault_province.right
    shutil.copytree(right.landing, tmp_path / "landing")  # a test may change a file in it
    home = new_instance(tmp_path / "dagster_home")
    monkeypatch.setenv("DAGSTER_HOME", str(home))  # for the runs this test makes in-process
    setup = Build(
        tmp_path / "landing",
        tmp_path / "w.duckdb",
        tmp_path / "pub" / "junheng.duckdb",
        tmp_path / "reports",
        home,
    )
    copy_build(before, setup)
    return setup, before, right


@dataclass(frozen=True)
class NineCounties:
    landing: Path
    warehouse: Path
    """2022-2024 loaded in one run and published (beside it: published/, reports/)."""
    years: list[int]


NINE_COUNTY_YEARS = [2022, 2023, 2024]


@pytest.fixture(scope="session")
def nine_counties(tmp_path_factory) -> NineCounties:
    """Nine counties in two prefectures (two extract files a year), 2022-2024, seed 21, loaded:
    built once per session for the modules that compare histories of loads
    (test_corrections.py, test_replace_semantics.py) and the one the other shapes of files are
    compared with (test_shapes.py). Read-only: copy what a test changes."""

    def build(root: Path) -> str:
        generate(root / "landing", counties=9, years=NINE_COUNTY_YEARS, seed=21, progress=lambda _: None)
        run_pipeline(
            landing=root / "landing",
            warehouse=root / "w.duckdb",
            published=root / "published" / "w.duckdb",
            reports=root / "reports",
            progress=lambda _: None,
        )
        return ""

    root, _ = shared_build(tmp_path_factory, "nine_counties", build)
    return NineCounties(root / "landing", root / "w.duckdb", NINE_COUNTY_YEARS)
