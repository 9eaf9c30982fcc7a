"""The province's annual monitoring report (年度监测报告): one document per census year, as a page
to print (HTML with the print stylesheet) and as that page printed to PDF (pdf.py).

    监测报告_<year>.html, 监测报告_<year>.pdf   in the reports folder, linked from index.html

What it says, in order: the year in numbers (counties meeting each standard, this year against
last; certified counties failing; alerts), the counties whose verdict changed, the alerts at
warning or worse, each prefecture's picture with its counties, and the rankings with certified
and uncertified counties apart. Every sentence is a template over one warehouse row
(monitoring.area_summary, monitoring.year_summary), written with each figure cited; the tables
behind the sentences follow them. Like the other reports, this module only selects and arranges.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from pipelines.lib.monitoring.messages import Templates
from pipelines.lib.outputs.filing import css_text, write_text
from pipelines.lib.outputs.reports.build import YEAR_META, environment
from pipelines.lib.outputs.reports.data import Row, group, read_rows
from pipelines.lib.outputs.reports.facts import FACTS_ELEMENT_ID, Facts
from pipelines.lib.sentences import Words, read_words
from pipelines.lib.warehouse import table_exists

STAGES = ("primary", "junior")


def report_name(census_year: int) -> str:
    return f"监测报告_{census_year}.html"


@dataclass(frozen=True)
class ProvinceReport:
    census_year: int
    words: Words
    templates: Templates
    year_summary: Row
    standards: list[Row]
    provinces: list[Row]  # monitoring.area_summary rows of the province as a whole
    prefectures: dict[tuple, list[Row]]  # area_code -> its area_summary rows
    severities: dict[tuple, list[Row]]  # (standard_id, stage) -> monitoring.severity_summary
    changes: list[Row]  # monitoring.county_verdict_changes: newly failing, recovered
    counties: dict[tuple, list[Row]]  # prefecture_code -> its counties' verdict rows
    ranking: dict[tuple, list[Row]]  # (standard_id, stage, is_monitored) -> ranked verdict rows
    alerts: list[Row]  # monitoring.backsliding_alerts at warning or worse
    checklist: dict[tuple, list[Row]] = field(default_factory=dict)  # checklist_id -> summary rows

    @property
    def province_name(self) -> str:
        return str(self.provinces[0]["area_name"]) if self.provinces else ""


def read_province_report(con: duckdb.DuckDBPyConnection, census_year: int) -> ProvinceReport:
    y = {"census_year": census_year}

    def rows(relation: str, statement: str, params: dict | None = None) -> list[Row]:
        return read_rows(con, relation, f"province_report/{statement}", params)

    areas = rows("monitoring.area_summary", "areas", y)
    return ProvinceReport(
        census_year=census_year,
        words=read_words(con),
        templates=Templates.from_warehouse(con),
        year_summary=rows("monitoring.year_summary", "year_summary", y)[0],
        standards=rows("marts.standards", "standards"),
        provinces=[r for r in areas if r["area_level"] == "province"],
        prefectures=group((r for r in areas if r["area_level"] == "prefecture"), "area_code"),
        severities=group(rows("monitoring.severity_summary", "severities", y), "standard_id", "stage"),
        changes=rows("monitoring.county_verdict_changes", "changes", y),
        counties=group(rows("monitoring.county_verdict_changes", "counties", y), "prefecture_code"),
        ranking=group(
            rows("monitoring.county_verdict_changes", "ranking", y), "standard_id", "stage", "is_monitored"
        ),
        alerts=rows("monitoring.backsliding_alerts", "alerts", y),
        checklist=group(rows("marts.county_checklist_summary", "checklist", y), "checklist_id")
        if table_exists(con, "marts", "county_checklist_summary")
        else {},
    )


def render(report: ProvinceReport, printed: date) -> str:
    facts = Facts(report.words, report.templates)
    title = f"{report.province_name}{report.census_year}年县域义务教育均衡发展监测报告"
    return (
        environment()
        .get_template("province_report.html")
        .render(
            report=report,
            census_year=report.census_year,
            year_summary=report.year_summary,
            stages=STAGES,
            words=report.words,
            cite=facts.cite,
            sentence=facts.sentence,
            alert_message=facts.alert_message,
            facts=facts,
            facts_element_id=FACTS_ELEMENT_ID,
            year_meta=YEAR_META,
            running_title=css_text(title),
            printed=printed.isoformat(),
        )
    )


def write_province_report(
    con: duckdb.DuckDBPyConnection, out_dir: Path, census_year: int, printed: date | None = None
) -> Path:
    """Write the report page into out_dir; returns its path (the PDF is printed from it)."""
    report = read_province_report(con, census_year)
    path = out_dir / report_name(census_year)
    write_text(path, render(report, printed or date.today()))
    return path
