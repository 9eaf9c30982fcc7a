"""The benchmark: `make bench` (or `python -m bench.run`). Writes bench/results.md and results.json.

For one province and for the national scale it measures, each in a child process of its own
(wall time, and peak memory from the kernel's rusage of that child):

- generation (`junheng generate`), the full run (`junheng run`: reference data, then every
  census year: ingest, models, alerts, publish), and the full rebuild of every model and alert
  from the loaded census rows (`python -m bench.steps rebuild`);
- per census year, from the run's Dagster event log: ingest, models, alerts and publish;
- a reload of the last census year (`junheng run --years <last>` again) against its first load,
  with the undo copy the reload made (a year is loaded whole or not at all), and a rollback of
  that year (`python -m bench.steps undo`);
- a reload of the first census year (a corrected early year): it also rebuilds the cross-year
  results (trends, drivers, data status, alerts, year-over-year warnings) of every later year, and
  is set against the reload of the last year, which has no later year to rebuild;
- for the last census year (`python -m bench.steps compare`): the coefficient step (our SQL
  models, best of three) against a notebook-style pandas implementation of the same
  coefficients on the same rows, and the floor: DuckDB counting the rows of the same extract
  files and doing nothing else. The pandas result is checked against ours, value by value.

Ratios are taken against baselines measured in the same run, never against fixed times. `--tiny`
runs the same code on a few counties (the test suite does this, to check the comparison itself).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("duckdb", "polars", "pandas", "numpy", "pyarrow", "dagster", "pandera", "great-expectations")
ALL_YEARS = list(range(2015, 2025))
TARGETS = {
    k: float(v["value"])
    for k, v in yaml.safe_load((ROOT / "bench" / "targets.yaml").read_text(encoding="utf-8")).items()
}

# asset step keys -> the stage of the pipeline they belong to
INGEST_STEPS = ("raw__census_schools",)
ALERT_STEPS = ("monitoring__",)
PUBLISH_STEPS = ("published__",)
COEFFICIENT_STEPS = ("staging__school_sections", "marts__school_indicators", "marts__county_indicator_cv")


@dataclass
class Measured:
    command: list[str]
    seconds: float
    peak_mib: float
    returncode: int
    output: str


def measure(command: list[str], env: dict[str, str], log: Path) -> Measured:
    """Run a command as a child process; its wall time and its own peak resident memory."""
    started = time.perf_counter()
    with open(log, "w", encoding="utf-8") as out:
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    output = log.read_text(encoding="utf-8", errors="replace")
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({child.returncode}); last output:\n{output[-3000:]}")
    return Measured(command, seconds, usage.ru_maxrss / 1024, child.returncode, output)  # ru_maxrss is KiB


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        memory_kib = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
    except OSError:
        memory_kib = 0
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kib / 2**20, 1),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": {name: metadata.version(name) for name in PACKAGES},
    }


def step_seconds(
    dagster_home: Path, steps: dict[int, dict[str, float]] | None = None
) -> dict[int, dict[str, float]]:
    """Per census year, seconds per pipeline stage, from the Dagster event log of the runs; with
    `steps`, every step's seconds per census year are put there too (the profile of a year)."""
    import dagster as dg

    instance = dg.DagsterInstance.from_config(str(dagster_home))
    years: dict[int, dict[str, float]] = {}
    try:
        for run in instance.get_runs():
            partition = run.tags.get("dagster/partition")
            if run.job_name != "census_year_job" or partition is None:
                continue
            stages = years.setdefault(
                int(partition),
                {"ingest": 0.0, "models": 0.0, "alerts": 0.0, "publish": 0.0, "coefficient": 0.0},
            )
            for step in instance.get_run_step_stats(run.run_id):
                seconds = (step.end_time or 0.0) - (step.start_time or 0.0)
                key = step.step_key
                if steps is not None:
                    year_steps = steps.setdefault(int(partition), {})
                    year_steps[key] = year_steps.get(key, 0.0) + seconds
                if key.startswith(INGEST_STEPS):
                    stages["ingest"] += seconds
                elif key.startswith(ALERT_STEPS):
                    stages["alerts"] += seconds
                elif key.startswith(PUBLISH_STEPS):
                    stages["publish"] += seconds
                else:
                    stages["models"] += seconds
                if key in COEFFICIENT_STEPS:
                    stages["coefficient"] += seconds
    finally:
        instance.dispose()
    return dict(sorted(years.items()))


