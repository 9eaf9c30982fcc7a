"""The first census contract: each rule with a passing and a failing row, and what a clerk sees."""

from pathlib import Path

import polars as pl
import pytest

from contracts.columns import CENSUS_COLUMN_NAMES
from pipelines.lib.ingest.census_ingest import FileRejected, load_census_year, load_file
from tests.conftest import census_row, empty_stage

REGISTRY = ["900101", "900102"]


def write_csv(path: Path, rows: list[dict], drop: tuple[str, ...] = ()) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = [c for c in CENSUS_COLUMN_NAMES if c not in drop]
    frame = pl.DataFrame(
        [
            {
                c: (
                    ""
                    if r.get(c) is None
                    else str(r.get(c)).lower()
                    if isinstance(r.get(c), bool)
                    else str(r.get(c))
                )
                for c in columns
            }
            for r in rows
        ]
    )
    frame.write_csv(path)
    return path


def check(tmp_path, bad: dict, good: dict | None = None):
    """Load a file of one good row and one row with `bad` overrides; return the rejections."""
    rows = [
        census_row(**{"school_id": "2190000001", **(good or {})}),
        census_row(**{"school_id": "2190000002", **bad}),
    ]
    path = write_csv(tmp_path / "2024" / "extract.csv", rows)
    accepted, rejected, report = load_file(path, "2024/extract.csv", 2024, REGISTRY)
    assert report.rows_read == report.rows_accepted + report.rows_rejected == 2
    return accepted, rejected


RULES = [
    # (column, bad overrides, good overrides, check name fragment)
    ("school_id", {"school_id": "21900002"}, {}, "str_matches"),
    ("county_code", {"county_code": "9001"}, {}, "str_matches"),
    ("county_code", {"county_code": "900199"}, {"county_code": "900102"}, "isin"),
    ("school_type_code", {"school_type_code": "999"}, {"school_type_code": "218"}, "isin"),
    ("urban_rural_code", {"urban_rural_code": "300"}, {"urban_rural_code": "220"}, "isin"),
    ("ownership", {"ownership": "集体"}, {"ownership": "民办"}, "isin"),
    ("primary_students", {"primary_students": -3}, {"primary_students": 0}, "greater_than_or_equal_to"),
    ("books", {"books": "12a"}, {"books": "1,234"}, "dtype"),
    ("equipment_value_yuan", {"equipment_value_yuan": -1.0}, {}, "greater_than_or_equal_to"),
    ("is_county_run", {"is_county_run": "maybe"}, {"is_county_run": "否"}, "dtype"),
    ("school_name", {"school_name": None}, {}, "not_nullable"),
    ("(row)", {"primary_key_teachers": 31}, {"primary_key_teachers": 30}, "primary_key_teachers"),
    (
        "(row)",
        {"junior_students": 10, "junior_classes": 1},
        {"school_type_code": "312", "junior_students": 10, "junior_classes": 1},
        "does not teach the junior stage",
    ),
    (
        "(row)",
        {"primary_classes": 0},
        empty_stage("primary"),
        "primary_classes is 0",
    ),
]


@pytest.mark.parametrize(
    ("column", "bad", "good", "check_name"), RULES, ids=[f"{r[0]}-{r[3]}" for r in RULES]
)
def test_rule_rejects_the_bad_row_and_keeps_the_good_one(tmp_path, column, bad, good, check_name):
    accepted, rejected = check(tmp_path, bad, good)
    assert accepted["school_id"].to_list() == ["2190000001"]
    assert rejected["source_row"].unique().to_list() == [3]  # header is line 1, bad row is line 3
    hit = rejected.filter(
        (pl.col("column") == column) & pl.col("check").str.contains(check_name, literal=True)
    )
    assert not hit.is_empty(), rejected
    message = hit["message_en"][0]
    assert "2024/extract.csv" in message and "row 3" in message
    assert column in message or column == "(row)"  # a row rule names its columns in its words
    assert "第3行" in hit["message_zh"][0]


