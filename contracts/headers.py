"""Header mapping as data (contracts/headers.yaml): any header seen in the wild -> canonical column."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from contracts import yaml_files
from contracts.code_lists import load_code_list
from contracts.columns import CENSUS_COLUMN_NAMES

_BRACKETS = str.maketrans({"【": "(", "】": ")", "〔": "(", "〕": ")", "[": "(", "]": ")"})
_UNIT = re.compile(r"^(?P<base>.+?)\((?P<unit>[^()]*)\)$")


@dataclass(frozen=True)
class HeaderMatch:
    header: str
    column: str
    unit: str | None
    factor: float


class HeaderError(ValueError):
    """A header that names a known column in an unknown unit."""


@cache
def header_table() -> dict[str, Any]:
    with open(Path(__file__).parent / "headers.yaml", encoding="utf-8") as f:
        return dict(yaml_files.safe_load(f))


def normalise_text(text: str) -> str:
    """NFKC (full-width to half-width), unified brackets, surrounding whitespace trimmed."""
    return unicodedata.normalize("NFKC", text).translate(_BRACKETS).strip()


def header_key(header: str) -> str:
    return re.sub(r"\s+", "", normalise_text(header.lstrip("\ufeff"))).lower()


@cache
def input_columns() -> dict[str, str]:
    """Input-only columns (headers.yaml `inputs`: 统计三级, 是否计校数) -> the canonical column each
    resolves to before validation; they are never loaded themselves."""
    specs = header_table().get("inputs", {})
    return {name: str(spec["resolves"]) for name, spec in specs.items() if name != "note"}


@cache
def _aliases() -> dict[str, str]:
    aliases = {name.lower(): name for name in CENSUS_COLUMN_NAMES}
    inputs = header_table().get("inputs", {})
    specs = {**header_table()["columns"], **{k: v for k, v in inputs.items() if k != "note"}}
    for column, spec in specs.items():
        if column not in CENSUS_COLUMN_NAMES and column not in input_columns():
            raise ValueError(f"contracts/headers.yaml: unknown canonical column {column!r}")
        for alias in spec.get("aliases", []):
            aliases[header_key(alias)] = column
    return aliases


def header_units(column: str) -> dict[str, float]:
    """A column's units as headers.yaml writes them, with their factors to the canonical unit."""
    spec = header_table()["columns"].get(column, {})
    return {str(u): float(f) for u, f in (spec.get("units") or {}).items()}


def _units(column: str) -> dict[str, float]:
    """The same, keyed as a header's unit is matched."""
    return {header_key(u): f for u, f in header_units(column).items()}


def match_header(header: str) -> HeaderMatch | None:
    """The canonical column a header means, with its unit factor; None for an unknown header."""
    key = header_key(header)
    aliases = _aliases()
    if key in aliases:
        return HeaderMatch(header, aliases[key], None, 1.0)
    found = _UNIT.match(key)
    if not found or found["base"] not in aliases:
        return None
    column = aliases[found["base"]]
    units = _units(column)
    unit = found["unit"]
    if unit not in units:
        known = ", ".join(sorted(units)) or "none"
        raise HeaderError(
            f"列 '{header}' 的单位 '{unit}' 无法识别 / header '{header}': unit '{unit}' is not known "
            f"for {column} (known units: {known})"
        )
    return HeaderMatch(header, column, unit, units[unit])


def ownership_values() -> dict[str, str]:
    return {normalise_text(k): v for k, v in header_table()["values"]["ownership"].items()}


def school_type_names() -> dict[str, str]:
    """Chinese school-type names (九年一贯制学校) -> 3-digit codes."""
    return {normalise_text(e["name_zh"]): e["code"] for e in load_code_list("school_types")}


def reference_aliases(kind: str) -> dict[str, str]:
    """Normalised header -> canonical column for a reference file (`counties`, `certifications`)."""
    out = {}
    for column, aliases in header_table()["reference"][kind].items():
        out[header_key(column)] = column
        for alias in aliases:
            out[header_key(alias)] = column
    return out


def standard_names() -> dict[str, str]:
    return {normalise_text(k): v for k, v in header_table()["reference"]["standard_names"].items()}
