"""Code lists kept as data in contracts/codes/*.yaml, loaded on demand (never at import)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from contracts import yaml_files

CODES_DIR = Path(__file__).parent / "codes"


@cache
def load_code_list(name: str) -> list[dict[str, Any]]:
    """The `codes` entries of contracts/codes/<name>.yaml."""
    with open(CODES_DIR / f"{name}.yaml", encoding="utf-8") as f:
        document = yaml_files.safe_load(f)
    return list(document["codes"])


def school_type_codes() -> list[str]:
    return [entry["code"] for entry in load_code_list("school_types")]


def urban_rural_codes() -> list[str]:
    return [entry["code"] for entry in load_code_list("urban_rural")]


def stages_taught() -> dict[str, list[str]]:
    """school_type_code -> the stages that type teaches (senior included, for facility splits)."""
    return {entry["code"]: list(entry["stages"]) for entry in load_code_list("school_types")}
