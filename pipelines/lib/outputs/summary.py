"""What `junheng demo` and `junheng run` print: per census year, the counties meeting each standard
(monitoring.standard_summary, the counts the province overview shows), one line per loaded year on
what its load kept and refused, and one line per loaded year with counties whose data is on hold
(monitoring.county_data_status). Chinese by default, English with lang="en"."""

from __future__ import annotations

import duckdb
import polars as pl

from contracts.columns import BLANK_MEASURES
from pipelines.lib.monitoring.alert_list import display_width
from pipelines.lib.queries import sql
from pipelines.lib.sentences import Words, read_words, render
from pipelines.lib.warehouse import query_frame, table_exists

CELL = {
    "zh": "达标 {n_meeting_standard:int}、未达标 {n_failing_standard:int}、待核实 {n_undecided_standard:int}",
    "en": "{n_meeting_standard:int} pass, {n_failing_standard:int} fail, {n_undecided_standard:int} undecided",
}
PROVISIONAL = {"zh": "（暂定 {n_provisional:int}）", "en": " ({n_provisional:int} provisional)"}
HELD_YEAR = {
    "zh": "{census_year:year} 年有 {n_held:int} 个县数据待核（暂不作判断）：",
    "en": "{census_year:year}: {n_held:int} counties' data on hold (no verdict yet): ",
}
HELD_REASONS = {
    "missing_schools": {
        "zh": "较上年缺少 {missing_school_share:pct} 的学校",
        "en": "{missing_school_share:pct} of last year's schools missing",
    },
    "rejected_rows": {"zh": "退回 {rejected_share:pct} 的行", "en": "{rejected_share:pct} of rows refused"},
    "no_rows_loaded": {"zh": "本年没有载入学校", "en": "no schools loaded"},
}
"""The words for each of monitoring.county_data_status.provisional_reason."""
FILE_NOTES_LISTED = 12
"""At most this many notes on a year's files are printed (audit.loads.message holds them all)."""
HELD_LISTED = 10
"""At most this many held counties are named per census year (the count names them all)."""


