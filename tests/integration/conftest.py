"""Fixtures of the integration tests that several modules share (tests/conftest.py has the rest)."""

import shutil

import pytest

from tests.conftest import shared_build
from tests.integration.faults import (
    Build,
    FaultProvince,
    build_fault_province,
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
    (The copied snapshot's views still name the shared build's Parquet files; the test's own runs
    publish into its copy.)"""
    before, right = fault_province.before, fault_province.right
    shutil.copytree(right.landing, tmp_path / "landing")  # a test may change a file in it
    shutil.copyfile(before.warehouse, tmp_path / "w.duckdb")
    shutil.copytree(before.published.parent, tmp_path / "pub")
    home = new_instance(tmp_path / "dagster_home")
    monkeypatch.setenv("DAGSTER_HOME", str(home))  # for the runs this test makes in-process
    setup = Build(
        tmp_path / "landing",
        tmp_path / "w.duckdb",
        tmp_path / "pub" / "junheng.duckdb",
        tmp_path / "reports",
        home,
    )
    return setup, before, right
