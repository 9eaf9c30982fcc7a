"""The benchmark: `make bench` (or `python -m bench.run`). Writes bench/results.md and results.json.

For one province and for the national scale it measures, each in a child process of its own
(wall time, and peak memory from the kernel's rusage of that child), on the same generated
landing folder (`junheng generate`):

- in a fresh warehouse, the first load: one `junheng run` of every census year (one Dagster run of
  `census_year_job` over the range of years: reference data, then ingest, the per-year models, the
  all-years models and alerts, and one publish), then `junheng report` from its snapshot;
- on that loaded warehouse: a re-run of every year (`junheng run` again), set against the first
  load; a re-run of the last census year alone; a re-run of the first census year alone (a
  corrected early year: the all-years tables of every later year are rebuilt), set against the
  re-run of the last year; and the rebuild of every SQL model and alert of every year from the
  loaded census rows, published (`python -m bench.steps rebuild`: the run without its ingest);
- for the last census year (`python -m bench.steps compare`, on that warehouse): the coefficient
  step (our SQL models, best of three) against a hand-written DuckDB query and a notebook-style
  pandas implementation of the same coefficients on the same rows (each checked against ours,
  value by value), DuckDB's own typed load of the year's extract files, the floor (DuckDB counting
  their rows), and the ingest part by part;
- in a second fresh warehouse, publishing as the history grows: `junheng run --years <first>`,
  then the second to the last but one year in one run, then `junheng run --years <last>`; the
  publish step of the last run against the first's. The last run ingests exactly one year: its
  ingest step is set against DuckDB's typed load of the same files.

Inside every `junheng run` (and the rebuild), the steps' times come from the run's Dagster event
log (one run of the census-year job per command, checked), summed into ingest, the per-year models,
the all-years models and alerts, and publish; the publish step's own metadata gives the Parquet
files it wrote and kept.

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

from bench.warm import Launcher

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("duckdb", "polars", "pandas", "numpy", "pyarrow", "dagster", "pandera", "great-expectations")
ALL_YEARS = list(range(2015, 2025))
TARGETS = {
    k: float(v["value"])
    for k, v in yaml.safe_load((ROOT / "bench" / "targets.yaml").read_text(encoding="utf-8")).items()
}
CENSUS_YEAR_JOB = "census_year_job"
STAGES = ("ingest", "per_year", "coefficient", "all_years", "publish")
"""A run's steps summed by stage: the ingest, the per-year models (of which the coefficient step),
the all-years models, warnings and alerts, and publishing."""
COEFFICIENT_STEPS = (
    "staging__school_sections",
    "marts__school_indicator_values",
    "marts__school_indicators",  # the view's step: create it, check its key
    "marts__county_indicator_cv",
)
PUBLISH_METADATA = ("seconds", "files_written", "files_kept", "written_mib", "version")


@dataclass
class Measured:
    command: list[str]
    seconds: float
    peak_mib: float
    returncode: int
    output: str


WARM: list[Launcher] = []
"""In tiny mode, the warm launcher that starts every measured process but the first load
(bench/warm.py): the test suite's check of this script then spends its time on the runs, not on
importing Dagster and great-expectations again for each. `make bench` starts every process cold."""


def measure(command: list[str], env: dict[str, str], log: Path, cold: bool = False) -> Measured:
    """Run a command as a child process; its wall time and its own peak resident memory. With a
    warm launcher (tiny mode) and not `cold`, the child is forked from it: its memory then
    includes the launcher's imports."""
    started = time.perf_counter()
    with open(log, "w", encoding="utf-8") as out:
        if WARM and not cold:
            python = _as_python(command)
            warm = WARM[0].popen(python, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
            returncode, peak_kib = warm.wait(), warm.usage["peak_kib"]
        else:
            child = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
            _, status, usage = os.wait4(child.pid, 0)
            returncode, peak_kib = os.waitstatus_to_exitcode(status), usage.ru_maxrss  # KiB
    seconds = time.perf_counter() - started
    output = log.read_text(encoding="utf-8", errors="replace")
    if returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({returncode}); last output:\n{output[-3000:]}")
    return Measured(command, seconds, peak_kib / 1024, returncode, output)


def _as_python(command: list[str]) -> list[str]:
    """A command of this script as a Python's arguments: `junheng ...` is `-m pipelines.cli ...`."""
    if command[0] == sys.executable:
        return command[1:]
    if Path(command[0]).name == "junheng":
        return ["-m", "pipelines.cli", *command[1:]]
    raise ValueError(f"not a Python command: {command[0]}")


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


def step_stages() -> dict[str, str]:
    """The stage of each step of the census-year job, by its step key, from the definitions: the
    ingest, a partitioned asset (per year), an unpartitioned one (all years), or publishing."""
    from pipelines.definitions import build_definitions
    from pipelines.defs.jobs import REFERENCE_ASSETS
    from pipelines.defs.resources import PUBLISHED_KEY

    reference = {id(a) for a in REFERENCE_ASSETS}
    stages: dict[str, str] = {}
    for asset in build_definitions().assets or []:
        if id(asset) in reference:
            continue
        if asset.key == PUBLISHED_KEY:
            stage = "publish"
        elif asset.key.path == ["raw", "census_schools"]:
            stage = "ingest"
        elif asset.partitions_def is not None:
            stage = "per_year"
        else:
            stage = "all_years"
        stages[asset.op.name] = stage
    return stages


def _instance(dagster_home: Path):
    import dagster as dg

    return dg.DagsterInstance.from_config(str(dagster_home))


def census_runs(dagster_home: Path) -> list[str]:
    """The ids of every run of the census-year job in this Dagster home."""
    import dagster as dg

    instance = _instance(dagster_home)
    try:
        return [r.run_id for r in instance.get_runs(filters=dg.RunsFilter(job_name=CENSUS_YEAR_JOB))]
    finally:
        instance.dispose()


def run_steps(dagster_home: Path, run_id: str, stage_of: dict[str, str]) -> dict:
    """One census-year run from its Dagster event log: every step's seconds, their sums by stage,
    and the publish step's own metadata (seconds, Parquet files written and kept, MiB written)."""
    import dagster as dg

    from pipelines.defs.resources import PUBLISHED_KEY

    instance = _instance(dagster_home)
    try:
        steps = {
            s.step_key: (s.end_time or 0.0) - (s.start_time or 0.0)
            for s in instance.get_run_step_stats(run_id)
        }
        publish: dict = {}
        for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
            materialization = entry.asset_materialization
            if materialization is not None and materialization.asset_key == PUBLISHED_KEY:
                publish = {k: v.value for k, v in materialization.metadata.items() if k in PUBLISH_METADATA}
    finally:
        instance.dispose()
    unknown = sorted(set(steps) - set(stage_of))
    if unknown:
        raise RuntimeError(f"run {run_id}: steps of no known asset: {unknown}")
    stages = dict.fromkeys(STAGES, 0.0)
    for key, seconds in steps.items():
        stages[stage_of[key]] += seconds
        if key in COEFFICIENT_STEPS:
            stages["coefficient"] += seconds
    return {
        "run_id": run_id,
        "steps": dict(sorted(steps.items(), key=lambda kv: -kv[1])),
        "stages": stages,
        "publish": publish,
    }


def report_parts(report_dir: Path, census_year: int) -> dict:
    """The two parts of `junheng report` that grow with the certified counties, timed from the
    modification times of the files it wrote. The report writes them in this order
    (pipelines.lib.outputs.folder.write_outputs): each certified county's filing (page and workbook,
    counties/<code>_县域均衡表_<year>.*), one county after another; then the province's report
    (监测报告_<year>.html); then every PDF, in one Chromium. So the filings took from the first
    filing file to the last (short by the first county's own time, some 0.1 s), and the PDFs from
    the province's report to the last PDF."""
    from pipelines.lib.outputs.filing import file_stem
    from pipelines.lib.outputs.province_report import report_name

    filings = [
        f for f in (report_dir / "counties").glob(f"{file_stem('*', census_year)}.*") if f.suffix != ".pdf"
    ]
    pdfs = list(report_dir.rglob("*.pdf"))
    province = report_dir / report_name(census_year)
    written = [f.stat().st_mtime for f in filings]
    return {
        "filing_counties": sum(f.suffix == ".html" for f in filings),
        "filings_seconds": max(written) - min(written) if written else 0.0,
        "pdfs": len(pdfs),
        "pdf_seconds": max(f.stat().st_mtime for f in pdfs) - province.stat().st_mtime if pdfs else 0.0,
    }


@dataclass
class Place:
    """A warehouse of its own on the shared landing folder: the working file, the published
    snapshot, the reports folder and the Dagster home its runs are recorded in."""

    folder: Path
    landing: Path

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True)
        self.dagster_home.mkdir()
        shutil.copyfile(ROOT / "dagster.yaml", self.dagster_home / "dagster.yaml")

    @property
    def warehouse(self) -> Path:
        return self.folder / "junheng.duckdb"

    @property
    def published(self) -> Path:
        return self.folder / "published" / "junheng.duckdb"

    @property
    def reports(self) -> Path:
        return self.folder / "reports"

    @property
    def dagster_home(self) -> Path:
        return self.folder / "dagster_home"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "DAGSTER_HOME": str(self.dagster_home), "PYTHONPATH": str(ROOT)}

    def places(self) -> list[str]:
        return ["--landing", str(self.landing), "--warehouse", str(self.warehouse)]

    def outputs(self) -> list[str]:
        return ["--published", str(self.published), "--reports", str(self.reports)]

    def junheng_run(self, years: list[int] | None) -> list[str]:
        """`junheng run` here, of the given census years (None: every year in the landing folder)."""
        junheng = str(Path(sys.executable).parent / "junheng")
        chosen = ["--years", ",".join(map(str, years))] if years else []
        return [junheng, "run", *self.places(), *self.outputs(), *chosen]

    def sizes(self) -> dict:
        """What the warehouse takes on disk: the working file, the published Parquet files (every
        kept version's) and the snapshot catalog (views only)."""
        parquet = self.published.parent / "parquet"
        return {
            "warehouse_mib": self.warehouse.stat().st_size / 2**20,
            "parquet_mib": sum(f.stat().st_size for f in parquet.rglob("*.parquet")) / 2**20,
            "parquet_files": len(list(parquet.rglob("*.parquet"))),
            "catalog_mib": self.published.stat().st_size / 2**20,
        }