def test_duplicate_school_id_within_a_file_rejects_both_rows(tmp_path):
    rows = [
        census_row(school_id="2190000001"),
        census_row(school_id="2190000001"),
        census_row(school_id="2190000003"),
        census_row(school_id="2190000004"),
        census_row(school_id="2190000005"),
    ]
    path = write_csv(tmp_path / "2024" / "a.csv", rows)
    accepted, rejected, _ = load_file(path, "2024/a.csv", 2024, REGISTRY)
    assert accepted["school_id"].to_list() == ["2190000003", "2190000004", "2190000005"]
    assert sorted(rejected["source_row"].to_list()) == [2, 3]


def test_empty_markers_and_thousands_separators_are_normalised(tmp_path):
    accepted, rejected = check(tmp_path, {"max_class_size": "—", "books": " 12,000 "})
    assert rejected.is_empty()
    row = accepted.filter(pl.col("school_id") == "2190000002").row(0, named=True)
    assert row["max_class_size"] is None and row["books"] == 12000


def test_school_ids_keep_leading_zeros(tmp_path):
    accepted, _ = check(tmp_path, {"school_id": "0190000002"})
    assert "0190000002" in accepted["school_id"].to_list()


def test_a_missing_required_column_rejects_the_file(tmp_path):
    path = write_csv(tmp_path / "2024" / "a.csv", [census_row()], drop=("books",))
    with pytest.raises(FileRejected, match="books"):
        load_file(path, "2024/a.csv", 2024, REGISTRY)


def test_a_census_year_that_disagrees_with_the_folder_rejects_the_file(tmp_path):
    path = write_csv(tmp_path / "2024" / "a.csv", [census_row(census_year=2023)])
    with pytest.raises(FileRejected, match="2024"):
        load_file(path, "2024/a.csv", 2024, REGISTRY)


def test_a_mostly_invalid_file_is_rejected_whole(tmp_path):
    rows = [census_row(school_id=f"219000000{i}", county_code="999999") for i in range(3)]
    rows.append(census_row(school_id="2190000009"))
    path = write_csv(tmp_path / "2024" / "a.csv", rows)
    with pytest.raises(FileRejected, match="limit"):
        load_file(path, "2024/a.csv", 2024, REGISTRY)


def test_a_school_in_two_files_of_one_year_is_a_file_level_conflict(tmp_path):
    write_csv(tmp_path / "2024" / "a.csv", [census_row(school_id="2190000001")])
    write_csv(tmp_path / "2024" / "b.csv", [census_row(school_id="2190000001")])
    with pytest.raises(FileRejected, match="2024/a.csv"):
        load_census_year(tmp_path, 2024, REGISTRY, "load-1")


def test_a_year_of_several_files_loads_with_lineage(tmp_path):
    write_csv(tmp_path / "2024" / "a.csv", [census_row(school_id="2190000001")])
    write_csv(
        tmp_path / "2024" / "b.csv",
        [census_row(school_id="2190000002"), census_row(school_id="2190000003", books=-1)],
    )
    load = load_census_year(tmp_path, 2024, REGISTRY, "load-1")
    assert load.accepted.sort("school_id")["source_file"].to_list() == ["2024/a.csv", "2024/b.csv"]
    assert set(load.accepted["load_id"]) == {"load-1"}
    assert [(f.rows_read, f.rows_accepted, f.rows_rejected) for f in load.files] == [(1, 1, 0), (2, 1, 1)]
    assert load.rejected["school_id"].to_list() == ["2190000003"]


def test_plain_and_ruled_columns_cast_alike():
    from pipelines.lib.ingest.census_ingest import cast_columns

    def typed(books: list[str | None], area: list[str | None]) -> tuple[list, list, list]:
        n = len(books)
        text = pl.DataFrame(
            {
                "source_row": list(range(2, n + 2)),
                "school_id": [f"21900000{i:02d}" for i in range(n)],
                "books": books,
                "teaching_aux_area_m2": area,
            },
            schema_overrides={"source_row": pl.Int64},
        )
        out, problems = cast_columns(text, "2024/a.csv")
        return (
            out["books"].to_list(),
            out["teaching_aux_area_m2"].to_list(),
            sorted(problems["value"].to_list()),
        )

    # every cell a plain number: the direct cast
    assert typed(["500", "12", None], ["3.5", "10", None])[:2] == ([500, 12, None], [3.5, 10.0, None])
    # one cell needing the rules sends the whole column through them, with the same plain values
    books, area, bad = typed(["500", "500.0", "1,000", "x"], ["3.5", "inf", "1,200.5", "nan"])
    assert books == [500, 500, 1000, None] and area == [3.5, None, 1200.5, None]
    assert bad == ["inf", "nan", "x"]


