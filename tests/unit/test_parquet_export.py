"""The Parquet export beside the snapshot follows the tables: the published year is written, and
so is any other year whose file is missing or has other columns than its table (a table rebuilt
for every year by a newer model version)."""

import pyarrow.parquet as pq

from pipelines.lib.publish.snapshot import PARQUET_FILE_NAME, export_parquet
from pipelines.lib.warehouse import connect


def _file(root, year):
    return root / "marts" / "county_balance" / f"census_year={year}" / PARQUET_FILE_NAME


def test_years_whose_files_are_missing_or_have_other_columns_are_written_again(tmp_path):
    database, parquet = tmp_path / "w.duckdb", tmp_path / "parquet"
    with connect(database) as con:
        con.execute(
            "create table marts.county_balance as "
            "select range::integer + 2022 as census_year, 'c' as county_code from range(3)"
        )
    export_parquet(database, parquet, 2024)
    assert all(_file(parquet, y).is_file() for y in (2022, 2023, 2024))  # missing ones written too
    written = {y: _file(parquet, y).stat().st_mtime_ns for y in (2022, 2023, 2024)}

    export_parquet(database, parquet, 2024)  # nothing changed: only the published year again
    assert _file(parquet, 2022).stat().st_mtime_ns == written[2022]
    assert _file(parquet, 2024).stat().st_mtime_ns != written[2024]

    with connect(database) as con:  # a newer model version added a column, every year rebuilt
        con.execute("alter table marts.county_balance add column is_provisional boolean default false")
    export_parquet(database, parquet, 2024)
    for year in (2022, 2023, 2024):
        assert pq.read_schema(_file(parquet, year)).names == ["county_code", "is_provisional"]
