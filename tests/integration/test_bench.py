"""The benchmark script in its tiny mode: every figure is produced, and the pandas baseline and
the pipeline agree on every coefficient. Nothing here asserts a time; `make bench` is where
speed is measured, as ratios within one run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_tiny_benchmark_agrees_with_the_pipeline_and_reports_every_figure(tmp_path):
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "bench.run", "--tiny", "--work", str(tmp_path / "work"), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert [s["scale"] for s in results["scales"]] == ["province", "national"]
    for scale in results["scales"]:
        agreement = scale["comparison"]["agreement"]
        assert agreement["coefficients"] > 100
        assert agreement["keys_only_in_one"] == 0
        assert agreement["n_schools_mismatch"] == 0
        assert agreement["null_mismatch"] == 0
        assert agreement["max_relative_difference"] < 1e-9
        assert scale["comparison"]["floor"]["rows"] == scale["school_units"][str(scale["census_years"][-1])]
        for step in ("generate", "full_run", "rebuild"):
            assert scale[step]["seconds"] > 0 and scale[step]["peak_mib"] > 50
        assert sorted(scale["per_year"]) == [str(y) for y in scale["census_years"]]
        for stages in scale["per_year"].values():
            assert all(stages[k] > 0 for k in ("ingest", "models", "alerts", "publish", "coefficient"))
        assert set(scale["ratios"]) == {
            "coefficient_vs_pandas",
            "coefficient_vs_direct",
            "ingest_vs_typed_load",
            "ingest_vs_floor",
            "coefficient_vs_floor",
            "publish_last_vs_first",
        }
        direct = scale["comparison"]["direct_agreement"]  # the direct query computes the same coefficients
        assert direct["keys_only_in_one"] == direct["null_mismatch"] == direct["n_schools_mismatch"] == 0
        assert direct["max_relative_difference"] < 1e-9
        assert scale["comparison"]["typed_load"]["rows"] == scale["comparison"]["floor"]["rows"]
        assert scale["report"]["county_pages"] == scale["counties"]
        assert scale["last_year_steps"]["raw__census_schools"] > 0
    assert results["machine"]["versions"]["duckdb"]
    report = (out / "results.md").read_text(encoding="utf-8")
    assert [v["target"].split(" ")[0] for v in results["verdicts"]][:2] == ["national", "national"]
    for heading in (
        "## Machine",
        "## Targets",
        "## Province",
        "## National",
        "pandas notebook baseline",
        "direct query",
        "typed load",
        "Profile of census year",
    ):
        assert heading in report
