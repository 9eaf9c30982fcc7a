"""Everything `junheng report` writes into the reports folder, from the published snapshot:

    index.html, counties/<code>.html   the Chinese HTML reports (pipelines.lib.outputs.reports)
    counties/<code>_县域均衡表_<year>.xlsx, .html, .pdf
                                        the tables each certified county files (pipelines.lib.outputs.filing;
                                        the PDF printed by Chromium, pipelines.lib.outputs.pdf)
    监测报告_<year>.html, .pdf          the province's annual monitoring report (pipelines.lib.outputs.province_report)
    excel/预警清单_<year>.xlsx          the alert list (pipelines.lib.outputs.excel)
    excel/县域均衡_<year>.xlsx          the county balance table
    dictionary.html                     the data dictionary (pipelines.lib.outputs.dictionary)
    data_docs/index.html                great-expectations Data Docs, written by the pipeline's
                                        data-quality checks (linked when present)

Only the published snapshot is read (read-only), so reports never wait for, or block, a load.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipelines.lib.outputs.dictionary import write_dictionary
from pipelines.lib.outputs.excel import balance_year, write_alert_list_xlsx, write_county_balance_xlsx
from pipelines.lib.outputs.filing import write_county_filings
from pipelines.lib.outputs.pdf import NoChromium, print_pdfs
from pipelines.lib.outputs.province_report import report_name, write_province_report
from pipelines.lib.outputs.reports import build_reports
from pipelines.lib.outputs.reports.build import COUNTIES_DIR
from pipelines.lib.queries import sql
from pipelines.lib.warehouse import connect, scalar

DATA_DOCS_DIR = "data_docs"


@dataclass(frozen=True)
class Outputs:
    index: Path
    census_year: int
    files: int
    bytes: int
    filing_counties: int = 0  # certified counties whose tables were written
    province_report: Path | None = None
    pdfs: int = 0
    pdf_message: str | None = None  # why no PDF was written, for the person running the command


def alert_list_name(census_year: int) -> str:
    return f"excel/预警清单_{census_year}.xlsx"


def balance_name(census_year: int) -> str:
    return f"excel/县域均衡_{census_year}.xlsx"


def folder_size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def write_outputs(
    published: Path, out_dir: Path, census_year: int | None = None, county_code: str | None = None
) -> Outputs:
    """Write the reports, the Excel exports and the dictionary for `census_year` (default: the
    latest loaded); with `county_code`, only that county's page and its rows in the exports."""
    if not published.exists():
        raise FileNotFoundError(
            f"{published}: 没有已发布的数据库 / no published snapshot yet (run `junheng run` first)"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    with connect(published, read_only=True) as con:
        year = balance_year(con, census_year)
        loaded = scalar(con, sql("outputs/balance_rows_of_year"), {"census_year": year})
        if not loaded:
            raise ValueError(f"{year}: 该年度未加载 / census year not loaded in {published}")
        write_county_balance_xlsx(con, out_dir / balance_name(year), year)
        write_alert_list_xlsx(con, out_dir / alert_list_name(year), year, county_code=county_code)
        filings = write_county_filings(con, out_dir / COUNTIES_DIR, year, county_code)
        province_report = write_province_report(con, out_dir, year)
    pdf_message = None
    try:  # before the index, which links only to files that exist
        pdfs = print_pdfs([province_report, *filings.pages])
    except NoChromium as missing:
        pdfs, pdf_message = [], str(missing)
    write_dictionary(published, html=out_dir / "dictionary.html")
    links = {
        "年度监测报告": report_name(year),
        "年度监测报告 (PDF)": str(Path(report_name(year)).with_suffix(".pdf")),
        "预警清单 (Excel)": alert_list_name(year),
        "县域均衡表 (Excel)": balance_name(year),
        "数据字典": "dictionary.html",
        "数据质量报告 (Data Docs)": f"{DATA_DOCS_DIR}/index.html",
    }
    index = build_reports(published, out_dir, census_year=year, county_code=county_code, links=links)
    files, size = folder_size(out_dir)
    return Outputs(
        index=index,
        census_year=year,
        files=files,
        bytes=size,
        filing_counties=len(filings.pages),
        province_report=province_report,
        pdfs=len(pdfs),
        pdf_message=pdf_message,
    )