def measured_run(
    place: Place, command: list[str], log: str, what: str, years: list[int], stage_of, cold: bool = False
) -> dict:
    """A command that makes exactly one census-year run in `place`: its wall time and peak memory
    as a process, and the run's steps from the Dagster event log."""
    before = set(census_runs(place.dagster_home))
    print(f"  {what}", flush=True)
    done = measure(command, place.env, place.folder / f"{log}.log", cold)
    new = [r for r in census_runs(place.dagster_home) if r not in before]
    if len(new) != 1:
        raise RuntimeError(f"{what}: expected one run of {CENSUS_YEAR_JOB}, found {len(new)}")
    return {
        "what": what,
        "census_years": years,
        "seconds": done.seconds,
        "peak_mib": done.peak_mib,
        **run_steps(place.dagster_home, new[0], stage_of),
    }


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _span(years: list[int]) -> str:
    return str(years[0]) if len(years) == 1 else f"{years[0]}-{years[-1]}"


def bench_scale(name: str, generate_args: list[str], years: list[int], work: Path) -> dict:
    """Generate, load, re-run, rebuild, compare and publish year by year at one scale; every
    figure of it as a dict."""
    folder = work / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    landing = folder / "landing"
    loaded = Place(folder / "loaded", landing)  # the first load, then the re-runs, rebuild, compare
    growth = Place(folder / "growth", landing)  # publishing year by year, from empty
    stage_of = step_stages()
    junheng = str(Path(sys.executable).parent / "junheng")
    first, last = years[0], years[-1]
    print(f"[{name}] generating {_span(years)}", flush=True)
    generated = measure(
        [junheng, "generate", "--out", str(landing), "--years", ",".join(map(str, years)), *generate_args],
        loaded.env,
        folder / "generate.log",
    )
    truth = json.loads((landing / "truth.json").read_text(encoding="utf-8"))
    units = {int(k): v for k, v in truth["school_units_per_year"].items()}
    print(
        f"[{name}] {len(years)} census years, {sum(units.values())} school units: a fresh warehouse",
        flush=True,
    )
    runs = {
        "first_load": measured_run(
            loaded,
            loaded.junheng_run(None),
            "run",
            f"first load of {_span(years)} (one run)",
            years,
            stage_of,
            cold=True,  # started as a user starts it, also in tiny mode
        )
    }
    sizes = {"after_first_load": loaded.sizes()}
    print("  `junheng report`: every county page, the Excel workbooks, the dictionary", flush=True)
    report_dir = loaded.folder / "report"
    report = measure(
        [junheng, "report", "--published", str(loaded.published), "--out", str(report_dir)],
        loaded.env,
        loaded.folder / "report.log",
    )
    report_files = [f for f in report_dir.rglob("*") if f.is_file()]
    report_split = report_parts(report_dir, last)
    runs["rerun_all"] = measured_run(
        loaded, loaded.junheng_run(None), "rerun", f"re-run of {_span(years)}, all loaded", years, stage_of
    )
    runs["rerun_last"] = measured_run(
        loaded, loaded.junheng_run([last]), "rerun-last", f"re-run of {last} alone", [last], stage_of
    )
    if len(years) > 1:
        runs["rerun_first"] = measured_run(
            loaded,
            loaded.junheng_run([first]),
            "rerun-first",
            f"re-run of {first} alone (a correction: {_count(len(years) - 1, 'later year')} rebuilt)",
            [first],
            stage_of,
        )
    rebuild = [sys.executable, "-m", "bench.steps", "rebuild", *loaded.places(), *loaded.outputs()]
    runs["rebuild"] = measured_run(
        loaded,
        [*rebuild, "--years", ",".join(map(str, years))],
        "rebuild",
        f"rebuild of every model and alert of {_span(years)}, published",
        years,
        stage_of,
    )
    sizes["after_reruns"] = loaded.sizes()
    print(
        f"[{name}] coefficient step {last}: ours, direct, pandas; typed load, floor, ingest parts", flush=True
    )
    figures_file = loaded.folder / "compare.json"
    compare = measure(
        [sys.executable, "-m", "bench.steps", "compare", *loaded.places(), "--year", str(last)]
        + ["--out", str(figures_file)],
        loaded.env,
        loaded.folder / "compare.log",
    )
    comparison = json.loads(figures_file.read_text(encoding="utf-8"))
    print(f"[{name}] publishing as the history grows: a second fresh warehouse", flush=True)
    runs["growth_first"] = measured_run(
        growth,
        growth.junheng_run([first]),
        "run-first",
        f"{first} alone, into an empty warehouse",
        [first],
        stage_of,
    )
    middle = years[1:-1]
    if middle:
        runs["growth_middle"] = measured_run(
            growth, growth.junheng_run(middle), "run-middle", f"{_span(middle)} in one run", middle, stage_of
        )
    if len(years) > 1:
        runs["growth_last"] = measured_run(
            growth,
            growth.junheng_run([last]),
            "run-last",
            f"{last} alone, on {_count(len(years) - 1, 'loaded year')}",
            [last],
            stage_of,
        )
    one_year = runs.get("growth_last", runs["growth_first"])  # the run that ingests the last year alone
    ingest_last = one_year["stages"]["ingest"]
    publish = {key: run["stages"]["publish"] for key, run in runs.items()}
    return {
        "scale": name,
        "census_years": years,
        "school_units": units,
        "counties": truth["generator"]["counties"],
        "extract_bytes": sum(f.stat().st_size for y in years for f in (landing / str(y)).iterdir()),
        "generate": {"seconds": generated.seconds, "peak_mib": generated.peak_mib},
        "full_run": {"seconds": runs["first_load"]["seconds"], "peak_mib": runs["first_load"]["peak_mib"]},
        "report": {
            "seconds": report.seconds,
            "peak_mib": report.peak_mib,
            "files": len(report_files),
            # counties/<code>.html (the filing pages beside them are counties/<code>_县域均衡表_<year>.html)
            "county_pages": sum(p.stem.isdigit() for p in (report_dir / "counties").glob("*.html")),
            "bytes": sum(f.stat().st_size for f in report_files),
            **report_split,
        },
        "rebuild": {"seconds": runs["rebuild"]["seconds"], "peak_mib": runs["rebuild"]["peak_mib"]},
        "compare_process": {"seconds": compare.seconds, "peak_mib": compare.peak_mib},
        "runs": runs,
        "ingest_last_year": {"census_year": last, "seconds": ingest_last, "run": one_year["what"]},
        "sizes": sizes,
        "comparison": comparison,
        "ratios": {
            "coefficient_vs_pandas": comparison["pandas_seconds"] / comparison["ours_seconds"],
            "coefficient_vs_direct": comparison["ours_seconds"] / comparison["direct_seconds"],
            "coefficient_vs_floor": comparison["ours_seconds"] / comparison["floor"]["seconds"],
            "ingest_vs_typed_load": ingest_last / comparison["typed_load"]["seconds"],
            "ingest_vs_floor": ingest_last / comparison["floor"]["seconds"],
            "rerun_vs_first_load": runs["rerun_all"]["seconds"] / runs["first_load"]["seconds"],
            "publish_last_vs_first": (
                publish["growth_last"] / publish["growth_first"] if "growth_last" in runs else None
            ),
            "correction_vs_rerun_last": (
                runs["rerun_first"]["seconds"] / runs["rerun_last"]["seconds"]
                if "rerun_first" in runs
                else None
            ),
        },
    }


