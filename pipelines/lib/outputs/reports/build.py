"""Build the offline HTML reports: a province overview and one page per county, in Chinese.

The pages are static files that work from disk (file://) with no network: one inline
stylesheet, system fonts, inline SVG charts (charts.py), relative links only, no JavaScript.
Jinja2 escapes every value from the data (school and county names come from census files).

Layout under out_dir:
    index.html              province overview for the census year
    counties/<code>.html    one page per county

With `county_code`, only that county's page is (re)written; the index is still rewritten and
lists every county, but links only to county pages on disk that were built for the same census
year (each page records its year in `<meta name="junheng-census-year">`), so a page left over
from another year is never presented as this year's.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import polars as pl
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from pipelines.lib.monitoring.alerts import peer_words, projection_words
from pipelines.lib.outputs.reports import charts
from pipelines.lib.outputs.reports.data import TOP_DRIVERS, ReportData, by_county, read_report_data

BEIJING = timezone(timedelta(hours=8), "北京时间")
"""Dates in the reports are Beijing dates (China has one time zone and no daylight saving)."""


def _year_span(years: list[int]) -> str:
    """2023–2024 for a run of consecutive years, else 2023、2025."""
    if len(years) > 1 and years == list(range(years[0], years[-1] + 1)):
        return f"{years[0]}–{years[-1]}"
    return "、".join(map(str, years))


TEMPLATES_DIR = Path(__file__).parent / "templates"
COUNTIES_DIR = "counties"
YEAR_META = "junheng-census-year"
SAFE_CODE = re.compile(r"^[0-9A-Za-z_-]{1,32}$")

# Small UI words that the warehouse does not hold.
RESOURCING_ZH = {"under": "偏低", "over": "偏高", "at_mean": "持平"}
PROVISIONAL_ZH = {
    "rejected_rows": "退回行比例超限",
    "missing_schools": "上年学校缺失比例超限",
    "no_rows_loaded": "本年未载入数据",
}
NO_ALERT = "none"


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
    codes = [county_code] if county_code else data.counties["county_code"].to_list()
    county_template = env.get_template("county.html")
    for code in codes:
        if not SAFE_CODE.match(code):
            continue  # never a path built from an odd code; the county is listed without a page
        _write(pages_dir / f"{code}.html", county_template.render(view.county_context(code)))
    linked = {
        c for c in data.counties["county_code"].to_list() if _page_is_current(pages_dir, c, data.census_year)
    }
    index = out_dir / "index.html"
    _write(
        index,
        env.get_template("index.html").render(view.index_context(linked, _existing_links(out_dir, links))),
    )
    return index


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        cv=fmt_cv,
        num=fmt_num,
        pct=fmt_pct,
        signed=fmt_signed,
        value=fmt_value,
        plain=fmt_plain,
        threshold=fmt_threshold,
    )
    return env


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


# ---------------------------------------------------------------- formatting (Jinja filters)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def fmt_cv(value: float | None) -> str:
    """A coefficient, 3 decimals as published."""
    return "—" if _missing(value) else f"{value:.3f}"


def fmt_num(value: float | int | None) -> str:
    if _missing(value):
        return "—"
    assert value is not None
    return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:,.2f}"


def fmt_pct(value: float | None, decimals: int = 1) -> str:
    if _missing(value):
        return "—"
    assert value is not None
    return f"{value * 100:.{decimals}f}%"


def fmt_signed(value: float | None, decimals: int = 3) -> str:
    if _missing(value):
        return "—"
    assert value is not None
    if round(value, decimals) == 0:
        return f"{0:.{decimals}f}"  # never "-0.000"
    return f"{value:+.{decimals}f}"


def fmt_plain(value: float | None) -> str:
    """A standard's own number as written in the standard (4.2, 1, 2000)."""
    return "—" if _missing(value) else f"{value:g}"


def fmt_threshold(value: float | None) -> str:
    """A CV threshold as the documents print it (0.65, 0.50)."""
    return "—" if _missing(value) else f"{value:.2f}"


def fmt_value(value: float | None) -> str:
    """An indicator value with sensible precision (yuan per student vs teachers per student)."""
    if _missing(value):
        return "—"
    assert value is not None
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


# ---------------------------------------------------------------- view models


