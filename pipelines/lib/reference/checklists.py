"""The evaluation checklists (models/checklists/*.yaml) as a warehouse table: every area, item and
checkpoint in its official wording, with how it is judged (docs/checklist.md).

A checkpoint is judged one of three ways: `census` (computed each year by
models/marts/county_checklist.sql; `measure` names the computation), `declared` (the county
declares it in its declaration file, audit.county_declarations) or `not_judged` (checked on site by
the inspection team; listed so that the checklist is whole).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from contracts import yaml_files

JUDGEMENTS = ("census", "declared", "not_judged")
VALUE_TYPES = ("percent", "number", "count", "yes_no")
COMPARISONS = (">=", "<=")

MEASURES: dict[str, tuple[str, tuple[str, ...]]] = {
    # measure -> (value type, the keys it needs besides comparison and standard_value)
    "indicator_mean": ("number", ("indicator_id", "stage")),
    "sections_short_music_rooms": ("count", ()),
    "sections_short_art_rooms": ("count", ()),
    "schools_over_size": ("count", ()),
    "sections_over_class_size": ("count", ("stage",)),
    "certified_teacher_share": ("percent", ()),
    "migrant_public_share": ("percent", ()),
    "junior_retention_3y": ("percent", ()),
}
"""The census computations a checkpoint may name (models/marts/county_checklist.sql has one CTE
each; docs/checklist.md says what each reads and its limits)."""

CHECKPOINT_SCHEMA = {
    "checklist_id": pl.String,
    "standard_id": pl.String,
    "area_code": pl.String,
    "area_name_zh": pl.String,
    "area_order": pl.Int32,
    "item_code": pl.String,
    "item_name_zh": pl.String,
    "item_order": pl.Int32,
    "checkpoint_code": pl.String,
    "checkpoint_order": pl.Int32,
    "wording_zh": pl.String,
    "judged_by": pl.String,
    "measure": pl.String,
    "indicator_id": pl.String,
    "stage": pl.String,
    "value_type": pl.String,
    "comparison": pl.String,
    "standard_value": pl.Float64,
    "unit": pl.String,
}


class ChecklistError(ValueError):
    """A checklist file that cannot be used, with the file and checkpoint named."""


@dataclass(frozen=True)
class Checklist:
    checklist_id: str
    standard_id: str
    name_zh: str
    rows: list[dict[str, Any]]  # one per checkpoint, CHECKPOINT_SCHEMA's columns


def _need(entry: dict[str, Any], key: str, where: str) -> Any:
    if entry.get(key) in (None, ""):
        raise ChecklistError(f"{where}: needs {key}")
    return entry[key]


def _checkpoint(entry: dict[str, Any], where: str) -> dict[str, Any]:
    judged_by = _need(entry, "judged_by", where)
    if judged_by not in JUDGEMENTS:
        raise ChecklistError(f"{where}: judged_by must be one of {list(JUDGEMENTS)}")
    row: dict[str, Any] = {
        "checkpoint_code": str(_need(entry, "code", where)),
        "wording_zh": str(_need(entry, "wording_zh", where)).strip(),
        "judged_by": judged_by,
        "measure": None,
        "indicator_id": None,
        "stage": entry.get("stage"),
        "value_type": None,
        "comparison": None,
        "standard_value": None,
        "unit": None if entry.get("unit") is None else str(entry["unit"]),
    }
    if judged_by == "not_judged":
        return row
    if judged_by == "census":
        measure = _need(entry, "measure", where)
        if measure not in MEASURES:
            raise ChecklistError(f"{where}: measure must be one of {sorted(MEASURES)}")
        value_type, keys = MEASURES[measure]
        for key in keys:
            row[key] = str(_need(entry, key, where))
        row["measure"] = measure
    else:
        value_type = _need(entry, "value_type", where)
        if value_type not in ("percent", "number", "yes_no"):
            raise ChecklistError(f"{where}: value_type must be percent, number or yes_no")
    row["value_type"] = value_type
    if value_type != "yes_no":
        comparison = _need(entry, "comparison", where)
        if comparison not in COMPARISONS:
            raise ChecklistError(f"{where}: comparison must be one of {list(COMPARISONS)}")
        row["comparison"] = comparison
        row["standard_value"] = float(_need(entry, "standard_value", where))
        _need(entry, "unit", where)
    return row


def parse_checklist(doc: dict[str, Any], source: str) -> Checklist:
    checklist_id = str(_need(doc, "checklist_id", source))
    standard_id = str(_need(doc, "standard_id", source))
    rows: list[dict[str, Any]] = []
    for area_order, area in enumerate(_need(doc, "areas", source), start=1):
        area_where = f"{source}: area {area.get('code')!r}"
        for item_order, item in enumerate(_need(area, "items", area_where), start=1):
            item_where = f"{area_where}, item {item.get('code')!r}"
            for entry in _need(item, "checkpoints", item_where):
                row = _checkpoint(entry, f"{item_where}, checkpoint {entry.get('code')!r}")
                rows.append(
                    {
                        "checklist_id": checklist_id,
                        "standard_id": standard_id,
                        "area_code": str(_need(area, "code", area_where)),
                        "area_name_zh": str(_need(area, "name_zh", area_where)),
                        "area_order": area_order,
                        "item_code": str(_need(item, "code", item_where)),
                        "item_name_zh": str(_need(item, "name_zh", item_where)).strip(),
                        "item_order": item_order,
                        "checkpoint_order": len(rows) + 1,
                        **row,
                    }
                )
    codes = [r["checkpoint_code"] for r in rows]
    repeated = sorted({c for c in codes if codes.count(c) > 1})
    if repeated:
        raise ChecklistError(f"{source}: checkpoint codes used twice: {repeated}")
    return Checklist(checklist_id, standard_id, str(_need(doc, "name_zh", source)), rows)


def load_checklists(folder: Path) -> list[Checklist]:
    """Every *.yaml file of the folder (sorted by name); checklist ids must be unique."""
    checklists = []
    for path in sorted(folder.glob("*.yaml")):
        with open(path, encoding="utf-8") as f:
            doc = yaml_files.safe_load(f)
        if not isinstance(doc, dict):
            raise ChecklistError(f"{path}: not a YAML mapping")
        checklists.append(parse_checklist(doc, path.name))
    ids = [c.checklist_id for c in checklists]
    if len(set(ids)) != len(ids):
        raise ChecklistError(f"{folder}: checklist_id used twice")
    return checklists


CHECKLIST_TABLES = ("checklist_checkpoints",)
"""Tables built from models/checklists/*.yaml, each documented by models/marts/<table>.yml."""


def checklist_tables(checklists: list[Checklist]) -> dict[str, pl.DataFrame]:
    rows = [row for checklist in checklists for row in checklist.rows]
    return {"checklist_checkpoints": pl.DataFrame(rows, schema=CHECKPOINT_SCHEMA)}