@pytest.mark.parametrize(("typed", "loaded"), [("1,234", 1234), ("12,345,678", 12345678), ("1,234.0", 1234)])
def test_a_comma_between_true_groups_of_three_is_a_thousands_separator(tmp_path, typed, loaded):
    accepted, rejected = check(tmp_path, {"books": typed})
    assert rejected.is_empty()
    assert accepted.filter(pl.col("school_id") == "2190000002")["books"].to_list() == [loaded]


def test_a_grouped_negative_count_is_read_then_refused_by_its_own_rule(tmp_path):
    _, rejected = check(tmp_path, {"books": "-1,000"})
    assert rejected["check"].to_list() == ["greater_than_or_equal_to(0)"]
    assert rejected["value"].to_list() == ["-1000"]


@pytest.mark.parametrize("typed", ["1,2,3,4", "12,34", "1,2345", "1234,"])
def test_commas_that_are_not_groups_of_three_are_refused_not_joined(tmp_path, typed):
    """'1,2,3,4' was once loaded as 1234: a list of numbers typed into one cell."""
    accepted, rejected = check(tmp_path, {"books": typed})
    assert "2190000002" not in accepted["school_id"].to_list()
    (row,) = rejected.iter_rows(named=True)
    assert (row["column"], row["check"], row["value"]) == ("books", "dtype", typed)
    assert "逗号只能作千分位分隔符" in row["message_zh"] and "groups of three digits" in row["message_en"]


def test_school_ids_excel_showed_in_scientific_notation_are_refused_as_what_they_are(tmp_path):
    """Excel turns an 11-digit id into 2.19E+9 when the column is not text; several schools then
    share one value. Each is refused once, as scientific notation, not as a duplicate."""
    rows = [census_row(school_id="2190000001")] + [
        census_row(school_id=shown) for shown in ("2.19E+9", "2.19E+9", "2.19e+09")
    ]
    path = write_csv(tmp_path / "2024" / "extract.csv", rows)
    # three of four rows invalid is over the file limit: the whole file is refused, saying why
    with pytest.raises(FileRejected, match="scientific notation"):
        load_file(path, "2024/extract.csv", 2024, REGISTRY)
    rows = [census_row(school_id=f"219000000{i}") for i in range(1, 6)] + [census_row(school_id="2.19E+9")]
    path = write_csv(tmp_path / "2024" / "extract.csv", rows)
    accepted, rejected, report = load_file(path, "2024/extract.csv", 2024, REGISTRY)
    assert accepted.height == 5 and report.rows_rejected == 1
    assert rejected["check"].to_list() == ["scientific_notation"]
    assert "科学计数法" in rejected["message_zh"][0] and "设为文本格式" in rejected["message_zh"][0]


def test_a_complete_middle_school_without_senior_students_this_year_loads(tmp_path):
    """A 341 (完全中学) with no senior pupils in a year is a real school in a real year: its junior
    section takes the whole school (the split by weighted pupils gives it a share of 1)."""
    accepted, rejected = check(
        tmp_path,
        {
            **empty_stage("primary"),
            "school_type_code": "341",
            "junior_students": 600,
            "junior_classes": 12,
            "junior_teachers": 40,
            "senior_students": 0,
        },
    )
    assert rejected.is_empty()
    assert accepted.filter(pl.col("school_id") == "2190000002")["senior_students"].to_list() == [0]


def test_messages_use_the_header_as_typed_and_plain_words(tmp_path):
    rows = [census_row(school_id="2190000001"), census_row(school_id="2190000002", primary_students=-3)]
    path = write_csv(tmp_path / "2024" / "extract.csv", rows)
    text = path.read_text(encoding="utf-8").replace("primary_students", "小学在校生数（人）", 1)
    path.write_text(text, encoding="utf-8")
    _, rejected, _ = load_file(path, "2024/extract.csv", 2024, REGISTRY)
    (row,) = rejected.iter_rows(named=True)
    assert row["message_zh"] == "2024/extract.csv 第3行 小学在校生数（人）: '-3' 不能为负数"
    assert row["message_en"] == "2024/extract.csv row 3 小学在校生数（人）: '-3' must not be negative"


