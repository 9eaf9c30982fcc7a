"""Evaluation standards as data: models/standards/*.yaml, checked and turned into tables.

A standard file says which sections count (exclusion rules), how combined schools split their
facilities, which indicators there are (numerator terms, denominator, scale, per-school minimum)
and the CV rule (composite or each indicator) with its thresholds. The SQL models join these
tables, so a provincial variant is a new YAML file and no code changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from contracts import yaml_files
from contracts.code_lists import school_type_codes
from contracts.columns import SECTION_MEASURES, STAGES

CV_RULES = ("composite", "each_indicator")
TEACHING_POINT_MODES = ("exclude_by_rules", "merge_into_parent")
RULE_CONDITIONS = ("school_type_codes", "ownership", "is_county_run", "students_below")
SPLIT_STAGES = (*STAGES, "senior")


class StandardError(ValueError):
    """A standards file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Indicator:
    indicator_id: str
    name_zh: str
    unit: str
    add: tuple[str, ...]
    subtract: tuple[str, ...]
    denominator: str
    scale: float
    minimum: dict[str, float]


@dataclass(frozen=True)
class ExclusionRule:
    rule_id: str
    school_type_codes: tuple[str, ...] | None
    ownership: str | None
    is_county_run: bool | None
    students_below: float | None
    reason_zh: str
    reason_en: str


@dataclass(frozen=True)
class SchoolRule:
    """At least `min_met` of the indicators with a minimum are met; every unmet one >= ratio."""

    min_met: int
    unmet_min_ratio: float


@dataclass(frozen=True)
class SchoolConditions:
    max_school_students: float
    max_school_students_by_type: dict[str, float]
    max_class_size: dict[str, float]
    classes_per_music_room: float
    classes_per_art_room: float
    min_music_room_m2: float
    min_art_room_m2: float


@dataclass(frozen=True)
class Standard:
    standard_id: str
    name_zh: str
    name_en: str
    document: str
    cv_rule: str
    cv_thresholds: dict[str, float]
    student_weights: dict[str, dict[str, float]]
    exclusions: tuple[ExclusionRule, ...]
    indicators: tuple[Indicator, ...]
    source: str
    school_rule: SchoolRule | None = None
    school_conditions: SchoolConditions | None = None
    teaching_point_mode: str = "exclude_by_rules"
    merge_reason_zh: str | None = None
    merge_reason_en: str | None = None
    certified_from: int | None = None
    certified_until: int | None = None

    def split_weight(self, school_type_code: str, stage: str) -> float:
        return self.student_weights.get(school_type_code, {}).get(stage, 1.0)


def _need(doc: dict[str, Any], key: str, where: str) -> Any:
    if key not in doc or doc[key] is None:
        raise StandardError(f"{where}: missing required key '{key}'")
    return doc[key]


def _weights(doc: dict[str, Any], where: str, known_types: set[str]) -> dict[str, dict[str, float]]:
    weights: dict[str, dict[str, float]] = {}
    split = doc.get("facility_split") or {}
    for type_code, stage_weights in (split.get("student_weights") or {}).items():
        code = str(type_code)
        if code not in known_types:
            raise StandardError(f"{where}: facility_split names unknown school type {code!r}")
        for stage, weight in stage_weights.items():
            if stage not in SPLIT_STAGES:
                raise StandardError(f"{where}: facility_split {code}: unknown stage {stage!r}")
            if float(weight) <= 0:
                raise StandardError(f"{where}: facility_split {code}.{stage} must be > 0")
        weights[code] = {stage: float(w) for stage, w in stage_weights.items()}
    return weights


def _exclusion_rule(rule: dict[str, Any], rule_where: str, known_types: set[str]) -> ExclusionRule:
    when = _need(rule, "when", rule_where)
    unknown = set(when) - set(RULE_CONDITIONS)
    if unknown:
        raise StandardError(f"{rule_where}: unknown condition(s) {sorted(unknown)}")
    codes = when.get("school_type_codes")
    if codes is not None:
        bad = [str(c) for c in codes if str(c) not in known_types]
        if bad:
            raise StandardError(f"{rule_where}: unknown school type code(s) {bad}")
    ownership = when.get("ownership")
    if ownership is not None and ownership not in ("public", "private"):
        raise StandardError(f"{rule_where}: ownership must be public or private")
    return ExclusionRule(
        rule_id=str(_need(rule, "id", rule_where)),
        school_type_codes=tuple(str(c) for c in codes) if codes is not None else None,
        ownership=ownership,
        is_county_run=when.get("is_county_run"),
        students_below=(float(when["students_below"]) if "students_below" in when else None),
        reason_zh=str(_need(rule, "reason_zh", rule_where)),
        reason_en=str(_need(rule, "reason_en", rule_where)),
    )