def verdicts(results: dict) -> list[dict]:
    """Each target of bench/targets.yaml against the figures of this run (national scale): the
    target, the figures it compares, their ratio, and whether it is met (None: not measured)."""
    national = next((s for s in results["scales"] if s["scale"] == "national"), None)
    if national is None:
        return []
    t, ratios, runs, c = TARGETS, national["ratios"], national["runs"], national["comparison"]
    full, report = national["full_run"], national["report"]
    years = national["census_years"]
    n, first, last = len(years), years[0], years[-1]
    checks: list[tuple[str, str, str, bool | None]] = []
    seconds_target = (
        f"national {n}-year first load (one `junheng run`) under {t['national_full_run_seconds_max']:g} s"
    )
    memory_target = (
        f"national {n}-year first load under {t['national_full_run_peak_gib_max']:g} GiB peak memory"
    )
    if n >= 10:  # the limits of the first load are for ten census years
        gib = full["peak_mib"] / 1024
        checks += [
            (
                seconds_target,
                f"{full['seconds']:.0f} s",
                f"{full['seconds'] / t['national_full_run_seconds_max']:.2f}x the limit",
                full["seconds"] < t["national_full_run_seconds_max"],
            ),
            (
                memory_target,
                f"{gib:.2f} GiB",
                f"{gib / t['national_full_run_peak_gib_max']:.2f}x the limit",
                gib < t["national_full_run_peak_gib_max"],
            ),
        ]
    else:
        checks += [
            (x, "not measured: the limit is for ten census years", "", None)
            for x in (seconds_target, memory_target)
        ]
    checks.append(
        (
            f"national re-run of the {n} loaded years within {t['rerun_vs_first_load_max']:g}x of their first load",
            f"re-run {runs['rerun_all']['seconds']:.1f} s, first load {runs['first_load']['seconds']:.1f} s",
            f"{ratios['rerun_vs_first_load']:.2f}x",
            ratios["rerun_vs_first_load"] <= t["rerun_vs_first_load_max"],
        )
    )
    publish_target = (
        f"national publish of year {n} ({last}) within {t['publish_growth_max']:g}x of year 1 ({first})"
    )
    if ratios["publish_last_vs_first"] is None:
        checks.append((publish_target, "not measured: one census year", "", None))
    else:
        p1, p10 = runs["growth_first"]["stages"]["publish"], runs["growth_last"]["stages"]["publish"]
        checks.append(
            (
                publish_target,
                f"year {n}: {p10:.2f} s, year 1: {p1:.2f} s (publish steps)",
                f"{ratios['publish_last_vs_first']:.2f}x",
                ratios["publish_last_vs_first"] <= t["publish_growth_max"],
            )
        )
    checks += [
        (
            f"national coefficient step >= {t['coefficient_vs_pandas_min']:g}x faster than the pandas notebook",
            f"ours {c['ours_seconds']:.3f} s, pandas {c['pandas_seconds']:.3f} s",
            f"{ratios['coefficient_vs_pandas']:.1f}x faster",
            ratios["coefficient_vs_pandas"] >= t["coefficient_vs_pandas_min"],
        ),
        (
            f"national coefficient step within {t['coefficient_vs_direct_max']:g}x of the direct DuckDB query",
            f"ours {c['ours_seconds']:.3f} s, direct {c['direct_seconds']:.3f} s",
            f"{ratios['coefficient_vs_direct']:.2f}x",
            ratios["coefficient_vs_direct"] <= t["coefficient_vs_direct_max"],
        ),
        (
            f"national ingest within {t['ingest_vs_typed_load_max']:g}x of DuckDB's own typed load",
            f"ingest of {last} alone {national['ingest_last_year']['seconds']:.2f} s, typed load "
            f"{c['typed_load']['seconds']:.2f} s",
            f"{ratios['ingest_vs_typed_load']:.2f}x",
            ratios["ingest_vs_typed_load"] <= t["ingest_vs_typed_load_max"],
        ),
        (
            f"`junheng report` for the whole country under {t['national_report_seconds_max']:g} s",
            f"{report['seconds']:.0f} s, of it {report['pdfs']:,} PDFs {report['pdf_seconds']:.0f} s",
            f"{report['seconds'] / t['national_report_seconds_max']:.2f}x the limit",
            report["seconds"] < t["national_report_seconds_max"],
        ),
        (
            f"`junheng report` for the whole country under {t['national_report_peak_gib_max']:g} GiB",
            f"{report['peak_mib'] / 1024:.2f} GiB",
            f"{report['peak_mib'] / 1024 / t['national_report_peak_gib_max']:.2f}x the limit",
            report["peak_mib"] / 1024 < t["national_report_peak_gib_max"],
        ),
    ]
    return [
        {"target": target, "value": value, "ratio": ratio, "met": None if met is None else bool(met)}
        for target, value, ratio, met in checks
    ]


