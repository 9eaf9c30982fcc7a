"""Work the benchmark measures in a child process of its own (bench/run.py times it and reads
its peak memory): `rebuild` re-materialises every model and the alerts of the loaded years from
their loaded census rows and publishes them, in one run; `compare` times one census year's
coefficient step against a hand-written DuckDB query and a pandas notebook, and its ingest part by
part, against DuckDB's own typed load, and writes the figures as JSON.

    python -m bench.steps rebuild --landing L --warehouse W --published P --reports R --years 2015-2024
    python -m bench.steps compare --landing L --warehouse W --year 2024 --out figures.json
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from pipelines.lib.ingest.census_ingest import extract_files
from pipelines.lib.paths import MODELS_DIR
from pipelines.lib.queries import Columns, ModelSql, sql

BENCH_DIR = Path(__file__).resolve().parent


def bench_sql(name: str, **fills: Columns | ModelSql) -> str:
    """A statement of bench/queries.sql."""
    return sql(f"queries/{name}", queries_dir=BENCH_DIR, **fills)


# the models that make up "the coefficient step": census rows -> county coefficients
COEFFICIENT_MODELS = (
    "staging.school_sections",
    "marts.school_indicator_values",
    "marts.county_indicator_cv",  # (reads the view marts.school_indicators over the one before)
)
REPEATS = 3


def cmd_rebuild(args: argparse.Namespace) -> int:
    """Every SQL model and the backsliding alerts of every loaded census year, rebuilt from the
    loaded raw census rows (no ingest), then published: one census-year run of all the years, as
    `junheng run` makes it, without its ingest step. The publish asset is in the run because a run
    keeps only what it publishes (pipelines.lib.loads.run_write): without it the run's writes would
    be rolled back at its end and the rebuild would keep nothing. bench/run.py reads the run's step
    times from the Dagster event log, to tell the build from the publish."""
    from pipelines.definitions import build_definitions
    from pipelines.defs.models.factory import build_model_assets
    from pipelines.defs.monitoring.assets import backsliding_alerts
    from pipelines.defs.resources import PUBLISHED_KEY
    from pipelines.runner import default_instance, first_error, run_census_years, warehouse_config

    defs = build_definitions()
    selection = [a.key for a in build_model_assets(MODELS_DIR)] + [backsliding_alerts.key, PUBLISHED_KEY]
    config = warehouse_config(
        Path(args.landing), Path(args.warehouse), Path(args.published), Path(args.reports)
    )
    instance = default_instance()
    try:
        result = run_census_years(args.years, config, instance, asset_selection=selection, defs=defs)
        if not result.success:
            print(f"rebuild {args.years[0]}-{args.years[-1]}: {first_error(result)}", file=sys.stderr)
            return 1
    finally:
        instance.dispose()
    return 0


def _best(function, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def floor_seconds(files: list[Path]) -> dict:
    """DuckDB reading the year's extract files and doing nothing else: select count(*)."""
    csv = [str(f) for f in files if f.suffix.lower() == ".csv"]
    parquet = [str(f) for f in files if f.suffix.lower() == ".parquet"]
    con = duckdb.connect()
    counted = 0

    def scan() -> None:
        nonlocal counted
        counted = 0
        if csv:
            counted += con.execute(bench_sql("count_csv"), {"path": csv}).fetchone()[0]
        if parquet:
            counted += con.execute(bench_sql("count_parquet"), {"path": parquet}).fetchone()[0]

    seconds = _best(scan)
    con.close()
    return {
        "seconds": seconds,
        "rows": counted,
        "files": len(files),
        "bytes": sum(f.stat().st_size for f in files),
    }


