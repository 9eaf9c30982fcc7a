"""A synthetic province that looks like a real one, written as a landing folder.

Shape (docs/synthetic_data.md, docs/ingest.md): rural counties of townships, each with a central primary
school, village schools and teaching points (30-50% of primary units), a junior school or a
nine-year school (10-25% of junior units); a county seat with large urban schools, a complete
secondary school, sometimes a twelve-year school, private and special-education schools, and
schools not run by the county. School sizes are log-normal; small rural schools have more area
and more teachers per pupil; urban schools grow and rural ones shrink over the years, teaching
points close, new urban schools open, schools receive investments.

Each school has a fixed position on every resource (a standard-normal draw); a county's spread
on a resource in a year is that position times a dispersion factor D. Planted scenarios change
D for one county and search (bisection) for the value that puts the official statistic, as
computed by pipelines.lib.synthetic.official, on a planned path. truth.json records the plan and the
realised values, so tests can check that the pipeline finds exactly what was planted.

The optional checklist columns (junior grade enrolment, 随迁子女, certified teachers) are planned
after everything else, from draws of their own (plan_checklist), so every other column and scenario
is what it was without them: grades follow their cohorts from year to year (初中三年巩固率 about
0.96-1.01), one quality-certified county's retention slides under the checklist's 95% (scenario
retention_slide). Census years before CHECKLIST_COLUMNS_FROM are written without these columns.
Counties preparing for or holding quality balance write a declaration file (申报表) each year
beside the census files (pipelines.lib.synthetic.declarations), listed in truth.json.

Deterministic for a seed: every random draw comes from one numpy Generator, in a fixed order
(the checklist columns and declarations from generators seeded by the seed and the county).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from contracts.columns import (
    CENSUS_COLUMN_NAMES,
    CENSUS_DTYPES,
    CHECKLIST_MEASURES,
    STAGE_MEASURES,
    STAGES,
)
from pipelines.lib.method.equity import cv_contributions
from pipelines.lib.paths import MODELS_DIR
from pipelines.lib.reference.alert_rules import load_rules
from pipelines.lib.reference.standards import Standard, load_standards
from pipelines.lib.synthetic import official
from pipelines.lib.synthetic.declarations import checkpoint, write_declaration
from pipelines.lib.synthetic.exports import write_county_exports
from pipelines.lib.synthetic.form_books import write_form_books
from pipelines.lib.synthetic.messy import write_messy_year

# --- realism parameters (generator settings, not evaluation rules) ---------------------------

# facility resources per weighted student: stage level, size elasticity, spread, yearly growth
FACILITY_DRIVERS = {
    "teaching_net_m2": ({"primary": 5.0, "junior": 6.6}, 0.30, 0.22, 0.015),
    "indoor_sports_m2": ({"primary": 0.35, "junior": 0.45}, 0.10, 0.45, 0.03),
    "sports_ground_m2": ({"primary": 8.0, "junior": 10.5}, 0.25, 0.30, 0.01),
    "equipment_yuan": ({"primary": 1900.0, "junior": 2400.0}, 0.10, 0.33, 0.06),
    "computers": ({"primary": 0.10, "junior": 0.13}, 0.10, 0.30, 0.04),
    "books": ({"primary": 27.0, "junior": 36.0}, 0.15, 0.26, 0.02),
    "multimedia": ({"primary": 0.022, "junior": 0.024}, 0.15, 0.26, 0.06),
}
# teachers per stage student (level, size elasticity, spread); sub-counts as shares of teachers
TEACHER_LEVEL = {"primary": 0.056, "junior": 0.080}
TEACHER_ELASTICITY, TEACHER_SPREAD = 0.22, 0.11
TEACHER_SHARES = {
    "teachers_above_degree": ({"primary": 0.90, "junior": 0.80}, 0.12),
    "teachers_senior_title": ({"primary": 0.45, "junior": 0.50}, 0.24),
    "key_teachers": ({"primary": 0.22, "junior": 0.20}, 0.30),
    "pe_art_teachers": ({"primary": 0.18, "junior": 0.15}, 0.24),
}
STAGE_DRIVERS = ("teachers", *TEACHER_SHARES)
# buildings, grounds and libraries stay when pupils leave: these scale with the school's size
# when it opened, so a shrinking rural school ends up with more per pupil, as in real counties
STOCK_DRIVERS = ("teaching_net_m2", "indoor_sports_m2", "sports_ground_m2", "books")
FLOOR_CEILING = 1.6  # the highest per-pupil minimum a county builds towards, times the typical level
FLOOR = "floor"  # steering key (stock driver, FLOOR): 1 = no minimum; lower = a higher per-pupil minimum
REFERENCE_SIZE = 600.0
# log-normal school sizes: (median, sigma) per kind of school and stage
SIZES = {
    "urban_primary": (1500, 0.35),
    "central_primary": (620, 0.40),
    "village_primary": (110, 0.55),
    "teaching_point": (32, 0.60),
    "urban_junior": (1300, 0.30),
    "town_junior": (560, 0.40),
}
# yearly enrolment growth by urban/rural code
GROWTH = {"111": 0.035, "112": 0.03, "121": 0.0, "122": -0.01, "210": -0.035, "220": -0.05}
DISTRICT_SHARE = 0.2  # share of county-level units that are urban districts
RURAL_TOWNS = (8, 17)  # townships of a rural county: from, to (exclusive)
QUALITY_TARGET_RATIO = 0.85  # quality-certified counties are kept at <= 85% of each threshold
BASIC_TARGET_RATIO = 0.92  # basic-certified counties are kept at <= 92% of the threshold
# a planted sliding school keeps this share of one per-school minimum (the rule tolerates 85%)
SLIDE_SHARE = 0.8
SLIDE_STAGE, SLIDE_INDICATOR = "primary", "key_teachers_per_100"

SYLLABLES = list("青川临江安平清河东阳西山南岭北丰宁远长乐永兴新华龙泉石桥白云金沙柳溪松林")
_SYLLABLE_ARRAY = np.array(SYLLABLES)


@dataclass
class School:
    school_id: str
    school_name: str
    county_code: str
    school_type_code: str
    urban_rural_code: str
    ownership: str = "public"
    is_county_run: bool = True
    parent_school_id: str | None = None
    students: dict[str, float] = field(default_factory=dict)
    position: dict[tuple[str, str | None], float] = field(default_factory=dict)
    class_size: float = 40.0
    rooms_factor: float = 1.0  # specialist rooms relative to what its classes need
    room_m2: float = 100.0  # average size of its music and art rooms
    opened: int = 0
    closed: int | None = None
    history: dict[int, dict[str, int]] = field(default_factory=dict)
    first_students: dict[str, int] | None = None
    # the optional checklist columns, per census year (plan_checklist; empty: written as null)
    grades: dict[int, tuple[int, int, int]] = field(default_factory=dict)  # 初一, 初二, 初三
    migrants: dict[int, tuple[int, int]] = field(default_factory=dict)  # 随迁子女: primary, junior
    uncertified: dict[int, tuple[int, int]] = field(default_factory=dict)  # teachers without 教师资格证


@dataclass
class County:
    county_code: str
    county_name: str
    prefecture_code: str
    prefecture_name: str
    kind: str
    wealth: float
    dispersion: float
    schools: list[School] = field(default_factory=list)
    basic_certified: int | None = None
    quality_certified: int | None = None
    drift: dict[int, float] = field(default_factory=dict)
    floor_exempt: frozenset[tuple[str, str]] = frozenset()  # (stage, indicator) the county lets slide
    # school_id -> first census year in which that school falls below a per-school minimum
    slides: dict[str, int] = field(default_factory=dict)


@dataclass
class Province:
    province_code: str
    province_name: str
    years: list[int]
    counties: list[County]
    dispersion: dict[tuple[str, int], dict[tuple[str, str | None], float]]
    scenarios: list[dict]
    # county code -> (first census year it declares, file suffix); see _plan_declarations
    declarants: dict[str, tuple[int, str]] = field(default_factory=dict)
    declaration_misses: dict[tuple[str, int], dict[str, float | bool]] = field(default_factory=dict)


def _driver_keys() -> list[tuple[str, str | None]]:
    return [(d, None) for d in FACILITY_DRIVERS] + [(d, stage) for d in STAGE_DRIVERS for stage in STAGES]


class Generator:
    def __init__(self, counties: int, years: list[int], seed: int, province_code: str = "90"):
        self.n_counties = counties
        self.years = years
        self.rng = np.random.default_rng(seed)
        self.seed = seed
        self.province_code = province_code
        standards = {s.standard_id: s for s in load_standards(MODELS_DIR / "standards")}
        self.basic = standards["basic_2012"]
        self.quality = standards["quality_2017"]
        self._sequence = 0
        self.district_share = DISTRICT_SHARE
        self.rural_towns = RURAL_TOWNS
        self.name_length = 2  # syllables in a new place name (a large province needs 3 to stay quick)

    # --- roster -----------------------------------------------------------------------------

    def _new_id(self, type_code: str) -> str:
        self._sequence += 1
        return f"{type_code[:2]}{self.province_code}{self._sequence:06d}"

    def _size(self, kind: str) -> float:
        median, sigma = SIZES[kind]
        return max(3.0, float(median * math.exp(sigma * self.rng.standard_normal())))

    def _school(self, county: County, type_code: str, name: str, ur: str, **students: float) -> School:
        school = School(
            school_id=self._new_id(type_code),
            school_name=f"{county.county_name}{name}",
            county_code=county.county_code,
            school_type_code=type_code,
            urban_rural_code=ur,
            students={"primary": 0.0, "junior": 0.0, "senior": 0.0, **students},
            class_size=float(self.rng.uniform(38, 50) if ur.startswith("1") else self.rng.uniform(22, 38)),
            rooms_factor=float(self.rng.choice([0.5, 1.0, 1.0, 1.0, 1.0, 1.5])),
            room_m2=float(self.rng.uniform(84, 124)),
            opened=self.years[0],
        )
        for key in _driver_keys():
            school.position[key] = float(self.rng.standard_normal())
        county.schools.append(school)
        return school

    def _name(self, used: set[str]) -> str:
        """A place name not used before; longer names once the short ones run out."""
        for attempt in range(10_000):
            size = self.name_length + attempt // 50
            # the same draws as rng.choice(SYLLABLES, size), without its per-call conversion
            name = "".join(_SYLLABLE_ARRAY[self.rng.integers(0, len(SYLLABLES), size=size)])
            if name not in used:
                used.add(name)
                return name
        raise RuntimeError("ran out of synthetic place names")

    def build_roster(self) -> list[County]:
        rng = self.rng
        used: set[str] = set()
        counties = []
        n_prefectures = max(1, math.ceil(self.n_counties / 8))
        prefectures = [
            (f"{self.province_code}{p + 1:02d}", f"{self._name(used)}市") for p in range(n_prefectures)
        ]
        for i in range(self.n_counties):
            prefecture_code, prefecture_name = prefectures[i % n_prefectures]
            kind = "district" if rng.random() < self.district_share else "county"
            number = i // n_prefectures + (1 if kind == "district" else 21)
            county = County(
                county_code=f"{prefecture_code}{number:02d}",
                county_name=self._name(used) + ("区" if kind == "district" else "县"),
                prefecture_code=prefecture_code,
                prefecture_name=prefecture_name,
                kind=kind,
                wealth=float(math.exp(0.15 * rng.standard_normal())),
                dispersion=float(rng.uniform(0.65, 1.05)),
            )
            self._populate(county, used)
            counties.append(county)
        return counties

    def _populate(self, county: County, used: set[str]) -> None:
        rng = self.rng
        urban = county.kind == "district"
        seat_ur = "111"
        for k in range(int(rng.integers(10, 18) if urban else rng.integers(3, 7))):
            self._school(
                county,
                "211",
                f"第{k + 1}小学",
                seat_ur if k % 3 else "112",
                primary=self._size("urban_primary"),
            )
        for k in range(int(rng.integers(5, 9) if urban else rng.integers(2, 4))):
            self._school(county, "311", f"第{k + 1}初级中学", seat_ur, junior=self._size("urban_junior"))
        self._school(
            county,
            "341",
            "第一中学",
            seat_ur,
            junior=self._size("urban_junior") * 0.8,
            senior=float(rng.uniform(1500, 2600)),
        )
        self._school(county, "342", "高级中学", seat_ur, senior=float(rng.uniform(1500, 2500)))
        if rng.random() < 0.3:
            self._school(
                county,
                "345",
                "实验学校",
                "112",
                primary=float(rng.uniform(600, 1000)),
                junior=float(rng.uniform(400, 700)),
                senior=float(rng.uniform(500, 900)),
            )
        self._school(
            county,
            "513",
            "特殊教育学校",
            seat_ur,
            primary=float(rng.uniform(40, 90)),
            junior=float(rng.uniform(15, 40)),
        )
        private = self._school(county, "211", "民办育才小学", seat_ur, primary=self._size("urban_primary"))
        private.ownership = "private"
        if rng.random() < 0.6:
            private = self._school(
                county, "311", "民办启明中学", seat_ur, junior=self._size("urban_junior") * 0.7
            )
            private.ownership = "private"
        if urban or rng.random() < 0.4:
            city_run = self._school(
                county, "211", "市直实验小学", seat_ur, primary=self._size("urban_primary")
            )
            city_run.is_county_run = False
        if rng.random() < 0.15:
            self._school(county, "219", "附设小学班", "121", primary=float(rng.uniform(40, 120)))
        if rng.random() < 0.08:
            self._school(county, "321", "职业初中", "121", junior=float(rng.uniform(100, 300)))
        for _ in range(int(rng.integers(3, 6) if urban else rng.integers(*self.rural_towns))):
            town = self._name(used)
            town_ur = "121" if rng.random() < 0.6 else "210"
            if rng.random() < 0.2:
                central = self._school(
                    county,
                    "312",
                    f"{town}镇九年一贯制学校",
                    town_ur,
                    primary=self._size("central_primary") * 0.8,
                    junior=self._size("town_junior") * 0.6,
                )
            else:
                central = self._school(
                    county, "211", f"{town}镇中心小学", town_ur, primary=self._size("central_primary")
                )
                self._school(county, "311", f"{town}镇初级中学", town_ur, junior=self._size("town_junior"))
            for _ in range(int(rng.poisson(1.0 if urban else 2.4))):
                self._school(
                    county,
                    "211",
                    f"{town}镇{self._name(used)}村小学",
                    "220",
                    primary=self._size("village_primary"),
                )
            for _ in range(int(rng.poisson(1.0 if urban else 2.8))):
                point = self._school(
                    county,
                    "218",
                    f"{town}镇{self._name(used)}教学点",
                    "220",
                    primary=self._size("teaching_point"),
                )
                point.parent_school_id = central.school_id

    # --- change over the years --------------------------------------------------------------

    def evolve(self, counties: list[County]) -> None:
        """Enrolment drift, teaching-point and village-school closures, openings, investments."""
        rng = self.rng
        for year in self.years:
            for county in counties:
                county.drift[year] = county.drift.get(year - 1, 1.0) * math.exp(0.03 * rng.standard_normal())
                if year != self.years[0]:
                    self._evolve_year(county, year)
                for school in county.schools:
                    if school.closed is None and school.opened <= year:
                        school.history[year] = {stage: int(round(n)) for stage, n in school.students.items()}
                        if school.first_students is None:
                            school.first_students = school.history[year]

    def _evolve_year(self, county: County, year: int) -> None:
        rng = self.rng
        open_schools = [s for s in county.schools if s.closed is None]
        by_id = {s.school_id: s for s in open_schools}
        for school in open_schools:
            growth = GROWTH[school.urban_rural_code]
            if school.school_type_code == "218":
                growth -= 0.03
            for stage in ("primary", "junior", "senior"):
                if school.students[stage] > 0:
                    school.students[stage] *= math.exp(growth + 0.04 * rng.standard_normal())
            if rng.random() < 0.05:  # an investment: better on every facility
                for driver in FACILITY_DRIVERS:
                    school.position[(driver, None)] += 0.4
        for school in open_schools:
            if school.school_type_code == "218" and school.students["primary"] < 10:
                parent = by_id.get(school.parent_school_id or "")
                if parent is not None:
                    parent.students["primary"] += school.students["primary"]
                school.closed = year
        # a growing town opens a school now and then (same draws as before: short-circuit first)
        if (county.kind == "district" or rng.random() < 0.5) and rng.random() < 0.25:
            new = self._school(
                county,
                "211",
                f"新城第{len(county.schools)}小学",
                "111",
                primary=float(rng.uniform(300, 700)),
            )
            new.opened = year

    # --- one county-year as census rows -----------------------------------------------------

    def county_year(
        self, county: County, year: int, dispersion: dict[tuple[str, str | None], float]
    ) -> pl.DataFrame:
        t = year - self.years[0]
        rows = []
        floors = county.quality_certified is not None and year >= county.quality_certified - 1
        for school in county.schools:
            students = school.history.get(year)
            if students is None:
                continue
            row = self._census_row(school, students, t, year, county, dispersion)
            if floors:  # from the year before certification on; an exemption only after it
                exempt = county.floor_exempt if year > county.quality_certified else frozenset()  # type: ignore[operator]
                self._quality_floors(row, exempt)
            if year >= county.slides.get(school.school_id, year + 1):
                self._slide(row)
            _checklist_cells(school, year, row)
            rows.append(row)
        frame = pl.DataFrame(rows)
        return frame.select(
            pl.col(c).cast(CENSUS_DTYPES[c])
            if c in frame.columns
            else pl.lit(None, CENSUS_DTYPES[c]).alias(c)
            for c in CENSUS_COLUMN_NAMES
        )

    def _value(
        self, level: float, size: float, elasticity: float, spread: float, d: float, position: float
    ) -> float:
        scaled = spread * d
        return (
            level
            * (max(size, 1.0) / REFERENCE_SIZE) ** (-elasticity)
            * math.exp(scaled * position - 0.5 * scaled * scaled)
        )

    def _census_row(
        self,
        school: School,
        students: dict[str, int],
        t: int,
        year: int,
        county: County,
        dispersion: dict[tuple[str, str | None], float],
    ) -> dict:
        type_code = school.school_type_code
        compulsory = students["primary"] + students["junior"]
        weighted = sum(
            self.basic.split_weight(type_code, stage) * students[stage]
            for stage in ("primary", "junior", "senior")
        )
        first = school.first_students or students
        first_compulsory = first["primary"] + first["junior"]
        first_weighted = sum(
            self.basic.split_weight(type_code, stage) * first[stage]
            for stage in ("primary", "junior", "senior")
        )
        main_stage = "junior" if students["junior"] > students["primary"] else "primary"
        rural = school.urban_rural_code.startswith("2")
        row: dict = {
            "census_year": year,
            "school_id": school.school_id,
            "school_name": school.school_name,
            "county_code": school.county_code,
            "school_type_code": type_code,
            "urban_rural_code": school.urban_rural_code,
            "ownership": school.ownership,
            "is_county_run": school.is_county_run,
            "parent_school_id": school.parent_school_id,
            "senior_students": students["senior"],
        }
        facility = {}
        for driver, (levels, elasticity, spread, growth) in FACILITY_DRIVERS.items():
            level = levels[main_stage] * county.wealth * (1 + growth) ** t
            if driver == "sports_ground_m2":
                level *= 1.3 if rural else 0.85
            if driver == "indoor_sports_m2" and (type_code == "218" or compulsory < 150):
                facility[driver] = 0.0
                continue
            stock = driver in STOCK_DRIVERS
            value = self._value(
                level,
                max(first_compulsory if stock else compulsory, 1),
                elasticity,
                spread,
                dispersion[(driver, None)],
                school.position[(driver, None)],
            )
            amount = value * max(first_weighted if stock else weighted, 1.0)
            if stock:
                # a county working towards the quality standard builds until every school has a
                # minimum provision per pupil, up to FLOOR_CEILING times the typical one
                typical = levels[main_stage] * county.wealth * (1 + growth) ** t
                minimum = (
                    (1.0 - dispersion.get((driver, FLOOR), 1.0))
                    * FLOOR_CEILING
                    * typical
                    * max(weighted, 1.0)
                )
                amount = max(amount, minimum)
            facility[driver] = amount
        row["teaching_aux_area_m2"] = round(facility["teaching_net_m2"] + facility["indoor_sports_m2"], 1)
        row["indoor_sports_area_m2"] = round(facility["indoor_sports_m2"], 1)
        row["sports_ground_area_m2"] = round(facility["sports_ground_m2"], 1)
        row["equipment_value_yuan"] = float(round(facility["equipment_yuan"], -2))
        row["computers"] = int(round(facility["computers"]))
        row["books"] = int(round(facility["books"]))
        row["multimedia_classrooms"] = int(round(facility["multimedia"]))
        total_classes = 0
        for stage in STAGES:
            n = students[stage]
            row[f"{stage}_students"] = n
            classes = 0 if n == 0 else max(1, math.ceil(n / school.class_size))
            if type_code == "218" and n > 0:
                classes = min(classes, 4)
            row[f"{stage}_classes"] = classes
            total_classes += classes
            if n == 0:
                teachers = 0
            else:
                value = self._value(
                    TEACHER_LEVEL[stage],
                    n,
                    TEACHER_ELASTICITY,
                    TEACHER_SPREAD,
                    dispersion[("teachers", stage)],
                    school.position[("teachers", stage)],
                )
                teachers = max(2 if type_code == "218" else 1, int(round(value * n)))
            row[f"{stage}_teachers"] = teachers
            for sub, (shares, spread) in TEACHER_SHARES.items():
                share = self._value(
                    shares[stage],
                    REFERENCE_SIZE,
                    0.0,
                    spread,
                    dispersion[(sub, stage)],
                    school.position[(sub, stage)],
                )
                row[f"{stage}_{sub}"] = min(teachers, int(round(teachers * min(share, 1.0))))
        row["max_class_size"] = int(round(school.class_size * 1.08)) if total_classes else None
        rooms = int(round(math.ceil(total_classes / 12) * school.rooms_factor))
        row["music_rooms"] = rooms
        row["art_rooms"] = rooms
        row["music_room_area_m2"] = round(rooms * school.room_m2, 1)
        row["art_room_area_m2"] = round(rooms * (school.room_m2 - 4), 1)
        return row

    def _quality_floors(self, row: dict, exempt: frozenset[tuple[str, str]]) -> None:
        """A quality-certified county brings every school up to the standard's per-school minimums
        (a county preparing for the quality evaluation does exactly this): each indicator with a
        minimum is raised, where short, through its first numerator term. Section values follow
        the facility split, so a shared amount is raised for the stage that needs the most."""
        type_code = row["school_type_code"]
        weights = {st: self.quality.split_weight(type_code, st) for st in ("primary", "junior", "senior")}
        weighted = sum(weights[st] * row[f"{st}_students"] for st in weights)
        for indicator in self.quality.indicators:
            first = indicator.add[0]
            needed = 0.0
            for stage, minimum in indicator.minimum.items():
                n = row[f"{stage}_students"]
                if not n or (stage, indicator.indicator_id) in exempt:
                    continue
                if first in STAGE_MEASURES:  # a per-stage count: its own pupils
                    column = f"{stage}_{first}"
                    count = math.ceil(minimum * n / indicator.scale - 1e-9)
                    row[column] = max(row[column], count)
                    row[f"{stage}_teachers"] = max(row[f"{stage}_teachers"], row[column])
                    continue
                # a shared amount: section value = scale * (w_s n_s / W) * resource / n_s
                needed = max(needed, minimum * weighted / (weights[stage] * indicator.scale))
            if needed:
                resource = sum(row[m] for m in indicator.add) - sum(row[m] for m in indicator.subtract)
                if resource < needed:
                    row[first] = _round_up(row[first] + needed - resource, row[first])

    def _slide(self, row: dict) -> None:
        """A planted sliding school: its key teachers drop to SLIDE_SHARE of the primary minimum,
        below the 85% the per-school rule tolerates, so the school fails the rule."""
        indicator = next(i for i in self.quality.indicators if i.indicator_id == SLIDE_INDICATOR)
        column = f"{SLIDE_STAGE}_{indicator.add[0]}"
        n = row[f"{SLIDE_STAGE}_students"]
        allowed = math.floor(SLIDE_SHARE * indicator.minimum[SLIDE_STAGE] * n / indicator.scale)
        row[column] = min(row[column], allowed)

    # --- aiming planted scenarios -----------------------------------------------------------

    def _default_dispersion(self, county: County, year: int) -> dict[tuple[str, str | None], float]:
        d = county.dispersion * county.drift[year]
        out: dict[tuple[str, str | None], float] = {key: d for key in _driver_keys()}
        out.update({(driver, FLOOR): 1.0 for driver in STOCK_DRIVERS})
        return out

    def aim(
        self,
        county: County,
        year: int,
        dispersion: dict[tuple[str, str | None], float],
        keys: list[tuple[str, str | None]],
        statistic: Callable[[pl.DataFrame], float],
        target: float,
        at_most: bool = False,
    ) -> float:
        """Scale the dispersion of `keys` so that statistic(county-year rows) is on target.

        With at_most, only lower it when it is above target. Returns the realised statistic.
        """
        base = {k: dispersion[k] for k in keys}

        def evaluate(factor: float) -> float:
            for k in keys:
                dispersion[k] = base[k] * factor
            return statistic(self.county_year(county, year, dispersion))

        current = evaluate(1.0)
        if at_most and current <= target:
            return current
        # bracket the target, then Illinois regula falsi (the statistic rises smoothly with D)
        low, f_low = 0.0, evaluate(0.0)
        if f_low >= target:
            return f_low  # even no spread on these resources cannot bring it down further
        high, f_high = 1.0, current
        while f_high < target and high < 16:
            low, f_low = high, f_high
            high *= 2
            f_high = evaluate(high)
        side = 0
        for _ in range(40):
            middle = high - (f_high - target) * (high - low) / (f_high - f_low)
            f_middle = evaluate(middle)
            if at_most and target - 0.02 <= f_middle <= target:
                return f_middle
            if not at_most and abs(f_middle - target) < 2e-4:
                return f_middle
            if f_middle < target:
                low, f_low = middle, f_middle
                if side == -1:
                    f_high = target + (f_high - target) / 2
                side = -1
            else:
                high, f_high = middle, f_middle
                if side == 1:
                    f_low = target + (f_low - target) / 2
                side = 1
        return evaluate(low)


def _composite(standard: Standard, stage: str) -> Callable[[pl.DataFrame], float]:
    def statistic(rows: pl.DataFrame) -> float:
        cvs = official.county_cvs(rows, standard, stages=(stage,))
        return float(cvs["cv"].mean())  # type: ignore[arg-type]

    return statistic


def _indicator(standard: Standard, stage: str, indicator_id: str) -> Callable[[pl.DataFrame], float]:
    def statistic(rows: pl.DataFrame) -> float:
        cvs = official.county_cvs(rows, standard, stages=(stage,), indicator_ids=(indicator_id,))
        return float(cvs["cv"][0])

    return statistic


def _worst_ratio(standard: Standard, skip: tuple[str, str] | None = None) -> Callable[[pl.DataFrame], float]:
    """The largest value/threshold over the standard's judged statistics, both stages."""

    def statistic(rows: pl.DataFrame) -> float:
        cvs = official.county_cvs(rows, standard)
        worst = 0.0
        for stage in STAGES:
            threshold = standard.cv_thresholds[stage]
            stage_cvs = cvs.filter(pl.col("stage") == stage)
            if standard.cv_rule == "composite":
                worst = max(worst, float(stage_cvs["cv"].mean()) / threshold)  # type: ignore[arg-type]
            else:
                for indicator_id, cv in zip(stage_cvs["indicator_id"], stage_cvs["cv"], strict=True):
                    if skip == (stage, indicator_id) or cv is None:
                        continue
                    worst = max(worst, cv / threshold)
        return worst

    return statistic