def _size(n: float) -> str:
    return f"{n / 2**20:.0f} MiB" if n >= 2**20 else f"{n / 2**10:.0f} KiB"


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def _met(met: bool | None) -> str:
    return "not measured" if met is None else ("yes" if met else "**no**")


def _stage_words(stages: dict[str, float]) -> str:
    return (
        f"ingest {stages['ingest']:.1f} s, per-year models {stages['per_year']:.1f} s, all-years models and "
        f"alerts {stages['all_years']:.1f} s, publish {stages['publish']:.1f} s"
    )


def _bounds(results: dict) -> list[str]:
    """What bounds each missed national target, in words, from the figures of this run (the
    tables under "National" are the profile)."""
    national = next((s for s in results["scales"] if s["scale"] == "national"), None)
    missed = {v["target"] for v in results["verdicts"] if v["met"] is False}
    if national is None or not missed:
        return []
    c, runs = national["comparison"], national["runs"]
    parts = c.get("ours_parts", {})
    writing = sum(max(p["seconds"] - p["select_seconds"], 0) for p in parts.values())
    selects = sum(p["select_seconds"] for p in parts.values())
    out = ["### What bounds the missed targets", ""]
    if any("coefficient step" in t for t in missed) and parts:
        out.append(
            f"- **Coefficient step.** Of its {c['ours_seconds']:.2f} s, {writing:.2f} s is writing the rows of "
            f"`staging.school_sections` and `marts.school_indicator_values` into the warehouse file and "
            f"{selects:.2f} s is the three selects. The direct query ({c['direct_seconds']:.2f} s) and "
            "pandas compute the county figures only, in memory, and add in whatever order comes. The "
            "selects alone are within "
            f"{selects / c['direct_seconds']:.1f}x of the direct query."
        )
    if any("ingest" in t for t in missed):
        ingest_parts = c.get("ingest_parts", {})
        top = sorted(ingest_parts.items(), key=lambda kv: -kv[1])[:3]
        step = national["ingest_last_year"]["seconds"]
        out.append(
            f"- **Ingest.** The step of {c['census_year']} loaded alone takes {step:.2f} s against "
            f"{c['typed_load']['seconds']:.2f} s for DuckDB's typed load. The largest parts: "
            + "; ".join(f"{name} {seconds:.2f} s" for name, seconds in top)
            + f"; the parts add up to {sum(ingest_parts.values()):.2f} s, the rest is the step's own work "
            "(as the run's first writing step it opens the run's connection and transaction and checks "
            "every model table's columns against its SQL; the previous year's amounts for the unit "
            "check; keeping the year's coefficients as they were, for audit.revisions)."
        )
    if any("first load" in t and t.endswith(" s") for t in missed):
        first = runs["first_load"]
        rest = first["seconds"] - sum(first["steps"].values())
        out.append(
            f"- **First load.** {first['seconds']:.0f} s as a process; inside its one Dagster run: "
            f"{_stage_words(first['stages'])} (the coefficient step {first['stages']['coefficient']:.1f} s of "
            f"the per-year models). The other {rest:.0f} s are outside the steps: the process's start-up, the "
            "reference data, Dagster's own work between steps, and the summary printed at the end. Its "
            "slowest steps are in the profile below."
        )
    if any("re-run" in t for t in missed):
        names = {
            "ingest": "the ingest",
            "per_year": "the per-year models",
            "all_years": "the all-years models and alerts",
            "publish": "the publish step",
            "outside": "the time outside the steps",
        }

        def parts(run: dict) -> dict[str, float]:
            return {k: run["stages"][k] for k in names if k != "outside"} | {
                "outside": run["seconds"] - sum(run["steps"].values())
            }

        first, again = parts(runs["first_load"]), parts(runs["rerun_all"])
        grew, stage = max((again[k] - first[k], k) for k in names)
        out.append(
            f"- **Re-run.** First load: {_stage_words(runs['first_load']['stages'])}, {first['outside']:.1f} s "
            f"outside the steps. Re-run: {_stage_words(runs['rerun_all']['stages'])}, {again['outside']:.1f} s "
            f"outside the steps. What grew most is {names[stage]} ({grew:+.1f} s). The re-run replaces every "
            "year's rows in tables that already hold them and publishes every year anew; the first load "
            "wrote into empty tables."
        )
    if any("publish of year" in t for t in missed):
        years = len(national["census_years"])
        words = []
        for label, key in (("Year 1", "growth_first"), (f"year {years}", "growth_last")):
            p = runs[key]["publish"]
            words.append(
                f"{label}: {runs[key]['stages']['publish']:.2f} s, {p.get('files_written', 0)} Parquet files "
                f"written ({p.get('written_mib', 0)} MiB), {p.get('files_kept', 0)} kept"
            )
        out.append(
            "- **Publish.** "
            + "; ".join(words)
            + ". Besides writing the files, the publish step commits the run's transaction, writes the "
            "new catalog of views and runs the data-quality suites on it; this benchmark does not time "
            "those parts one by one."
        )
    if any("`junheng report`" in t for t in missed):
        report = national["report"]
        rest = report["seconds"] - report["filings_seconds"] - report["pdf_seconds"]
        out.append(
            f"- **Report.** {report['seconds']:.0f} s as a process, {report['peak_mib'] / 1024:.2f} GiB at its "
            f"peak: the filings of the {report['filing_counties']:,} certified counties (a page and a workbook "
            f"each) {report['filings_seconds']:.0f} s, printing {report['pdfs']:,} PDFs in Chromium "
            f"{report['pdf_seconds']:.0f} s, and {rest:.0f} s the rest ({report['county_pages']:,} county pages, "
            "the Excel exports, the province's report, the dictionary). The targets were set before the "
            "report wrote the filings (bench/README.md)."
        )
    return [*out, ""]