def _indicator(ind: dict[str, Any], ind_where: str) -> Indicator:
    numerator = _need(ind, "numerator", ind_where)
    add = tuple(numerator.get("add") or ())
    subtract = tuple(numerator.get("subtract") or ())
    denominator = str(ind.get("denominator", "students"))
    for measure in (*add, *subtract, denominator):
        if measure not in SECTION_MEASURES:
            raise StandardError(
                f"{ind_where}: unknown measure {measure!r}; known: {', '.join(SECTION_MEASURES)}"
            )
    if not add:
        raise StandardError(f"{ind_where}: numerator needs at least one 'add' measure")
    minimum = {stage: float(v) for stage, v in (ind.get("minimum") or {}).items()}
    if set(minimum) - set(STAGES):
        raise StandardError(f"{ind_where}: minimum has unknown stage(s)")
    return Indicator(
        indicator_id=str(_need(ind, "id", ind_where)),
        name_zh=str(_need(ind, "name_zh", ind_where)),
        unit=str(ind.get("unit", "")),
        add=add,
        subtract=subtract,
        denominator=denominator,
        scale=float(ind.get("scale", 1)),
        minimum=minimum,
    )


def _indicators(doc: dict[str, Any], where: str) -> list[Indicator]:
    indicators: list[Indicator] = []
    for i, ind in enumerate(_need(doc, "indicators", where)):
        ind_where = f"{where}: indicators[{i}]"
        indicator_id = str(_need(ind, "id", ind_where))
        if indicator_id in {x.indicator_id for x in indicators}:
            raise StandardError(f"{ind_where}: duplicate indicator id {indicator_id!r}")
        indicators.append(_indicator(ind, ind_where))
    return indicators


def _school_rule(doc: dict[str, Any], where: str, indicators: list[Indicator]) -> SchoolRule | None:
    if not doc.get("school_rule"):
        return None
    rule = doc["school_rule"]
    with_minimum = sum(1 for i in indicators if i.minimum)
    min_met = int(_need(rule, "min_met", f"{where}: school_rule"))
    ratio = float(_need(rule, "unmet_min_ratio", f"{where}: school_rule"))
    if not 0 < min_met <= with_minimum:
        raise StandardError(
            f"{where}: school_rule.min_met must be between 1 and the {with_minimum} indicators with a minimum"
        )
    if not 0 <= ratio <= 1:
        raise StandardError(f"{where}: school_rule.unmet_min_ratio must be between 0 and 1")
    return SchoolRule(min_met, ratio)


def _school_conditions(doc: dict[str, Any], where: str) -> SchoolConditions | None:
    if not doc.get("school_conditions"):
        return None
    c = doc["school_conditions"]
    cw = f"{where}: school_conditions"
    return SchoolConditions(
        max_school_students=float(_need(c, "max_school_students", cw)),
        max_school_students_by_type={
            str(k): float(v) for k, v in (c.get("max_school_students_by_type") or {}).items()
        },
        max_class_size={stage: float(_need(_need(c, "max_class_size", cw), stage, cw)) for stage in STAGES},
        classes_per_music_room=float(_need(c, "classes_per_music_room", cw)),
        classes_per_art_room=float(_need(c, "classes_per_art_room", cw)),
        min_music_room_m2=float(_need(c, "min_music_room_m2", cw)),
        min_art_room_m2=float(_need(c, "min_art_room_m2", cw)),
    )


def _teaching_points(doc: dict[str, Any], where: str) -> dict[str, Any]:
    points = doc.get("teaching_points") or {"mode": "exclude_by_rules"}
    mode = points.get("mode")
    if mode not in TEACHING_POINT_MODES:
        raise StandardError(
            f"{where}: teaching_points.mode must be one of {TEACHING_POINT_MODES}, got {mode!r}"
        )
    if mode == "merge_into_parent":
        _need(points, "reason_zh", f"{where}: teaching_points")
        _need(points, "reason_en", f"{where}: teaching_points")
    return points


