"""The per-year summary `junheng demo` and `junheng run` print: counties passing each rule."""

from __future__ import annotations

import duckdb
import polars as pl

from contracts.columns import BLANK_MEASURES
from pipelines.lib.queries import sql
from pipelines.lib.warehouse import query_frame


def balance_summary(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    return query_frame(con, sql("outputs/pass_counts"))


def format_summary(summary: pl.DataFrame) -> str:
    """A text table: one line per census year, pass/fail counts per standard and stage."""
    columns = list(summary.select("standard_id", "stage").unique(maintain_order=True).iter_rows())
    rows = []
    for (year,), group in summary.group_by(["census_year"], maintain_order=True):
        cells = []
        for standard_id, stage in columns:
            row = group.filter((pl.col("standard_id") == standard_id) & (pl.col("stage") == stage))
            if row.is_empty():
                cells.append("-")
                continue
            r = row.row(0, named=True)
            text = f"{r['passing']} pass, {r['failing']} fail"
            if r["undetermined"]:
                text += f", {r['undetermined']} n/a"
            if r["provisional"]:
                text += f" ({r['provisional']} provisional)"
            cells.append(text)
        rows.append((year, cells))
    titles = [f"{s}/{g}" for s, g in columns]
    widths = [max([20, len(t), *(len(cells[i]) for _, cells in rows)]) for i, t in enumerate(titles)]
    header = "census_year  " + "  ".join(t.ljust(w) for t, w in zip(titles, widths, strict=True))
    lines = [header.rstrip(), "-" * len(header.rstrip())]
    for year, cells in rows:
        lines.append(
            (f"{year:<11}  " + "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))).rstrip()
        )
    return "\n".join(lines)


def load_report(con: duckdb.DuckDBPyConnection, census_year: int, top: int = 5) -> str:
    """One line on what a census year's load kept and refused, plus the commonest reasons."""
    params = {"census_year": census_year}
    loaded = query_frame(con, sql("outputs/schools_loaded"), params)
    refused = query_frame(con, sql("outputs/rows_refused"), params).row(0, named=True)
    blank = query_frame(con, sql("outputs/blank_cells"), params | {"cols": list(BLANK_MEASURES)}).row(
        0, named=True
    )
    text = f"{loaded['n'][0]} schools loaded"
    if blank["cells"]:
        text += (
            f" ({blank['cells']} blank measure cells in {blank['schools']} schools, loaded as unknown: "
            "their counties' results are provisional)"
        )
    text += f", {refused['rows']} rows refused"
    if not refused["rows"]:
        return text
    reasons = query_frame(con, sql("outputs/commonest_refusals"), params | {"top": top})
    lines = [text + " (all in audit.rejected_rows):"]
    lines += [
        f"      {r['n']} x {r['column']} {r['check']}, e.g. {r['example']}"
        for r in reasons.iter_rows(named=True)
    ]
    return "\n".join(lines)