def ours_seconds(warehouse: Path, year: int) -> tuple[float, dict[str, dict[str, float]]]:
    """The SQL models of the coefficient step on a scratch copy of the warehouse, best of three;
    and each model's own best time, beside the time of its select alone (into a temporary table
    in memory), which says how much of it is writing the rows to the warehouse file."""
    from pipelines.lib.sql_models import load_models, run_model
    from pipelines.lib.warehouse import connect

    models = {m.relation: m for m in load_models(MODELS_DIR)}
    parts: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="junheng-bench-") as scratch:
        copy = Path(scratch) / "copy.duckdb"
        shutil.copyfile(warehouse, copy)
        with connect(copy) as con:

            def step() -> None:
                for relation in COEFFICIENT_MODELS:
                    run_model(con, models[relation], year)

            total = _best(step)
            for relation in COEFFICIENT_MODELS:
                model = models[relation]
                select = bench_sql("select_into_memory", model=ModelSql(model.sql))
                parts[relation] = {
                    "seconds": _best(lambda m=model: run_model(con, m, year)),
                    "select_seconds": _best(lambda q=select: con.execute(q, {"census_year": year})),
                }
    return total, parts


def direct_seconds(warehouse: Path, year: int) -> tuple[float, object]:
    """The hand-written single DuckDB query (bench/queries.sql direct_county_cvs) on the same
    warehouse, best of three, and its coefficients (for the agreement check)."""
    query = bench_sql("direct_county_cvs")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        seconds = _best(lambda: con.execute(query, {"census_year": year}).fetchall())
        result = con.execute(query, {"census_year": year}).df()
    result["census_year"] = year
    return seconds, result


def typed_load_seconds(files: list[Path], warehouse: Path) -> dict:
    """DuckDB's own load of the year's extract files into a typed table on disk: read_csv (or
    read_parquet) and insert into a table with raw.census_schools' column types, best of three.
    It checks nothing, rejects nothing and records no lineage."""
    csv = [str(f) for f in files if f.suffix.lower() == ".csv"]
    parquet = [str(f) for f in files if f.suffix.lower() == ".parquet"]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        columns = Columns(
            tuple((str(n), str(t)) for n, t in con.execute(bench_sql("census_columns")).fetchall())
        )
    with tempfile.TemporaryDirectory(prefix="junheng-bench-") as scratch:
        con = duckdb.connect(str(Path(scratch) / "typed.duckdb"))
        loaded = 0

        def load() -> None:
            nonlocal loaded
            con.execute(bench_sql("typed_table", columns=columns))
            if csv:
                con.execute(bench_sql("typed_load_csv"), {"path": csv})
            if parquet:
                con.execute(bench_sql("typed_load_parquet"), {"path": parquet})
            con.execute("checkpoint")
            loaded = con.execute(bench_sql("typed_rows")).fetchone()[0]

        seconds = _best(load)
        con.close()
    return {"seconds": seconds, "rows": loaded}


def pandas_seconds(warehouse: Path, year: int) -> tuple[float, object]:
    """The notebook-style pandas baseline on the same census rows (read beforehand, not timed)."""
    from bench.pandas_baseline import all_standards_cvs
    from pipelines.lib.reference.standards import load_standards

    standards = load_standards(MODELS_DIR / "standards")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        census = con.execute(bench_sql("census_year_rows"), {"census_year": year}).df()
    started = time.perf_counter()
    result = all_standards_cvs(census, standards)
    return time.perf_counter() - started, result


def agreement(warehouse: Path, year: int, baseline) -> dict:
    """How far a baseline's coefficients (pandas, or the direct query) are from
    marts.county_indicator_cv (keys and values)."""
    keys = ["standard_id", "census_year", "county_code", "stage", "indicator_id"]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        ours = con.execute(bench_sql("indicator_cvs"), {"census_year": year}).df()
    baseline = baseline[[*keys, "n_schools", "cv"]]
    merged = ours.merge(baseline, on=keys, how="outer", suffixes=("_ours", "_pandas"), indicator=True)
    only = merged[merged["_merge"] != "both"]
    both = merged[merged["_merge"] == "both"]
    null_mismatch = int((both["cv_ours"].isna() != both["cv_pandas"].isna()).sum())
    valued = both[both["cv_ours"].notna() & both["cv_pandas"].notna()]
    relative = (valued["cv_ours"] - valued["cv_pandas"]).abs() / valued["cv_ours"].abs().clip(lower=1e-300)
    max_relative = float(relative.max()) if len(relative) else 0.0
    return {
        "coefficients": int(len(ours)),
        "keys_only_in_one": int(len(only)),
        "n_schools_mismatch": int((both["n_schools_ours"] != both["n_schools_pandas"]).sum()),
        "null_mismatch": null_mismatch,
        "max_relative_difference": 0.0 if math.isnan(max_relative) else max_relative,
    }


