"""`junheng report`, `junheng dictionary`, `junheng alerts --format xlsx` and the end of
`junheng demo`, as a user runs them."""

from pathlib import Path

import duckdb
import openpyxl
import pytest

from pipelines.cli import main

pytestmark = pytest.mark.integration


def test_the_demo_ends_by_printing_the_report_index(demo):
    last = demo.output.strip().splitlines()[-1]
    assert last.startswith("报告：")
    index = Path(last.split("：", 1)[1].strip())
    assert index == (demo.reports / "index.html").resolve() and index.is_file()
    assert "发布库：" in demo.output and str(demo.published) in demo.output


def test_report_for_one_county_and_an_earlier_year(demo, tmp_path, capsys):
    out = tmp_path / "reports"
    args = ["report", "--published", str(demo.published), "--out", str(out)]
    assert main([*args, "--county", "900421", "--year", "2023"]) == 0
    printed = capsys.readouterr().out
    assert f"报告：{out / 'index.html'}" in printed
    # the county's page, and (it is certified) the tables it files, for that year
    assert sorted(p.name for p in (out / "counties").iterdir()) == [
        "900421.html",
        *(f"900421_县域均衡表_2023.{suffix}" for suffix in ("html", "pdf", "xlsx")),
    ]
    assert "已认定县的填报材料" in printed and "1 个县" in printed
    assert "2023" in (out / "counties" / "900421.html").read_text(encoding="utf-8")
    assert sorted(p.name for p in (out / "excel").iterdir()) == ["县域均衡_2023.xlsx", "预警清单_2023.xlsx"]
    alerts = openpyxl.load_workbook(out / "excel" / "预警清单_2023.xlsx").active
    counties = {row[1] for row in alerts.iter_rows(min_row=2, values_only=True)}
    assert counties <= {"900421"}
    assert (out / "dictionary.html").is_file()


def test_report_refuses_what_it_cannot_do(demo, tmp_path, capsys):
    assert main(["report", "--published", str(tmp_path / "none.duckdb"), "--out", str(tmp_path)]) == 2
    assert "junheng run" in capsys.readouterr().err
    args = ["report", "--published", str(demo.published), "--out", str(tmp_path / "r")]
    assert main([*args, "--year", "1999"]) == 2
    assert "1999" in capsys.readouterr().err
    assert main([*args, "--county", "000000"]) == 2
    assert "000000" in capsys.readouterr().err


def test_dictionary_and_xlsx_alert_list_commands(demo, tmp_path, capsys):
    markdown = tmp_path / "dictionary.md"
    assert main(["dictionary", "--published", str(demo.published), "--out", str(markdown)]) == 0
    assert "### marts.county_balance" in markdown.read_text(encoding="utf-8")
    xlsx = tmp_path / "alerts.xlsx"
    args = ["alerts", "--warehouse", str(demo.published), "--year", "2024", "--min-severity", "breach"]
    assert main([*args, "--format", "xlsx"]) == 2  # an xlsx file needs --out
    assert main([*args, "--format", "xlsx", "--out", str(xlsx)]) == 0
    sheet = openpyxl.load_workbook(xlsx).active
    with duckdb.connect(str(demo.published), read_only=True) as con:
        (worst,) = con.execute(
            "select count(*) from monitoring.backsliding_alerts where census_year = 2024 and severity_rank >= "
            "(select rank from marts.alert_severities where severity = 'breach')"
        ).fetchone()
    # the demo's 2024 breach and critical alerts: its two planted failures, one row each
    assert sheet.max_row - 1 == worst == 2