@dataclass(frozen=True)
class Indicator:
    indicator_id: str
    name_zh: str
    unit: str


class ReportView:
    """Turns ReportData into plain dicts for the templates (all logic here, layout in templates)."""

    def __init__(self, data: ReportData):
        self.data = data
        self.labels = data.labels
        self.year = data.census_year
        self.county_names = dict(zip(data.counties["county_code"], data.counties["county_name"], strict=True))
        names = data.indicators.unique(["standard_id", "indicator_id"], keep="first", maintain_order=True)
        self.indicator_names = {
            (r["standard_id"], r["indicator_id"]): Indicator(r["indicator_id"], r["name_zh"], r["unit"] or "")
            for r in names.iter_rows(named=True)
        }
        self.balance = by_county(data.balance)
        self.indicator_cv = by_county(data.indicator_cv)
        self.trends = by_county(data.trends)
        self.alerts = by_county(data.alerts)
        self.drivers = by_county(data.drivers)
        self.failing = by_county(data.failing_schools)
        self.status = {r["county_code"]: r for r in data.data_status.iter_rows(named=True)}
        self.certs: dict[tuple[str, str], dict] = {
            (r["county_code"], r["standard_id"]): r for r in data.certifications.iter_rows(named=True)
        }
        # who is monitored this year is monitoring.county_trends.is_monitored (one source)
        self.monitored = {
            (r["county_code"], r["standard_id"])
            for r in data.trends.filter(pl.col("is_monitored"))
            .select("county_code", "standard_id")
            .iter_rows(named=True)
        }
        self.severity_order = sorted(self.labels.severity_rank, key=lambda s: -self.labels.severity_rank[s])
        self._rows_of: tuple[str | None, dict[str, dict[tuple[str, str], list[dict]]]] = (None, {})
        self._indicator_rows: dict[tuple[str, str], list[dict]] = {}
        self._standard_rows = {r["standard_id"]: r for r in data.standards.iter_rows(named=True)}

    # --- shared pieces

    def standard_stages(self) -> list[tuple[str, str]]:
        return [(std, stage) for std in self.data.standard_ids for stage in self.data.stage_ids]

    def metric_zh(self, standard_id: str, metric_id: str | None) -> str:
        if metric_id is None:
            return ""
        if metric_id == "composite":
            return f"{self.labels.composite}差异系数"
        indicator = self.indicator_names.get((standard_id, metric_id))
        return indicator.name_zh if indicator else metric_id

    def is_monitored(self, county_code: str, standard_id: str) -> bool:
        return (county_code, standard_id) in self.monitored

    def rule_text(self, standard_id: str, stage: str) -> str:
        limit = fmt_threshold(self.data.threshold(standard_id, stage))
        text = (
            f"综合差异系数 ≤ {limit}"
            if self.data.cv_rule(standard_id) == "composite"
            else f"每项指标差异系数 ≤ {limit}"
        )
        if self._standard_field(standard_id, "school_rule_min_met"):
            text += "，且每所学校达到校际资源配置要求"
        return text

    def worst_active(self, alerts: pl.DataFrame | None) -> dict[tuple[str, str], str]:
        """Worst active severity per (standard, stage) of one county's alerts."""
        worst: dict[tuple[str, str], str] = {}
        if alerts is None:
            return worst
        for r in alerts.filter(pl.col("status") != "resolved").iter_rows(named=True):
            key = (r["standard_id"], r["stage"])
            if key not in worst or r["severity_rank"] > self.labels.severity_rank.get(worst[key], -1):
                worst[key] = r["severity"]
        return worst

    def severity_badge(self, severity: str | None) -> dict[str, str]:
        if severity is None:
            return {"severity": NO_ALERT, "name": "无预警"}
        return {"severity": severity, "name": self.labels.severity(severity)}

    def county_href(self, code: str, linked: set[str]) -> str | None:
        """The index's relative link to a county page, when that page is current."""
        return f"{COUNTIES_DIR}/{code}.html" if code in linked else None

    def common(self) -> dict[str, Any]:
        provinces = list(dict.fromkeys(self.data.counties["province_name"].drop_nulls().to_list()))
        return {
            "census_year": self.year,
            "years": self.data.years,
            "province": "、".join(provinces),
            "year_meta": YEAR_META,
            "labels": self.labels,
        }

    # --- index

    def index_context(self, linked: set[str], links: list[dict[str, str]]) -> dict[str, Any]:
        data = self.data
        year_balance = data.balance.filter(pl.col("census_year") == self.year)
        all_codes = data.counties["county_code"].to_list()
        worst_by_county = {code: self.worst_active(self.alerts.get(code)) for code in all_codes}

        status_rows = []
        for std, stage in self.standard_stages():
            rows = year_balance.filter((pl.col("standard_id") == std) & (pl.col("stage") == stage))
            passes = dict(zip(rows["county_code"], rows["meets_standard"], strict=True))
            monitored = [c for c in all_codes if self.is_monitored(c, std)]
            counts = dict.fromkeys([*self.severity_order, NO_ALERT], 0)
            for code in monitored:
                counts[worst_by_county[code].get((std, stage), NO_ALERT)] += 1
            status_rows.append(
                {
                    "standard": self.labels.standard(std),
                    "stage": self.labels.stage(stage),
                    "rule": self.rule_text(std, stage),
                    "n_pass": sum(1 for c in all_codes if passes.get(c) is True),
                    "n_fail": sum(1 for c in all_codes if passes.get(c) is False),
                    "n_unknown": sum(1 for c in all_codes if passes.get(c) is None),
                    "n_monitored": len(monitored),
                    "by_severity": [
                        {**self.severity_badge(None if s == NO_ALERT else s), "count": counts[s]}
                        for s in [*self.severity_order, NO_ALERT]
                    ],
                }
            )

        def alert_row(r: dict) -> dict[str, Any]:
            return {
                **self.severity_badge(r["severity"]),
                "status": self.labels.status(r["status"]),
                "county_code": r["county_code"],
                "county_name": r["county_name"] or self.county_names.get(r["county_code"], r["county_code"]),
                "href": self.county_href(r["county_code"], linked),
                "standard": self.labels.standard(r["standard_id"]),
                "stage": self.labels.stage(r["stage"]),
                "metric": self.metric_zh(r["standard_id"], r["metric_id"] or r["evidence_metric_id"]),
                "message_zh": r["message_zh"],
                "what_if_zh": r["what_if_zh"],
                "observed_value": r["observed_value"],
                "threshold": r["threshold"],
            }

        active = [
            alert_row(r) for r in data.alerts.filter(pl.col("status") != "resolved").iter_rows(named=True)
        ]
        resolved = [
            alert_row(r) for r in data.alerts.filter(pl.col("status") == "resolved").iter_rows(named=True)
        ]

        columns = [
            {
                "standard_id": std,
                "stage_id": stage,
                "title": f"{self.labels.standard(std)}·{self.labels.stage(stage)}",
                "sub": "综合差异系数" if data.cv_rule(std) == "composite" else "超阈值指标数",
            }
            for std, stage in self.standard_stages()
        ]
        by_key = {
            (r["county_code"], r["standard_id"], r["stage"]): r for r in year_balance.iter_rows(named=True)
        }
        county_rows = []
        for r in data.counties.iter_rows(named=True):
            code = r["county_code"]
            cells = []
            for col in columns:
                b = by_key.get((code, col["standard_id"], col["stage_id"]))
                cells.append(self._balance_cell(b, col["standard_id"]))
            worst = worst_by_county[code]
            worst_severity = max(
                worst.values(), key=lambda s: self.labels.severity_rank.get(s, -1), default=None
            )
            county_rows.append(
                {
                    "code": code,
                    "name": r["county_name"],
                    "prefecture": r["prefecture_name"],
                    "href": self.county_href(code, linked),
                    "certs": self._cert_summary(code),
                    "cells": cells,
                    "worst": self.severity_badge(worst_severity)
                    if worst_severity or any(self.is_monitored(code, s) for s in data.standard_ids)
                    else None,
                }
            )

        return {
            **self.common(),
            "links": links,
            "status_rows": status_rows,
            "severity_columns": [
                self.severity_badge(None if s == NO_ALERT else s) for s in [*self.severity_order, NO_ALERT]
            ],
            "active_alerts": active,
            "resolved_alerts": resolved,
            "n_alert_counties": len({a["county_code"] for a in active}),
            "rankings": self._rankings(year_balance, linked),
            "columns": columns,
            "county_rows": county_rows,
            "n_counties": len(all_codes),
            "n_pages": len(linked),
        }

    def _n_indicators(self, standard_id: str, stage: str) -> int:
        indicators = self.data.indicators
        return indicators.filter((pl.col("standard_id") == standard_id) & (pl.col("stage") == stage)).height

    def _balance_cell(self, row: dict | None, standard_id: str) -> dict[str, Any]:
        if row is None:
            return {"text": "—", "cls": "unknown", "title": "无数据"}
        if self.data.cv_rule(standard_id) == "composite":
            text = fmt_cv(row["composite_cv"])
        else:
            n_over = row["n_indicators_over_threshold"]
            text = "—" if n_over is None else str(n_over)
        cls = {True: "pass", False: "fail"}.get(row["meets_standard"], "unknown")
        title = {True: "达标", False: "未达标"}.get(row["meets_standard"], "无法判定")
        if row["passes_null_reason"] == "no_included_schools":
            text, title = "—", "无纳入计算的学校"
        if row["unmet_parts"]:
            title += "（" + "、".join(self.labels.unmet_parts.get(p, p) for p in row["unmet_parts"]) + "）"
        if row.get("is_provisional"):
            text, title = f"{text}*", f"{title}，暂定"
        return {"text": text, "cls": cls, "title": title}

    def _cert_summary(self, code: str) -> list[dict[str, Any]]:
        out = []
        for std in self.data.standard_ids:
            cert = self.certs.get((code, std))
            if cert and cert["certified_year"] is not None:
                out.append(
                    {
                        "standard": self.labels.standard(std),
                        "year": cert["certified_year"],
                        "revoked_year": cert["revoked_year"],
                        "monitored": self.is_monitored(code, std),
                    }
                )
        return out

    def _rankings(self, year_balance: pl.DataFrame, linked: set[str]) -> list[dict[str, Any]]:
        """Per standard and stage: composite CV (composite rule) or indicators over threshold."""
        rankings: list[dict[str, Any]] = []
        for std, stage in self.standard_stages():
            rows = year_balance.filter((pl.col("standard_id") == std) & (pl.col("stage") == stage))
            threshold = self.data.threshold(std, stage)
            title = f"{self.labels.standard(std)}·{self.labels.stage(stage)}"
            if self.data.cv_rule(std) == "composite":
                ordered = rows.sort("composite_cv", descending=True, nulls_last=True)
                bars = [
                    charts.Bar(
                        self.county_names.get(r["county_code"], r["county_code"]),
                        r["composite_cv"],
                        self.county_href(r["county_code"], linked),
                    )
                    for r in ordered.iter_rows(named=True)
                ]
                rankings.append(
                    {
                        "title": f"{title}：综合差异系数",
                        "note": f"按综合差异系数从高到低排列；虚线为阈值 {fmt_threshold(threshold)}，超过阈值的县以红色标出。",
                        "chart": charts.bar_chart(
                            bars, label=f"{title}各县综合差异系数排名", threshold=threshold, decimals=3
                        ),
                    }
                )
            else:
                over = rows.filter(pl.col("n_indicators_over_threshold") > 0).sort(
                    ["n_indicators_over_threshold", "max_indicator_cv"], descending=True
                )
                bars = [
                    charts.Bar(
                        self.county_names.get(r["county_code"], r["county_code"]),
                        r["n_indicators_over_threshold"],
                        self.county_href(r["county_code"], linked),
                    )
                    for r in over.iter_rows(named=True)
                ]
                n_rest = rows.height - over.height
                rankings.append(
                    {
                        "title": f"{title}：差异系数超过阈值的指标数",
                        "note": (
                            f"每项指标差异系数须 ≤ {fmt_threshold(threshold)}；"
                            f"图中为至少一项超过阈值的 {over.height} 个县，其余 {n_rest} 个县各项指标均未超过阈值或无法计算。"
                        ),
                        "chart": charts.bar_chart(
                            bars,
                            label=f"{title}各县超过阈值的指标数",
                            decimals=0,
                            axis_max=self._n_indicators(std, stage),
                        )
                        if bars
                        else None,
                    }
                )
        return rankings

    # --- county page

    def county_context(self, code: str) -> dict[str, Any]:
        data = self.data
        county = data.counties.filter(pl.col("county_code") == code).row(0, named=True)
        alerts = self.alerts.get(code)
        worst = self.worst_active(alerts)
        balance = self.balance.get(code)
        year_balance = (
            {}
            if balance is None
            else {
                (r["standard_id"], r["stage"]): r
                for r in balance.filter(pl.col("census_year") == self.year).iter_rows(named=True)
            }
        )
        certifications = []
        for std in data.standard_ids:
            cert = self.certs.get((code, std))
            certified = None if cert is None else cert["certified_year"]
            revoked = None if cert is None else cert["revoked_year"]
            if certified is None:
                text = "未认定"
            elif revoked is not None and revoked <= self.year:
                text = f"{certified} 年认定，{revoked} 年撤销"
            elif certified > self.year:
                text = f"{certified} 年认定（晚于本报告年度）"
            else:
                text = f"{certified} 年认定，本年度纳入监测"
            certifications.append(
                {
                    "standard": self.labels.standard(std),
                    "document": self._standard_field(std, "document"),
                    "text": text,
                    "monitored": self.is_monitored(code, std),
                }
            )
        summary = []
        for std, stage in self.standard_stages():
            b = year_balance.get((std, stage))
            w = worst.get((std, stage))
            summary.append(
                {
                    "anchor": f"{std}-{stage}",
                    "standard": self.labels.standard(std),
                    "stage": self.labels.stage(stage),
                    "rule": self.rule_text(std, stage),
                    "row": b,
                    "cell": self._balance_cell(b, std),
                    "is_composite": data.cv_rule(std) == "composite",
                    "monitored": self.is_monitored(code, std),
                    "worst": self.severity_badge(w) if w else None,
                }
            )
        status = self.status.get(code)
        provisional = None
        if status and status["is_provisional"]:
            reasons = [p.strip() for p in (status["provisional_reason"] or "").split(";") if p.strip()]
            provisional = "、".join(PROVISIONAL_ZH.get(p, p) for p in reasons) or "数据待核"
        return {
            **self.common(),
            "county": county,
            "certifications": certifications,
            "data_status": status,
            "provisional": provisional,
            "revisions": self._revisions(code),
            "summary": summary,
            "cv_tables": [self._cv_table(code, std, year_balance) for std in data.standard_ids],
            "alert_groups": self._alert_groups(alerts),
            "sections": [self._section(code, std, stage) for std, stage in self.standard_stages()],
            "top_drivers": TOP_DRIVERS,
        }

    def _revisions(self, code: str) -> list[str]:
        """Sentences for the census years whose figures for this county were revised (loaded again
        with changed coefficients, or loaded late), newest first."""
        frame = self.data.revisions
        if frame.is_empty():
            return []
        out = []
        for r in frame.iter_rows(named=True):
            if code not in (r["counties_changed"] or []):
                continue
            day = r["revised_at"].astimezone(BEIJING).strftime("%Y-%m-%d")
            later = r["rebuilt_years"] or []
            then = f"，{_year_span(later)} 年的趋势、变化与预警已据此重新计算" if later else ""
            if r["kind"] == "late":
                out.append(f"{r['census_year']} 年数据于 {day} 补充载入{then}。")
            else:
                out.append(f"{r['census_year']} 年数据于 {day} 更正后重新载入，本县差异系数有变化{then}。")
        return out

    def _cv_table(self, code: str, std: str, year_balance: dict[tuple[str, str], dict]) -> dict[str, Any]:
        """The table evaluators know: one row per indicator in the standard's order, the stages side
        by side (county mean, CV, threshold, met), then the composite and the verdict."""
        data = self.data
        stages = list(data.stage_ids)
        is_composite = data.cv_rule(std) == "composite"
        cv = self.indicator_cv.get(code)
        this_year = (
            {}
            if cv is None
            else {
                (r["stage"], r["indicator_id"]): r
                for r in cv.filter(
                    (pl.col("standard_id") == std) & (pl.col("census_year") == self.year)
                ).iter_rows(named=True)
            }
        )
        indicators = data.indicators.filter(pl.col("standard_id") == std).sort("indicator_order")
        order: dict[str, dict] = {}
        for ind in indicators.iter_rows(named=True):
            order.setdefault(ind["indicator_id"], ind)
        rows = []
        for indicator_id, ind in order.items():
            cells = []
            for stage in stages:
                r = this_year.get((stage, indicator_id))
                threshold = None if is_composite else data.threshold(std, stage)
                met = None if r is None or r["cv"] is None or threshold is None else r["cv"] <= threshold
                cells.append(
                    {
                        "mean": None if r is None else r["mean_value"],
                        "cv": None if r is None else r["cv"],
                        "threshold": threshold,
                        "met": {True: "是", False: "否"}.get(met, "—") if met is not None else "—",
                        "cls": {True: "pass", False: "fail"}.get(met, "") if met is not None else "",
                        "missing": 0 if r is None else (r["n_missing_value"] or 0),
                    }
                )
            rows.append({"name": ind["name_zh"], "unit": ind["unit"], "cells": cells})
        composite = []
        for stage in stages:
            b = year_balance.get((std, stage))
            cell = self._balance_cell(b, std)
            composite.append(
                {
                    "cv": None if b is None else b["composite_cv"],
                    "threshold": data.threshold(std, stage) if is_composite else None,
                    "verdict": cell["title"],
                    "cls": cell["cls"],
                }
            )
        return {
            "standard": self.labels.standard(std),
            "document": self._standard_field(std, "document"),
            "stages": [self.labels.stage(s) for s in stages],
            "rows": rows,
            "composite": composite,
            "is_composite": is_composite,
            "has_missing": any(c["missing"] for r in rows for c in r["cells"]),
        }

    def _standard_field(self, standard_id: str, field: str) -> str:
        row = self._standard_rows.get(standard_id)
        return "" if row is None or field not in row else str(row[field] or "")

    def _alert_groups(self, alerts: pl.DataFrame | None) -> list[dict[str, Any]]:
        """Alerts grouped by what they are about (standard, stage, evidence metric), worst first:
        a breach, its warning and the critical stage rule share one block of evidence."""
        if alerts is None or alerts.is_empty():
            return []
        groups: dict[tuple, dict[str, Any]] = {}
        for r in alerts.iter_rows(named=True):
            subject = r["evidence_metric_id"] or r["metric_id"] or r["rule_id"]
            key = (r["standard_id"], r["stage"], subject)
            group = groups.get(key)
            if group is None:
                metric = r["evidence_metric_id"] or r["metric_id"]
                group = groups[key] = {
                    "standard": self.labels.standard(r["standard_id"]),
                    "stage": self.labels.stage(r["stage"]),
                    "metric": self.metric_zh(r["standard_id"], metric) if metric else "",
                    "anchor": f"{r['standard_id']}-{r['stage']}",
                    "alerts": [],
                    "evidence": None,
                    "what_if": [],
                    "what_if_detail": [],
                    "drivers": None,
                    "rank": -1,
                    "active": False,
                }
            active = r["status"] != "resolved"
            group["alerts"].append(
                {
                    **self.severity_badge(r["severity"]),
                    "status": self.labels.status(r["status"]),
                    "resolved": not active,
                    "message_zh": r["message_zh"],
                    "first_seen_year": r["first_seen_year"],
                    "is_hysteresis": r["is_hysteresis"],
                }
            )
            if active:
                group["active"] = True
                group["rank"] = max(group["rank"], r["severity_rank"])
            if group["evidence"] is None and r["observed_value"] is not None and active:
                group["evidence"] = {
                    "observed_value": r["observed_value"],
                    "threshold": r["threshold"],
                    "ratio": r["ratio_to_threshold"],
                    "margin": r["margin"],
                    "change": r["change"],
                    "slope": r["slope"],
                    "projected_breach_year": r["projected_breach_year"],
                    "projection_zh": self._projection_zh(r),
                    "rising_years": r["rising_years"],
                    "breach_years": r["breach_years"],
                    "robust_z": r["robust_z"],
                    "peer_zh": None if r["peer_share_below"] is None else peer_words(r["peer_share_below"]),
                    "certified_year": r["certified_year"],
                }
            if r["what_if_zh"] and r["what_if_zh"] not in group["what_if"] and active:
                group["what_if"].append(r["what_if_zh"])
            if r["what_if_detail"] and not group["what_if_detail"] and active:
                group["what_if_detail"] = [
                    {**d, "indicator": self.metric_zh(r["standard_id"], d["indicator_id"])}
                    for d in r["what_if_detail"]
                ]
            if r["driver_schools"] and group["drivers"] is None and active:
                group["drivers"] = {
                    "indicator": self.metric_zh(r["standard_id"], r["driver_indicator_id"]),
                    "rows": [
                        {
                            **d,
                            "resourcing_zh": RESOURCING_ZH.get(d["resourcing"] or "", d["resourcing"] or "—"),
                        }
                        for d in r["driver_schools"]
                    ],
                }
        by_rank = {rank: severity for severity, rank in self.labels.severity_rank.items()}
        ordered = sorted(groups.values(), key=lambda g: (not g["active"], -g["rank"]))
        for group in ordered:
            group["worst"] = (
                self.severity_badge(by_rank[group["rank"]])
                if group["active"] and group["rank"] in by_rank
                else {"severity": "resolved", "name": self.labels.status("resolved")}
            )
        return ordered

    def _projection_zh(self, alert: dict) -> str:
        """The projected breach year in words, from the trend row of the alert's evidence metric."""
        trends = self.trends.get(alert["county_code"])
        metric = alert["evidence_metric_id"] or alert["metric_id"]
        if trends is not None and metric:
            rows = trends.filter(
                (pl.col("standard_id") == alert["standard_id"])
                & (pl.col("stage") == alert["stage"])
                & (pl.col("metric_id") == metric)
            )
            if rows.height:
                return projection_words(rows.row(0, named=True))[0]
        return projection_words(alert)[0]

    def _section_rows(self, code: str) -> dict[str, dict[tuple[str, str], list[dict]]]:
        """One county's rows of the tables a section shows, by (standard, stage), as plain dicts:
        read once per county, where filtering the frames once per section and indicator cost
        half a minute for the whole country."""
        if self._rows_of[0] != code:
            tables = {
                "balance": self.balance,
                "cv": self.indicator_cv,
                "trends": self.trends,
                "drivers": self.drivers,
                "failing": self.failing,
            }
            grouped: dict[str, dict[tuple[str, str], list[dict]]] = {}
            for name, frames in tables.items():
                groups: dict[tuple[str, str], list[dict]] = {}
                frame = frames.get(code)
                for r in [] if frame is None else frame.iter_rows(named=True):
                    groups.setdefault((r["standard_id"], r["stage"]), []).append(r)
                grouped[name] = groups
            self._rows_of = (code, grouped)
        return self._rows_of[1]

    def _indicators(self, std: str, stage: str) -> list[dict]:
        """The standard's indicators of a stage, in their order (marts.standard_indicators)."""
        if (std, stage) not in self._indicator_rows:
            rows = self.data.indicators.filter((pl.col("standard_id") == std) & (pl.col("stage") == stage))
            self._indicator_rows[(std, stage)] = list(rows.sort("indicator_order").iter_rows(named=True))
        return self._indicator_rows[(std, stage)]

    def _section(self, code: str, std: str, stage: str) -> dict[str, Any]:
        data = self.data
        years = data.years
        threshold = data.threshold(std, stage)
        is_composite = data.cv_rule(std) == "composite"
        cert = self.certs.get((code, std))
        marker = None if cert is None else cert["certified_year"]
        title = f"{self.labels.standard(std)}·{self.labels.stage(stage)}"
        rows = self._section_rows(code)
        balance = rows["balance"].get((std, stage), [])

        composite_chart = None
        if is_composite:
            composite_by_year = {r["census_year"]: r["composite_cv"] for r in balance}
            composite_chart = charts.line_chart(
                years,
                [composite_by_year.get(y) for y in years],
                label=f"{title}综合差异系数 {years[0]}–{years[-1]} 年变化，阈值 {fmt_threshold(threshold)}",
                threshold=threshold,
                marker_year=marker,
                marker_label="认定",
                width=940,
                height=260,
            )

        series_of: dict[str, dict[int, dict]] = {}
        for r in rows["cv"].get((std, stage), []):
            series_of.setdefault(r["indicator_id"], {})[r["census_year"]] = r
        trend_rows = {r["metric_id"]: r for r in rows["trends"].get((std, stage), [])}
        indicators = self._indicators(std, stage)
        small_multiples = []
        for ind in indicators:
            by_year = series_of.get(ind["indicator_id"], {})
            series = {year: r["cv"] for year, r in by_year.items()}
            limit = None if is_composite else threshold
            trend = trend_rows.get(ind["indicator_id"])
            value = series.get(self.year)
            this_year = by_year.get(self.year)
            small_multiples.append(
                {
                    "name": ind["name_zh"],
                    "n_missing_value": 0 if this_year is None else this_year["n_missing_value"],
                    "unit": ind["unit"],
                    "standard_value": ind["standard_value"],
                    "value": value,
                    "over": limit is not None and value is not None and value > limit,
                    "trend": trend,
                    "chart": charts.line_chart(
                        years,
                        [series.get(y) for y in years],
                        label=f"{title}：{ind['name_zh']}差异系数 {years[0]}–{years[-1]} 年变化"
                        + (f"，阈值 {fmt_threshold(limit)}" if limit is not None else ""),
                        threshold=limit,
                        marker_year=marker,
                        marker_label="认定",
                    ),
                }
            )

        drivers_of: dict[str, list[dict]] = {}
        for r in rows["drivers"].get((std, stage), []):
            drivers_of.setdefault(r["indicator_id"], []).append(r)
        driver_groups = []
        for ind in indicators:
            ranked = sorted(drivers_of.get(ind["indicator_id"], []), key=lambda r: r["driver_rank"])
            if not ranked:
                continue
            driver_groups.append(
                {
                    "indicator": ind["name_zh"],
                    "unit": ind["unit"],
                    "rows": [
                        {
                            **r,
                            "resourcing_zh": RESOURCING_ZH.get(r["resourcing"] or "", "—"),
                            "urban_rural": self.data.urban_rural.get(r["urban_rural_code"] or "", ""),
                        }
                        for r in ranked
                    ],
                }
            )

        failing_rows = [self._failing_school(std, r) for r in rows["failing"].get((std, stage), [])]
        year_row = next((r for r in balance if r["census_year"] == self.year), None)
        return {
            "anchor": f"{std}-{stage}",
            "title": title,
            "rule": self.rule_text(std, stage),
            "is_composite": is_composite,
            "composite_label": f"{self.labels.composite}差异系数",
            "threshold": threshold,
            "balance": year_row,
            "verdict": self._balance_cell(year_row, std)["title"],
            "composite_chart": composite_chart,
            "indicators": small_multiples,
            "drivers": driver_groups,
            "failing_schools": failing_rows,
            "has_school_rule": self._standard_field(std, "school_rule_min_met") not in ("", "None"),
        }

    def _failing_school(self, std: str, r: dict) -> dict[str, Any]:
        checks = []
        if r["is_compliant"] is False:
            unmet = "、".join(self.metric_zh(std, i) for i in (r["unmet_indicators"] or []))
            checks.append(
                f"资源配置：{r['n_met']}/{r['n_indicators']} 项达标"
                + (f"（未达标：{unmet}；最低达到标准的 {fmt_pct(r['min_unmet_ratio'], 0)}）" if unmet else "")
            )
        if r["breaks_school_size"]:
            checks.append(
                f"校额：{fmt_num(r['school_students'])} 人，超过 {fmt_num(r['max_school_students'])} 人"
            )
        if r["breaks_class_size"]:
            checks.append(
                f"班额：最大班额 {fmt_num(r['max_class_size'])} 人，超过 {fmt_num(r['class_size_limit'])} 人"
            )
        if r["breaks_room_standard"]:
            checks.append(
                f"音乐、美术专用教室不足或面积不达标（需音乐 {fmt_num(r['music_rooms_needed'])} 间、美术 {fmt_num(r['art_rooms_needed'])} 间）"
            )
        return {
            "school_id": r["school_id"],
            "school_name": r["school_name"],
            "school_type": self.data.school_types.get(
                r["school_type_code"] or "", r["school_type_code"] or ""
            ),
            "urban_rural": self.data.urban_rural.get(
                r["urban_rural_code"] or "", r["urban_rural_code"] or ""
            ),
            "students": r["students"],
            "is_compliant": r["is_compliant"],
            "checks": checks,
        }
