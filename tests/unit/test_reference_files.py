"""The reference files: county registry and certifications, with their Chinese headers."""

import pytest

from pipelines.lib.reference.registry import ReferenceError, read_certifications, read_counties

COUNTIES_ZH = "县区代码,县区名称,地市代码,地市名称,省份代码,省份名称\n900101,青山县,9001,东阳市,90,示例省\n900102,临江区,9001,东阳市,90,示例省\n"
STANDARDS = ["basic_2012", "quality_2017"]


def write(tmp_path, name, text, encoding="utf-8"):
    folder = tmp_path / "reference"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(text.encode(encoding))


def test_county_registry_with_chinese_headers_in_gbk(tmp_path):
    write(tmp_path, "counties.csv", COUNTIES_ZH, "gbk")
    counties = read_counties(tmp_path)
    assert counties["county_code"].to_list() == ["900101", "900102"]
    assert counties["county_name"][0] == "青山县"


def test_six_digit_gb2260_prefecture_and_province_codes_are_accepted(tmp_path):
    """GB/T 2260 writes every level in six digits (prefecture 341600, province 340000)."""
    text = (
        "县区代码,县区名称,地市代码,地市名称,省份代码,省份名称\n"
        "341602,谯城区,341600,亳州市,340000,安徽省\n"
        "341621,涡阳县,3416,亳州市,34,安徽省\n"  # the short forms still work, mixed in one file
    )
    write(tmp_path, "counties.csv", text, "gbk")
    counties = read_counties(tmp_path)
    assert counties["prefecture_code"].to_list() == ["3416", "3416"]
    assert counties["province_code"].to_list() == ["34", "34"]


@pytest.mark.parametrize("prefecture", ["341602", "34160"])
def test_a_prefecture_code_that_is_a_county_code_or_too_short_is_refused(tmp_path, prefecture):
    write(
        tmp_path,
        "counties.csv",
        f"县区代码,县区名称,地市代码,地市名称,省份代码,省份名称\n341602,谯城区,{prefecture},亳州市,34,安徽省\n",
    )
    with pytest.raises(ReferenceError, match="prefecture_code"):
        read_counties(tmp_path)


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("90010,短码县,9001,东阳市,90,示例省", "str_matches"),
        ("900101,重复县,9001,东阳市,90,示例省", "unique"),
    ],
)
def test_a_bad_county_registry_names_file_row_and_column(tmp_path, row, problem):
    write(tmp_path, "counties.csv", COUNTIES_ZH + row + "\n")
    with pytest.raises(ReferenceError, match=f"counties.csv.*county_code.*{problem}"):
        read_counties(tmp_path)


def test_a_missing_registry_is_refused(tmp_path):
    with pytest.raises(ReferenceError, match="missing"):
        read_counties(tmp_path)


def test_certifications_map_chinese_standard_names(tmp_path):
    write(
        tmp_path,
        "certifications.csv",
        "县区代码,认定类型,认定年份,撤销年份\n900101,基本均衡,2013,\n900101,优质均衡,2021,\n900102,basic_2012,2014,2022\n",
    )
    certs = read_certifications(tmp_path, ["900101", "900102"], STANDARDS)
    assert certs.rows() == [
        ("900101", "basic_2012", 2013, None),
        ("900101", "quality_2017", 2021, None),
        ("900102", "basic_2012", 2014, 2022),
    ]


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("900199,basic_2012,2013,", "county_code"),
        ("900101,均衡,2013,", "standard_id"),
        ("900101,basic_2012,2015,2014", "revoked_year must be after"),
        ("900101,basic_2012,二〇一三,", "certified_year"),
    ],
)
def test_bad_certifications_are_refused_with_the_reason(tmp_path, row, problem):
    write(tmp_path, "certifications.csv", f"county_code,standard_id,certified_year,revoked_year\n{row}\n")
    with pytest.raises(ReferenceError, match=problem):
        read_certifications(tmp_path, ["900101"], STANDARDS)


def test_a_county_certified_twice_for_one_standard_is_refused(tmp_path):
    write(
        tmp_path,
        "certifications.csv",
        "county_code,standard_id,certified_year\n900101,basic_2012,2013\n900101,基本均衡,2014\n",
    )
    with pytest.raises(ReferenceError, match="certifications"):
        read_certifications(tmp_path, ["900101"], STANDARDS)


def test_no_certifications_file_means_no_certified_county(tmp_path):
    assert read_certifications(tmp_path, ["900101"], STANDARDS).is_empty()
