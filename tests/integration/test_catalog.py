"""Analysts' documentation: a comment on every table and column, sidecars that match the tables,
and a data dictionary that is current."""

import duckdb
import pytest

from pipelines.lib.catalog import table_docs
from pipelines.lib.outputs.dictionary import dictionary_entries, to_markdown
from pipelines.lib.paths import REPO_ROOT
from pipelines.lib.publish.snapshot import PUBLISHED_SCHEMAS

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def published(demo):
    with duckdb.connect(str(demo.published), read_only=True) as con:
        yield con


def test_every_table_and_column_analysts_read_carries_a_comment(published):
    tables = published.execute(  # the snapshot is a catalog of views
        "select schema_name || '.' || view_name, coalesce(trim(comment), '') from duckdb_views() "
        "where schema_name in (select unnest($s)) order by 1",
        {"s": list(PUBLISHED_SCHEMAS)},
    ).fetchall()
    assert len(tables) >= 25
    assert [relation for relation, comment in tables if not comment] == []
    columns = published.execute(
        "select schema_name || '.' || table_name || '.' || column_name from duckdb_columns() "
        "where schema_name in (select unnest($s)) and coalesce(trim(comment), '') = '' order by 1",
        {"s": list(PUBLISHED_SCHEMAS)},
    ).fetchall()
    assert columns == []


def test_every_sidecar_matches_its_table_column_for_column(demo):
    with duckdb.connect(str(demo.warehouse), read_only=True) as con:
        actual = {}
        for schema, table, column in con.execute(
            "select schema_name, table_name, column_name from duckdb_columns() "
            "where schema_name not in ('main', 'raw', 'publish', 'information_schema', 'pg_catalog') "
            "order by column_index"
        ).fetchall():
            actual.setdefault(f"{schema}.{table}", []).append(column)
    documented = {doc.relation: list(doc.columns) for doc in table_docs()}
    assert sorted(documented) == sorted(actual)  # no table without a sidecar, no stale sidecar
    for relation, columns in actual.items():
        assert sorted(documented[relation]) == sorted(columns), relation


def test_the_committed_data_dictionary_is_current(published):
    committed = (REPO_ROOT / "docs" / "data_dictionary.md").read_text(encoding="utf-8")
    assert to_markdown(dictionary_entries(published)) == committed, (
        "docs/data_dictionary.md is stale: run `junheng demo`, then "
        "`junheng dictionary --out docs/data_dictionary.md`"
    )