def reload_journal(warehouse: Path, census_year: int) -> dict:
    """The undo copy of the latest committed load of a year, as its journal row records it."""
    import duckdb

    from bench.steps import bench_sql

    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(bench_sql("latest_undo_copy"), {"census_year": census_year}).fetchall()
    tables, saved, seconds = rows[0]
    return {"reload_saved_tables": tables, "reload_saved_rows": saved, "reload_save_seconds": seconds}


def bench_scale(name: str, generate_args: list[str], years: list[int], work: Path) -> dict:
    """Generate, run, rebuild and compare at one scale; every figure of it as a dict."""
    folder = work / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    landing, warehouse = folder / "landing", folder / "junheng.duckdb"
    published, reports = folder / "published" / "junheng.duckdb", folder / "reports"
    dagster_home = folder / "dagster_home"
    dagster_home.mkdir()
    shutil.copyfile(ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home), "PYTHONPATH": str(ROOT)}
    bin_dir = Path(sys.executable).parent
    junheng = str(bin_dir / "junheng")
    year_text = ",".join(str(y) for y in years)
    places = ["--landing", str(landing), "--warehouse", str(warehouse)]
    print(f"[{name}] generating {year_text}", flush=True)
    generated = measure(
        [junheng, "generate", "--out", str(landing), "--years", year_text, *generate_args],
        env,
        folder / "generate.log",
    )
    truth = json.loads((landing / "truth.json").read_text(encoding="utf-8"))
    units = {int(k): v for k, v in truth["school_units_per_year"].items()}
    print(f"[{name}] full run: {len(years)} census years, {sum(units.values())} school units", flush=True)
    full = measure(
        [junheng, "run", *places, "--published", str(published), "--reports", str(reports)],
        env,
        folder / "run.log",
    )
    steps: dict[int, dict[str, float]] = {}
    per_year = step_seconds(dagster_home, steps)
    last = years[-1]
    print(f"[{name}] junheng report: every county page, the Excel workbooks, the dictionary", flush=True)
    report_dir = folder / "report"
    report = measure(
        [junheng, "report", "--published", str(published), "--out", str(report_dir)],
        env,
        folder / "report.log",
    )
    report_files = [f for f in report_dir.rglob("*") if f.is_file()]
    print(f"[{name}] reloading census year {last}, then saving and rolling it back", flush=True)
    reload = measure(
        [
            junheng,
            "run",
            *places,
            "--published",
            str(published),
            "--reports",
            str(reports),
            "--years",
            str(last),
        ],
        env,
        folder / "reload.log",
    )
    undo_file = folder / "undo.json"
    measure(
        [sys.executable, "-m", "bench.steps", "undo", "--warehouse", str(warehouse), "--year", str(last)]
        + ["--out", str(undo_file)],
        env,
        folder / "undo.log",
    )
    atomicity = {
        "first_load_seconds": sum(v for k, v in per_year[last].items() if k != "coefficient"),
        "reload_process_seconds": reload.seconds,
        "reload_peak_mib": reload.peak_mib,
        **reload_journal(warehouse, last),
        **json.loads(undo_file.read_text(encoding="utf-8")),
    }
    if len(years) > 1:
        first = years[0]
        print(f"[{name}] reloading census year {first}: every later year's monitoring is rebuilt", flush=True)
        correction = measure(
            [junheng, "run", *places, "--published", str(published), "--reports", str(reports)]
            + ["--years", str(first)],
            env,
            folder / "correction.log",
        )
        journal = reload_journal(warehouse, first)
        atomicity |= {
            "correction_year": first,
            "correction_rebuilt_years": len(years) - 1,
            "correction_process_seconds": correction.seconds,
            "correction_peak_mib": correction.peak_mib,
            "correction_saved_rows": journal["reload_saved_rows"],
            "correction_save_seconds": journal["reload_save_seconds"],
        }
    print(f"[{name}] rebuilding every model and alert", flush=True)
    outputs = ["--published", str(published), "--reports", str(reports)]
    rebuild = measure(
        [sys.executable, "-m", "bench.steps", "rebuild", *places, *outputs, "--years", year_text],
        env,
        folder / "rebuild.log",
    )
    print(f"[{name}] coefficient step {last}: ours, pandas, floor", flush=True)
    figures_file = folder / "compare.json"
    compare = measure(
        [
            sys.executable,
            "-m",
            "bench.steps",
            "compare",
            *places,
            "--year",
            str(last),
            "--out",
            str(figures_file),
        ],
        env,
        folder / "compare.log",
    )
    comparison = json.loads(figures_file.read_text(encoding="utf-8"))
    ingest_last = per_year[last]["ingest"]
    totals = {
        stage: sum(y[stage] for y in per_year.values()) for stage in ("ingest", "models", "alerts", "publish")
    }
    return {
        "scale": name,
        "census_years": years,
        "school_units": units,
        "counties": truth["generator"]["counties"],
        "extract_bytes": sum(f.stat().st_size for y in years for f in (landing / str(y)).iterdir()),
        "generate": {"seconds": generated.seconds, "peak_mib": generated.peak_mib},
        "full_run": {"seconds": full.seconds, "peak_mib": full.peak_mib},
        "report": {
            "seconds": report.seconds,
            "peak_mib": report.peak_mib,
            "files": len(report_files),
            "county_pages": len(list((report_dir / "counties").glob("*.html"))),
            "bytes": sum(f.stat().st_size for f in report_files),
        },
        "last_year_steps": dict(sorted(steps.get(last, {}).items(), key=lambda kv: -kv[1])),
        "rebuild": {"seconds": rebuild.seconds, "peak_mib": rebuild.peak_mib},
        "compare_process": {"seconds": compare.seconds, "peak_mib": compare.peak_mib},
        "stage_totals": totals,
        "atomicity": atomicity,
        "per_year": {str(y): stages for y, stages in per_year.items()},
        "comparison": comparison,
        "ratios": {
            "coefficient_vs_pandas": comparison["pandas_seconds"] / comparison["ours_seconds"],
            "coefficient_vs_direct": comparison["ours_seconds"] / comparison["direct_seconds"],
            "ingest_vs_typed_load": ingest_last / comparison["typed_load"]["seconds"],
            "ingest_vs_floor": ingest_last / comparison["floor"]["seconds"],
            "coefficient_vs_floor": comparison["ours_seconds"] / comparison["floor"]["seconds"],
            "publish_last_vs_first": per_year[last]["publish"] / per_year[years[0]]["publish"],
        },
        "snapshot_mib": published.stat().st_size / 2**20,
        "warehouse_mib": warehouse.stat().st_size / 2**20,
    }


