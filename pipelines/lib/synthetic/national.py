"""A synthetic country: 31 provinces' worth of counties as one landing folder, written streaming.

Each province is built by the province generator (pipelines.lib.synthetic.province) with its own seed,
so schools, sizes and resources follow exactly the same rules as the demo province. Only one
province is in memory at a time: its roster is built, evolved over the census years, and each
year is written as one file per province (`<year>/census_<year>_<province>.csv|parquet`) before
the next province starts. Memory therefore depends on the largest province, not on the country.

The checklist columns (grade enrolment, 随迁子女, certified teachers) are planned as in the demo
province (province.plan_checklist), from draws of their own, and left out of census years before
province.CHECKLIST_COLUMNS_FROM; no county is planted below a checkpoint and no declaration files
are written.

What differs from the demo province: no scenarios are planted and nothing is aimed (aiming
searches each county-year and would take hours at this scale). Certified counties are instead
given the even spread that certification implies (the settings below), and their yearly drift
is left alone, so some of them slide back as real ones do.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from contracts.columns import CHECKLIST_MEASURES
from pipelines.lib.synthetic.province import (
    CHECKLIST_COLUMNS_FROM,
    FLOOR,
    QUALITY_AFTER_BASIC,
    STOCK_DRIVERS,
    County,
    Generator,
    certification_range,
    draw_year,
    plan_checklist,
    write_reference,
)

FORMATS = ("csv", "parquet")

# County-level divisions per province (province code, name, counties), rounded from the 2023
# administrative division tables; 2,843 in all. Only the sizes matter to the generator.
PROVINCES: tuple[tuple[str, str, int], ...] = (
    ("11", "北京市", 16), ("12", "天津市", 16), ("13", "河北省", 167), ("14", "山西省", 117),
    ("15", "内蒙古自治区", 103), ("21", "辽宁省", 100), ("22", "吉林省", 60), ("23", "黑龙江省", 121),
    ("31", "上海市", 16), ("32", "江苏省", 95), ("33", "浙江省", 90), ("34", "安徽省", 104),
    ("35", "福建省", 84), ("36", "江西省", 100), ("37", "山东省", 136), ("41", "河南省", 157),
    ("42", "湖北省", 103), ("43", "湖南省", 122), ("44", "广东省", 122), ("45", "广西壮族自治区", 111),
    ("46", "海南省", 25), ("50", "重庆市", 38), ("51", "四川省", 183), ("52", "贵州省", 88),
    ("53", "云南省", 129), ("54", "西藏自治区", 74), ("61", "陕西省", 107), ("62", "甘肃省", 86),
    ("63", "青海省", 44), ("64", "宁夏回族自治区", 22), ("65", "新疆维吾尔自治区", 107),
)  # fmt: skip
MUNICIPALITIES = ("11", "12", "31", "50")
MUNICIPALITY_DISTRICT_SHARE = 0.85  # most county-level units of the four municipalities are districts
# The demo's rural counties have 8-16 townships; the national census averages more school units
# per county (about 95 with teaching points), so national rural counties have 9-18.
NATIONAL_RURAL_TOWNS = (9, 19)

# Generator settings for certified counties (not evaluation rules). Checked against the official
# method on 100 counties: basic-certified counties pass at their own spread; quality-certified
# ones at 0.6 of it with a per-pupil building minimum (floor 0.3) pass 99-100% of the time, the
# rest sliding just over a threshold in later years.
CERTIFIED_BASIC_SHARE = 0.85
QUALITY_SHARE_OF_BASIC = 0.2
QUALITY_DISPERSION = 0.6
QUALITY_FLOOR = 0.3
LAGGARD_DISPERSION = 1.4


@dataclass
class NationalSummary:
    out: Path
    provinces: int
    counties: int
    units: dict[int, int]
    files: int
    bytes_written: int
    seconds: float


def certify(gen: Generator, counties: list[County]) -> None:
    """Certification years and the spread that goes with them, drawn from the province's rng."""
    rng = gen.rng
    first, last = gen.years[0], gen.years[-1]
    for county in counties:
        if rng.random() < CERTIFIED_BASIC_SHARE:
            county.basic_certified = draw_year(rng, certification_range(gen.basic, first - 5, last - 1))
        if county.basic_certified is None:
            county.dispersion *= LAGGARD_DISPERSION
        elif rng.random() < QUALITY_SHARE_OF_BASIC:
            low = max(county.basic_certified + QUALITY_AFTER_BASIC, first + 1)
            county.quality_certified = draw_year(rng, certification_range(gen.quality, low, last))
            if county.quality_certified is not None:
                county.dispersion = min(county.dispersion, QUALITY_DISPERSION)