def balance_summary(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    return query_frame(con, sql("outputs/standard_summaries"))


def format_summary(summary: pl.DataFrame, words: Words, lang: str = "zh") -> str:
    """A text table: one line per census year, the counties meeting, failing and undecided per
    standard and stage (the whole standard as far as the census can judge it)."""
    if summary.is_empty():
        return "没有数据" if lang == "zh" else "no data"
    columns = list(summary.select("standard_id", "stage").unique(maintain_order=True).iter_rows())
    by_key = {(r["census_year"], r["standard_id"], r["stage"]): r for r in summary.iter_rows(named=True)}
    years = summary["census_year"].unique(maintain_order=True).to_list()
    rows = []
    for year in years:
        cells = []
        for standard_id, stage in columns:
            row = by_key.get((year, standard_id, stage))
            if row is None:
                cells.append("-")
                continue
            text = render(CELL[lang], row, words, lang=lang)
            if row["n_provisional"]:
                text += render(PROVISIONAL[lang], row, words, lang=lang)
            cells.append(text)
        rows.append((year, cells))
    titles = [f"{words.standard(s)}·{words.stage(g)}" if lang == "zh" else f"{s}/{g}" for s, g in columns]
    first = words.column("census_year") if lang == "zh" else "census_year"
    widths = [
        max([display_width(t), *(display_width(cells[i]) for _, cells in rows)]) for i, t in enumerate(titles)
    ]

    def pad(text: str, width: int) -> str:
        return text + " " * (width - display_width(text))

    header = pad(first, 11) + "  " + "  ".join(pad(t, w) for t, w in zip(titles, widths, strict=True))
    lines = [header.rstrip(), "-" * display_width(header.rstrip())]
    for year, cells in rows:
        lines.append(
            (
                pad(str(year), 11) + "  " + "  ".join(pad(c, w) for c, w in zip(cells, widths, strict=True))
            ).rstrip()
        )
    return "\n".join(lines)


def print_summary(con: duckdb.DuckDBPyConnection, lang: str = "zh") -> str:
    return format_summary(balance_summary(con), read_words(con), lang)


def load_report(con: duckdb.DuckDBPyConnection, census_year: int, top: int = 5, lang: str = "zh") -> str:
    """One line on what a census year's load kept and refused, the commonest reasons, and what the
    load says of its files besides their rows (sheets read as a continuation or passed over, rows
    that are not schools, files skipped: audit.loads.message)."""
    params = {"census_year": census_year}
    loaded = query_frame(con, sql("outputs/schools_loaded"), params)["n"][0]
    refused = query_frame(con, sql("outputs/rows_refused"), params).row(0, named=True)
    blank = query_frame(con, sql("outputs/blank_cells"), params | {"cols": list(BLANK_MEASURES)}).row(
        0, named=True
    )
    zh = lang == "zh"
    text = f"载入学校 {loaded} 所" if zh else f"{loaded} schools loaded"
    if blank["cells"]:
        text += (
            f"（{blank['schools']} 所学校共 {blank['cells']} 个数据单元格空白，按未知值载入，所在县的结果为暂定）"
            if zh
            else f" ({blank['cells']} blank measure cells in {blank['schools']} schools, loaded as unknown: "
            "their counties' results are provisional)"
        )
    text += f"，退回 {refused['rows']} 行" if zh else f", {refused['rows']} rows refused"
    if table_exists(con, "audit", "county_declarations"):
        declared = query_frame(con, sql("outputs/declarations_loaded"), params).row(0, named=True)
        if declared["accepted"] or declared["refused"]:
            text += (
                f"；县区申报 {declared['accepted']} 项，退回 {declared['refused']} 行（见 audit.rejected_declarations）"
                if zh
                else f"; {declared['accepted']} county declarations, {declared['refused']} rows refused "
                "(audit.rejected_declarations)"
            )
    found = query_frame(con, sql("outputs/file_notes"), params | {"top": FILE_NOTES_LISTED})
    notes = [
        f"      {n['source_file']}：{n['note_zh'].removeprefix(n['source_file'] + ': ')}"
        if zh
        else f"      {n['source_file']}: {n['note_en'].removeprefix(n['source_file'] + ': ')}"
        for n in found.iter_rows(named=True)
    ]
    if not found.is_empty() and found["has_more_notes"][0]:
        n_notes = found["n_notes"][0]
        notes.append(
            f"      ……共 {n_notes} 条说明，全部见 audit.loads.message"
            if zh
            else f"      ... {n_notes} notes in all, every one in audit.loads.message"
        )
    if not refused["rows"]:
        return "\n".join([text, *notes])
    reasons = query_frame(con, sql("outputs/commonest_refusals"), params | {"top": top})
    lines = [text + ("（均记录在 audit.rejected_rows）：" if zh else " (all in audit.rejected_rows):")]
    lines += [
        f"      {r['n']} × {r['column']} {r['check']}，例如 {r['example_zh']}"
        if zh
        else f"      {r['n']} x {r['column']} {r['check']}, e.g. {r['example']}"
        for r in reasons.iter_rows(named=True)
    ]
    return "\n".join([*lines, *notes])


def held_counties(con: duckdb.DuckDBPyConnection, census_years: list[int], lang: str = "zh") -> list[str]:
    """One line per census year of `census_years` with counties whose data is on hold
    (monitoring.county_data_status.is_provisional): how many, and the worst of them with why, e.g.
    '2024 年有 1 个县数据待核（暂不作判断）：平安县（较上年缺少 45% 的学校）'. No line for a year
    without any."""
    held = query_frame(
        con, sql("run_summary/held_counties"), {"census_years": census_years, "top": HELD_LISTED}
    )
    if held.is_empty():
        return []
    words = read_words(con)
    zh = lang == "zh"
    lines = []
    for counties in held.partition_by("census_year", maintain_order=True):
        rows = list(counties.iter_rows(named=True))
        named = []
        for row in rows:
            reasons = [
                render(HELD_REASONS[r][lang], row, words, lang=lang)
                for r in row["hold_reasons"]
                if r in HELD_REASONS
            ]
            why = ("，" if zh else ", ").join(reasons)
            named.append(f"{row['county_name']}（{why}）" if zh else f"{row['county_name']} ({why})")
        text = render(HELD_YEAR[lang], rows[0], words, lang=lang) + ("、" if zh else "; ").join(named)
        if rows[0]["has_more_held"]:
            text += "等" if zh else "; …"
        lines.append(text)
    return lines