def ingest_profile(landing: Path, warehouse: Path, year: int) -> dict[str, float]:
    """Where the ingest of one census year spends its time, part by part, on a scratch copy."""
    import polars as pl

    from pipelines.lib.ingest.census_checks import census_warnings
    from pipelines.lib.ingest.census_ingest import (
        finish_file,
        prepare_file,
        sha256_of,
        year_contract_failures,
    )
    from pipelines.lib.ingest.readers import read_extract
    from pipelines.lib.warehouse import connect, replace_census_year

    files = extract_files(landing, year)
    names = [f.relative_to(landing).as_posix() for f in files]
    parts: dict[str, float] = {}

    def timed(part: str, function):
        started = time.perf_counter()
        value = function()
        parts[part] = time.perf_counter() - started
        return value

    timed("hash files (sha256)", lambda: [sha256_of(f) for f in files])
    timed(
        "read files (polars, as text)",
        lambda: [read_extract(f, n) for f, n in zip(files, names, strict=True)],
    )
    prepared = timed(
        "read, map headers, normalise, cast",
        lambda: [prepare_file(f, n, year) for f, n in zip(files, names, strict=True)],
    )
    parts["map headers, normalise, cast"] = (
        parts.pop("read, map headers, normalise, cast")
        - parts["read files (polars, as text)"]
        - parts["hash files (sha256)"]
    )  # prepare_file hashes and reads each file too
    with tempfile.TemporaryDirectory(prefix="junheng-bench-") as scratch:
        copy = Path(scratch) / "copy.duckdb"
        shutil.copyfile(warehouse, copy)
        with connect(copy) as con:
            codes = [r[0] for r in con.execute(bench_sql("county_codes")).fetchall()]
            failures = timed("contract (pandera, one pass)", lambda: year_contract_failures(prepared, codes))
            finished = timed(
                "accept or reject rows", lambda: [finish_file(p, failures[p.name]) for p in prepared]
            )
            accepted = (
                pl.concat([f[0] for f in finished]).with_columns(pl.lit("bench").alias("load_id")).rechunk()
            )
            rejected = pl.concat([f[1] for f in finished])
            reports = [f[2] for f in finished]
            warnings = timed(
                "plausibility and year-on-year warnings", lambda: census_warnings(con, year, accepted)
            )
            timed(
                "write the year (one transaction)",
                lambda: replace_census_year(con, year, accepted, rejected, "bench", reports, warnings),
            )
    return parts


def cmd_compare(args: argparse.Namespace) -> int:
    landing, warehouse = Path(args.landing), Path(args.warehouse)
    files = extract_files(landing, args.year)
    figures = {
        "census_year": args.year,
        "floor": floor_seconds(files),
        "typed_load": typed_load_seconds(files, warehouse),
    }
    figures["ours_seconds"], figures["ours_parts"] = ours_seconds(warehouse, args.year)
    figures["direct_seconds"], direct = direct_seconds(warehouse, args.year)
    figures["direct_agreement"] = agreement(warehouse, args.year, direct)
    figures["pandas_seconds"], baseline = pandas_seconds(warehouse, args.year)
    figures["agreement"] = agreement(warehouse, args.year, baseline)
    figures["ingest_parts"] = ingest_profile(landing, warehouse, args.year)
    Path(args.out).write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    from pipelines.cli import _years

    parser = argparse.ArgumentParser(prog="python -m bench.steps")
    sub = parser.add_subparsers(dest="command", required=True)
    rebuild = sub.add_parser("rebuild")
    for name in ("--landing", "--warehouse", "--published", "--reports"):
        rebuild.add_argument(name, required=True)
    rebuild.add_argument("--years", type=_years, required=True)
    rebuild.set_defaults(func=cmd_rebuild)
    compare = sub.add_parser("compare")
    compare.add_argument("--landing", required=True)
    compare.add_argument("--warehouse", required=True)
    compare.add_argument("--year", type=int, required=True)
    compare.add_argument("--out", required=True)
    compare.set_defaults(func=cmd_compare)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