def verdicts(results: dict) -> list[dict]:
    """Each target of bench/targets.yaml against the figures of this run (national scale)."""
    national = next((s for s in results["scales"] if s["scale"] == "national"), None)
    if national is None:
        return []
    ratios, run, report = national["ratios"], national["full_run"], national["report"]
    years = len(national["census_years"])
    first, last = national["census_years"][0], national["census_years"][-1]
    checks = [
        (
            f"national coefficient step >= {TARGETS['coefficient_vs_pandas_min']:g}x faster than the pandas notebook",
            f"{ratios['coefficient_vs_pandas']:.1f}x",
            ratios["coefficient_vs_pandas"] >= TARGETS["coefficient_vs_pandas_min"],
        ),
        (
            f"national coefficient step within {TARGETS['coefficient_vs_direct_max']:g}x of the direct DuckDB query",
            f"{ratios['coefficient_vs_direct']:.2f}x",
            ratios["coefficient_vs_direct"] <= TARGETS["coefficient_vs_direct_max"],
        ),
        (
            f"national ingest within {TARGETS['ingest_vs_typed_load_max']:g}x of DuckDB's own typed load",
            f"{ratios['ingest_vs_typed_load']:.2f}x",
            ratios["ingest_vs_typed_load"] <= TARGETS["ingest_vs_typed_load_max"],
        ),
        (
            f"publish of year {years} ({last}) within {TARGETS['publish_growth_max']:g}x of year 1 ({first})",
            f"{ratios['publish_last_vs_first']:.2f}x",
            ratios["publish_last_vs_first"] <= TARGETS["publish_growth_max"],
        ),
        (
            f"national {years}-year full run under {TARGETS['national_full_run_seconds_max']:g} s",
            f"{run['seconds']:.0f} s",
            run["seconds"] < TARGETS["national_full_run_seconds_max"],
        ),
        (
            f"national {years}-year full run under {TARGETS['national_full_run_peak_gib_max']:g} GiB",
            f"{run['peak_mib'] / 1024:.2f} GiB",
            run["peak_mib"] / 1024 < TARGETS["national_full_run_peak_gib_max"],
        ),
        (
            f"`junheng report` for the whole country under {TARGETS['national_report_seconds_max']:g} s",
            f"{report['seconds']:.0f} s",
            report["seconds"] < TARGETS["national_report_seconds_max"],
        ),
        (
            f"`junheng report` for the whole country under {TARGETS['national_report_peak_gib_max']:g} GiB",
            f"{report['peak_mib'] / 1024:.2f} GiB",
            report["peak_mib"] / 1024 < TARGETS["national_report_peak_gib_max"],
        ),
    ]
    if years < 10:  # the limits of the full run are for ten census years
        checks = [c for c in checks if "full run" not in c[0]]
    return [{"target": t, "value": v, "met": bool(m)} for t, v, m in checks]


