"""Offline HTML reports in Chinese: a province overview and one page per county.

`build_reports(database, out_dir, census_year=None, county_code=None, links=None)` writes
`index.html` and `counties/<code>.html` under out_dir from a read-only warehouse file. Pages need
no network and no JavaScript: inline SVG charts (charts.py), one inline stylesheet, system fonts.
"""

from pipelines.lib.outputs.reports.build import build_reports

__all__ = ["build_reports"]
