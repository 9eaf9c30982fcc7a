"""The official numbers of both national standards, typed by hand from the documents.

This module is the tests' independent statement of what models/standards/basic_2012.yaml and
models/standards/quality_2017.yaml must say. Nothing here reads those files: every threshold,
minimum, rule, weight and exclusion was typed from the documents below, each with its source
(document and the sentence or table it comes from). tests/unit/test_official_numbers.py holds
the shipped files against this table, so a wrong number typed into a YAML file fails a test
instead of passing through an oracle that reads the same file.

Documents:

- 教督〔2012〕3号《县域义务教育均衡发展督导评估暂行办法》: basic balance (基本均衡), eight
  indicators, composite coefficient of variation.
- 教督〔2017〕6号《县域义务教育优质均衡发展督导评估办法》: quality balance (优质均衡), seven
  indicators with per-school minimums, coefficient of variation on each indicator, the per-school
  rule and the school conditions (government-assurance indicators).
- Facility split weights of combined schools and the exact exclusion lists are not printed in
  either document; they are the rules as practised in county evaluations, and their sources say so.

An entry whose value is a project rule rather than an official one says "project rule" in its note.
`golden_standard(standard_id)` assembles a full `Standard` from these values with `parse_standard`,
so tests can give the oracle the golden standard instead of the YAML.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pipelines.lib.reference.standards import Standard, parse_standard

DOC_2012 = "教督〔2012〕3号《县域义务教育均衡发展督导评估暂行办法》"
DOC_2017 = "教督〔2017〕6号《县域义务教育优质均衡发展督导评估办法》"
COUNTY_PRACTICE = "as practised in county evaluations"
"""The wording every source uses for a rule that county evaluations follow but no document prints."""

SOURCE_MARKERS = ("教督〔2012〕3号", "教督〔2017〕6号", COUNTY_PRACTICE)
"""Every source names one of these."""

STANDARD_IDS = ("basic_2012", "quality_2017")


@dataclass(frozen=True)
class Official:
    """One number (or rule) with where it comes from; `note` says "project rule" when it is one."""

    value: Any
    source: str
    note: str = ""


@dataclass(frozen=True)
class IndicatorDefinition:
    """What an indicator divides: sum(add) - sum(subtract) over the denominator, times scale."""

    indicator_id: str
    name_zh: str
    unit: str
    add: tuple[str, ...]
    subtract: tuple[str, ...]
    denominator: str
    scale: float


@dataclass(frozen=True)
class ExclusionDefinition:
    """A rule that leaves a stage section out; None means the condition is not part of the rule."""

    rule_id: str
    school_type_codes: tuple[str, ...] | None = None
    ownership: str | None = None
    is_county_run: bool | None = None
    students_below: float | None = None


# --------------------------------------------------------------------------------------------------
# Headings (labels, not numbers: pinned so that every warehouse row of `standards` is compared)
# --------------------------------------------------------------------------------------------------

HEADINGS: dict[str, dict[str, str]] = {
    "basic_2012": {
        "name_zh": "县域义务教育发展基本均衡",
        "name_en": "basic balance",
        "document": "教督〔2012〕3号",
    },
    "quality_2017": {
        "name_zh": "县域义务教育优质均衡发展",
        "name_en": "quality balance",
        "document": "教督〔2017〕6号",
    },
}

# --------------------------------------------------------------------------------------------------
# When counties were certified under each method
# --------------------------------------------------------------------------------------------------

CERTIFICATION_YEARS: dict[str, dict[str, Official]] = {
    "basic_2012": {
        "first": Official(
            2013,
            "assessments under 教督〔2012〕3号 began in 2013 (《2016年全国义务教育均衡发展督导评估工作报告》: "
            "「自2013年义务教育发展督导评估认定工作启动以来」)",
        ),
        "last": Official(2021, "by 2021 all 2,895 county units had passed the 教督〔2012〕3号 assessment"),
    },
    "quality_2017": {
        "first": Official(
            2021,
            "教督〔2017〕6号 dates from 2017; the first county assessments came from about 2021",
            note="project rule: the reading of when quality certifications began",
        ),
        "last": Official(None, "recognition under 教督〔2017〕6号 goes on"),
    },
}

# --------------------------------------------------------------------------------------------------
# The coefficient-of-variation rule and thresholds
# --------------------------------------------------------------------------------------------------

_BASIC_CV_SENTENCE = (
    f"{DOC_2012}: 「以生均教学及辅助用房面积、生均体育运动场馆面积、生均教学仪器设备值、每百名学生拥有计算机台数、"
    "生均图书册数、师生比、生均高于规定学历教师数、生均中级及以上专业技术职务教师数8项指标来分别计算小学、初中综合差异系数。"
    "达到基本均衡评估的标准为:小学综合差异系数不高于0.65,初中综合差异系数不高于0.55。」"
    " (wording as restated in county work plans; 襄汾县: 「差异系数,小学小于等于0.65、初中小于等于0.55」)"
)
_QUALITY_CV_SENTENCE = (
    f"{DOC_2017}, 资源配置: 「每所学校至少6项指标达到上述要求,余项不能低于要求的85%;"
    "所有指标校际差异系数,小学均小于或等于0.50,初中均小于或等于0.45。」"
)

CV_RULES: dict[str, Official] = {
    "basic_2012": Official(
        "composite",
        f"{_BASIC_CV_SENTENCE} The threshold is on the 综合差异系数, the mean of the 8 indicator CVs; "
        "single indicator CVs are not judged.",
    ),
    "quality_2017": Official(
        "each_indicator",
        f"{_QUALITY_CV_SENTENCE} 「所有指标」: every one of the 7 indicator CVs is judged; a mean of the "
        "seven is informational only.",
    ),
}

CV_THRESHOLDS: dict[str, dict[str, Official]] = {
    "basic_2012": {
        "primary": Official(0.65, f"{_BASIC_CV_SENTENCE} 小学综合差异系数 ≤ 0.65."),
        "junior": Official(0.55, f"{_BASIC_CV_SENTENCE} 初中综合差异系数 ≤ 0.55."),
    },
    "quality_2017": {
        "primary": Official(0.50, f"{_QUALITY_CV_SENTENCE} 小学 each indicator CV ≤ 0.50."),
        "junior": Official(0.45, f"{_QUALITY_CV_SENTENCE} 初中 each indicator CV ≤ 0.45."),
    },
}

# --------------------------------------------------------------------------------------------------
# Indicators in official order, with the per-school minimums of quality balance
# --------------------------------------------------------------------------------------------------

_NET_TEACHING_AREA = (
    f"Net teaching area {COUNTY_PRACTICE}: the census 教学及辅助用房 total includes 室内体育用房, which "
    "practice moves to the sports indicator (teaching = 教学及辅助用房 − 室内体育用房, "
    "sports = 运动场地 + 室内体育用房)."
)

_BASIC_TABLE: tuple[tuple[str, str, str, tuple[str, ...], tuple[str, ...], float, str], ...] = (
    # id, name_zh, unit, numerator add, numerator subtract, scale, note
    (
        "teaching_area_per_student",
        "生均教学及辅助用房面积",
        "m²",
        ("teaching_aux_area_m2",),
        ("indoor_sports_area_m2",),
        1,
        _NET_TEACHING_AREA,
    ),
    (
        "sports_area_per_student",
        "生均体育运动场馆面积",
        "m²",
        ("sports_ground_area_m2", "indoor_sports_area_m2"),
        (),
        1,
        _NET_TEACHING_AREA,
    ),
    ("equipment_value_per_student", "生均教学仪器设备值", "元", ("equipment_value_yuan",), (), 1, "In yuan."),
    (
        "computers_per_100",
        "每百名学生拥有计算机台数",
        "台",
        ("computers",),
        (),
        100,
        "每百名: per 100 students.",
    ),
    ("books_per_student", "生均图书册数", "册", ("books",), (), 1, "生均: per student."),
    (
        "teachers_per_student",
        "师生比",
        "人",
        ("teachers",),
        (),
        1,
        "专任教师 per student, never students per teacher (the direction changes a CV).",
    ),
    (
        "degree_teachers_per_student",
        "生均高于规定学历教师数",
        "人",
        ("teachers_above_degree",),
        (),
        1,
        "高于规定学历: primary 专科 and above, junior 本科 and above; the census reports the count.",
    ),
    (
        "senior_title_teachers_per_student",
        "生均中级及以上专业技术职务教师数",
        "人",
        ("teachers_senior_title",),
        (),
        1,
        "Teachers with a 中级 title or above, per student.",
    ),
)

_QUALITY_TABLE: tuple[
    tuple[str, str, str, tuple[str, ...], tuple[str, ...], float, float, float, str], ...
] = (
    # id, name_zh, unit, numerator add, numerator subtract, scale, primary minimum, junior minimum,
    # the document's sentence (资源配置, items 1 to 7)
    (
        "degree_teachers_per_100",
        "每百名学生拥有高于规定学历教师数",
        "人",
        ("teachers_above_degree",),
        (),
        100,
        4.2,
        5.3,
        "(一)每百名学生拥有高于规定学历教师数:小学、初中分别达到4.2人以上、5.3人以上",
    ),
    (
        "key_teachers_per_100",
        "每百名学生拥有县级以上骨干教师数",
        "人",
        ("key_teachers",),
        (),
        100,
        1.0,
        1.0,
        "(二)每百名学生拥有县级以上骨干教师数:小学、初中均达到1人以上",
    ),
    (
        "pe_art_teachers_per_100",
        "每百名学生拥有体育、艺术(美术、音乐)专任教师数",
        "人",
        ("pe_art_teachers",),
        (),
        100,
        0.9,
        0.9,
        "(三)每百名学生拥有体育、艺术(美术、音乐)专任教师数:小学、初中均达到0.9人以上",
    ),
    (
        "teaching_area_per_student",
        "生均教学及辅助用房面积",
        "m²",
        ("teaching_aux_area_m2",),
        ("indoor_sports_area_m2",),
        1,
        4.5,
        5.8,
        "(四)生均教学及辅助用房面积:小学、初中分别达到4.5平方米以上、5.8平方米以上",
    ),
    (
        "sports_area_per_student",
        "生均体育运动场馆面积",
        "m²",
        ("sports_ground_area_m2", "indoor_sports_area_m2"),
        (),
        1,
        7.5,
        10.2,
        "(五)生均体育运动场馆面积:小学、初中分别达到7.5平方米以上、10.2平方米以上",
    ),
    (
        "equipment_value_per_student",
        "生均教学仪器设备值",
        "元",
        ("equipment_value_yuan",),
        (),
        1,
        2000,
        2500,
        "(六)生均教学仪器设备值:小学、初中分别达到2000元以上、2500元以上",
    ),
    (
        "multimedia_rooms_per_100",
        "每百名学生拥有网络多媒体教室数",
        "间",
        ("multimedia_classrooms",),
        (),
        100,
        2.3,
        2.4,
        "(七)每百名学生拥有网络多媒体教室数:小学、初中分别达到2.3间以上、2.4间以上",
    ),
)

INDICATORS: dict[str, tuple[Official, ...]] = {
    "basic_2012": tuple(
        Official(
            IndicatorDefinition(ind_id, name_zh, unit, add, subtract, "students", scale),
            f"{DOC_2012}: indicator {order} of the 8 in 「…8项指标来分别计算小学、初中综合差异系数」: 「{name_zh}」.",
            note,
        )
        for order, (ind_id, name_zh, unit, add, subtract, scale, note) in enumerate(_BASIC_TABLE, start=1)
    ),
    "quality_2017": tuple(
        Official(
            IndicatorDefinition(ind_id, name_zh, unit, add, subtract, "students", scale),
            f"{DOC_2017}, 资源配置 item {order} of 7: 「{sentence}」.",
            _NET_TEACHING_AREA if ind_id in ("teaching_area_per_student", "sports_area_per_student") else "",
        )
        for order, (ind_id, name_zh, unit, add, subtract, scale, _p, _j, sentence) in enumerate(
            _QUALITY_TABLE, start=1
        )
    ),
}

MINIMUMS: dict[str, dict[str, dict[str, Official]]] = {
    "basic_2012": {},  # basic balance sets no per-school minimum
    "quality_2017": {
        ind_id: {
            "primary": Official(primary, f"{DOC_2017}, 资源配置 item {order} of 7: 「{sentence}」 (小学)."),
            "junior": Official(junior, f"{DOC_2017}, 资源配置 item {order} of 7: 「{sentence}」 (初中)."),
        }
        for order, (ind_id, _n, _u, _a, _s, _scale, primary, junior, sentence) in enumerate(
            _QUALITY_TABLE, start=1
        )
    },
}

# --------------------------------------------------------------------------------------------------
# Per-school rule and school conditions (quality balance only)
# --------------------------------------------------------------------------------------------------

SCHOOL_RULES: dict[str, dict[str, Official]] = {
    "quality_2017": {
        "min_met": Official(6, f"{_QUALITY_CV_SENTENCE} 「至少6项指标达到上述要求」: at least 6 of the 7."),
        "unmet_min_ratio": Official(
            0.85, f"{_QUALITY_CV_SENTENCE} 「余项不能低于要求的85%」: every unmet one ≥ 85% of its minimum."
        ),
    },
}

_ROOMS = (
    f"{DOC_2017}, 政府保障程度: 「所有小学、初中每12个班级配备音乐、美术专用教室1间以上;"
    "其中,每间音乐专用教室面积不小于96平方米,每间美术专用教室面积不小于90平方米」"
)
_SCHOOL_SIZE = (
    f"{DOC_2017}, 政府保障程度: 「所有小学、初中规模不超过2000人,"
    "九年一贯制学校、十二年一贯制学校义务教育阶段规模不超过2500人」"
)
_CLASS_SIZE = f"{DOC_2017}, 政府保障程度: 「小学、初中所有班级学生数分别不超过45人、50人」"

SCHOOL_CONDITIONS: dict[str, dict[str, Any]] = {
    "quality_2017": {
        "max_school_students": Official(2000, f"{_SCHOOL_SIZE}: 小学、初中 ≤ 2000."),
        "max_school_students_by_type": {
            "312": Official(2500, f"{_SCHOOL_SIZE}: 九年一贯制学校 (312) ≤ 2500 compulsory students."),
            "345": Official(2500, f"{_SCHOOL_SIZE}: 十二年一贯制学校 (345) ≤ 2500 compulsory students."),
        },
        "max_class_size": {
            "primary": Official(45, f"{_CLASS_SIZE}: 小学 ≤ 45."),
            "junior": Official(50, f"{_CLASS_SIZE}: 初中 ≤ 50."),
        },
        "classes_per_music_room": Official(12, f"{_ROOMS}: one music room per 12 classes."),
        "classes_per_art_room": Official(12, f"{_ROOMS}: one art room per 12 classes."),
        "min_music_room_m2": Official(96, f"{_ROOMS}: each music room ≥ 96 m²."),
        "min_art_room_m2": Official(90, f"{_ROOMS}: each art room ≥ 90 m²."),
    },
}

# --------------------------------------------------------------------------------------------------
# Facility split of combined schools
# --------------------------------------------------------------------------------------------------

_SPLIT = (
    f"Split weights {COUNTY_PRACTICE} under 教督〔2012〕3号 and 教督〔2017〕6号 (neither document prints "
    "them): shared facilities go to each stage by weighted students, "
    "九年一贯制 (312) primary share = A/(A + 1.1·B), junior share = 1.1·B/(A + 1.1·B); "
    "完全中学 (341) junior share = B/(B + 1.2·C); "
    "十二年一贯制 (345) primary = A/(A + 1.1·B + 1.32·C), junior = 1.1·B/(A + 1.1·B + 1.32·C) "
    "(A, B, C = primary, junior, senior students)."
)


def _split_weights() -> dict[tuple[str, str], Official]:
    return {
        ("312", "primary"): Official(1.0, f"{_SPLIT} 312 primary students weigh 1 (the A term)."),
        ("312", "junior"): Official(1.1, f"{_SPLIT} 312 junior students weigh 1.1."),
        ("341", "junior"): Official(1.0, f"{_SPLIT} 341 junior students weigh 1 (the B term)."),
        ("341", "senior"): Official(1.2, f"{_SPLIT} 341 senior students weigh 1.2."),
        ("345", "primary"): Official(1.0, f"{_SPLIT} 345 primary students weigh 1 (the A term)."),
        ("345", "junior"): Official(1.1, f"{_SPLIT} 345 junior students weigh 1.1."),
        ("345", "senior"): Official(1.32, f"{_SPLIT} 345 senior students weigh 1.32."),
    }


SPLIT_WEIGHTS: dict[str, dict[tuple[str, str], Official]] = {
    "basic_2012": _split_weights(),
    "quality_2017": _split_weights(),
}

STAGES_TAUGHT: dict[str, Official] = {
    code: Official(
        stages,
        f"School type codes (办学类型, GB/T 33782-2017) {COUNTY_PRACTICE} under 教督〔2012〕3号 and "
        "教督〔2017〕6号: primary sections are 211, 218, 219 and the primary part of 312 and 345; junior "
        "sections are 311, 319, 321 and the junior part of 312, 341 and 345; 341 and 345 also teach "
        "senior students, whose weight enters the split; special-education schools (51x) teach both "
        f"stages. {code} {name_zh}.",
    )
    for code, name_zh, stages in (
        ("211", "小学", ("primary",)),
        ("218", "小学教学点", ("primary",)),
        ("219", "附设小学班", ("primary",)),
        ("311", "初级中学", ("junior",)),
        ("312", "九年一贯制学校", ("primary", "junior")),
        ("319", "附设初中班", ("junior",)),
        ("321", "职业初中", ("junior",)),
        ("341", "完全中学", ("junior", "senior")),
        ("342", "高级中学", ("senior",)),
        ("345", "十二年一贯制学校", ("primary", "junior", "senior")),
        ("511", "盲人学校", ("primary", "junior")),
        ("512", "聋人学校", ("primary", "junior")),
        ("513", "培智学校", ("primary", "junior")),
        ("514", "其他特教学校", ("primary", "junior")),
        ("519", "附设特教班", ("primary", "junior")),
    )
}

# --------------------------------------------------------------------------------------------------
# Which sections count: exclusion rules (in the order they are tried) and teaching points
# --------------------------------------------------------------------------------------------------

_SPECIAL = ("511", "512", "513", "514", "519")
_NO_STUDENTS_NOTE = "project rule (no document): a section without students has no per-student value."

EXCLUSIONS: dict[str, tuple[Official, ...]] = {
    "basic_2012": (
        Official(
            ExclusionDefinition("special_education", school_type_codes=_SPECIAL),
            f"{DOC_2012}, {COUNTY_PRACTICE}: basic balance counts only public, county-run regular schools; "
            "special-education schools (特殊教育学校 511 盲, 512 聋, 513 培智, 514 其他, 519 附设特教班) are left out.",
        ),
        Official(
            ExclusionDefinition("vocational", school_type_codes=("321",)),
            f"{DOC_2012}, {COUNTY_PRACTICE}: vocational junior schools (职业初中 321) are left out.",
        ),
        Official(
            ExclusionDefinition("attached_classes", school_type_codes=("219", "319")),
            f"{DOC_2012}, {COUNTY_PRACTICE}: attached classes (附设小学班 219, 附设初中班 319) are left out.",
        ),
        Official(
            ExclusionDefinition("teaching_point", school_type_codes=("218",)),
            f"{DOC_2012}, {COUNTY_PRACTICE}: teaching points (小学教学点 218) are left out; merging each "
            "into its parent school instead is a provincial variant, not the shipped standard.",
        ),
        Official(
            ExclusionDefinition("private", ownership="private"),
            f"{DOC_2012}, {COUNTY_PRACTICE}: private schools (民办学校) are left out.",
        ),
        Official(
            ExclusionDefinition("not_county_run", is_county_run=False),
            f"{DOC_2012}, {COUNTY_PRACTICE}: schools not run by the county (省/市直属, 高校附属, 企业办) are "
            "left out.",
        ),
        Official(
            ExclusionDefinition("no_students", students_below=1),
            f"Not in {DOC_2012}: a section with fewer than 1 student is left out.",
            _NO_STUDENTS_NOTE,
        ),
    ),
    "quality_2017": (
        Official(
            ExclusionDefinition("special_education", school_type_codes=_SPECIAL),
            f"{DOC_2017}, {COUNTY_PRACTICE}: special-education schools (511, 512, 513, 514, 519) are "
            "left out; quality balance names no private or county-run exclusion.",
        ),
        Official(
            ExclusionDefinition("vocational", school_type_codes=("321",)),
            f"{DOC_2017}, {COUNTY_PRACTICE}: vocational junior schools (职业初中 321) are left out.",
        ),
        Official(
            ExclusionDefinition("small_teaching_point", school_type_codes=("218",), students_below=50),
            f"{DOC_2017}, {COUNTY_PRACTICE}: teaching points (218) with fewer than 50 students are left "
            "out; those with 50 or more count as schools (秀山县 plan: 「全县50人以上教学点音乐、美术专用教室面积、"
            "生均教学及辅助用房和体育场馆面积全达标」).",
        ),
        Official(
            ExclusionDefinition("no_students", students_below=1),
            f"Not in {DOC_2017}: a section with fewer than 1 student is left out.",
            _NO_STUDENTS_NOTE,
        ),
    ),
}

TEACHING_POINT_MODES: dict[str, Official] = {
    "basic_2012": Official(
        "exclude_by_rules",
        f"{DOC_2012}, {COUNTY_PRACTICE}: teaching points are left out by the exclusion rules (the national "
        "practice); folding them into the parent school is a provincial variant.",
    ),
    "quality_2017": Official(
        "exclude_by_rules",
        f"{DOC_2017}, {COUNTY_PRACTICE}: teaching points under 50 students are left out by the exclusion "
        "rules; the others count as schools of their own.",
    ),
}

EXCLUSION_REASONS: dict[str, dict[str, tuple[str, str]]] = {
    # Labels, not numbers (project wording shown to users): rule_id -> (reason_zh, reason_en).
    "basic_2012": {
        "special_education": ("特殊教育学校不参与计算", "special-education school"),
        "vocational": ("职业初中不参与计算", "vocational junior school"),
        "attached_classes": ("附设班不参与计算", "attached classes"),
        "teaching_point": ("教学点不参与计算", "teaching point"),
        "private": ("民办学校不参与计算", "private school"),
        "not_county_run": ("非县管学校(省市直属、高校附属、企业办)不参与计算", "not run by the county"),
        "no_students": ("该学段无在校生", "no students in this stage"),
    },
    "quality_2017": {
        "special_education": ("特殊教育学校不参与计算", "special-education school"),
        "vocational": ("职业初中不参与计算", "vocational junior school"),
        "small_teaching_point": ("不足50人的教学点不参与计算", "teaching point with fewer than 50 students"),
        "no_students": ("该学段无在校生", "no students in this stage"),
    },
}


# --------------------------------------------------------------------------------------------------
# Every entry, and the golden Standard
# --------------------------------------------------------------------------------------------------


def _walk(label: str, node: Any) -> Iterator[tuple[str, Official]]:
    if isinstance(node, Official):
        yield label, node
        return
    if isinstance(node, dict):
        items: Any = node.items()
    else:  # a list of indicators or exclusion rules, labelled by their ids
        items = ((getattr(o.value, "indicator_id", None) or o.value.rule_id, o) for o in node)
    for key, child in items:
        key_text = "][".join(key) if isinstance(key, tuple) else str(key)
        yield from _walk(f"{label}[{key_text}]", child)


def entries() -> Iterator[tuple[str, Official]]:
    """Every Official entry with a label naming where it sits in this module."""
    tables = {
        "CV_RULES": CV_RULES,
        "CV_THRESHOLDS": CV_THRESHOLDS,
        "INDICATORS": INDICATORS,
        "MINIMUMS": MINIMUMS,
        "SCHOOL_RULES": SCHOOL_RULES,
        "SCHOOL_CONDITIONS": SCHOOL_CONDITIONS,
        "SPLIT_WEIGHTS": SPLIT_WEIGHTS,
        "STAGES_TAUGHT": STAGES_TAUGHT,
        "EXCLUSIONS": EXCLUSIONS,
        "TEACHING_POINT_MODES": TEACHING_POINT_MODES,
        "CERTIFICATION_YEARS": CERTIFICATION_YEARS,
    }
    for name, table in tables.items():
        yield from _walk(name, table)


def _rule_doc(standard_id: str, rule: ExclusionDefinition) -> dict[str, Any]:
    when: dict[str, Any] = {}
    if rule.school_type_codes is not None:
        when["school_type_codes"] = list(rule.school_type_codes)
    if rule.ownership is not None:
        when["ownership"] = rule.ownership
    if rule.is_county_run is not None:
        when["is_county_run"] = rule.is_county_run
    if rule.students_below is not None:
        when["students_below"] = rule.students_below
    reason_zh, reason_en = EXCLUSION_REASONS[standard_id][rule.rule_id]
    return {"id": rule.rule_id, "when": when, "reason_zh": reason_zh, "reason_en": reason_en}


def golden_document(standard_id: str) -> dict[str, Any]:
    """The standards document (the shape of a models/standards/*.yaml file) built from this module."""
    if standard_id not in STANDARD_IDS:
        raise KeyError(f"no golden standard {standard_id!r}; known: {', '.join(STANDARD_IDS)}")
    weights: dict[str, dict[str, float]] = {}
    for (code, stage), official in SPLIT_WEIGHTS[standard_id].items():
        weights.setdefault(code, {})[stage] = official.value
    indicators = []
    for official in INDICATORS[standard_id]:
        ind: IndicatorDefinition = official.value
        entry: dict[str, Any] = {
            "id": ind.indicator_id,
            "name_zh": ind.name_zh,
            "unit": ind.unit,
            "numerator": {"add": list(ind.add), "subtract": list(ind.subtract)},
            "denominator": ind.denominator,
            "scale": ind.scale,
        }
        minimum = MINIMUMS[standard_id].get(ind.indicator_id)
        if minimum:
            entry["minimum"] = {stage: m.value for stage, m in minimum.items()}
        indicators.append(entry)
    doc: dict[str, Any] = {
        "standard_id": standard_id,
        **HEADINGS[standard_id],
        "cv_rule": CV_RULES[standard_id].value,
        "certification_years": {key: o.value for key, o in CERTIFICATION_YEARS[standard_id].items()},
        "cv_thresholds": {stage: t.value for stage, t in CV_THRESHOLDS[standard_id].items()},
        "facility_split": {"student_weights": weights},
        "teaching_points": {"mode": TEACHING_POINT_MODES[standard_id].value},
        "exclusions": {"rules": [_rule_doc(standard_id, o.value) for o in EXCLUSIONS[standard_id]]},
        "indicators": indicators,
    }
    if standard_id in SCHOOL_RULES:
        doc["school_rule"] = {key: o.value for key, o in SCHOOL_RULES[standard_id].items()}
    if standard_id in SCHOOL_CONDITIONS:
        doc["school_conditions"] = {
            key: item.value if isinstance(item, Official) else {k: o.value for k, o in item.items()}
            for key, item in SCHOOL_CONDITIONS[standard_id].items()
        }
    return doc


def golden_standard(standard_id: str) -> Standard:
    """The standard built from the hand-typed numbers, checked by the same `parse_standard` as the YAML."""
    return parse_standard(golden_document(standard_id), f"tests/golden/official_numbers.py:{standard_id}")