def _top_drivers(
    gen: Generator,
    county: County,
    year: int,
    dispersion: dict[tuple[str, int], dict[tuple[str, str | None], float]],
    standard: Standard,
    stage: str,
    indicator_id: str,
) -> list[str]:
    """The three schools contributing most to the indicator's CV² in that year (docs/methodology.md §2.3)."""
    rows = gen.county_year(county, year, dispersion[(county.county_code, year)])
    values = official.school_values(rows, standard, stages=(stage,), indicator_ids=(indicator_id,))
    c = cv_contributions(values["value"].to_list(), values["weight"].to_list())
    ranked = values.with_columns(pl.Series("c", c)).sort(["c", "school_id"], descending=[True, False])
    return ranked["school_id"].head(3).to_list()


def _crossing_path(n: int, threshold: float, earliest: int = 1) -> tuple[list[float], int]:
    """Below the threshold until index c (at 60% of the window, and not before `earliest`), then
    above it; margins keep rounding from flipping it. c == n: it never crosses in the window."""
    c = max(earliest, round(0.6 * n))
    path = []
    for t in range(n):
        if t < c:
            path.append(threshold - 0.04 - 0.025 * (c - 1 - t))
        else:
            path.append(threshold + 0.04 + 0.025 * (t - c))
    return path, c


