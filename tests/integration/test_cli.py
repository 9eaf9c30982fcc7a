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
    assert "2024 年度完成" in out
    assert "基本均衡·小学" in out and "优质均衡·初中" in out and "达标" in out
    for year in ("2023", "2024", "2025"):
        assert year in out
    assert (
        main(
            ["run", "--landing", str(landing), "--warehouse", str(warehouse), "--years", "2024", "--english"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "census year 2024 done" in out and "basic_2012/primary" in out and "达标" not in out


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


def test_a_refused_row_is_counted_and_explained_and_the_rest_loads(built, capsys):
    landing, warehouse = built
    extract = sorted((landing / "2025").glob("*.csv"))[0]
    original = extract.read_bytes()
    frame = pl.read_csv(extract, infer_schema=False)
    bad_id = frame["school_id"][3]
    try:
        frame.with_columns(
            pl.when(pl.col("school_id") == bad_id)
            .then(pl.lit("-5"))
            .otherwise(pl.col("books"))
            .alias("books")
        ).write_csv(extract)
        assert main(["run", "--landing", str(landing), "--warehouse", str(warehouse), "--years", "2025"]) == 0
        out = capsys.readouterr().out
        assert "退回 1 行" in out and "books" in out and "第5行" in out, out  # header + 3 rows before it
        with connect(warehouse, read_only=True) as con:
            refused = query_frame(con, "select * from audit.rejected_rows where census_year = 2025")
            loaded = query_frame(con, "select school_id from raw.census_schools where census_year = 2025")
        assert refused["school_id"].to_list() == [bad_id]
        assert bad_id not in loaded["school_id"].to_list()
    finally:
        extract.write_bytes(original)
        main(["run", "--landing", str(landing), "--warehouse", str(warehouse), "--years", "2025"])


def test_run_without_census_folders_says_so(tmp_path, capsys):
    assert main(["run", "--landing", str(tmp_path), "--warehouse", str(tmp_path / "w.duckdb")]) == 2
    assert "no census-year folders" in capsys.readouterr().err


def test_years_argument_is_checked():
    with pytest.raises(SystemExit):
        main(["generate", "--out", "x", "--years", "2024-2020"])


def test_validate_tells_a_clerk_what_to_fix_without_touching_the_warehouse(built, tmp_path, capsys):
    landing, warehouse = built
    year_dir = tmp_path / "2024"
    year_dir.mkdir()
    good = sorted((landing / "2024").glob("*.csv"))[0]
    frame = pl.read_csv(good, infer_schema=False)
    broken = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 1).then(pl.lit("12a")).otherwise(pl.col("books")).alias("books"),
        pl.when(pl.int_range(pl.len()) == 2)
        .then(pl.lit("999"))
        .otherwise(pl.col("school_type_code"))
        .alias("school_type_code"),
    )
    broken.write_csv(
        year_dir / good.name
    )  # a corrected county file, checked as if it replaced the landed one
    frame.drop("school_name").write_csv(year_dir / "county_b.csv")
    before = warehouse.stat().st_mtime_ns
    out = tmp_path / "problems.csv"
    code = main(
        [
            "validate",
            str(year_dir / good.name),
            str(year_dir / "county_b.csv"),
            "--landing",
            str(landing),
            "--out",
            str(out),
        ]
    )
    printed = capsys.readouterr().out
    assert code == 1
    assert "PROBLEMS" in printed and "row 3 books: '12a' is not a valid whole number" in printed
    assert "第4行 school_type_code" in printed
    assert "REFUSED" in printed and "school_name" in printed
    assert "census year 2024 would not load" in printed
    problems = pl.read_csv(out, infer_schema=False)
    assert sorted(problems["source_row"].to_list()) == ["3", "4"]
    assert warehouse.stat().st_mtime_ns == before


def test_validate_passes_a_clean_file(built, capsys):
    landing, _ = built
    assert (
        main(["validate", *map(str, sorted((landing / "2023").glob("*.csv"))), "--landing", str(landing)])
        == 0
    )
    assert "0 rows would be refused" in capsys.readouterr().out