def _size(n: float) -> str:
    return f"{n / 2**20:.0f} MiB" if n >= 2**20 else f"{n / 2**10:.0f} KiB"


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def _correction_rows(atomicity: dict) -> list[list[object]]:
    """The reload of the first year (a corrected early year), beside the reload of the last one."""
    if "correction_year" not in atomicity:
        return []
    seconds = atomicity["correction_process_seconds"]
    return [
        [
            f"reload of the first year {atomicity['correction_year']}, rebuilding the cross-year results "
            f"of {atomicity['correction_rebuilt_years']} later years (saving {atomicity['correction_saved_rows']:,} rows)",
            f"{seconds:.1f}",
            f"{seconds / atomicity['reload_process_seconds']:.2f} x the reload of the last year; "
            f"{atomicity['correction_peak_mib']:.0f} MiB peak",
        ]
    ]


def _bounds(results: dict) -> list[str]:
    """What bounds each missed national target, in words, from the figures of this run (the
    tables under "National" are the profile)."""
    national = next((s for s in results["scales"] if s["scale"] == "national"), None)
    missed = {v["target"] for v in results["verdicts"] if not v["met"]}
    if national is None or not missed:
        return []
    c = national["comparison"]
    parts = c.get("ours_parts", {})
    writing = sum(max(p["seconds"] - p["select_seconds"], 0) for p in parts.values())
    selects = sum(p["select_seconds"] for p in parts.values())
    out = ["### What bounds the missed targets", ""]
    if any("coefficient step" in t for t in missed) and parts:
        out.append(
            f"- **Coefficient step.** Of its {c['ours_seconds']:.2f} s, {writing:.2f} s is writing the rows of "
            f"`staging.school_sections` and `marts.school_indicators` into the warehouse file and "
            f"{selects:.2f} s is the three selects. The direct query ({c['direct_seconds']:.2f} s) and "
            "pandas compute the county figures only, in memory, and add in whatever order comes. The "
            "selects alone are within "
            f"{selects / c['direct_seconds']:.1f}x of the direct query."
        )
    if any("ingest" in t for t in missed):
        ingest_parts = c.get("ingest_parts", {})
        top = sorted(ingest_parts.items(), key=lambda kv: -kv[1])[:3]
        step = national["per_year"][str(c["census_year"])]["ingest"]
        out.append(
            f"- **Ingest.** The step takes {step:.2f} s against {c['typed_load']['seconds']:.2f} s for DuckDB's "
            "typed load. The largest parts: "
            + "; ".join(f"{name} {seconds:.2f} s" for name, seconds in top)
            + f"; the parts add up to {sum(ingest_parts.values()):.2f} s, the rest is the step's own work "
            "(the load's undo copy, the previous year's amounts for the unit check, the next year's "
            "year-on-year warnings)."
        )
    if any("full run under" in t and " s" in t.split("under")[-1] for t in missed):
        totals = national["stage_totals"]
        steps = national["last_year_steps"]
        publish = steps.get("published__warehouse_snapshot", 0.0)
        rest = sum(steps.values()) - publish
        out.append(
            f"- **Full run.** {national['full_run']['seconds']:.0f} s: ingest {totals['ingest']:.0f} s, models "
            f"{totals['models']:.0f} s, monitoring and alerts {totals['alerts']:.0f} s, publish "
            f"{totals['publish']:.0f} s. In the last year, publishing (copy of the whole working file, "
            f"the quality suites, the year's Parquet files) took {publish:.1f} s and every other step "
            f"{rest:.1f} s together: even with a free publish the ten years would take about "
            f"{rest * len(national['census_years']):.0f} s."
        )
    return [*out, ""]