def dispersion_for(gen: Generator, county: County, year: int) -> dict:
    dispersion = gen._default_dispersion(county, year)
    if county.quality_certified is not None and year >= county.quality_certified - 1:
        dispersion.update({(driver, FLOOR): QUALITY_FLOOR for driver in STOCK_DRIVERS})
    return dispersion


def plan(province_code: str, counties: int, years: list[int], seed: int) -> tuple[Generator, list[County]]:
    """One province's generator and evolved, certified roster."""
    gen = Generator(counties, years, seed, province_code=province_code)
    if province_code in MUNICIPALITIES:
        gen.district_share = MUNICIPALITY_DISTRICT_SHARE
    gen.rural_towns = NATIONAL_RURAL_TOWNS
    gen.name_length = 3  # 36 syllables make 1,296 two-syllable names; a province needs ~15,000
    roster = gen.build_roster()
    gen.evolve(roster)
    certify(gen, roster)
    plan_checklist(gen, roster, years)  # grade enrolment, 随迁子女, certified teachers (own draws)
    return gen, roster


def generate_national(
    out: Path,
    years: list[int],
    seed: int = 2012,
    file_format: str = "csv",
    provinces: list[str] | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> NationalSummary:
    """Write the national landing folder; `provinces` limits it to some province codes."""
    if file_format not in FORMATS:
        raise ValueError(f"unknown format {file_format!r}; use one of {', '.join(FORMATS)}")
    chosen = [p for p in PROVINCES if provinces is None or p[0] in provinces]
    if provinces is not None and len(chosen) != len(set(provinces)):
        known = ", ".join(p[0] for p in PROVINCES)
        raise ValueError(f"unknown province code in {provinces}; the codes are {known}")
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    for year in years:
        folder = out / str(year)
        folder.mkdir(exist_ok=True)
        for old in folder.iterdir():
            if old.is_file():
                old.unlink()
    units = dict.fromkeys(years, 0)
    registry: list[tuple[County, str, str]] = []
    files = written = 0
    for index, (code, name, n_counties) in enumerate(chosen):
        gen, roster = plan(code, n_counties, years, seed * 100 + index)
        for year in years:
            census = pl.concat([gen.county_year(c, year, dispersion_for(gen, c, year)) for c in roster])
            if year < CHECKLIST_COLUMNS_FROM:  # the older extract layout had no checklist columns
                census = census.drop(CHECKLIST_MEASURES)
            path = out / str(year) / f"census_{year}_{code}.{file_format}"
            if file_format == "csv":
                census.write_csv(path)
            else:
                census.write_parquet(path)
            units[year] += census.height
            files += 1
            written += path.stat().st_size
        for county in roster:
            county.schools = []  # the registry keeps names and certification, not the schools
        registry += [(c, code, name) for c in roster]
        progress(f"{code} {name}: {n_counties} counties")
    write_reference(out, registry)
    summary = NationalSummary(
        out, len(chosen), len(registry), units, files, written, time.perf_counter() - started
    )
    truth = {
        "generator": {
            "scale": "national",
            "provinces": [p[0] for p in chosen],
            "counties": len(registry),
            "years": years,
            "seed": seed,
            "format": file_format,
        },
        "school_units_per_year": {str(k): v for k, v in units.items()},
        "scenarios": [],
        "messy": False,
        "planted_defects": [],
        "blank_cells": [],
    }
    (out / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=2), encoding="utf-8")
    return summary