def _certification_years(doc: dict[str, Any], where: str) -> tuple[int | None, int | None]:
    """The census years in which counties were certified under the method (certification_years:
    first, last; either may be null), for the generator and checks of certifications."""
    years = doc.get("certification_years") or {}
    first, last = years.get("first"), years.get("last")
    if first is not None and last is not None and int(last) < int(first):
        raise StandardError(f"{where}: certification_years.last must not be before first")
    return (None if first is None else int(first)), (None if last is None else int(last))


def parse_standard(doc: dict[str, Any], source: str) -> Standard:
    """Check one standards document and return it as a Standard."""
    where = source
    standard_id = str(_need(doc, "standard_id", where))
    cv_rule = _need(doc, "cv_rule", where)
    if cv_rule not in CV_RULES:
        raise StandardError(f"{where}: cv_rule must be one of {CV_RULES}, got {cv_rule!r}")
    thresholds = _need(doc, "cv_thresholds", where)
    cv_thresholds = {stage: float(_need(thresholds, stage, f"{where}: cv_thresholds")) for stage in STAGES}
    known_types = set(school_type_codes())
    exclusions = (doc.get("exclusions") or {}).get("rules") or []
    rules = [
        _exclusion_rule(rule, f"{where}: exclusions.rules[{i}]", known_types)
        for i, rule in enumerate(exclusions)
    ]
    indicators = _indicators(doc, where)
    points = _teaching_points(doc, where)
    certified_from, certified_until = _certification_years(doc, where)
    return Standard(
        certified_from=certified_from,
        certified_until=certified_until,
        teaching_point_mode=points["mode"],
        merge_reason_zh=points.get("reason_zh"),
        merge_reason_en=points.get("reason_en"),
        school_rule=_school_rule(doc, where, indicators),
        school_conditions=_school_conditions(doc, where),
        standard_id=standard_id,
        name_zh=str(doc.get("name_zh", "")),
        name_en=str(doc.get("name_en", "")),
        document=str(doc.get("document", "")),
        cv_rule=cv_rule,
        cv_thresholds=cv_thresholds,
        student_weights=_weights(doc, where, known_types),
        exclusions=tuple(rules),
        indicators=tuple(indicators),
        source=source,
    )


def load_standards(standards_dir: Path) -> list[Standard]:
    """Every *.yaml file in the folder, sorted by file name; standard ids must be unique."""
    standards = []
    for path in sorted(standards_dir.glob("*.yaml")):
        with open(path, encoding="utf-8") as f:
            doc = yaml_files.safe_load(f)
        if not isinstance(doc, dict):
            raise StandardError(f"{path}: not a YAML mapping")
        standards.append(parse_standard(doc, str(path)))
    ids = [s.standard_id for s in standards]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise StandardError(f"{standards_dir}: standard_id used twice: {sorted(duplicates)}")
    if not standards:
        raise StandardError(f"{standards_dir}: no standards files (*.yaml)")
    return standards


