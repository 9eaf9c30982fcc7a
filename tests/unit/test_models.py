"""marts.school_indicator_values reads a section's measures by position: the list of measure names and
the list of amounts in its SQL must name every measure a standard may use, in one order."""

import re

from contracts.columns import SECTION_MEASURES
from pipelines.lib.paths import MODELS_DIR

SQL = (MODELS_DIR / "marts" / "school_indicator_values.sql").read_text(encoding="utf-8")


def _block(start: str) -> str:
    """The bracketed list that follows `start` in the model's SQL."""
    at = SQL.index(start)
    opening = SQL.index("[", at)
    return SQL[opening + 1 : SQL.index("]", opening)]


def test_the_measure_names_are_the_section_measures_in_order():
    names = re.findall(r"'(\w+)'", _block("measure_names as ("))
    assert names == list(SECTION_MEASURES)


def test_the_amounts_follow_the_measure_names():
    amounts = [re.match(r"\s*(\w+)", part).group(1) for part in _block("section_amounts as (").split(",")]
    assert amounts == list(SECTION_MEASURES)


def test_no_census_year_model_reads_an_all_years_table():
    """The per-year graph comes first in a run: a year model that read an all-years table (sidecar
    `cross_year: true`) would read it before the run rebuilt it. Such a model is an all-years model."""
    from pipelines.lib.catalog import table_docs
    from pipelines.lib.paths import MODELS_DIR
    from pipelines.lib.sql_models import load_models

    all_years = {doc.relation for doc in table_docs() if doc.cross_year}
    reading = [
        (model.relation, dep)
        for model in load_models(MODELS_DIR)
        if not model.cross_year
        for dep in model.depends_on
        if dep in all_years
    ]
    assert reading == []