RUN_ROWS = (
    ("first_load", "loaded"),
    ("rerun_all", "loaded"),
    ("rerun_last", "loaded"),
    ("rerun_first", "loaded"),
    ("rebuild", "loaded"),
    ("growth_first", "growth"),
    ("growth_middle", "growth"),
    ("growth_last", "growth"),
)
"""The runs measured, in the order they ran, and their warehouse: `loaded` (a fresh warehouse
loaded once, then run again) or `growth` (a second fresh warehouse, loaded year by year)."""


def _runs_tables(scale: dict) -> list[str]:
    runs = scale["runs"]
    shown = [(key, where) for key, where in RUN_ROWS if key in runs]
    return [
        "Every run measured, as a process (the rebuild is `python -m bench.steps rebuild`, every other "
        "one `junheng run`); `loaded` is a fresh warehouse loaded once and then run again, `growth` a "
        "second fresh warehouse loaded year by year:",
        "",
        *_table(
            ["warehouse", "run", "wall time", "peak memory"],
            [
                [
                    where,
                    runs[key]["what"],
                    f"{runs[key]['seconds']:.1f} s",
                    f"{runs[key]['peak_mib']:.0f} MiB",
                ]
                for key, where in shown
            ],
        ),
        "",
        "Inside each run, its steps from the Dagster event log, by stage (seconds; the publish step's "
        "Parquet files from its own metadata):",
        "",
        *_table(
            [
                "run",
                "ingest",
                "per-year models",
                "of which coefficient step",
                "all-years models and alerts",
                "publish",
                "Parquet files written / kept",
            ],
            [
                [
                    runs[key]["what"],
                    *(f"{runs[key]['stages'][k]:.2f}" for k in STAGES),
                    f"{runs[key]['publish'].get('files_written', '')} / {runs[key]['publish'].get('files_kept', '')} "
                    f"({runs[key]['publish'].get('written_mib', '')} MiB)",
                ]
                for key, _ in shown
            ],
        ),
        "",
    ]