def markdown(results: dict) -> str:
    m = results["machine"]
    lines = [
        "# junheng benchmark results",
        "",
        f"Written by `make bench` ({results['mode']} mode) on {results['finished']}; every figure is from that one run.",
        "The raw figures are in `results.json`. What each figure includes and how to read the targets: `bench/README.md`.",
        "",
        "## Machine",
        "",
        f"- {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; {m['system']}; Python {m['python']}",
        "- " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()),
        "",
        "## Targets",
        "",
        *_table(
            ["target", "this run", "met"],
            [[v["target"], v["value"], "yes" if v["met"] else "**no**"] for v in results["verdicts"]],
        ),
        "",
    ]
    lines += _bounds(results)
    for scale in results["scales"]:
        c, r = scale["comparison"], scale["ratios"]
        units = scale["school_units"]
        lines += [
            f"## {scale['scale'].capitalize()}: {scale['counties']} counties, census years "
            f"{scale['census_years'][0]}-{scale['census_years'][-1]}",
            "",
            f"{min(units.values()):,}-{max(units.values()):,} school units a year, "
            f"{sum(units.values()):,} in all; extracts {_size(scale['extract_bytes'])} of CSV; "
            f"warehouse {scale['warehouse_mib']:.0f} MiB, published snapshot {scale['snapshot_mib']:.0f} MiB.",
            "",
            *_table(
                ["step (own process)", "wall time", "peak memory"],
                [
                    [
                        "generate",
                        f"{scale['generate']['seconds']:.1f} s",
                        f"{scale['generate']['peak_mib']:.0f} MiB",
                    ],
                    [
                        "full run (`junheng run`)",
                        f"{scale['full_run']['seconds']:.1f} s",
                        f"{scale['full_run']['peak_mib']:.0f} MiB",
                    ],
                    [
                        "rebuild every model and alert",
                        f"{scale['rebuild']['seconds']:.1f} s",
                        f"{scale['rebuild']['peak_mib']:.0f} MiB",
                    ],
                    [
                        f"`junheng report` of {scale['census_years'][-1]}: {scale['report']['county_pages']:,} "
                        f"county pages, Excel, dictionary ({scale['report']['files']:,} files, "
                        f"{_size(scale['report']['bytes'])})",
                        f"{scale['report']['seconds']:.1f} s",
                        f"{scale['report']['peak_mib']:.0f} MiB",
                    ],
                ],
            ),
            "",
            "Inside the full run, from the Dagster event log (seconds):",
            "",
            *_table(
                [
                    "census year",
                    "school units",
                    "ingest",
                    "models",
                    "of which coefficient step",
                    "alerts",
                    "publish",
                ],
                [
                    [
                        y,
                        f"{units[int(y)]:,}",
                        f"{s['ingest']:.2f}",
                        f"{s['models']:.2f}",
                        f"{s['coefficient']:.2f}",
                        f"{s['alerts']:.2f}",
                        f"{s['publish']:.2f}",
                    ]
                    for y, s in scale["per_year"].items()
                ]
                + [
                    [
                        "all",
                        f"{sum(units.values()):,}",
                        *(f"{scale['stage_totals'][k]:.1f}" for k in ("ingest", "models")),
                        "",
                        *(f"{scale['stage_totals'][k]:.1f}" for k in ("alerts", "publish")),
                    ]
                ],
            ),
            "",
            f"Census year {c['census_year']} side by side:",
            "",
            *_table(
                ["what", "seconds", "ratio"],
                [
                    [
                        "floor: DuckDB `select count(*)` over the year's extract files",
                        f"{c['floor']['seconds']:.3f}",
                        "1",
                    ],
                    [
                        "DuckDB's own typed load of the same files (`read_csv` + insert into a typed table on disk)",
                        f"{c['typed_load']['seconds']:.3f}",
                        f"{c['typed_load']['seconds'] / c['floor']['seconds']:.1f}x the floor",
                    ],
                    [
                        "ingest (read, check, load, warnings; the Dagster step)",
                        f"{scale['per_year'][str(c['census_year'])]['ingest']:.3f}",
                        f"**{r['ingest_vs_typed_load']:.2f}x** the typed load; {r['ingest_vs_floor']:.1f}x the floor",
                    ],
                    [
                        "coefficient step, direct: one hand-written DuckDB query from `raw.census_schools`, nothing written",
                        f"{c['direct_seconds']:.3f}",
                        f"{c['direct_seconds'] / c['floor']['seconds']:.1f}x the floor",
                    ],
                    [
                        "coefficient step, ours (3 SQL models, tables written, best of 3)",
                        f"{c['ours_seconds']:.3f}",
                        f"**{r['coefficient_vs_direct']:.2f}x** the direct query; {r['coefficient_vs_floor']:.1f}x the floor",
                    ],
                    [
                        "coefficient step, pandas notebook baseline",
                        f"{c['pandas_seconds']:.3f}",
                        f"ours is **{r['coefficient_vs_pandas']:.1f}x** faster",
                    ],
                ],
            ),
            "",
            f"The coefficient step of census year {c['census_year']} model by model (best of 3 each; the "
            "select alone puts the rows into a temporary table in memory instead of the warehouse file):",
            "",
            *_table(
                ["model", "seconds", "its select alone", "writing the rows"],
                [
                    [
                        f"`{relation}`",
                        f"{part['seconds']:.3f}",
                        f"{part['select_seconds']:.3f}",
                        f"{max(part['seconds'] - part['select_seconds'], 0):.3f}",
                    ]
                    for relation, part in c.get("ours_parts", {}).items()
                ],
            ),
            "",
            f"Ingest of census year {c['census_year']} part by part (the same functions, timed one by one "
            "on a scratch copy; the floor reads the same files):",
            "",
            *_table(
                ["part", "seconds", "x the floor"],
                [
                    [part, f"{seconds:.3f}", f"{seconds / c['floor']['seconds']:.1f}"]
                    for part, seconds in c.get("ingest_parts", {}).items()
                ],
            ),
            "",
            f"Loading census year {c['census_year']} whole or not at all (a reload saves the year's rows "
            "first, so that a failed run can be rolled back; a first load has nothing to save):",
            "",
            *_table(
                ["what", "seconds", "share"],
                [
                    [
                        f"first load of {c['census_year']} (ingest, models, alerts, publish)",
                        f"{scale['atomicity']['first_load_seconds']:.2f}",
                        "",
                    ],
                    [
                        f"reload: saving {scale['atomicity']['reload_saved_rows']:,} rows of "
                        f"{scale['atomicity']['reload_saved_tables']} tables",
                        f"{scale['atomicity']['reload_save_seconds']:.2f}",
                        f"{scale['atomicity']['reload_save_seconds'] / scale['atomicity']['first_load_seconds']:.0%}"
                        " of the first load",
                    ],
                    [
                        "rolling the year back (a failed reload)",
                        f"{scale['atomicity']['rollback_seconds']:.2f}",
                        "",
                    ],
                    [
                        "the whole reload (`junheng run --years`, own process)",
                        f"{scale['atomicity']['reload_process_seconds']:.1f}",
                        f"{scale['atomicity']['reload_peak_mib']:.0f} MiB peak",
                    ],
                    *_correction_rows(scale["atomicity"]),
                ],
            ),
            "",
            *(
                f"Agreement with {who}: {a['coefficients']:,} coefficients; keys in one result only: "
                f"{a['keys_only_in_one']}; school-count mismatches: {a['n_schools_mismatch']}; "
                f"null mismatches: {a['null_mismatch']}; largest relative difference "
                f"{a['max_relative_difference']:.1e}."
                for who, a in (
                    ("the pandas notebook", c["agreement"]),
                    ("the direct query", c["direct_agreement"]),
                )
            ),
            "",
            f"Profile of census year {c['census_year']} in the full run: every step, from the Dagster event "
            f"log (publish {r['publish_last_vs_first']:.2f}x its first year's):",
            "",
            *_table(
                ["step", "seconds"],
                [[f"`{k}`", f"{v:.2f}"] for k, v in scale["last_year_steps"].items()]
                + [["all steps", f"{sum(scale['last_year_steps'].values()):.2f}"]],
            ),
            "",
        ]
    lines += [
        "## Reproduce",
        "",
        "`make bench` runs `python -m bench.run` (national years: `BENCH_NATIONAL_YEARS`, default 10). "
        "Times vary with the machine and its load; compare the ratios, which are measured in the same run.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--tiny", action="store_true", help="a few counties and years (the test suite's mode)"
    )
    parser.add_argument(
        "--national-years", type=int, default=10, help="national census years, up to 10 (default 10)"
    )
    parser.add_argument(
        "--work", default=str(ROOT / "build" / "bench"), help="scratch folder for data and warehouses"
    )
    parser.add_argument("--out", default=str(ROOT / "bench"), help="folder for results.md and results.json")
    args = parser.parse_args(argv)
    work, out = Path(args.work), Path(args.out)
    work.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if args.tiny:
        plans = [
            ("province", ["--counties", "6"], ALL_YEARS[-3:]),
            ("national", ["--scale", "national", "--provinces", "64"], ALL_YEARS[-2:]),
        ]
    else:
        n = max(1, min(args.national_years, len(ALL_YEARS)))
        plans = [
            ("province", ["--counties", "60"], ALL_YEARS),
            ("national", ["--scale", "national"], ALL_YEARS[-n:]),
        ]
    results = {
        "mode": "tiny" if args.tiny else "full",
        "machine": machine(),
        "scales": [bench_scale(name, extra, years, work) for name, extra, years in plans],
    }
    results["verdicts"] = verdicts(results)
    results["seconds"] = time.perf_counter() - started
    results["finished"] = time.strftime("%Y-%m-%d %H:%M")
    (out / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    (out / "results.md").write_text(markdown(results), encoding="utf-8")
    print(f"wrote {out / 'results.md'} and results.json ({results['seconds']:.0f} s)")
    for verdict in results["verdicts"]:
        print(f"  {'met    ' if verdict['met'] else 'MISSED '} {verdict['target']}: {verdict['value']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