def expected_alerts(scenario: dict) -> list[dict]:
    """What monitoring must raise for a planted scenario, read from its realised path (not from
    the alert code): a crossing is a breach in its first failing year and critical the year after;
    the rising county gets a warning once it is at the rule's ratio after the rule's run of rises;
    the sliding schools' county a warning every year a school fails the per-school rule; the
    improving county gets nothing."""
    years = scenario["years"]
    certified = scenario[
        "quality_certified_year" if "quality" in scenario["standard_id"] else "basic_certified_year"
    ]
    if scenario["scenario_id"] in ("basic_composite_crossing", "quality_indicator_crossing"):
        first = scenario["first_failing_year"]
        if first is None or certified is None or certified > first:
            return []
        expected = [{"census_year": first, "severity": "breach", "rule_id": "standard_not_met"}]
        if any(r["census_year"] == first + 1 and not r["passes"] for r in years):
            expected.append({"census_year": first + 1, "severity": "critical", "rule_id": "breach_repeated"})
        return expected
    if scenario["scenario_id"] == "quality_school_slide":
        return [
            {"census_year": r["census_year"], "severity": "warning", "rule_id": "school_rule_failures"}
            for r in years
            if not r["passes"]
        ]
    if scenario["scenario_id"] == "near_threshold_rising":
        rule = next(r for r in load_rules(MODELS_DIR / "rules").rules if r.rule_id == "near_threshold_rising")
        ratio, runs = rule.params["ratio"], int(rule.params["rising_years"])
        for i in range(runs, len(years)):
            rising = all(years[j]["value"] > years[j - 1]["value"] for j in range(i - runs + 1, i + 1))
            if rising and years[i]["value"] >= ratio * scenario["threshold"]:
                return [
                    {"census_year": years[i]["census_year"], "severity": "warning", "rule_id": rule.rule_id}
                ]
        return []
    if scenario["scenario_id"] == "retention_slide":
        # a checkpoint of the checklist no longer met: every year from the first failing one
        first = scenario["first_failing_year"]
        if first is None:
            return []
        return [
            {
                "census_year": r["census_year"],
                "severity": "warning",
                "rule_id": "checkpoint_lapse",
                "stage": None,
            }
            for r in years
            if r["census_year"] >= first
        ]
    if scenario["scenario_id"] == "certification_year_dip":
        # one finding for the county and standard, in the year the rebound shows, on either stage
        rule = next(r for r in load_rules(MODELS_DIR / "rules").rules if r.kind == "certification_year_dip")
        year = max(scenario["dip_years"]) + 1
        return [{"census_year": year, "severity": rule.severity, "rule_id": rule.rule_id, "stage": None}]
    return []


