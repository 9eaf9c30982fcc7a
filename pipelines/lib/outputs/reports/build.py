"""Build the offline HTML reports: a province overview and one page per county, in Chinese.

The pages are static files that work from disk (file://) with no network: one inline
stylesheet, system fonts, inline SVG charts (charts.py), relative links only, no JavaScript (the
one <script> element is inert JSON: the page's citations, facts.py). Jinja2 escapes every value
from the data (school and county names come from census files).

This module only selects and arranges: every number, year, count and verdict on a page is a
column of a warehouse row (data.py), written by facts.cite in a format of
pipelines/lib/sentences.py. Nothing here compares a value with a threshold, counts rows or ranks
them; where a page needs such a fact, it is a column of a model (docs/reports.md).

Layout under out_dir:
    index.html              province overview for the census year
    counties/<code>.html    one page per county

With `county_code`, only that county's page is (re)written; the index is still rewritten and
lists every county, but links only to county pages on disk that were built for the same census
year (each page records its year in `<meta name="junheng-census-year">`), so a page left over
from another year is never presented as this year's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from pipelines.lib.outputs.reports import charts
from pipelines.lib.outputs.reports.data import ReportData, Row, by_county, group, index, read_report_data
from pipelines.lib.outputs.reports.facts import FACTS_ELEMENT_ID, Facts

TEMPLATES_DIR = Path(__file__).parent / "templates"
COUNTIES_DIR = "counties"
YEAR_META = "junheng-census-year"
SAFE_CODE = re.compile(r"^[0-9A-Za-z_-]{1,32}$")


def build_reports(
    database: Path,
    out_dir: Path,
    census_year: int | None = None,
    county_code: str | None = None,
    links: dict[str, str] | None = None,
) -> Path:
    """Write index.html (province overview) and counties/<code>.html under out_dir; returns the index path.

    database: a DuckDB warehouse file, opened read-only (normally the published snapshot).
    census_year: the report year; None is the latest loaded year. Charts show the loaded years up
        to it.
    county_code: only this county's page (the index is rewritten too and lists every county).
    links: extra links for the index, label -> path relative to out_dir (Excel exports, data
        docs); only links whose target exists are shown.
    Raises ValueError (Chinese and English) for an unknown year or county.
    """
    data = read_report_data(Path(database), census_year, county_code)
    out_dir = Path(out_dir)
    pages_dir = out_dir / COUNTIES_DIR
    pages_dir.mkdir(parents=True, exist_ok=True)
    env = environment()
    view = ReportView(data)
    codes = [county_code] if county_code else [str(r["county_code"]) for r in data.counties]
    county_template = env.get_template("county.html")
    for code in codes:
        if not SAFE_CODE.match(code):
            continue  # never a path built from an odd code; the county is listed without a page
        facts = view.facts()
        _write(pages_dir / f"{code}.html", county_template.render(view.county_context(code, facts)))
    linked = {
        str(r["county_code"])
        for r in data.counties
        if _page_is_current(pages_dir, str(r["county_code"]), data.census_year)
    }
    index_path = out_dir / "index.html"
    facts = view.facts()
    _write(
        index_path,
        env.get_template("index.html").render(
            view.index_context(linked, _existing_links(out_dir, links), facts)
        ),
    )
    return index_path


def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _write(path: Path, text: str) -> None:
    """Write through a temporary file, so a reader never sees half a page."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def _page_is_current(pages_dir: Path, code: str, census_year: int) -> bool:
    if not SAFE_CODE.match(code):
        return False
    path = pages_dir / f"{code}.html"
    if not path.is_file():
        return False
    with open(path, encoding="utf-8", errors="replace") as f:
        head = f.read(2048)
    return f'<meta name="{YEAR_META}" content="{census_year}">' in head