def standard_tables(standards: list[Standard]) -> dict[str, pl.DataFrame]:
    """The standards as the warehouse tables the SQL models join (keys are table names)."""
    head, thresholds, indicators, terms, weights, rules = [], [], [], [], [], []
    conditions, size_limits = [], []
    for s in standards:
        head.append(
            {
                "standard_id": s.standard_id,
                "name_zh": s.name_zh,
                "name_en": s.name_en,
                "document": s.document,
                "cv_rule": s.cv_rule,
                "teaching_point_mode": s.teaching_point_mode,
                "merge_reason_zh": s.merge_reason_zh,
                "merge_reason_en": s.merge_reason_en,
                "school_rule_min_met": s.school_rule.min_met if s.school_rule else None,
                "school_rule_unmet_min_ratio": s.school_rule.unmet_min_ratio if s.school_rule else None,
                "certified_from_year": s.certified_from,
                "certified_until_year": s.certified_until,
                "source_file": Path(s.source).name,
            }
        )
        if s.school_conditions:
            c = s.school_conditions
            for stage in STAGES:
                conditions.append(
                    {
                        "standard_id": s.standard_id,
                        "stage": stage,
                        "max_class_size": c.max_class_size[stage],
                        "classes_per_music_room": c.classes_per_music_room,
                        "classes_per_art_room": c.classes_per_art_room,
                        "min_music_room_m2": c.min_music_room_m2,
                        "min_art_room_m2": c.min_art_room_m2,
                    }
                )
            size_limits.append(
                {
                    "standard_id": s.standard_id,
                    "school_type_code": None,
                    "max_school_students": c.max_school_students,
                }
            )
            for code, limit in c.max_school_students_by_type.items():
                size_limits.append(
                    {"standard_id": s.standard_id, "school_type_code": code, "max_school_students": limit}
                )
        for stage, value in s.cv_thresholds.items():
            thresholds.append({"standard_id": s.standard_id, "stage": stage, "cv_threshold": value})
        for order, ind in enumerate(s.indicators, start=1):
            for stage in STAGES:
                indicators.append(
                    {
                        "standard_id": s.standard_id,
                        "stage": stage,
                        "indicator_id": ind.indicator_id,
                        "indicator_order": order,
                        "name_zh": ind.name_zh,
                        "unit": ind.unit,
                        "denominator": ind.denominator,
                        "scale": ind.scale,
                        "standard_value": ind.minimum.get(stage),
                    }
                )
            for measure in ind.add:
                terms.append(
                    {
                        "standard_id": s.standard_id,
                        "indicator_id": ind.indicator_id,
                        "measure": measure,
                        "sign": 1.0,
                    }
                )
            for measure in ind.subtract:
                terms.append(
                    {
                        "standard_id": s.standard_id,
                        "indicator_id": ind.indicator_id,
                        "measure": measure,
                        "sign": -1.0,
                    }
                )
        for code, stage_weights in s.student_weights.items():
            for stage, weight in stage_weights.items():
                weights.append(
                    {"standard_id": s.standard_id, "school_type_code": code, "stage": stage, "weight": weight}
                )
        for order, rule in enumerate(s.exclusions, start=1):
            rules.append(
                {
                    "standard_id": s.standard_id,
                    "rule_order": order,
                    "rule_id": rule.rule_id,
                    "school_type_codes": list(rule.school_type_codes)
                    if rule.school_type_codes is not None
                    else None,
                    "ownership": rule.ownership,
                    "is_county_run": rule.is_county_run,
                    "students_below": rule.students_below,
                    "reason_zh": rule.reason_zh,
                    "reason_en": rule.reason_en,
                }
            )
    return {
        "standards": pl.DataFrame(
            head,
            schema_overrides={
                "school_rule_min_met": pl.Int64,
                "school_rule_unmet_min_ratio": pl.Float64,
                "certified_from_year": pl.Int64,
                "certified_until_year": pl.Int64,
                "merge_reason_zh": pl.String,
                "merge_reason_en": pl.String,
            },
        ),
        "standard_school_conditions": pl.DataFrame(
            conditions,
            schema={
                "standard_id": pl.String,
                "stage": pl.String,
                "max_class_size": pl.Float64,
                "classes_per_music_room": pl.Float64,
                "classes_per_art_room": pl.Float64,
                "min_music_room_m2": pl.Float64,
                "min_art_room_m2": pl.Float64,
            },
        ),
        "standard_school_size_limits": pl.DataFrame(
            size_limits,
            schema={
                "standard_id": pl.String,
                "school_type_code": pl.String,
                "max_school_students": pl.Float64,
            },
        ),
        "standard_thresholds": pl.DataFrame(thresholds),
        "standard_indicators": pl.DataFrame(indicators),
        "standard_indicator_terms": pl.DataFrame(terms),
        "standard_split_weights": pl.DataFrame(
            weights,
            schema={
                "standard_id": pl.String,
                "school_type_code": pl.String,
                "stage": pl.String,
                "weight": pl.Float64,
            },
        ),
        "standard_exclusion_rules": pl.DataFrame(
            rules,
            schema={
                "standard_id": pl.String,
                "rule_order": pl.Int64,
                "rule_id": pl.String,
                "school_type_codes": pl.List(pl.String),
                "ownership": pl.String,
                "is_county_run": pl.Boolean,
                "students_below": pl.Float64,
                "reason_zh": pl.String,
                "reason_en": pl.String,
            },
        ),
    }


STANDARD_TABLES = (
    "standards",
    "standard_school_conditions",
    "standard_school_size_limits",
    "standard_thresholds",
    "standard_indicators",
    "standard_indicator_terms",
    "standard_split_weights",
    "standard_exclusion_rules",
)
"""Tables built from the YAML files; each is documented by its sidecar models/marts/<table>.yml."""