def _plan_slides(county: County, years: list[int]) -> list[str]:
    """Two primary schools of the quality-certified county fall below a per-school minimum after
    certification, one in the last-but-one census year and one in the last (County.slides); only
    years after its certification year (it met every rule when certified)."""
    certified = county.quality_certified
    after = [y for y in years[-2:] if certified is not None and y > certified]
    candidates = [
        s
        for s in sorted(county.schools, key=lambda s: s.school_id)
        if s.school_type_code == "211"
        and s.ownership == "public"
        and s.is_county_run
        and all(s.history.get(y, {}).get("primary", 0) >= 100 for y in years[-2:])
    ]
    county.slides = {s.school_id: year for s, year in zip(candidates, after, strict=False)}
    return list(county.slides)


def _slide_scenario(gen: Generator, county: County, sliding: list[str], years: list[int]) -> dict:
    """The truth of the sliding schools: per year from the year before certification on, how many
    of the county's primary sections fail the per-school rule (only the planted ones: the county
    holds every other school to it from then on)."""
    realised = []
    held = [y for y in years if county.quality_certified is not None and y >= county.quality_certified - 1]
    for year in held:  # from the year before certification on: before it, no school was held to the rule
        failing = sum(year >= county.slides[school_id] for school_id in sliding)
        realised.append({"census_year": year, "value": failing, "passes": failing == 0})
    failing_years = [r["census_year"] for r in realised if not r["passes"]]
    return {
        "scenario_id": "quality_school_slide",
        "description": "Quality-certified county where two primary schools fall below the per-school "
        f"minimum of {SLIDE_INDICATOR} ({SLIDE_SHARE:.0%} of it) after certification, one in the "
        "last-but-one census year and one in the last.",
        "county_code": county.county_code,
        "county_name": county.county_name,
        "standard_id": gen.quality.standard_id,
        "stage": SLIDE_STAGE,
        "metric": "school_rule",
        "indicator_id": SLIDE_INDICATOR,
        "threshold": None,
        "basic_certified_year": county.basic_certified,
        "quality_certified_year": county.quality_certified,
        "planned_first_failing_year": min(county.slides.values(), default=None),
        "first_failing_year": failing_years[0] if failing_years else None,
        "schools": [{"school_id": s, "from_year": county.slides[s]} for s in sliding],
        "years": realised,
        "top_drivers_final_year": None,
    }


def certification_range(standard: Standard, low: int, high: int) -> tuple[int, int] | None:
    """The years from `low` to `high` in which a county can be certified for the standard (its
    file's certification_years); None when none of them can be."""
    low = max(low, standard.certified_from if standard.certified_from is not None else low)
    high = min(high, standard.certified_until if standard.certified_until is not None else high)
    return (low, high) if low <= high else None


def draw_year(rng: np.random.Generator, span: tuple[int, int] | None) -> int | None:
    return None if span is None else int(rng.integers(span[0], span[1] + 1))


QUALITY_AFTER_BASIC = 3  # a county may apply for quality balance 3 years after its basic certification
DIP_RATIO = 0.80  # the dipping county's composite (its worse stage) as a share of the threshold
DIP_SHARE = 0.70  # what it reports in its certification year and the year before: 70% of that