def _rerun_table(scale: dict) -> list[str]:
    runs, r = scale["runs"], scale["ratios"]
    rows = [
        [runs["first_load"]["what"], f"{runs['first_load']['seconds']:.1f}", "1"],
        [
            runs["rerun_all"]["what"],
            f"{runs['rerun_all']['seconds']:.1f}",
            f"**{r['rerun_vs_first_load']:.2f}x** the first load",
        ],
        [runs["rerun_last"]["what"], f"{runs['rerun_last']['seconds']:.1f}", ""],
    ]
    if "rerun_first" in runs:
        rows.append(
            [
                runs["rerun_first"]["what"],
                f"{runs['rerun_first']['seconds']:.1f}",
                f"{r['correction_vs_rerun_last']:.2f}x the re-run of the last year alone",
            ]
        )
    rows.append(
        [
            runs["rebuild"]["what"] + " (no ingest)",
            f"{runs['rebuild']['seconds']:.1f}",
            f"{runs['rebuild']['seconds'] / runs['first_load']['seconds']:.2f}x the first load; of its steps, "
            f"build {runs['rebuild']['stages']['per_year'] + runs['rebuild']['stages']['all_years']:.1f} s, "
            f"publish {runs['rebuild']['stages']['publish']:.1f} s",
        ]
    )
    return [
        "Running loaded years again (the `loaded` warehouse; each a process, wall time):",
        "",
        *_table(["run", "seconds", "ratio"], rows),
        "",
    ]


