"""The data dictionary in Chinese: every table has a Chinese title and description, every column a
Chinese name (models/glossary_zh.yaml or the sidecar's columns_zh) and a Chinese description (the
sidecar's descriptions_zh), a sidecar without them is refused with its file named, and the
dictionary shows each column's Chinese description before its English one."""

import re
import shutil
from pathlib import Path

import pytest

from pipelines.lib.catalog import CatalogError, glossary_zh, load_table_doc, table_docs
from pipelines.lib.outputs.dictionary import ColumnEntry, TableEntry, dictionary_entries, to_html, to_markdown
from pipelines.lib.paths import MODELS_DIR

CHINESE = re.compile(r"[\u4e00-\u9fff]")

EXAMPLE = (
    "description: An example.\ntitle_zh: 示例\ndescription_zh: 示例表。\n"
    "grain: one row per x\nunique_key: [x]\ncolumns:\n  x: The key.\n  census_year: Year.\n"
)


def test_every_table_and_column_has_chinese_words():
    docs = table_docs()
    assert len(docs) >= 25
    for doc in docs:
        assert CHINESE.search(doc.title_zh) and CHINESE.search(doc.description_zh), doc.relation
        assert set(doc.columns_zh) == set(doc.columns), doc.relation
        for column, name in doc.columns_zh.items():
            assert CHINESE.search(name), (doc.relation, column, name)


def test_every_column_has_a_chinese_description():
    for doc in table_docs():
        assert list(doc.descriptions_zh) == list(doc.columns), doc.relation
        for column, text in doc.descriptions_zh.items():
            assert CHINESE.search(text), (doc.relation, column, text)


def test_the_glossary_names_no_column_that_does_not_exist():
    from pipelines.lib.monitoring.alerts import LIST_COLUMNS

    # the tables' columns, and the columns the alert list adds (rule names, shown by the CLI and Excel)
    used = {column for doc in table_docs() for column in doc.columns} | set(LIST_COLUMNS)
    assert sorted(set(glossary_zh()) - used) == []


def test_a_table_overrides_a_shared_name_where_it_means_something_narrower():
    trends = next(d for d in table_docs() if d.relation == "monitoring.county_trends")
    assert trends.columns_zh["value"] == "差异系数"
    assert trends.columns_zh["county_code"] == glossary_zh()["county_code"] == "县区代码"


def test_a_sidecar_with_an_unnamed_column_is_refused_by_name(tmp_path: Path):
    models = tmp_path / "models"
    (models / "marts").mkdir(parents=True)
    shutil.copy(MODELS_DIR / "glossary_zh.yaml", models / "glossary_zh.yaml")
    sidecar = models / "marts" / "example.yml"
    sidecar.write_text(EXAMPLE + "descriptions_zh:\n  x: 键。\n  census_year: 年度。\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"example\.yml: no Chinese name for \['x'\]"):
        load_table_doc(sidecar)
    sidecar.write_text(sidecar.read_text(encoding="utf-8") + "columns_zh:\n  x: 键\n", encoding="utf-8")
    assert load_table_doc(sidecar).columns_zh == {"x": "键", "census_year": "统计年度"}
    sidecar.write_text(sidecar.read_text(encoding="utf-8").replace("title_zh: 示例\n", ""), encoding="utf-8")
    with pytest.raises(CatalogError, match="missing 'title_zh'"):
        load_table_doc(sidecar)


def test_a_sidecar_with_a_column_without_a_chinese_description_is_refused_by_name(tmp_path: Path):
    models = tmp_path / "models"
    (models / "marts").mkdir(parents=True)
    shutil.copy(MODELS_DIR / "glossary_zh.yaml", models / "glossary_zh.yaml")
    sidecar = models / "marts" / "example.yml"
    sidecar.write_text(
        EXAMPLE + "columns_zh:\n  x: 键\ndescriptions_zh:\n  census_year: 年度。\n", encoding="utf-8"
    )
    with pytest.raises(CatalogError, match=r"example\.yml: no Chinese description for \['x'\]"):
        load_table_doc(sidecar)
    sidecar.write_text(sidecar.read_text(encoding="utf-8") + "  x: 键。\n  y: 多余。\n", encoding="utf-8")
    with pytest.raises(
        CatalogError, match=r"descriptions_zh given for columns it does not document: \['y'\]"
    ):
        load_table_doc(sidecar)
    sidecar.write_text(sidecar.read_text(encoding="utf-8").replace("  y: 多余。\n", ""), encoding="utf-8")
    assert load_table_doc(sidecar).descriptions_zh == {
        "x": "键。",
        "census_year": "年度。",
    }  # in column order


def _entry() -> TableEntry:
    """A dictionary entry built by hand, without a warehouse."""
    return TableEntry(
        relation="marts.example",
        title_zh="示例",
        description_zh="示例表。",
        description="An example.",
        grain="one row per x",
        unique_key="x",
        built_by="models/marts/example.sql",
        columns=[
            ColumnEntry("x", "键", "VARCHAR", "", "本表的键。", "The key."),
            ColumnEntry("census_year", "统计年度", "INTEGER", "year", "统计年度。", "Census year."),
        ],
    )


def test_the_dictionary_shows_each_columns_chinese_description_before_its_english():
    markdown = to_markdown([_entry()])
    for column in _entry().columns:
        (row,) = [line for line in markdown.splitlines() if line.startswith(f"| `{column.name}` |")]
        assert column.description_zh in row and column.description in row, row
        assert row.index(column.description_zh) < row.index(column.description), row
    assert "先列中文说明" in markdown and "Chinese comes first" in markdown
    html = to_html([_entry()])
    assert '本表的键。<span lang="en">The key.</span>' in html


def test_the_dictionary_takes_the_chinese_descriptions_from_the_sidecars():
    import duckdb

    stages = next(d for d in table_docs() if d.relation == "marts.dim_stages")
    with duckdb.connect() as con:
        con.execute("create schema marts")
        con.execute("create table marts.dim_stages (stage varchar, name_zh varchar)")
        con.execute("comment on column marts.dim_stages.stage is 'primary or junior.'")
        (entry,) = dictionary_entries(con)
    assert [(c.name, c.description_zh, c.description) for c in entry.columns] == [
        ("stage", stages.descriptions_zh["stage"], "primary or junior."),
        ("name_zh", stages.descriptions_zh["name_zh"], ""),
    ]


def test_the_stage_lookup_and_the_glossary_name_the_stages_alike():
    """marts.dim_stages (for analysts) and the glossary's stage labels (for the pages) are two
    copies of one fact: they must not drift apart."""
    import yaml

    from pipelines.lib.reference.registry import stages_frame

    glossary = yaml.safe_load((MODELS_DIR / "glossary_zh.yaml").read_text(encoding="utf-8"))
    stages = stages_frame().sort("stage_order")
    assert dict(zip(stages["stage"], stages["name_zh"], strict=True)) == glossary["values"]["stage"]
    assert stages["name_zh"].to_list() == ["小学", "初中"]
