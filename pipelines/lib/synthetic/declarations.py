"""County declaration files (县区申报表) of the synthetic province, one per county and census year.

A county preparing for or holding quality balance declares, every census year, the checkpoints of
the quality checklist the census cannot measure (models/checklists/quality_2017.yaml, `judged_by:
declared`). The file is what a county clerk makes in Excel or WPS: a title merged across the
columns on row 1 ("<县名><year>年义务教育优质均衡发展县区申报表"), the header on row 2 (DECLARATION_HEADER),
then one row per checkpoint. The declared value is written as a clerk types it: a percent as
`96.5%`, a yes/no as 是 or 否, a number (元) as a plain number. Most files are .xlsx; some counties
send .csv (UTF-8 with BOM), with the title on the first line.

Values mostly meet the standard; the misses planned by the province (Province.declaration_misses)
are written as given and listed in truth.json (declarations[].not_met).
"""

from __future__ import annotations

import csv
import functools
import io
from pathlib import Path
from typing import Any

import numpy as np
import xlsxwriter

from contracts import yaml_files
from pipelines.lib.paths import MODELS_DIR

CHECKLIST_FILE = MODELS_DIR / "checklists" / "quality_2017.yaml"
DECLARATION_HEADER = ("县区代码", "县区名称", "检查点编号", "检查点", "申报值", "佐证说明", "申报人")