def _growth_table(scale: dict) -> list[str]:
    runs, ratio = scale["runs"], scale["ratios"]["publish_last_vs_first"]
    if ratio is None:
        return []
    rows = []
    for key in ("growth_first", "growth_middle", "growth_last"):
        if key not in runs:
            continue
        p = runs[key]["publish"]
        rows.append(
            [
                runs[key]["what"],
                f"{runs[key]['stages']['publish']:.2f}",
                f"{p.get('seconds', '')}",
                f"{p.get('files_written', '')} ({p.get('written_mib', '')} MiB)",
                f"{p.get('files_kept', '')}",
                f"**{ratio:.2f}x** the first"
                if key == "growth_last"
                else ("1" if key == "growth_first" else ""),
            ]
        )
    return [
        "Publishing as the history grows (the `growth` warehouse; the publish step of each run):",
        "",
        *_table(
            ["run", "publish step (s)", "publish's own seconds", "files written", "files kept", "ratio"], rows
        ),
        "",
    ]


def markdown(results: dict) -> str:
    m = results["machine"]
    lines = [
        "# junheng benchmark results",
        "",
        f"Written by `make bench` ({results['mode']} mode) on {results['finished']}; every figure is from that one run.",
        "The raw figures are in `results.json`. What each figure includes and how to read the targets: `bench/README.md`.",
        *(
            [
                "",
                "Every process but the first load was forked from a warm launcher (tiny mode, `bench/warm.py`): "
                "its time leaves out the imports, about 5 s, and its peak memory includes the launcher's.",
            ]
            if results.get("warm_launcher")
            else []
        ),
        "",
        "## Machine",
        "",
        f"- {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; {m['system']}; Python {m['python']}",
        "- " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()),
        "",
        "## Targets",
        "",
        *_table(
            ["target", "this run", "ratio", "met"],
            [[v["target"], v["value"], v["ratio"], _met(v["met"])] for v in results["verdicts"]],
        ),
        "",
    ]
    lines += _bounds(results)
    for scale in results["scales"]:
        c, r = scale["comparison"], scale["ratios"]
        units = scale["school_units"]
        last = scale["census_years"][-1]
        sizes = scale["sizes"]
        lines += [
            f"## {scale['scale'].capitalize()}: {scale['counties']} counties, census years "
            f"{scale['census_years'][0]}-{last}",
            "",
            f"{min(units.values()):,}-{max(units.values()):,} school units a year, "
            f"{sum(units.values()):,} in all; extracts {_size(scale['extract_bytes'])} of CSV.",
            "",
            *_table(
                [
                    "on disk (the `loaded` warehouse)",
                    "working file",
                    "published Parquet files",
                    "snapshot catalog",
                ],
                [
                    [
                        what,
                        f"{s['warehouse_mib']:.0f} MiB",
                        f"{s['parquet_mib']:.0f} MiB ({s['parquet_files']:,} files, every kept version's)",
                        f"{s['catalog_mib']:.1f} MiB",
                    ]
                    for what, s in (
                        ("after the first load", sizes["after_first_load"]),
                        ("after the re-runs and the rebuild", sizes["after_reruns"]),
                    )
                ],
            ),
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
                        "first load (`junheng run` of every year, fresh warehouse)",
                        f"{scale['full_run']['seconds']:.1f} s",
                        f"{scale['full_run']['peak_mib']:.0f} MiB",
                    ],
                    [
                        f"`junheng report` of {last}: {scale['report']['county_pages']:,} "
                        f"county pages, {scale['report']['filing_counties']:,} certified counties' filings "
                        f"({scale['report']['filings_seconds']:.1f} s), {scale['report']['pdfs']:,} PDFs "
                        f"({scale['report']['pdf_seconds']:.1f} s), Excel, dictionary "
                        f"({scale['report']['files']:,} files, {_size(scale['report']['bytes'])})",
                        f"{scale['report']['seconds']:.1f} s",
                        f"{scale['report']['peak_mib']:.0f} MiB",
                    ],
                    [
                        "rebuild every model and alert of every year, published",
                        f"{scale['rebuild']['seconds']:.1f} s",
                        f"{scale['rebuild']['peak_mib']:.0f} MiB",
                    ],
                ],
            ),
            "",
            *_runs_tables(scale),
            *_rerun_table(scale),
            *_growth_table(scale),
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
                        f"ingest (read, check, load, warnings): the Dagster step of {scale['ingest_last_year']['run']}",
                        f"{scale['ingest_last_year']['seconds']:.3f}",
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
            f"The coefficient step of census year {c['census_year']} model by model (best of 3 each, on a "
            "scratch copy of the `loaded` warehouse; the select alone puts the rows into a temporary table "
            "in memory instead of the warehouse file):",
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
            *_profile(scale),
        ]
    lines += [
        "## Reproduce",
        "",
        "`make bench` runs `python -m bench.run` (national years: `BENCH_NATIONAL_YEARS`, default 10). "
        "Times vary with the machine and its load; compare the ratios, which are measured in the same run.",
        "",
    ]
    return "\n".join(lines)