def _choose_dipping(
    gen: Generator, roster: list[County], chosen: list[County], years: list[int]
) -> County | None:
    """The county whose figures are unusually good in its certification year and the year before
    it, and rebound after (the inspection-year dip): a basic-certified county of the roster's
    others, certified mid-window so that the year before the dip and the year after it are
    census years. None when the window or the roster has no room for it."""
    span = certification_range(gen.basic, years[0] + 2, years[-1] - 1)
    candidates = [
        c for c in roster if c not in chosen and c.basic_certified is not None and c.quality_certified is None
    ]
    if span is None or not candidates:
        return None
    certified = min(max(years[0] + len(years) // 2, span[0]), span[1])
    if not {certified - 2, certified - 1, certified, certified + 1} <= set(years):
        return None
    county = candidates[0]
    county.basic_certified = certified
    county.dispersion = float(min(max(county.dispersion, 0.9), 1.1))
    return county


def _plant_dip(
    gen: Generator,
    county: County,
    years: list[int],
    dispersion: dict,
    keys: list[tuple[str, str | None]],
) -> dict:
    """Steady at DIP_RATIO of the basic threshold (its worse stage), DIP_SHARE of that in the
    certification year and the year before: both stages' composites dip, then rebound. The truth
    records the primary composite, year by year."""
    certified = county.basic_certified
    assert certified is not None
    worst, primary = _worst_ratio(gen.basic), _composite(gen.basic, "primary")
    threshold = gen.basic.cv_thresholds["primary"]
    realised = []
    for year in years:
        target = DIP_RATIO * (DIP_SHARE if year in (certified - 1, certified) else 1.0)
        rows = dispersion[(county.county_code, year)]
        gen.aim(county, year, rows, keys, worst, target)
        value = primary(gen.county_year(county, year, rows))
        realised.append(
            {"census_year": year, "target": round(target, 4), "value": value, "passes": value <= threshold}
        )
    return {
        "scenario_id": "certification_year_dip",
        "description": "Basic-certified county whose figures are unusually good in its certification "
        f"year and the year before it ({DIP_SHARE:.0%} of its steady level, both stages) and rebound "
        "the year after.",
        "county_code": county.county_code,
        "county_name": county.county_name,
        "standard_id": gen.basic.standard_id,
        "stage": "primary",
        "metric": "composite_cv",
        "indicator_id": None,
        "threshold": threshold,
        "basic_certified_year": certified,
        "quality_certified_year": county.quality_certified,
        "planned_first_failing_year": None,
        "first_failing_year": None,
        "dip_years": [certified - 1, certified],
        "years": realised,
        "top_drivers_final_year": None,
    }


def _certify(gen: Generator, roster: list[County], years: list[int]) -> list[County]:
    """Certification years within the methods' dates (models/standards: certification_years):
    most counties basic-certified before or during the window, some quality-certified later (three
    years or more after basic), at least one never certified. Returns the four counties the
    scenarios are planted in (crossing, quality crossing, rising, improving)."""
    rng = gen.rng
    first, last = years[0], years[-1]
    for county in roster:
        if rng.random() < 0.85:
            county.basic_certified = draw_year(rng, certification_range(gen.basic, first - 5, last - 1))
        if county.basic_certified is None:
            county.dispersion *= 1.4  # laggards: more unequal, never certified in the window
    rural = [c for c in roster if c.kind == "county"]
    chosen = (rural + [c for c in roster if c.kind != "county"])[:4]
    laggards = [c for c in roster if c not in chosen and c.basic_certified is None]
    if not laggards and len(roster) > len(chosen):
        # every province has a county that was never certified (monitoring must leave it alone)
        laggard = [c for c in roster if c not in chosen][-1]
        laggard.basic_certified = None
        laggard.dispersion *= 1.4
    quality_cross, improving = chosen[1], chosen[3]
    early = certification_range(gen.basic, first - 5, first)  # monitored from the window's start
    for county in chosen:
        county.basic_certified = None if early is None else early[0]
        county.dispersion = float(min(max(county.dispersion, 0.9), 1.1))
    if quality_cross.basic_certified is not None:
        span = certification_range(
            gen.quality, max(quality_cross.basic_certified + QUALITY_AFTER_BASIC, first + 1), last
        )
        quality_cross.quality_certified = None if span is None else span[0]
    others = [c for c in roster if c not in chosen and c.basic_certified is not None]
    for county in others:
        if rng.random() < 0.2:
            low = max(county.basic_certified + QUALITY_AFTER_BASIC, first + 1)  # type: ignore[operator]
            county.quality_certified = draw_year(rng, certification_range(gen.quality, low, last))
    for county in roster:
        if county.quality_certified is not None:
            county.dispersion = min(county.dispersion, 0.6)  # evenly resourced, stocks included
    improving.basic_certified = None
    return chosen


def _hold_certified(
    gen: Generator,
    roster: list[County],
    years: list[int],
    dispersion: dict,
    keys_for: Callable,
    quality_cross: County,
    chosen: list[County],
    dipping: County | None,
) -> None:
    """Certified counties hold their standard from certification on (the planted ones aside)."""
    # quality-certified counties (and the one that will slide) are kept well inside the rule,
    # raising their weakest schools' buildings where needed (floors carried forward, never undone)
    floors = [(driver, FLOOR) for driver in STOCK_DRIVERS]
    quality_cross.floor_exempt = frozenset({("junior", "pe_art_teachers_per_100")})  # it slides there
    for county in roster:
        if county.quality_certified is None:
            continue
        skip = ("junior", "pe_art_teachers_per_100") if county is quality_cross else None
        exclude = ("pe_art_teachers", "junior") if county is quality_cross else None
        keys = keys_for(None, exclude) + floors
        for i, year in enumerate(years):
            if year < county.quality_certified - 1:
                continue
            current = dispersion[(county.county_code, year)]
            gen.aim(
                county,
                year,
                current,
                keys,
                _worst_ratio(gen.quality, skip),
                QUALITY_TARGET_RATIO,
                at_most=True,
            )
            # what the county built and hired stays: later years start from this year's spread (a
            # county that reset would show an unusually good certification year, then a rebound)
            default = gen._default_dispersion(county, year)
            for later in years[i + 1 :]:
                start = gen._default_dispersion(county, later)
                for key in keys:
                    share = current[key] / default[key] if default[key] else 1.0
                    dispersion[(county.county_code, later)][key] = start[key] * share
    # basic-certified counties hold the basic standard from their certification on
    for county in roster:
        if county.basic_certified is None or county in chosen or county is dipping:
            continue
        for year in years:
            if year >= county.basic_certified:
                gen.aim(
                    county,
                    year,
                    dispersion[(county.county_code, year)],
                    keys_for(None),
                    _worst_ratio(gen.basic),
                    BASIC_TARGET_RATIO,
                    at_most=True,
                )


def plan_province(counties: int, years: list[int], seed: int) -> tuple[Generator, Province]:
    if counties < 4:
        raise ValueError(
            "至少需要 4 个县才能生成预设情景 / at least 4 counties are needed to plant the scenarios "
            f"(got {counties})"
        )
    if len(years) < 3:
        raise ValueError(
            "至少需要 3 个统计年度才能生成预设情景 / at least 3 census years are needed to plant the scenarios "
            f"(got {len(years)}: give e.g. --years 2022-2024)"
        )
    gen = Generator(counties, years, seed)
    roster = gen.build_roster()
    gen.evolve(roster)
    n = len(years)
    chosen = _certify(gen, roster, years)
    crossing, quality_cross, rising, improving = chosen
    dipping = _choose_dipping(gen, roster, chosen, years)

    dispersion: dict[tuple[str, int], dict[tuple[str, str | None], float]] = {}
    for county in roster:
        for year in years:
            dispersion[(county.county_code, year)] = gen._default_dispersion(county, year)

    scenarios: list[dict] = []
    all_keys = _driver_keys()

    def keys_for(stage: str | None, exclude: tuple[str, str | None] | None = None):
        """Resources the generator may steer: never the stocks (buildings, grounds, books), so a
        steered county's stocks do not jump from one year to the next."""
        return [
            k
            for k in all_keys
            if (k[1] is None or stage is None or k[1] == stage) and k != exclude and k[0] not in STOCK_DRIVERS
        ]

    sliding = _plan_slides(quality_cross, years)
    _hold_certified(gen, roster, years, dispersion, keys_for, quality_cross, chosen, dipping)

    def plant(
        county: County,
        scenario_id: str,
        description: str,
        standard: Standard,
        stage: str,
        path: list[float],
        keys,
        statistic,
        indicator_id: str | None = None,
        planned_crossing: int | None = None,
    ) -> None:
        threshold = standard.cv_thresholds[stage]
        realised = []
        for year, target in zip(years, path, strict=True):
            value = gen.aim(county, year, dispersion[(county.county_code, year)], keys, statistic, target)
            realised.append(
                {
                    "census_year": year,
                    "target": round(target, 4),
                    "value": value,
                    "passes": value <= threshold,
                }
            )
        failing = [r["census_year"] for r in realised if not r["passes"]]
        scenarios.append(
            {
                "scenario_id": scenario_id,
                "description": description,
                "county_code": county.county_code,
                "county_name": county.county_name,
                "standard_id": standard.standard_id,
                "stage": stage,
                "metric": "indicator_cv" if indicator_id else "composite_cv",
                "indicator_id": indicator_id,
                "threshold": threshold,
                "basic_certified_year": county.basic_certified,
                "quality_certified_year": county.quality_certified,
                "planned_first_failing_year": planned_crossing,
                "first_failing_year": failing[0] if failing else None,
                "years": realised,
                "top_drivers_final_year": _top_drivers(
                    gen, county, years[-1], dispersion, standard, stage, indicator_id
                )
                if indicator_id
                else None,
            }
        )

    threshold = gen.basic.cv_thresholds["primary"]
    path, c = _crossing_path(n, threshold)
    plant(
        crossing,
        "basic_composite_crossing",
        "Basic-certified county whose primary composite CV rises through its threshold.",
        gen.basic,
        "primary",
        path,
        keys_for("primary"),
        _composite(gen.basic, "primary"),
        planned_crossing=years[c],
    )

    threshold = gen.quality.cv_thresholds["junior"]
    certified = quality_cross.quality_certified
    path, c = _crossing_path(
        n, threshold, earliest=n if certified is None else sum(y <= certified for y in years)
    )
    path = [p - 0.02 if p < threshold else p for p in path]
    plant(
        quality_cross,
        "quality_indicator_crossing",
        "Quality-certified county where one junior indicator CV (PE/art teachers per 100) "
        "crosses its threshold while the mean of the seven stays low.",
        gen.quality,
        "junior",
        path,
        [("pe_art_teachers", "junior")],
        _indicator(gen.quality, "junior", "pe_art_teachers_per_100"),
        "pe_art_teachers_per_100",
        planned_crossing=years[c] if c < n else None,
    )

    threshold = gen.basic.cv_thresholds["junior"]
    path = [threshold * (0.78 + 0.17 * t / max(n - 1, 1)) for t in range(n)]
    plant(
        rising,
        "near_threshold_rising",
        "Basic-certified county whose junior composite CV rises towards, but stays under, "
        "its threshold (ends at 95% of it).",
        gen.basic,
        "junior",
        path,
        keys_for("junior"),
        _composite(gen.basic, "junior"),
    )

    threshold = gen.basic.cv_thresholds["primary"]
    path = [threshold * (1.12 - 0.55 * t / max(n - 1, 1)) for t in range(n)]
    plant(
        improving,
        "improving_steadily",
        "County whose primary composite CV falls steadily, from above its threshold to well "
        "below it; certified for the basic standard once both stages pass.",
        gen.basic,
        "primary",
        path,
        keys_for("primary"),
        _composite(gen.basic, "primary"),
    )
    span = certification_range(gen.basic, years[0], years[-1])
    junior = _composite(gen.basic, "junior")
    improving.basic_certified = next(
        (
            r["census_year"]
            for r in scenarios[-1]["years"]
            if r["value"] <= 0.9 * threshold
            and span is not None
            and span[0] <= r["census_year"] <= span[1]
            and junior(
                gen.county_year(
                    improving, r["census_year"], dispersion[(improving.county_code, r["census_year"])]
                )
            )
            <= gen.basic.cv_thresholds["junior"]
        ),
        None,
    )
    scenarios[-1]["basic_certified_year"] = improving.basic_certified
    scenarios.append(_slide_scenario(gen, quality_cross, sliding, years))
    if dipping is not None:
        scenarios.append(_plant_dip(gen, dipping, years, dispersion, keys_for(None)))
    retention, low_migrant = _plant_checklist(gen, roster, years, scenarios)
    if retention is not None:
        scenarios.append(retention)
    declarants, misses = _plan_declarations(gen, roster, years, scenarios, low_migrant)
    for scenario in scenarios:
        scenario["expected_alerts"] = expected_alerts(scenario)

    return gen, Province(
        gen.province_code, "示例省", years, roster, dispersion, scenarios, declarants, misses
    )


# --- the checklist's census columns (contracts.columns.CHECKLIST_MEASURES) ----------------------

CHECKLIST_COLUMNS_FROM = 2017
"""The first census year whose extracts carry the optional checklist columns (junior grade
enrolment, 随迁子女, certified teachers): the 2015 and 2016 census layouts had none of them, so
write_landing leaves them out of the files of earlier years, in every file format, and the pipeline
sees years without them."""
# a year on, the share of a junior grade's pupils still in the county's schools (dropout is small;
# transfers in and out move it a little): a county's usual level, its yearly noise, and the bounds
# that keep the three-year retention (two such steps) within 0.964-1.008
GRADE_STAY = (0.988, 0.997)
GRADE_STAY_NOISE = 0.003
GRADE_STAY_BOUNDS = (0.982, 1.004)
RETENTION_SLIDE = (0.912, 0.905)  # the planted county's 巩固率: its first failing year, the later ones
# 随迁子女 as a share of a public school's pupils by urban/rural code (higher in the city's schools),
# times 1.25 in city districts, a school's own factor and 2% a year
MIGRANT_RATE = {"111": 0.10, "112": 0.08, "121": 0.05, "122": 0.04, "210": 0.025, "220": 0.02}
MIGRANT_RATE_BOUNDS = (0.01, 0.15)
MIGRANT_PUBLIC_SHARE = (0.87, 0.96)  # of a county's 随迁子女, the share in public schools
MIGRANT_PUBLIC_LOW = (0.78, 0.82)  # in the one or two uncertified counties below the checklist's 85%
MIGRANT_PRIVATE_CAP = 0.4  # at most this share of a private school's pupils
# teachers without a teaching certificate: the chance for each teacher in 2015, the yearly fall and
# the floor (a county's own factor times this); none in a quality-certified county from its certification
UNCERTIFIED_RATE = (0.026, 0.002, 0.006)
DECLARING_OTHERS = 5  # counties not quality-certified that declare from DECLARING_FROM on
DECLARING_FROM = 2022
# A province with at least CSV_DECLARANTS_FROM declaring counties has CSV_DECLARANTS of them send
# CSV declarations (the demo: 2 of 15), the others .xlsx. Smaller provinces (the test provinces of
# a few counties) send .xlsx only: tests and tools that read every CSV file of a year folder as a
# census extract stay valid for them.
CSV_DECLARANTS = 2
CSV_DECLARANTS_FROM = 10


def _checklist_cells(school: School, year: int, row: dict) -> None:
    """The planned checklist columns of a school-year (none planned: left null). Certified
    teachers are the stage's teachers, after any raise to the quality floors, less those planned
    without a certificate."""
    grades = school.grades.get(year)
    if grades is not None:
        for grade, n in zip((7, 8, 9), grades, strict=True):
            row[f"junior_grade{grade}_students"] = n
    migrants = school.migrants.get(year)
    if migrants is not None:
        for stage, n in zip(STAGES, migrants, strict=True):
            row[f"{stage}_migrant_students"] = n
    uncertified = school.uncertified.get(year)
    if uncertified is not None:
        for stage, n in zip(STAGES, uncertified, strict=True):
            row[f"{stage}_certified_teachers"] = max(row[f"{stage}_teachers"] - n, 0)


def _largest_remainder(values: np.ndarray, total: int) -> np.ndarray:
    """Whole numbers adding up to `total`, each the floor of its value or one more."""
    floors = np.floor(values).astype(np.int64)
    short = int(total - floors.sum())
    if short > 0:
        order = np.argsort(-(values - floors), kind="stable")
        floors[order[:short]] += 1
    return floors


def _county_growth(totals: dict[int, int], year: int) -> float:
    """The county's yearly junior growth around `year` (from up to two years before, or the next)."""
    total = totals[year]
    earlier = [y for y in (year - 2, year - 1) if totals.get(y)]
    if earlier:
        growth = (total / totals[earlier[0]]) ** (1 / (year - earlier[0])) - 1
    elif totals.get(year + 1):
        growth = totals[year + 1] / total - 1
    else:
        growth = 0.0
    return min(max(growth, -0.08), 0.08)


def _plan_cohorts(
    county: County, years: list[int], rng: np.random.Generator, slide: dict[int, float]
) -> dict[int, tuple[int, int, int]]:
    """The county's pupils in 初一, 初二 and 初三 each year, adding up to its junior pupils.

    A grade moves up a year later times a stay ratio (GRADE_STAY, yearly noise): this year's 初二
    is last year's 初一 times p, its 初三 last year's 初二 times q, and 初一 is what is left of the
    county's junior total. So that 初一 does not swing (a year with too many in the upper grades
    leaves too few for 初一, and so on), p and q are scaled together, within GRADE_STAY_BOUNDS,
    towards the split a county growing as this one would have. The three-year retention of a year
    (its 初三 over 初一 two years before) is then q * p of the year before. In a `slide` year its
    初三 is that share of 初一 two years before, the pupils it lacks counted in 初一 and 初二."""
    totals = {y: sum(s.history[y]["junior"] for s in county.schools if y in s.history) for y in years}
    usual_p, usual_q = (float(v) for v in rng.uniform(*GRADE_STAY, size=2))
    low, high = GRADE_STAY_BOUNDS
    cohorts: dict[int, tuple[int, int, int]] = {}
    for year in years:
        total = totals[year]
        p0 = min(max(usual_p + GRADE_STAY_NOISE * float(rng.standard_normal()), low), high)
        q0 = min(max(usual_q + GRADE_STAY_NOISE * float(rng.standard_normal()), low), high)
        if not total:
            cohorts[year] = (0, 0, 0)
            continue
        growth = _county_growth(totals, year)
        steady = np.array([1.0, p0 / (1 + growth), p0 * q0 / (1 + growth) ** 2])
        split = total * steady / steady.sum()
        previous = cohorts.get(year - 1)
        if previous is not None and previous[0] and previous[1]:
            c7, c8 = previous[0], previous[1]
            scale = (total - split[0]) / (p0 * c7 + q0 * c8)
            p = min(max(p0 * scale, low), high)
            q = min(max(q0 * scale, low), high)
            grade8, grade9 = p * c7, q * c8
            if year in slide and year - 2 in cohorts:
                planned = slide[year] * cohorts[year - 2][0]
                grade8 += (grade9 - planned) / 2
                grade9 = planned
            candidate = np.array([total - grade8 - grade9, grade8, grade9])
            if candidate.min() > 0:
                split = candidate
        cohorts[year] = tuple(int(v) for v in _largest_remainder(split, total))  # type: ignore[assignment]
    return cohorts


def _split_grades(county: County, year: int, cohort: tuple[int, int, int]) -> None:
    """Each school's 初一, 初二 and 初三, adding up to its junior pupils and, over the county, to
    `cohort`: a growing school has more pupils in its lower grades, a shrinking one in its upper
    grades (iterative proportional fitting, then whole numbers with the row and column sums kept)."""
    schools = [s for s in county.schools if year in s.history]
    juniors = [s for s in schools if s.history[year]["junior"] > 0]
    for school in schools:
        school.grades[year] = (0, 0, 0)
    if not juniors:
        return
    n = np.array([s.history[year]["junior"] for s in juniors], dtype=float)
    target = np.array(cohort, dtype=float)
    growth = np.array(
        [
            min(max((s.history[year]["junior"] / s.history[year - 2]["junior"]) ** 0.5 - 1, -0.1), 0.1)
            if s.history.get(year - 2, {}).get("junior", 0) > 0
            else 0.0
            for s in juniors
        ]
    )
    x = n[:, None] * np.stack([np.ones_like(growth), 1 / (1 + growth), 1 / (1 + growth) ** 2], axis=1)
    x *= target[None, :] / max(target.sum(), 1.0)
    x = np.maximum(x, 1e-9) * (target > 0)[None, :]
    for _ in range(100):
        x *= (n / x.sum(axis=1))[:, None]
        columns = x.sum(axis=0)
        if np.abs(columns - target).max() < 1e-6:
            break
        x *= np.divide(target, columns, out=np.zeros_like(target), where=columns > 0)[None, :]
    # whole numbers per school: the floors, and one more for its largest remainders
    whole = np.floor(x).astype(np.int64)
    short = (n - whole.sum(axis=1)).astype(np.int64)
    rank = np.argsort(np.argsort(-(x - whole), axis=1, kind="stable"), axis=1, kind="stable")
    whole += rank < short[:, None]
    diff = (target - whole.sum(axis=0)).astype(np.int64)
    while diff.any():
        more, less = int(np.argmax(diff)), int(np.argmin(diff))
        gain = (x[:, more] - whole[:, more]) - (x[:, less] - whole[:, less])
        gain[whole[:, less] < 1] = -np.inf
        i = int(np.argmax(gain))
        whole[i, more] += 1
        whole[i, less] -= 1
        diff[more] -= 1
        diff[less] += 1
    for school, row in zip(juniors, whole, strict=True):
        school.grades[year] = (int(row[0]), int(row[1]), int(row[2]))


def _plan_migrants(county: County, years: list[int], rng: np.random.Generator, low: bool) -> None:
    """随迁子女 of each school-year: a share of a public school's pupils (MIGRANT_RATE), and in the
    private schools what brings the county's public share to its level (MIGRANT_PUBLIC_SHARE, or
    MIGRANT_PUBLIC_LOW for a county planted below the checklist's 85%)."""
    share = float(rng.uniform(*(MIGRANT_PUBLIC_LOW if low else MIGRANT_PUBLIC_SHARE)))
    factor = {s.school_id: math.exp(0.25 * float(rng.standard_normal())) for s in county.schools}
    district = 1.25 if county.kind == "district" else 1.0
    low_rate, high_rate = MIGRANT_RATE_BOUNDS
    for year in years:
        schools = [s for s in county.schools if year in s.history]
        public = 0
        for school in schools:
            if school.ownership != "public":
                continue
            rate = MIGRANT_RATE[school.urban_rural_code] * district * factor[school.school_id]
            rate = min(max(rate * (1 + 0.02 * (year - 2015)), low_rate), high_rate)
            if school.school_type_code == "513":  # special education: few
                rate *= 0.5
            counts = (
                round(rate * school.history[year]["primary"]),
                round(rate * school.history[year]["junior"]),
            )
            school.migrants[year] = counts
            public += sum(counts)
        private = [s for s in schools if s.ownership != "public"]
        pupils = sum(s.history[year]["primary"] + s.history[year]["junior"] for s in private)
        rate = min(public * (1 - share) / share / pupils, MIGRANT_PRIVATE_CAP) if pupils else 0.0
        for school in private:
            school.migrants[year] = (
                round(rate * school.history[year]["primary"]),
                round(rate * school.history[year]["junior"]),
            )


def _plan_certificates(gen: Generator, county: County, years: list[int], rng: np.random.Generator) -> None:
    """Teachers without a teaching certificate, per school-year and stage: a few in some schools
    (each teacher's chance UNCERTIFIED_RATE, times the county's factor, falling over the years), none
    in a quality-certified county from its certification year on."""
    factor = float(rng.uniform(0.5, 1.3))
    start, fall, floor = UNCERTIFIED_RATE
    for year in years:
        chance = factor * max(start - fall * (year - 2015), floor)
        held = county.quality_certified is not None and year >= county.quality_certified
        for school in county.schools:
            students = school.history.get(year)
            if students is None:
                continue
            counts = []
            for stage in STAGES:
                n = students[stage]
                if held or n == 0:
                    counts.append(0)
                    continue
                teachers = gen._value(TEACHER_LEVEL[stage], n, TEACHER_ELASTICITY, 0.0, 0.0, 0.0) * n
                counts.append(min(int(rng.binomial(int(round(teachers)), chance)), int(teachers // 4)))
            school.uncertified[year] = (counts[0], counts[1])


def county_retention(county: County, year: int) -> float | None:
    """初中三年巩固率: the county's 初三 pupils in `year` over its 初一 pupils two years before."""
    grade9 = sum(s.grades[year][2] for s in county.schools if year in s.grades)
    grade7 = sum(s.grades[year - 2][0] for s in county.schools if year - 2 in s.grades)
    return grade9 / grade7 if grade7 else None


def _choose_retention_slide(
    roster: list[County], scenarios: list[dict], years: list[int]
) -> tuple[County, list[int]] | None:
    """The quality-certified county whose 巩固率 slides: one no other scenario uses, certified
    earliest, failing from the last-but-one census year (at least a year after its certification)
    on, each failing year with the census of two years before carrying the grade columns."""
    used = {s["county_code"] for s in scenarios}
    candidates = sorted(
        (c for c in roster if c.quality_certified is not None and c.county_code not in used),
        key=lambda c: (c.quality_certified, c.county_code),
    )
    for county in candidates:
        first = max(county.quality_certified + 1, years[-2])  # type: ignore[operator]
        failing = [y for y in years if y >= first]
        if failing and all(y - 2 in years and y - 2 >= CHECKLIST_COLUMNS_FROM for y in failing):
            return county, failing
    return None


def plan_checklist(
    gen: Generator,
    counties: list[County],
    years: list[int],
    slide: dict[int, float] | None = None,
    slide_county: County | None = None,
    low_migrant: frozenset[str] = frozenset(),
) -> None:
    """Plan the checklist columns of every school-year (School.grades, migrants, uncertified).
    Every draw comes from generators of their own (seed, county, column), so the rest of the
    province is the same as without them, and one county's plan does not move another's."""
    for county in counties:
        code = int(county.county_code)
        cohorts = _plan_cohorts(
            county,
            years,
            np.random.default_rng([gen.seed, code, 1]),
            (slide or {}) if county is slide_county else {},
        )
        for year in years:
            _split_grades(county, year, cohorts[year])
        _plan_migrants(
            county, years, np.random.default_rng([gen.seed, code, 2]), county.county_code in low_migrant
        )
        _plan_certificates(gen, county, years, np.random.default_rng([gen.seed, code, 3]))


def _plant_checklist(
    gen: Generator, roster: list[County], years: list[int], scenarios: list[dict]
) -> tuple[dict | None, frozenset[str]]:
    """Plan the checklist columns with the planted 巩固率 slide; returns its scenario (None when no
    county can carry it) and the counties planted below 85% on 随迁子女 in public schools."""
    rng = np.random.default_rng([gen.seed, 0, 4])
    chosen = _choose_retention_slide(roster, scenarios, years)
    county, failing = chosen if chosen is not None else (None, [])
    slide = {y: RETENTION_SLIDE[min(i, 1)] for i, y in enumerate(failing)}
    used = {s["county_code"] for s in scenarios}
    uncertified = [c for c in roster if c.quality_certified is None and c.county_code not in used]
    n_low = min(2 if len(roster) >= 20 else 1, len(uncertified))
    low = frozenset(str(c) for c in rng.choice([c.county_code for c in uncertified], n_low, replace=False))
    plan_checklist(gen, roster, years, slide, county, low)
    if county is None:
        return None, low
    retention = checkpoint("C36")
    threshold = float(retention["standard_value"])
    realised = []
    for year in years:
        if year < county.quality_certified or year - 2 not in years or year - 2 < CHECKLIST_COLUMNS_FROM:  # type: ignore[operator]
            continue
        value = round(county_retention(county, year) or 0.0, 4)
        target = slide.get(year)
        realised.append(
            {
                "census_year": year,
                "target": None if target is None else round(target, 4),
                "value": value,
                "passes": value >= threshold,
            }
        )
    failing_years = [r["census_year"] for r in realised if not r["passes"]]
    scenario = {
        "scenario_id": "retention_slide",
        "description": "Quality-certified county whose junior three-year retention (初中三年巩固率, "
        f"checkpoint C36) drops to about {RETENTION_SLIDE[0]:.0%} after certification: fewer 初三 pupils "
        "than the cohort two years before predicts, its junior enrolment unchanged.",
        "county_code": county.county_code,
        "county_name": county.county_name,
        "standard_id": gen.quality.standard_id,
        "stage": "junior",
        "metric": "checkpoint",
        "checkpoint_code": retention["code"],
        "indicator_id": None,
        "threshold": threshold,
        "basic_certified_year": county.basic_certified,
        "quality_certified_year": county.quality_certified,
        "planned_first_failing_year": failing[0],
        "first_failing_year": failing_years[0] if failing_years else None,
        "years": realised,
        "top_drivers_final_year": None,
    }
    return scenario, low


def _plan_declarations(
    gen: Generator, roster: list[County], years: list[int], scenarios: list[dict], low: frozenset[str]
) -> tuple[dict[str, tuple[int, str]], dict[tuple[str, int], dict[str, float | bool]]]:
    """Who declares (county code -> first census year, file suffix): every quality-certified county
    from the year before its certification, and DECLARING_OTHERS others from DECLARING_FROM; and the
    misses a few of the others' declarations hold (a quality-certified county meets every one)."""
    rng = np.random.default_rng([gen.seed, 0, 5])
    used = {s["county_code"] for s in scenarios} | low
    declaring: dict[str, int] = {
        c.county_code: c.quality_certified - 1 for c in roster if c.quality_certified is not None
    }
    others = [c.county_code for c in roster if c.quality_certified is None and c.county_code not in used]
    chosen = sorted(str(c) for c in rng.choice(others, min(DECLARING_OTHERS, len(others)), replace=False))
    declaring.update({code: DECLARING_FROM for code in chosen})
    declaring = {code: first for code, first in declaring.items() if any(y >= first for y in years)}
    codes = sorted(declaring)
    n_csv = CSV_DECLARANTS if len(codes) >= CSV_DECLARANTS_FROM else 0
    csv_codes = set(str(c) for c in rng.choice(codes, n_csv, replace=False))
    declarants = {code: (declaring[code], "csv" if code in csv_codes else "xlsx") for code in codes}
    # realistic misses in the others' declarations: an exchange rate under 10%, an enrolment rate
    # of disabled children under 95%, a school system not yet computerised
    slots = [(code, year) for code in chosen for year in years if year >= DECLARING_FROM]
    misses: dict[tuple[str, int], dict[str, float | bool]] = {}
    planned: list[dict[str, float | bool]] = [{"C31a": 0.085}, {"C37": 0.93}, {"C39": False}]
    for miss in planned:
        if not slots:
            break
        slot = slots.pop(int(rng.integers(len(slots))))
        misses[slot] = miss
    return declarants, misses


def write_reference(out: Path, counties: list[tuple[County, str, str]]) -> None:
    """reference/counties.csv and reference/certifications.csv for (county, province code, name)."""
    (out / "reference").mkdir(parents=True, exist_ok=True)
    pl.DataFrame(
        [
            {
                "county_code": c.county_code,
                "county_name": c.county_name,
                "prefecture_code": c.prefecture_code,
                "prefecture_name": c.prefecture_name,
                "province_code": province_code,
                "province_name": province_name,
            }
            for c, province_code, province_name in counties
        ]
    ).write_csv(out / "reference" / "counties.csv")
    certifications = [
        {
            "county_code": c.county_code,
            "standard_id": standard_id,
            "certified_year": year,
            "revoked_year": None,
        }
        for c, _, _ in counties
        for standard_id, year in (("basic_2012", c.basic_certified), ("quality_2017", c.quality_certified))
        if year is not None
    ]
    pl.DataFrame(
        certifications,
        schema={
            "county_code": pl.String,
            "standard_id": pl.String,
            "certified_year": pl.Int64,
            "revoked_year": pl.Int64,
        },
    ).write_csv(out / "reference" / "certifications.csv")


def write_landing(
    gen: Generator,
    province: Province,
    out: Path,
    progress: Callable[[str], None] = lambda _: None,
    messy: bool = False,
    file_format: str = "csv",
) -> dict:
    """Write reference files, one CSV (or Parquet) file per prefecture and census year (or, with
    file_format "county_export", one statistics-system export workbook per county and year; with
    "jiaoji", one base-form workbook per school and year; "jiaoji_county", one per county and
    year holding all its schools' forms), and truth.json.

    With file_format "mixed", the last census year's folder mixes the shapes county offices send
    (_write_mixed_year) and the earlier years are canonical CSV files.

    With `messy`, each year is written in one of the shapes real counties send, with planted bad
    rows (pipelines.lib.synthetic.messy); the province itself is the same as the clean one.
    """
    out.mkdir(parents=True, exist_ok=True)
    write_reference(out, [(c, province.province_code, province.province_name) for c in province.counties])
    units = {}
    defects: list[dict] = []
    blanks: list[dict] = []
    messy_rng = np.random.default_rng(gen.seed + 1)  # separate draws: the province stays the same
    planted_counties = {s["county_code"] for s in province.scenarios}
    declarations: list[dict] = []
    for index, year in enumerate(province.years):
        frames = [
            gen.county_year(c, year, province.dispersion[(c.county_code, year)]) for c in province.counties
        ]
        census = pl.concat(frames)
        if year < CHECKLIST_COLUMNS_FROM:  # the older extract layout had no checklist columns
            census = census.drop(CHECKLIST_MEASURES)
        units[year] = census.height
        folder = out / str(year)
        folder.mkdir(exist_ok=True)
        for old in folder.iterdir():
            if old.is_file():
                old.unlink()
        declarations += _write_declarations(gen, province, folder, year)
        if messy:
            year_defects, year_blanks = write_messy_year(
                census, folder, year, index, messy_rng, protected=planted_counties
            )
            defects += year_defects
            blanks += year_blanks
        elif file_format in ("jiaoji", "jiaoji_county"):
            write_form_books(census, folder, year, by_county=file_format == "jiaoji_county")
        elif file_format == "county_export":
            write_county_exports(census, folder, year, _county_names(province))
        elif file_format == "mixed" and year == province.years[-1]:
            _write_mixed_year(census, folder, year, province)
        else:
            _write_tables(census, folder, year, "parquet" if file_format == "parquet" else "csv")
        progress(f"census year {year}: {census.height} school units")
    truth = {
        "generator": {
            "counties": len(province.counties),
            "years": province.years,
            "seed": gen.seed,
            "province_code": province.province_code,
        },
        "school_units_per_year": {str(k): v for k, v in units.items()},
        "scenarios": province.scenarios,
        "messy": messy,
        "planted_defects": defects,
        "blank_cells": blanks,
        "declarations": declarations,
    }
    (out / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=2), encoding="utf-8")
    return truth


def _write_declarations(gen: Generator, province: Province, folder: Path, year: int) -> list[dict]:
    """The year's declaration files (申报表) of the declaring counties, beside the census files;
    their truth (census year, county, file relative to the landing folder, checkpoints not met)."""
    names = {c.county_code: c.county_name for c in province.counties}
    written = []
    for code, (first, suffix) in sorted(province.declarants.items()):
        if year < first:
            continue
        rng = np.random.default_rng([gen.seed, int(code), year, 6])
        misses = province.declaration_misses.get((code, year))
        path, not_met = write_declaration(folder, year, code, names[code], suffix, rng, misses)
        written.append(
            {
                "census_year": year,
                "county_code": code,
                "file": f"{year}/{path.name}",
                "not_met": not_met,
            }
        )
    return written


def _county_names(province: Province) -> dict[str, tuple[str, str]]:
    return {c.county_code: (c.county_name, c.prefecture_name) for c in province.counties}


def _write_tables(census: pl.DataFrame, folder: Path, year: int, suffix: str) -> None:
    """One canonical file per prefecture (the first four digits of the county code)."""
    for (prefecture_code,), part in census.group_by(
        pl.col("county_code").str.slice(0, 4).alias("prefecture"), maintain_order=True
    ):
        path = folder / f"census_{year}_{prefecture_code}.{suffix}"
        if suffix == "parquet":
            part.write_parquet(path)
        else:
            part.write_csv(path)


def _write_mixed_year(census: pl.DataFrame, folder: Path, year: int, province: Province) -> None:
    """A year folder as a province office receives it: the first prefecture as one canonical CSV
    file, the other prefectures' counties as statistics-system exports, except one county whose
    schools' base forms come in one workbook (教基1001, 教基1001 (2), …)."""
    prefecture = pl.col("county_code").str.slice(0, 4)
    first = census["county_code"].str.slice(0, 4).min()
    _write_tables(census.filter(prefecture == first), folder, year, "csv")
    rest = census.filter(prefecture != first)
    if rest.is_empty():
        return
    forms_county = rest["county_code"].min()
    write_form_books(rest.filter(pl.col("county_code") == forms_county), folder, year, by_county=True)
    write_county_exports(
        rest.filter(pl.col("county_code") != forms_county), folder, year, _county_names(province)
    )


def generate(
    out: Path,
    counties: int = 30,
    years: list[int] | None = None,
    seed: int = 2012,
    progress: Callable[[str], None] = lambda _: None,
    messy: bool = False,
    file_format: str = "csv",
) -> dict:
    """Plan and write a synthetic province; returns the truth document."""
    years = years or list(range(2015, 2025))
    gen, province = plan_province(counties, years, seed)
    return write_landing(gen, province, out, progress, messy, file_format)


def _round_up(value: float, like: float | int) -> float | int:
    """Up to the precision the census column is written in (counts whole, areas to 0.1 m²,
    yuan to 100)."""
    if isinstance(like, int):
        return math.ceil(value - 1e-9)
    if like == round(like, -2) and like >= 100:
        return float(math.ceil(value / 100 - 1e-9) * 100)
    return math.ceil(value * 10 - 1e-9) / 10
