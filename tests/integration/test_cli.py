"""`junheng generate` and `junheng run` as a user calls them, including a refused file."""

import polars as pl
import pytest

from pipelines.cli import main
from pipelines.lib.warehouse import connect, query_frame

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    landing, warehouse = root / "landing", root / "w.duckdb"
    assert (
        main(["generate", "--out", str(landing), "--counties", "4", "--years", "2023-2025", "--seed", "3"])
        == 0
    )
    assert main(["run", "--landing", str(landing), "--warehouse", str(warehouse)]) == 0
    return landing, warehouse


def test_run_prints_the_per_year_summary(built, capsys):
    landing, warehouse = built
    assert main(["run", "--landing", str(landing), "--warehouse", str(warehouse), "--years", "2024"]) == 0
    out = capsys.readouterr().out
    assert "census year 2024 done" in out
    assert "basic_2012/primary" in out and "quality_2017/junior" in out
    for year in ("2023", "2024", "2025"):
        assert year in out


def test_a_refused_file_fails_the_run_and_leaves_the_year_as_it_was(built, capsys):
    landing, warehouse = built
    with connect(warehouse, read_only=True) as con:
        before = query_frame(
            con, "select * from raw.census_schools where census_year = 2024 order by school_id"
        )
    extract = sorted((landing / "2024").glob("*.csv"))[0]
    original = extract.read_bytes()
    try:
        pl.read_csv(extract, infer_schema=False).drop("books").write_csv(extract)
        code = main(["run", "--landing", str(landing), "--warehouse", str(warehouse), "--years", "2024"])
        err = capsys.readouterr().err
        assert code == 1
        assert extract.name in err and "books" in err
    finally:
        extract.write_bytes(original)
    with connect(warehouse, read_only=True) as con:
        after = query_frame(
            con, "select * from raw.census_schools where census_year = 2024 order by school_id"
        )
    assert before.equals(after)


def test_run_without_census_folders_says_so(tmp_path, capsys):
    assert main(["run", "--landing", str(tmp_path), "--warehouse", str(tmp_path / "w.duckdb")]) == 1
    assert "no census-year folders" in capsys.readouterr().err


def test_years_argument_is_checked():
    with pytest.raises(SystemExit):
        main(["generate", "--out", "x", "--years", "2024-2020"])
