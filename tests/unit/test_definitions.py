"""The one Definitions object: the asset graph, its layers, jobs and the writer pool."""

import os
import subprocess
import sys

import dagster as dg

from pipelines.definitions import CENSUS_YEAR_JOB, REFERENCE_JOB, build_definitions
from pipelines.defs.resources import WAREHOUSE_POOL
from pipelines.lib.paths import REPO_ROOT


def test_importing_the_definitions_module_reads_nothing(tmp_path):
    # a fresh interpreter imports the module with every path pointing at a folder that does not
    # exist; importing must neither create it nor fail on it (no I/O, no env reads at import)
    missing = tmp_path / "missing"
    env = {**os.environ, "JUNHENG_WAREHOUSE": str(missing / "w.duckdb"), "JUNHENG_LANDING": str(missing)}
    subprocess.run([sys.executable, "-c", "import pipelines.definitions"], check=True, env=env, cwd=REPO_ROOT)
    assert not missing.exists()


OPENS_ON_IMPORT = """
import sys
import dagster, duckdb, polars, pandera, yaml  # libraries read their own files: not ours to judge
opened = []
def hook(event, args):
    if event == "open" and isinstance(args[0], str) and not args[0].endswith((".py", ".pyc")):
        opened.append(args[0])
sys.addaudithook(hook)
def no_database(*args, **kwargs):
    raise AssertionError("a DuckDB connection at import")
duckdb.connect = no_database
import pipelines.definitions
print("\\n".join(opened))
"""


def test_importing_the_definitions_module_opens_no_file_and_no_database():
    """Sidecars, rules, SQL files and an in-memory DuckDB were all opened at import once (34 files
    and a database): Dagster's code server imports the module on every reload."""
    done = subprocess.run(
        [sys.executable, "-c", OPENS_ON_IMPORT], check=True, cwd=REPO_ROOT, capture_output=True, text=True
    )
    ours = [path for path in done.stdout.splitlines() if path and str(REPO_ROOT) in path]
    assert ours == []


def test_great_expectations_stays_out_of_the_import_path():
    # it takes seconds to import: only the publish step's checks may load it, when they run
    code = (
        "import sys, pipelines.definitions, pipelines.cli, pipelines.runner\n"
        "pipelines.definitions.build_definitions()\n"
        "assert 'great_expectations' not in sys.modules, 'great_expectations was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO_ROOT)


def test_the_publish_step_runs_last_and_carries_one_check_per_quality_suite():
    from pipelines.defs.publish.assets import PUBLISHED_KEY
    from pipelines.lib.publish.quality import load_suites

    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    yearly = [k for k in graph.get_all_asset_keys() if k != PUBLISHED_KEY and graph.get(k).partitions_def]
    assert set(yearly) <= graph.get(PUBLISHED_KEY).parent_keys
    checks = {c.name for c in defs.resolve_assets_def(PUBLISHED_KEY).check_specs}
    assert checks == {s.name for s in load_suites()}


def test_asset_keys_are_schema_and_table_and_groups_are_layers():
    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    for expected in (
        "raw/census_schools",
        "staging/school_sections",
        "marts/school_indicators",
        "marts/county_indicator_cv",
        "marts/county_balance",
        "marts/dim_counties",
        "marts/standards",
    ):
        assert expected in keys
    reference = {k for k in graph.get_all_asset_keys() if graph.get(k).group_name == "reference"}
    # the reference tables (standards, rules, code lists, registry) keep their marts.* names but
    # sit in their own group, so the lineage reads reference -> raw -> staging -> marts
    assert (
        dg.AssetKey(["marts", "standards"]) in reference
        and dg.AssetKey(["marts", "dim_counties"]) in reference
    )
    for key in graph.get_all_asset_keys() - reference:
        assert graph.get(key).group_name == key.path[0]


def test_every_asset_writes_through_the_single_writer_pool():
    defs = build_definitions()
    for assets_def in defs.resolve_all_asset_specs():
        node = defs.resolve_assets_def(assets_def.key)
        assert node.node_def.pool == WAREHOUSE_POOL, assets_def.key


def test_yearly_assets_are_partitioned_by_census_year_and_jobs_exist():
    defs = build_definitions()
    assert defs.resolve_job_def(REFERENCE_JOB) is not None
    assert defs.resolve_job_def(CENSUS_YEAR_JOB).partitions_def is not None
    yearly = defs.resolve_assets_def(dg.AssetKey(["marts", "county_balance"]))
    assert isinstance(yearly.partitions_def, dg.DynamicPartitionsDefinition)
    assert yearly.partitions_def.name == "census_year"


def test_the_dependency_chain_runs_through_the_layers():
    graph = build_definitions().resolve_asset_graph()

    def parents(key):
        return {p.to_user_string() for p in graph.get(dg.AssetKey(key.split("/"))).parent_keys}

    assert "raw/census_schools" in parents("staging/school_sections")
    assert "staging/school_sections" in parents("marts/school_indicators")
    assert "marts/school_indicators" in parents("marts/county_indicator_cv")
    assert "marts/county_indicator_cv" in parents("marts/county_balance")
