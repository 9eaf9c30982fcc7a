"""A warehouse built by an earlier version of a SQL model (other columns) is brought up to date
by the next census-year load, without anyone deleting it: every year the table holds is built
anew, in dependency order, and equals a fresh build."""

from pipelines.lib.paths import MODELS_DIR
from pipelines.lib.sql_models import load_models, run_model, upgrade_tables
from pipelines.lib.warehouse import query_frame, table_columns
from tests.conftest import census_row


def _two_years(tiny_warehouse):
    rows = [census_row(school_id=f"219000000{i}", books=10_000 + 1_000 * i) for i in range(1, 5)]
    tiny_warehouse.load(rows, census_year=2023)
    tiny_warehouse.load(rows, census_year=2024)


def test_a_table_with_an_old_column_set_is_built_anew_for_every_year(tiny_warehouse):
    _two_years(tiny_warehouse)
    con = tiny_warehouse.con
    before = query_frame(con, "select * from marts.county_indicator_cv order by all")
    columns = table_columns(con, "marts.county_indicator_cv")
    # what an older junheng left: the table without a column the model has now, and one it no longer has
    con.execute("alter table marts.county_indicator_cv drop column cv_null_reason")
    con.execute("alter table marts.county_indicator_cv add column retired double")
    lines = upgrade_tables(con, load_models(MODELS_DIR))
    assert len(lines) == 1 and "marts.county_indicator_cv" in lines[0] and "2023, 2024" in lines[0]
    assert "columns added ['cv_null_reason']" in lines[0] and "dropped ['retired']" in lines[0]
    assert "表结构已更新，2 个普查年度已重新计算" in lines[0]
    assert table_columns(con, "marts.county_indicator_cv") == columns
    after = query_frame(con, "select * from marts.county_indicator_cv order by all")
    assert after.equals(before)
    assert upgrade_tables(con, load_models(MODELS_DIR)) == []  # nothing left to do
    models = {m.relation: m for m in load_models(MODELS_DIR)}
    run_model(con, models["marts.county_indicator_cv"], 2024)  # and the load then runs as usual


def test_an_upgraded_upstream_table_is_rebuilt_before_what_reads_it(tiny_warehouse):
    _two_years(tiny_warehouse)
    con = tiny_warehouse.con
    before = query_frame(con, "select * from marts.county_balance order by all")
    con.execute("alter table marts.school_indicator_values drop column meets_standard")
    con.execute("alter table marts.county_balance drop column max_indicator_id")
    lines = upgrade_tables(con, load_models(MODELS_DIR))
    assert [line.split(":")[0] for line in lines] == ["marts.school_indicator_values", "marts.county_balance"]
    assert query_frame(con, "select * from marts.county_balance order by all").equals(before)


def test_a_wide_school_indicators_table_of_version_0_8_becomes_the_view_over_the_narrow_store(
    tiny_warehouse,
):
    """Before 0.9 marts.school_indicators was a table and the narrow store did not exist: the
    store is built for every loaded year, then the table gives way to the view, with the same rows."""
    _two_years(tiny_warehouse)
    con = tiny_warehouse.con
    before = query_frame(con, "select * from marts.school_indicators order by all")
    con.execute("drop view marts.school_indicators")
    con.execute("create table marts.school_indicators as select * from before")
    con.execute("drop table marts.school_indicator_values")
    lines = upgrade_tables(con, load_models(MODELS_DIR))
    assert [line.split(":")[0] for line in lines] == [
        "marts.school_indicator_values",
        "marts.school_indicators",
    ]
    assert "2023, 2024" in lines[0] and "a model new to this warehouse" in lines[0]
    kind = "select table_type from information_schema.tables where table_name = 'school_indicators'"
    assert con.execute(kind).fetchall() == [("VIEW",)]
    assert query_frame(con, "select * from marts.school_indicators order by all").equals(before)
    assert upgrade_tables(con, load_models(MODELS_DIR)) == []  # nothing left to do


def test_a_model_new_to_a_warehouse_is_built_for_every_loaded_year(tiny_warehouse):
    _two_years(tiny_warehouse)
    con = tiny_warehouse.con
    before = query_frame(con, "select * from marts.county_equity order by all")
    con.execute("drop table marts.county_equity")
    lines = upgrade_tables(con, load_models(MODELS_DIR))
    assert (
        lines
        and lines[0].startswith("marts.county_equity: 新增的表，2 个普查年度已重新计算")
        and "2023, 2024" in lines[0]
    )
    assert query_frame(con, "select * from marts.county_equity order by all").equals(before)


def test_a_python_built_table_of_an_older_version_gets_the_new_columns(tmp_path):
    """An alerts table written before fired_rules existed: the columns are added (null in the old
    rows) and the old rows stay."""
    from pipelines.lib.warehouse import connect, create_table, table_columns

    with connect(tmp_path / "old.duckdb") as con:
        con.execute("create schema if not exists monitoring")
        con.execute(
            "create table monitoring.backsliding_alerts (alert_id varchar, census_year integer, rule_id varchar)"
        )
        con.execute("insert into monitoring.backsliding_alerts values ('a1', 2023, 'near_threshold')")
        create_table(con, "monitoring.backsliding_alerts")
        columns = table_columns(con, "monitoring.backsliding_alerts")
        assert {"fired_rules", "breach_years", "peer_share_below"} <= set(columns)
        assert con.execute(
            "select alert_id, rule_id, fired_rules from monitoring.backsliding_alerts"
        ).fetchall() == [("a1", "near_threshold", None)]


def test_descriptions_an_earlier_version_left_are_replaced_by_the_sidecars_at_the_next_load(tiny_warehouse):
    """An earlier version's words on a table whose columns did not change: the next census-year
    load (upgrade_tables, once per run) puts the sidecar's in their place; a year's build of the
    table leaves its comments as they are."""
    _two_years(tiny_warehouse)
    con = tiny_warehouse.con
    comments = (
        "select comment from duckdb_tables() where schema_name = 'marts' and table_name = 'county_equity' "
        "union all select comment from duckdb_columns() where schema_name = 'marts' "
        "and table_name = 'county_equity' and column_name = 'census_year'"
    )
    current = con.execute(comments).fetchall()
    assert all(text for (text,) in current)
    con.execute("comment on table marts.county_equity is 'old words'")
    con.execute("comment on column marts.county_equity.census_year is 'old words'")
    models = {m.relation: m for m in load_models(MODELS_DIR)}
    run_model(con, models["marts.county_equity"], 2024)
    assert con.execute(comments).fetchall() == [("old words",), ("old words",)]
    assert upgrade_tables(con, load_models(MODELS_DIR)) == []  # no table built anew
    assert con.execute(comments).fetchall() == current
