"""The benchmark script in its tiny mode: every figure is produced, every run it measures is one
Dagster run of the census-year job with the steps the pipeline has, and the pandas baseline, the
direct query and the pipeline agree on every coefficient. Nothing here asserts a time; `make
bench` is where speed is measured, as ratios within one run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pipelines.lib.outputs.pdf import find_chromium

ROOT = Path(__file__).resolve().parents[2]
STAGES = {"ingest", "per_year", "coefficient", "all_years", "publish"}
RATIOS = {
    "coefficient_vs_pandas",
    "coefficient_vs_direct",
    "coefficient_vs_floor",
    "ingest_vs_typed_load",
    "ingest_vs_floor",
    "rerun_vs_first_load",
    "publish_last_vs_first",
    "correction_vs_rerun_last",
}
TARGETS = (
    "first load (one `junheng run`) under",
    "first load under",
    "re-run of the",
    "publish of year",
    "faster than the pandas notebook",
    "of the direct DuckDB query",
    "typed load",
    "`junheng report` for the whole country under",
)


def test_tiny_benchmark_agrees_with_the_pipeline_and_reports_every_figure(tmp_path):
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "bench.run", "--tiny", "--work", str(tmp_path / "work"), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,  # 15 census-year runs, each a process of its own
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert [s["scale"] for s in results["scales"]] == ["national"]  # tiny: one small province of it
    for scale in results["scales"]:
        years = scale["census_years"]
        agreement = scale["comparison"]["agreement"]
        assert agreement["coefficients"] > 100
        assert agreement["keys_only_in_one"] == 0
        assert agreement["n_schools_mismatch"] == 0
        assert agreement["null_mismatch"] == 0
        assert agreement["max_relative_difference"] < 1e-9
        assert scale["comparison"]["floor"]["rows"] == scale["school_units"][str(years[-1])]
        direct = scale["comparison"]["direct_agreement"]  # the direct query computes the same coefficients
        assert direct["keys_only_in_one"] == direct["null_mismatch"] == direct["n_schools_mismatch"] == 0
        assert direct["max_relative_difference"] < 1e-9
        assert scale["comparison"]["typed_load"]["rows"] == scale["comparison"]["floor"]["rows"]
        for step in ("generate", "full_run", "rebuild", "report"):
            assert scale[step]["seconds"] > 0 and scale[step]["peak_mib"] > 50
        assert scale["report"]["county_pages"] == scale["counties"]
        report = scale["report"]  # the filings and their PDFs are timed
        assert report["filing_counties"] > 0
        # a PDF for each filing and the province's report, when there is a Chromium (make test installs it)
        assert report["pdfs"] == (report["filing_counties"] + 1 if find_chromium() else 0)
        assert report["pdf_seconds"] >= 0 and report["filings_seconds"] >= 0
        assert report["filings_seconds"] + report["pdf_seconds"] < report["seconds"]

        runs = scale["runs"]
        expected = {
            "first_load",
            "rerun_all",
            "rerun_last",
            "rerun_first",
            "rebuild",
            "growth_first",
            "growth_last",
        }
        assert set(runs) == expected | ({"growth_middle"} if len(years) > 2 else set())
        assert len({run["run_id"] for run in runs.values()}) == len(runs)  # one Dagster run each
        for key, run in runs.items():
            assert set(run["stages"]) == STAGES
            assert run["seconds"] > 0 and run["peak_mib"] > 50
            assert run["stages"]["per_year"] > 0 and run["stages"]["all_years"] > 0, key
            assert run["stages"]["coefficient"] > 0 and run["stages"]["publish"] > 0, key
            assert run["publish"]["files_written"] > 0 and run["publish"]["seconds"] > 0, key
            ingests = key != "rebuild"  # the rebuild builds from the loaded rows
            assert (run["stages"]["ingest"] > 0) == ingests, key
            assert ("raw__census_schools" in run["steps"]) == ingests, key
        # every year of every all-years table is written anew by a re-run, and a year-1 publish keeps nothing
        assert runs["growth_first"]["publish"]["files_kept"] == 0
        assert runs["rerun_last"]["publish"]["files_kept"] > 0  # the other years' files are kept
        assert scale["ingest_last_year"]["seconds"] == runs["growth_last"]["stages"]["ingest"]
        for when in ("after_first_load", "after_reruns"):
            sizes = scale["sizes"][when]
            assert sizes["warehouse_mib"] > 0 and sizes["parquet_mib"] > 0 and sizes["parquet_files"] > 0
        assert set(scale["ratios"]) == RATIOS
        assert all(value > 0 for value in scale["ratios"].values())
    assert results["machine"]["versions"]["duckdb"]
    verdicts = results[
        "verdicts"
    ]  # every target is stated, measured or not (the tiny run has 2 national years)
    assert len(verdicts) == len(TARGETS) + 1  # the report has two limits
    for phrase in TARGETS:
        assert any(phrase in v["target"] for v in verdicts), phrase
    assert [v["met"] for v in verdicts[:2]] == [None, None]  # the first load's limits are for ten years
    assert all(v["met"] is not None and v["ratio"] for v in verdicts[2:])
    report = (out / "results.md").read_text(encoding="utf-8")
    for heading in (
        "## Machine",
        "## Targets",
        "## National",
        "pandas notebook baseline",
        "direct query",
        "typed load",
        "Running loaded years again",
        "Publishing as the history grows",
        "Profile of the first load",
    ):
        assert heading in report
    for verdict in verdicts:
        assert verdict["target"] in report