def _profile(scale: dict) -> list[str]:
    """Every step of the first load, slowest first, beside the same step in the run of the last
    year alone (the `growth` warehouse)."""
    runs = scale["runs"]
    first = runs["first_load"]["steps"]
    alone_run = runs.get("growth_last", runs["growth_first"])
    alone = alone_run["steps"]
    return [
        f"Profile of the first load ({len(scale['census_years'])} census years in one run) and of "
        f"{alone_run['what']}: every step, from the Dagster event log (seconds):",
        "",
        *_table(
            ["step", "first load", alone_run["what"]],
            [[f"`{k}`", f"{v:.2f}", f"{alone.get(k, 0.0):.2f}"] for k, v in first.items()]
            + [["all steps", f"{sum(first.values()):.2f}", f"{sum(alone.values()):.2f}"]],
        ),
        "",
    ]


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
        # one small province of the national generator: the code of both scales, in half the time
        WARM.append(Launcher())
        plans = [("national", ["--scale", "national", "--provinces", "64"], ALL_YEARS[-2:])]
    else:
        n = max(1, min(args.national_years, len(ALL_YEARS)))
        plans = [
            ("province", ["--counties", "60"], ALL_YEARS),
            ("national", ["--scale", "national"], ALL_YEARS[-n:]),
        ]
    results = {
        "mode": "tiny" if args.tiny else "full",
        "warm_launcher": bool(WARM),
        "machine": machine(),
        "scales": [bench_scale(name, extra, years, work) for name, extra, years in plans],
    }
    for launcher in WARM:
        launcher.close()
    results["verdicts"] = verdicts(results)
    results["seconds"] = time.perf_counter() - started
    results["finished"] = time.strftime("%Y-%m-%d %H:%M")
    (out / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    (out / "results.md").write_text(markdown(results), encoding="utf-8")
    print(f"wrote {out / 'results.md'} and results.json ({results['seconds']:.0f} s)")
    for verdict in results["verdicts"]:
        mark = {True: "met    ", False: "MISSED ", None: "n/a    "}[verdict["met"]]
        print(
            f"  {mark} {verdict['target']}: {verdict['value']}"
            + (f" ({verdict['ratio']})" if verdict["ratio"] else "")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