def _existing_links(out_dir: Path, links: dict[str, str] | None) -> list[dict[str, str]]:
    """Relative links whose target exists under out_dir; absolute paths and URLs are dropped
    (the pages must not reach outside the report folder or the network)."""
    shown = []
    for label, target in (links or {}).items():
        path = Path(target)
        if "://" in target or target.startswith(("/", "\\")) or path.is_absolute() or ".." in path.parts:
            continue
        if target and (out_dir / path).exists():
            shown.append({"label": label, "href": quote(path.as_posix())})
    return shown


# ---------------------------------------------------------------- view


@dataclass(frozen=True)
class Section:
    """One standard and stage of one county."""

    standard: Row  # marts.standards
    stage: str
    balance: Row | None  # marts.county_balance of the report year
    status: Row | None  # monitoring.county_alert_status


class ReportView:
    """Arranges ReportData's rows for the templates (which rows go where, in warehouse order)."""

    def __init__(self, data: ReportData):
        self.data = data
        self.year = data.census_year
        self.counties = {str(r["county_code"]): r for r in data.counties}
        self.indicators = group(data.indicators, "standard_id", "stage")
        self.indicator_names = {(r["standard_id"], r["indicator_id"]): r for r in data.indicators}
        self.balance = by_county(data.balance)
        self.indicator_cv = by_county(data.indicator_cv)
        self.trends = by_county(data.trends)
        self.alerts = by_county(data.alerts)
        self.drivers = by_county(data.drivers)
        self.school_checks = by_county(data.school_checks)
        self.checklist = by_county(data.checklist)
        self.status = {str(r["county_code"]): r for r in data.data_status}
        self.alert_status = index(data.alert_status, "county_code", "standard_id", "stage")
        # the county-wide columns of monitoring.county_alert_status (the same on each of its rows)
        self.county_status = {str(r["county_code"]): r for r in data.alert_status}
        self.verdict_runs = index(data.verdict_runs, "county_code", "standard_id", "stage", "verdict")
        self.plans = group(data.what_if_plans, "county_code", "stage", "standard_id", "plan_metric_id")
        self.plan_schools = group(
            data.what_if_schools, "county_code", "stage", "standard_id", "plan_metric_id"
        )
        self.severity_summary = group(data.severity_summary, "standard_id", "stage")
        self.standard_summary = index(data.standard_summary, "standard_id", "stage")

    def facts(self) -> Facts:
        return Facts(self.data.words, self.data.templates)

    def standard_stages(self) -> list[tuple[Row, str]]:
        return [(std, stage) for std in self.data.standards for stage in self.data.stage_ids]

    def common(self, facts: Facts) -> dict[str, Any]:
        return {
            "census_year": self.year,
            "year_summary": self.data.year_summary,
            "provinces": self.data.provinces,
            "year_meta": YEAR_META,
            "words": self.data.words,
            "facts": facts,
            "cite": facts.cite,
            "sentence": facts.sentence,
            "facts_element_id": FACTS_ELEMENT_ID,
            "printed": date.today().isoformat(),  # the date a printed page carries (not a figure)
        }

    def county_href(self, code: str, linked: set[str]) -> str | None:
        """The index's relative link to a county page, when that page is current."""
        return f"{COUNTIES_DIR}/{code}.html" if code in linked else None

    # --- index

    def index_context(self, linked: set[str], links: list[dict[str, str]], facts: Facts) -> dict[str, Any]:
        data = self.data
        cards = [
            {
                "standard": std,
                "stage": stage,
                "summary": self.standard_summary.get((std["standard_id"], stage)),
                "severities": self.severity_summary.get((std["standard_id"], stage), []),
                "threshold": self._threshold_row(std["standard_id"], stage),
            }
            for std, stage in self.standard_stages()
        ]
        alerts = [
            {"alert": r, "href": self.county_href(str(r["county_code"]), linked), "plan": self._plan(r)}
            for r in data.alerts
            if r["status"] != "resolved"
        ]
        resolved = [
            {"alert": r, "href": self.county_href(str(r["county_code"]), linked)}
            for r in data.alerts
            if r["status"] == "resolved"
        ]
        year_balance = index(
            (r for r in data.balance if r["census_year"] == self.year), "county_code", "standard_id", "stage"
        )
        county_rows = [
            {
                "county": county,
                "href": self.county_href(str(county["county_code"]), linked),
                "statuses": [
                    self.alert_status.get((county["county_code"], std["standard_id"], stage))
                    for std in data.standards
                    for stage in data.stage_ids[:1]
                ],
                "cells": [
                    year_balance.get((county["county_code"], std["standard_id"], stage))
                    for std, stage in self.standard_stages()
                ],
                "worst": self.county_status.get(str(county["county_code"])),
            }
            for county in data.counties
        ]
        return {
            **self.common(facts),
            "links": links,
            "cards": cards,
            "active_alerts": alerts,
            "resolved_alerts": resolved,
            "rankings": self._rankings(linked, facts),
            "columns": [
                {"standard": std, "stage": stage, "is_composite": std["cv_rule"] == "composite"}
                for std, stage in self.standard_stages()
            ],
            "county_rows": county_rows,
            "n_pages": len(linked),
            "all_pages": len(linked) == len(data.counties),
        }

    def _threshold_row(self, standard_id: str, stage: str) -> Row | None:
        """A county_balance row of the standard and stage, to cite its threshold from."""
        return next(
            (r for r in self.data.ranking if r["standard_id"] == standard_id and r["stage"] == stage), None
        )

    def _rankings(self, linked: set[str], facts: Facts) -> list[dict[str, Any]]:
        """Per standard and stage, the counties in the warehouse's ranking order: the composite CV
        (standards judged on the composite) or, for the others, the counties whose CV part fails
        by their indicators over the threshold."""
        out = []
        for std, stage in self.standard_stages():
            rows = [
                r for r in self.data.ranking if r["standard_id"] == std["standard_id"] and r["stage"] == stage
            ]
            composite = std["cv_rule"] == "composite"
            shown = rows if composite else [r for r in rows if r["meets_cv_rule"] is False]
            column = "composite_cv" if composite else "n_indicators_over_threshold"
            bars = [
                charts.Bar(
                    self.counties[str(r["county_code"])]["county_name"],
                    r[column],
                    self.county_href(str(r["county_code"]), linked),
                    over=r["meets_cv_rule"] is False,
                    cite=str(facts.attrs(r, column, "cv" if composite else "int")),
                )
                for r in shown
            ]
            first = rows[0] if rows else None
            label = f"{self.data.words.standard(std['standard_id'])}·{self.data.words.stage(stage)}"
            chart = None
            if bars:
                chart = charts.bar_chart(
                    bars,
                    label=label,
                    threshold=first["cv_threshold"] if composite and first else None,
                    threshold_cite=str(facts.attrs(first, "cv_threshold", "threshold"))
                    if composite and first
                    else "",
                    decimals=3 if composite else 0,
                    axis_max=None if composite or first is None else first["n_indicators"],
                )
            out.append(
                {
                    "standard": std,
                    "stage": stage,
                    "composite": composite,
                    "first": first,
                    "summary": self.standard_summary.get((std["standard_id"], stage)),
                    "chart": chart,
                }
            )
        return out

    # --- county page

    def county_context(self, code: str, facts: Facts) -> dict[str, Any]:
        data = self.data
        county = self.counties[code]
        balance = [r for r in self.balance.get(code, []) if r["census_year"] == self.year]
        year_balance = index(balance, "standard_id", "stage")
        sections = [
            Section(
                standard=std,
                stage=stage,
                balance=year_balance.get((std["standard_id"], stage)),
                status=self.alert_status.get((code, std["standard_id"], stage)),
            )
            for std, stage in self.standard_stages()
        ]
        certifications = [
            {"standard": std, "status": self.alert_status.get((code, std["standard_id"], data.stage_ids[0]))}
            for std in data.standards
        ]
        revisions = [r for r in data.revisions if code in (r["counties_changed"] or [])]
        return {
            **self.common(facts),
            "county": county,
            "county_status": self.county_status.get(code),
            "certifications": certifications,
            "data_status": self.status.get(code),
            "revisions": revisions,
            "sections": sections,
            "cv_tables": [self._cv_table(code, std, year_balance) for std in data.standards],
            "undecided": [r for r in self.school_checks.get(code, []) if r["is_school_rule_undecided"]],
            "alerts": [self._alert_block(code, r) for r in self.alerts.get(code, [])],
            "details": [self._section(code, s, facts) for s in sections],
            "top_drivers": data.settings.get("top_driver_schools"),
            "school_types": data.school_types,
            "urban_rural": data.urban_rural,
            "indicator_names": self.indicator_names,
            "checklists": self._checklists(code),
        }

    def _checklists(self, code: str) -> list[dict[str, Any]]:
        """The county's checklists as the A/B/C tree: per checklist its areas, per area its items,
        per item its checkpoint rows (marts.county_checklist, in checklist order)."""
        out: list[dict[str, Any]] = []
        for (checklist_id,), rows in group(self.checklist.get(code, []), "checklist_id").items():
            areas = []
            for area_rows in group(rows, "area_code").values():
                items = [{"row": r[0], "checkpoints": r} for r in group(area_rows, "item_code").values()]
                areas.append({"row": area_rows[0], "item_list": items})
            out.append({"checklist_id": checklist_id, "standard_id": rows[0]["standard_id"], "areas": areas})
        return out

    def _cv_table(self, code: str, std: Row, year_balance: dict[tuple, Row]) -> dict[str, Any]:
        """The table evaluators know: one row per indicator in the standard's order, the stages side
        by side (county mean, CV, threshold, met), then the composite and the verdict."""
        stages = self.data.stage_ids
        cvs = index(
            (
                r
                for r in self.indicator_cv.get(code, [])
                if r["census_year"] == self.year and r["standard_id"] == std["standard_id"]
            ),
            "stage",
            "indicator_id",
        )
        first_stage = self.indicators.get((std["standard_id"], stages[0]), [])
        rows = [
            {"indicator": ind, "cells": [cvs.get((stage, ind["indicator_id"])) for stage in stages]}
            for ind in first_stage
        ]
        return {
            "standard": std,
            "stages": stages,
            "rows": rows,
            "balances": [year_balance.get((std["standard_id"], stage)) for stage in stages],
            "is_composite": std["cv_rule"] == "composite",
        }

    def _plan_key(self, alert: Row) -> tuple:
        return (alert["county_code"], alert["stage"], alert["standard_id"], alert["evidence_metric_id"])

    def _plan(self, alert: Row) -> Row | None:
        """The what-if plan (its own row) of an active alert's evidence metric, if it has one."""
        if alert["status"] == "resolved" or alert["what_if_zh"] is None:
            return None
        rows = self.plans.get(self._plan_key(alert), [])
        return next((r for r in rows if r["metric_id"] == r["plan_metric_id"]), None)

    def _alert_block(self, code: str, alert: Row) -> dict[str, Any]:
        """One alert and its evidence: its trend figures (on the row), the what-if plan of its
        evidence metric, and the schools driving that metric."""
        key = self._plan_key(alert)
        plan = self._plan(alert)
        plan_rows = self.plans.get(key, []) if plan is not None else []
        drivers = [
            r
            for r in self.drivers.get(code, [])
            if r["stage"] == alert["stage"]
            and r["standard_id"] == alert["standard_id"]
            and r["indicator_id"] == alert["driver_indicator_id"]
        ]
        return {
            "alert": alert,
            "plan": plan,
            "plan_parts": [r for r in plan_rows if r["metric_id"] != r["plan_metric_id"]],
            "plan_schools": self.plan_schools.get(key, [])
            if plan is not None and plan["plan_metric_id"] != "composite"
            else [],
            "drivers": drivers if alert["status"] != "resolved" else [],
        }

    def _section(self, code: str, section: Section, facts: Facts) -> dict[str, Any]:
        std_id, stage = section.standard["standard_id"], section.stage
        years = self.data.years
        is_composite = section.standard["cv_rule"] == "composite"
        balance_by_year = {
            r["census_year"]: r
            for r in self.balance.get(code, [])
            if r["standard_id"] == std_id and r["stage"] == stage
        }
        marker = section.status["certified_year"] if section.status else None
        composite_chart = None
        if is_composite:
            rows = [balance_by_year.get(y) for y in years]
            composite_chart = self._line(
                facts,
                "综合差异系数",
                years,
                rows,
                "composite_cv",
                "meets_cv_rule",
                section.balance,
                marker,
                wide=True,
            )
        cv_by_indicator = group(
            (
                r
                for r in self.indicator_cv.get(code, [])
                if r["standard_id"] == std_id and r["stage"] == stage
            ),
            "indicator_id",
        )
        trend_rows = index(
            (r for r in self.trends.get(code, []) if r["standard_id"] == std_id and r["stage"] == stage),
            "metric_id",
        )
        indicators = []
        for ind in self.indicators.get((std_id, stage), []):
            by_year = {r["census_year"]: r for r in cv_by_indicator.get((ind["indicator_id"],), [])}
            this_year = by_year.get(self.year)
            indicators.append(
                {
                    "indicator": ind,
                    "cv": this_year,
                    "trend": trend_rows.get((ind["indicator_id"],)),
                    "chart": self._line(
                        facts,
                        f"{ind['name_zh']}差异系数",
                        years,
                        [by_year.get(y) for y in years],
                        "cv",
                        None if is_composite else "passes",
                        this_year if not is_composite else None,
                        marker,
                    ),
                }
            )
        drivers = group(
            (r for r in self.drivers.get(code, []) if r["standard_id"] == std_id and r["stage"] == stage),
            "indicator_id",
        )
        checks = [
            r for r in self.school_checks.get(code, []) if r["standard_id"] == std_id and r["stage"] == stage
        ]
        return {
            "section": section,
            "anchor": f"{std_id}-{stage}",
            "is_composite": is_composite,
            "composite_chart": composite_chart,
            "indicators": indicators,
            "drivers": [
                {"indicator": ind, "rows": drivers[(ind["indicator_id"],)]}
                for ind in self.indicators.get((std_id, stage), [])
                if (ind["indicator_id"],) in drivers
            ],
            "failing_rule": [r for r in checks if r["fails_school_rule"]],
            "undecided": [r for r in checks if r["is_school_rule_undecided"]],
            "conditions": [
                r
                for r in checks
                if r["breaks_school_size"] or r["breaks_class_size"] or r["breaks_room_standard"]
            ],
            "has_school_rule": section.standard["school_rule_min_met"] is not None,
        }

    def _line(
        self,
        facts: Facts,
        name: str,
        years: list[int],
        rows: list[Row | None],
        column: str,
        verdict: str | None,
        threshold_row: Row | None,
        marker: int | None,
        wide: bool = False,
    ) -> Any:
        """A chart of one column over the years; a year is drawn in the alert colour where its
        row's verdict column is false."""
        threshold = None if threshold_row is None else threshold_row["cv_threshold"]
        return charts.line_chart(
            years,
            [None if r is None else r[column] for r in rows],
            label=f"{name}逐年变化" + ("（虚线为阈值）" if threshold_row is not None else ""),
            threshold=threshold,
            threshold_cite=""
            if threshold_row is None
            else str(facts.attrs(threshold_row, "cv_threshold", "threshold")),
            over=[r is not None and verdict is not None and r[verdict] is False for r in rows],
            cites=["" if r is None else str(facts.attrs(r, column, "cv")) for r in rows],
            marker_year=marker,
            marker_label="认定",
            width=940 if wide else 300,
            height=260 if wide else 160,
        )