def test_a_repeated_school_id_names_the_other_row_and_an_unknown_county_lists_no_registry(tmp_path):
    rows = [
        census_row(school_id="2190000001"),
        census_row(school_id="2190000002"),
        census_row(school_id="2190000001"),
        census_row(school_id="2190000003", county_code="900199"),
        *(census_row(school_id=f"219000001{i}") for i in range(4)),
    ]
    path = write_csv(tmp_path / "2024" / "extract.csv", rows)
    _, rejected, _ = load_file(path, "2024/extract.csv", 2024, ["900101", "900102", "900103"])
    by_row = {r["source_row"]: r for r in rejected.iter_rows(named=True)}
    assert "与第 4 行的学校标识码重复" in by_row[2]["message_zh"]
    assert "与第 2 行的学校标识码重复" in by_row[4]["message_zh"]
    county = by_row[5]
    assert county["check"] == "isin" and "900101" not in county["message_zh"] + county["message_en"]
    assert "不在县区名录中" in county["message_zh"]


def test_a_rule_across_columns_says_both_values_not_the_row(tmp_path):
    _, rejected = check(tmp_path, {"primary_key_teachers": 31, "primary_teachers": 30})
    (row,) = rejected.iter_rows(named=True)
    assert row["value"] == "primary_key_teachers=31; primary_teachers=30"
    assert row["message_zh"].endswith("primary_key_teachers为 31，不能多于primary_teachers（30）")
    assert "{" not in row["message_zh"] + row["message_en"]


def test_a_blank_measure_loads_as_unknown_and_a_blank_pupil_count_is_refused_with_the_reason(tmp_path):
    rows = [
        census_row(school_id="2190000001", equipment_value_yuan=None, primary_pe_art_teachers=None),
        census_row(school_id="2190000002", primary_classes=None),
        census_row(school_id="2190000003", primary_students=None),
    ]
    path = write_csv(tmp_path / "2024" / "extract.csv", rows)
    text = path.read_text(encoding="utf-8").replace("primary_students", "小学在校生数（人）", 1)
    path.write_text(text, encoding="utf-8")
    accepted, rejected, report = load_file(path, "2024/extract.csv", 2024, REGISTRY)
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (3, 2, 1)
    first, second = accepted.sort("school_id").iter_rows(named=True)
    assert first["equipment_value_yuan"] is None and first["primary_pe_art_teachers"] is None
    assert first["computers"] == 60 and first["primary_students"] == 500  # the rest as typed
    assert second["primary_classes"] is None  # unknown, not 0, and no "students need classes" refusal
    assert report.message == (
        "3 个数据单元格为空（第2行 equipment_value_yuan；第2行 primary_pe_art_teachers；第3行 primary_classes），"
        "按未知值载入：这些学校不计入用到该数据的指标，所在县结果为暂定 / 3 measure cells blank, loaded as "
        "unknown: those schools are left out of the indicators that need them and their counties' results "
        "are provisional"
    )
    (refused,) = rejected.iter_rows(named=True)
    assert refused["school_id"] == "2190000003" and refused["check"] == "not_nullable"
    assert refused["message_zh"] == (
        "2024/extract.csv 第4行 小学在校生数（人）: （空） 不能为空：在校生数是各项指标的分母和学校的权重，该学段没有学生请填 0"
    )


@pytest.mark.parametrize("marker", ["", "-", "无"])
def test_an_empty_marker_in_a_measure_is_unknown_never_zero(tmp_path, marker):
    path = write_csv(tmp_path / "2024" / "extract.csv", [census_row(), census_row(school_id="2190000002")])
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    cells[header.index("computers")] = marker
    lines[1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    accepted, rejected, _ = load_file(path, "2024/extract.csv", 2024, REGISTRY)
    assert rejected.is_empty()
    assert accepted.sort("school_id")["computers"].to_list() == [None, 60]
