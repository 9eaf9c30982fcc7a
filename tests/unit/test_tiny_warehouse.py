"""The unit tests' tiny warehouse (tests/conftest.py): a read builds the models the table is
built from, `con` builds every model, and `make test` builds every model at each load."""

from tests.conftest import BUILD_EVERY_MODEL, census_row

COUNT = "select count(*) from {} where census_year = 2024"


def test_a_read_builds_what_the_table_is_built_from_and_con_builds_every_model(tiny_warehouse):
    tiny_warehouse.load([census_row(), census_row(school_id="2190000002")])
    assert tiny_warehouse.table("staging.school_sections").height == 4  # two schools, two standards
    unread = tiny_warehouse._con.execute(COUNT.format("marts.county_balance")).fetchone()
    assert unread is not None and (unread[0] > 0) == BUILD_EVERY_MODEL  # built only in make test
    assert tiny_warehouse.upstream("marts.county_balance") >= {
        "staging.school_sections",
        "marts.school_indicator_values",
        "marts.county_indicator_cv",
        "marts.county_balance",
    }
    built = tiny_warehouse.con.execute(COUNT.format("marts.county_balance")).fetchone()
    assert built is not None and built[0] > 0
    assert not tiny_warehouse._pending  # con built every model
