"""The national generator: the same schools as the province generator, in bounded memory.

Distributions are compared on a small sample (one 22-county province against a 22-county demo
province, three census years); memory by generating one census year of the whole country and
of its largest province alone, each in a child process whose peak the kernel reports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from contracts.columns import CENSUS_COLUMN_NAMES, CENSUS_DTYPES
from pipelines.lib.ingest.census_ingest import load_file
from pipelines.lib.paths import MODELS_DIR
from pipelines.lib.reference.standards import load_standards
from pipelines.lib.synthetic import official
from pipelines.lib.synthetic.national import PROVINCES, generate_national
from pipelines.lib.synthetic.province import generate

YEARS = [2022, 2023, 2024]
SIZE_COLUMNS = ("primary_students", "junior_students")


def _census(landing: Path) -> pl.DataFrame:
    frames = []
    for year in YEARS:
        for path in sorted((landing / str(year)).iterdir()):
            if path.suffix not in (".csv", ".parquet") or "申报" in path.name:
                continue  # census extracts only
            read = (
                pl.read_parquet(path)
                if path.suffix == ".parquet"
                else pl.read_csv(path, infer_schema_length=0)
            )
            frames.append(read.select(pl.all().cast(pl.String)))
    census = pl.concat(frames, how="diagonal")  # years before 2017 lack the checklist's columns
    return census.select(
        (pl.col(c).str.to_lowercase() == "true").alias(c)
        if CENSUS_DTYPES[c] == pl.Boolean
        else pl.col(c).cast(CENSUS_DTYPES[c])
        for c in CENSUS_COLUMN_NAMES
    )


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> tuple[pl.DataFrame, pl.DataFrame, Path]:
    root = tmp_path_factory.mktemp("national")
    summary = generate_national(root / "national", YEARS, seed=7, file_format="parquet", provinces=["64"])
    assert summary.counties == 22 and summary.files == len(YEARS)
    generate(root / "province", counties=22, years=YEARS, seed=7)
    return _census(root / "national"), _census(root / "province"), root / "national"


def test_national_schools_look_like_the_province_generator(samples):
    national, province = samples[0], samples[1]
    for column in SIZE_COLUMNS:
        for type_code in ("211", "218", "311", "312"):
            n = national.filter((pl.col("school_type_code") == type_code) & (pl.col(column) > 0))[column]
            p = province.filter((pl.col("school_type_code") == type_code) & (pl.col(column) > 0))[column]
            if p.len() < 10:
                continue
            assert n.len() >= 10, (type_code, column)
            ratio = n.median() / p.median()
            assert 0.7 <= ratio <= 1.4, f"{type_code} {column}: median {n.median()} vs {p.median()}"
    # the mix of school types is the same kind of county
    share = {
        name: frame.group_by("school_type_code").len().with_columns(pl.col("len") / frame.height)
        for name, frame in (("n", national), ("p", province))
    }
    mix = share["n"].join(share["p"], on="school_type_code", suffix="_p")
    assert (mix["len"] - mix["len_p"]).abs().max() < 0.08, mix


def test_indicator_ranges_match(samples):
    national, province = samples[0], samples[1]
    for standard in load_standards(MODELS_DIR / "standards"):
        n = official.school_values(national, standard)
        p = official.school_values(province, standard)
        for (stage, indicator), group in p.group_by("stage", "indicator_id"):
            theirs = n.filter((pl.col("stage") == stage) & (pl.col("indicator_id") == indicator))["value"]
            ours = group["value"]
            for q in (0.1, 0.5, 0.9):
                a, b = theirs.quantile(q), ours.quantile(q)
                assert a is not None and b is not None
                if abs(b) < 1e-9:
                    assert abs(a) < 0.05, (standard.standard_id, stage, indicator, q)
                    continue
                assert 0.6 <= a / b <= 1.6, f"{standard.standard_id} {stage} {indicator} q{q}: {a} vs {b}"
        # certified counties mostly pass their standard: the national generator aims nothing
        cvs = official.county_passes(official.county_cvs(national, standard), standard)
        assert cvs["passes"].mean() > 0.5, standard.standard_id


def test_national_parquet_ingests_without_rejections(samples):
    landing = samples[2]
    registry = pl.read_csv(landing / "reference" / "counties.csv", infer_schema_length=0)
    assert registry.height == 22 and registry["province_code"].unique().to_list() == ["64"]
    path = landing / "2024" / "census_2024_64.parquet"
    accepted, rejected, report = load_file(
        path, "2024/census_2024_64.parquet", 2024, registry["county_code"].to_list()
    )
    assert rejected.is_empty() and report.rows_read == accepted.height > 1000
    truth = json.loads((landing / "truth.json").read_text(encoding="utf-8"))
    assert (
        truth["generator"]["scale"] == "national"
        and truth["school_units_per_year"]["2024"] == accepted.height
    )


def _peak_mib(tmp_path: Path, name: str, *extra: str) -> tuple[float, str]:
    command = [
        sys.executable,
        "-m",
        "pipelines.cli",
        "generate",
        "--scale",
        "national",
        "--years",
        "2024",
        "--out",
        str(tmp_path / name),
        *extra,
    ]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = child.stdout.read() if child.stdout else ""
    _, status, usage = os.wait4(child.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, output
    return usage.ru_maxrss / 1024, output


def test_memory_is_bounded_by_the_largest_province_not_the_country(tmp_path):
    largest = max(PROVINCES, key=lambda p: p[2])
    one, _ = _peak_mib(tmp_path, "one", "--provinces", largest[0])
    country, output = _peak_mib(tmp_path, "all")
    assert "31 provinces, 2843 counties" in output
    # 15x the counties and school units, about the same memory: one province at a time
    assert country < one * 1.3 + 30, f"country {country:.0f} MiB vs {largest[1]} alone {one:.0f} MiB"
    units = json.loads((tmp_path / "all" / "truth.json").read_text(encoding="utf-8"))["school_units_per_year"]
    assert 240_000 <= units["2024"] <= 300_000


def test_cli_refuses_unknown_provinces_and_messy_national(tmp_path, capsys):
    from pipelines.cli import main

    out = str(tmp_path / "x")
    assert main(["generate", "--scale", "national", "--provinces", "99", "--out", out]) == 2
    assert "unknown province code" in capsys.readouterr().err
    assert main(["generate", "--scale", "national", "--messy", "--out", out]) == 2
    assert "--messy is for the province scale only" in capsys.readouterr().err