# realistic ranges of what counties declare (fractions for percents, 元 for numbers); a checkpoint
# not listed here gets a range just over its standard value
VALUE_RANGES: dict[str, tuple[float, float]] = {
    "C27": (6000.0, 8200.0),
    "C31a": (0.105, 0.16),
    "C31b": (0.21, 0.35),
    "C33b": (0.955, 0.995),
    "C34": (0.80, 0.90),
    "C37": (0.955, 0.998),
    "C40": (0.05, 0.08),
    "C63": (0.86, 0.95),
}
# 佐证说明: the evidence a county office attaches ({year}: the census year)
EVIDENCE: dict[str, str] = {
    "C15": "县人民政府印发的义务教育学校布局规划",
    "C17": "县义务教育学校建设标准文件",
    "C18": "县委编办中小学教职工编制核定文件",
    "C19": "县财政局{year}年生均公用经费拨付文件",
    "C20": "县教育局义务教育学校装备配置标准",
    "C26": "{year}年村小和教学点公用经费拨付明细",
    "C27": "{year}年特殊教育学校经费决算表",
    "C28": "县人社局、财政局{year}年教师与公务员工资对比表",
    "C29": "县教师培训学时登记汇总（{year}年）",
    "C30": "县教育局教职工编制和岗位分配文件",
    "C31a": "县教育局{year}年交流轮岗名单",
    "C31b": "县教育局{year}年交流轮岗名单（骨干教师）",
    "C33a": "{year}年城区和镇区小学招生划片方案",
    "C33b": "{year}年城区和镇区初中招生划片方案",
    "C34": "{year}年优质高中招生名额分配方案",
    "C35a": "县留守儿童关爱服务工作台账",
    "C37": "县残联、县教育局{year}年残疾儿童少年入学统计",
    "C38": "各校章程核准备案表",
    "C39": "县教育信息化建设验收材料",
    "C40": "{year}年学校教师培训经费支出明细",
    "C61": "国家义务教育质量监测结果报告（四年级）",
    "C62": "国家义务教育质量监测结果报告（八年级）",
    "C63": "{year}年社会认可度问卷调查报告",
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"


@functools.cache
def checklist_checkpoints() -> tuple[dict[str, Any], ...]:
    """Every checkpoint of the quality checklist, in its order."""
    doc = yaml_files.safe_load(CHECKLIST_FILE.read_text(encoding="utf-8"))
    return tuple(cp for area in doc["areas"] for item in area["items"] for cp in item["checkpoints"])


def declared_checkpoints() -> list[dict[str, Any]]:
    return [cp for cp in checklist_checkpoints() if cp["judged_by"] == "declared"]


def checkpoint(code: str) -> dict[str, Any]:
    return next(cp for cp in checklist_checkpoints() if cp["code"] == code)


def meets(cp: dict[str, Any], value: float | bool) -> bool:
    if cp["value_type"] == "yes_no":
        return bool(value)
    if cp["comparison"] == "<=":
        return float(value) <= cp["standard_value"] + 1e-9
    return float(value) >= cp["standard_value"] - 1e-9


def _value(cp: dict[str, Any], rng: np.random.Generator) -> float | bool:
    """A declared value that meets the checkpoint (one draw each, whatever the type)."""
    draw = float(rng.random())
    if cp["value_type"] == "yes_no":
        return True
    standard = float(cp["standard_value"])
    low, high = VALUE_RANGES.get(cp["code"], (standard, standard * (1.3 if standard > 1 else 1.0)))
    if cp["value_type"] == "percent":
        if standard >= 1.0:
            return 1.0
        if cp.get("comparison") == "<=":
            low, high = standard * 0.5, standard
        value = round((low + draw * (high - low)) * 1000) / 1000  # to 0.1%
        return value if meets(cp, value) else standard
    value = round((low + draw * (high - low)) / 100) * 100  # 元, to the hundred
    return float(value) if meets(cp, value) else standard


def _shown(cp: dict[str, Any], value: float | bool) -> str | float:
    """As the clerk types it: 96.5%, 是/否, 6500."""
    if cp["value_type"] == "yes_no":
        return "是" if value else "否"
    if cp["value_type"] == "percent":
        return f"{round(float(value) * 100, 1):g}%"
    return int(value) if float(value).is_integer() else float(value)


def declaration_rows(
    county_code: str,
    county_name: str,
    year: int,
    rng: np.random.Generator,
    misses: dict[str, float | bool] | None = None,
) -> tuple[list[list[str | float]], list[str]]:
    """The rows of one declaration (header excluded) and the checkpoints it does not meet."""
    office = "区教育局" if county_name.endswith("区") else "县教育局"
    clerk = f"{office} {SURNAMES[int(county_code) % len(SURNAMES)]}某"
    rows: list[list[str | float]] = []
    not_met = []
    for cp in declared_checkpoints():
        value = _value(cp, rng)
        if misses and cp["code"] in misses:
            value = misses[cp["code"]]
        if not meets(cp, value):
            not_met.append(cp["code"])
        evidence = EVIDENCE.get(cp["code"], "县教育局{year}年工作台账").format(year=year)
        rows.append(
            [county_code, county_name, cp["code"], cp["wording_zh"], _shown(cp, value), evidence, clerk]
        )
    return rows, not_met


def declaration_title(county_name: str, year: int) -> str:
    return f"{county_name}{year}年义务教育优质均衡发展县区申报表"


def write_declaration(
    folder: Path,
    year: int,
    county_code: str,
    county_name: str,
    suffix: str,
    rng: np.random.Generator,
    misses: dict[str, float | bool] | None = None,
) -> tuple[Path, list[str]]:
    """Write `县区申报_<year>_<county_code>.<suffix>` (xlsx or csv) into `folder`; returns the path
    and the checkpoints the declaration does not meet."""
    rows, not_met = declaration_rows(county_code, county_name, year, rng, misses)
    title = declaration_title(county_name, year)
    path = folder / f"县区申报_{year}_{county_code}.{suffix}"
    if suffix == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow([title] + [""] * (len(DECLARATION_HEADER) - 1))
        writer.writerow(DECLARATION_HEADER)
        writer.writerows([_text(cell) for cell in row] for row in rows)
        path.write_bytes(buffer.getvalue().encode("utf-8-sig"))
        return path, not_met
    book = xlsxwriter.Workbook(path, {"strings_to_numbers": False})
    sheet = book.add_worksheet("申报表")
    bold = book.add_format({"bold": True, "align": "center", "valign": "vcenter", "font_size": 14})
    head = book.add_format({"bold": True, "align": "center", "border": 1, "bg_color": "#D9E1F2"})
    cell = book.add_format({"border": 1, "text_wrap": True, "valign": "vcenter"})
    sheet.merge_range(0, 0, 0, len(DECLARATION_HEADER) - 1, title, bold)
    sheet.write_row(1, 0, DECLARATION_HEADER, head)
    for r, row in enumerate(rows, start=2):
        for c, value in enumerate(row):
            if isinstance(value, str):
                sheet.write_string(r, c, value, cell)  # 县区代码 as text, as the clerk sets it
            else:
                sheet.write_number(r, c, value, cell)
    for c, width in enumerate((10, 12, 10, 48, 10, 34, 16)):
        sheet.set_column(c, c, width)
    sheet.freeze_panes(2, 0)
    book.close()
    return path, not_met


def _text(value: str | float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
