"""The `junheng` command line: generate, run, validate, alerts, report, dictionary, demo.

Every command drives the same Dagster definitions in-process (pipelines.runner); paths default
to the JUNHENG_* environment variables, and flags override them. Commands that only read (alerts,
report, dictionary) open the published snapshot, so they never lock the working file.

A failure prints what went wrong in a few plain lines and where the full log is; `-v` shows
Dagster's log as it happens and Python's traceback. Exit codes: 0 done, 1 failed (nothing of
the failed census year was kept), 2 bad arguments (nothing started), 75 another load was still
running after the wait (try again later), 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from pipelines.lib import paths

EXIT_FAILED, EXIT_USAGE, EXIT_BUSY, EXIT_INTERRUPTED = 1, 2, 75, 130


def _years(text: str) -> list[int]:
    """`2015-2024` or `2015,2017,2019` or `2020`."""
    try:
        if "-" in text:
            first, last = (int(p) for p in text.split("-", 1))
            if last < first:
                raise ValueError
            return list(range(first, last + 1))
        return sorted(int(p) for p in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected years like 2015-2024 or 2015,2016, got {text!r}"
        ) from None


def cmd_generate(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    problem = paths.path_problem(Path(args.out), "landing folder", is_folder=True)
    if problem:
        print(f"junheng generate: {problem}", file=sys.stderr)
        return EXIT_USAGE
    if args.scale == "national":
        from pipelines.lib.synthetic.national import generate_national

        if args.messy:
            print("junheng generate: --messy is for the province scale only", file=sys.stderr)
            return EXIT_USAGE
        try:
            national = generate_national(
                Path(args.out),
                years=args.years,
                seed=args.seed,
                file_format=args.format,
                provinces=args.provinces,
                progress=lambda m: print(f"  {m}", flush=True),
            )
        except ValueError as exc:
            print(f"junheng generate: {exc}", file=sys.stderr)
            return EXIT_USAGE
        print(
            f"wrote {args.out}: {national.provinces} provinces, {national.counties} counties, "
            f"{len(national.units)} census years, {min(national.units.values())}-"
            f"{max(national.units.values())} school units per year, {national.files} files, "
            f"{national.bytes_written / 2**20:.0f} MiB ({time.perf_counter() - started:.1f}s)"
        )
        return 0
    from pipelines.lib.synthetic.province import generate

    try:
        truth = generate(
            Path(args.out),
            counties=args.counties,
            years=args.years,
            seed=args.seed,
            progress=lambda m: print(f"  {m}", flush=True),
            messy=args.messy,
            file_format=args.format,
        )
    except ValueError as exc:
        print(f"junheng generate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    units = truth["school_units_per_year"]
    print(
        f"wrote {args.out}: {args.counties} counties, {len(units)} census years, "
        f"{min(units.values())}-{max(units.values())} school units per year "
        f"({time.perf_counter() - started:.1f}s)"
    )
    print(f"planted scenarios: {Path(args.out) / 'truth.json'}")
    if args.messy:
        print(
            f"planted bad rows: {len(truth['planted_defects'])}, blank cells: {len(truth['blank_cells'])} "
            "(listed in truth.json)"
        )
    return 0


SHAPE_WORDS = {
    "zh": {
        "school_table": "每校一行的标准表",
        "county_export": "统计系统按县导出的表（统计三级，合并表头）",
        "jiaoji_forms": "基层报表工作簿（教基，每张报表一个工作表）",
        "declaration": "县区申报表（督导评估清单的申报项）",
    },
    "en": {
        "school_table": "one row per school (canonical)",
        "county_export": "statistics-system county exports (统计三级, merged headers)",
        "jiaoji_forms": "base-form workbooks (教基, one sheet per form)",
        "declaration": "county declaration files (the checklist's declared checkpoints)",
    },
}


def _print_shapes(warehouse: Path, census_year: int, lang: str = "zh") -> None:
    """The shapes of the census year's files, as the ingest recognised them (audit.loads.shape)."""
    from pipelines.lib.queries import sql
    from pipelines.lib.warehouse import connect

    words = SHAPE_WORDS[lang]
    with connect(warehouse, read_only=True) as con:
        shapes = con.execute(sql("outputs/file_shapes"), {"census_year": census_year}).fetchall()
    for shape, files, rows in shapes:
        declared = shape == "declaration"
        if lang == "zh":
            print(
                f"  {files:>3} 个文件，{rows:>5} {'条申报' if declared else '个学校单位'}：{words.get(shape, shape)}"
            )
        else:
            print(
                f"  {files:>3} file(s), {rows:>5} {'declarations' if declared else 'school units'}: {words.get(shape, shape)}"
            )


def _lang(args: argparse.Namespace) -> str:
    return "en" if getattr(args, "english", False) else "zh"


def _say(args: argparse.Namespace, zh: str, en: str) -> str:
    """The Chinese text, or with --english the English."""
    return en if _lang(args) == "en" else zh


def _year_list(years: list[int], lang: str = "zh") -> str:
    """Census years as written: runs of consecutive years as ranges, gaps shown
    ('2015–2019、2021、2023–2024'); empty for none."""
    runs: list[list[int]] = []
    for year in sorted(years):
        if runs and year == runs[-1][-1] + 1:
            runs[-1].append(year)
        else:
            runs.append([year])
    dash, comma = ("–", "、") if lang == "zh" else ("-", ", ")
    return comma.join(str(r[0]) if len(r) == 1 else f"{r[0]}{dash}{r[-1]}" for r in runs)


def _print_held_counties(warehouse: Path, census_years: list[int], lang: str = "zh") -> None:
    """The counties whose data is on hold in the census years just loaded, a line per year."""
    from pipelines.lib.outputs.summary import held_counties
    from pipelines.lib.warehouse import connect

    with connect(warehouse, read_only=True) as con:
        for line in held_counties(con, census_years, lang):
            print(line)


def _print_summary(warehouse: Path, lang: str = "zh") -> None:
    from pipelines.lib.outputs.summary import print_summary
    from pipelines.lib.warehouse import connect

    with connect(warehouse, read_only=True) as con:
        print(print_summary(con, lang))


def _run(args: argparse.Namespace, command: str, **paths_and_years):
    """run_pipeline with the CLI's progress, verbosity and wait; failures become one-line messages
    and exit codes (the summary, or the exit code)."""
    from pipelines.lib.loads.load_lock import LoadBusy
    from pipelines.runner import BadRequest, PipelineFailed, run_pipeline

    try:
        return run_pipeline(
            **paths_and_years,
            progress=lambda m: print(f"  {m}", flush=True),
            log_level="INFO" if args.verbose else "CRITICAL",
            wait_seconds=getattr(args, "wait", None),
            lang=_lang(args),
        )
    except BadRequest as exc:
        print(f"junheng {command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except LoadBusy as exc:
        print(f"junheng {command}: {exc}", file=sys.stderr)
        return EXIT_BUSY
    except PipelineFailed as exc:
        print(f"junheng {command} failed: {exc.headline}", file=sys.stderr)
        for line in exc.lines:
            print(f"  {line}", file=sys.stderr)
        if exc.log_file is not None:
            print(f"  完整日志 / full log: {exc.log_file}", file=sys.stderr)
        return EXIT_FAILED


def cmd_run(args: argparse.Namespace) -> int:
    summary = _run(
        args,
        "run",
        landing=paths.landing_dir(args.landing),
        warehouse=paths.warehouse_file(args.warehouse),
        published=paths.published_file(args.published),
        reports=paths.reports_dir(args.reports),
        census_years=args.years,
    )
    if isinstance(summary, int):
        return summary
    for year in summary.years_without_folder:
        print(
            _say(
                args,
                f"{year} 的落地目录不存在，仓库保留上次载入的数据 / the landing folder for {year} is missing; "
                "the warehouse keeps the data last loaded",
                f"the landing folder for {year} is missing; the warehouse keeps the data last loaded",
            )
        )
    loaded, kept = _year_list(summary.census_years, _lang(args)), _year_list(summary.years_kept, _lang(args))
    print(
        _say(
            args,
            f"已构建 {summary.warehouse}，用时 {summary.seconds:.1f} 秒：本次载入普查年度 {loaded}"
            + (f"；保留上次载入的 {kept}（本次未重新载入）" if kept else "")
            + f"；已发布 {summary.published}",
            f"built {summary.warehouse} in {summary.seconds:.1f}s: census years {loaded} loaded this run"
            + (f"; {kept} kept as last loaded (not loaded this run)" if kept else "")
            + f"; published {summary.published}",
        )
    )
    _print_held_counties(summary.published, summary.census_years, _lang(args))
    print()
    print(
        _say(args, "各年度达标情况（全部县，普查数据可判定的部分）：\n", "Counties meeting each standard:\n")
    )
    _print_summary(summary.published, _lang(args))
    return 0


def _write_outputs(
    args: argparse.Namespace, published: Path, reports: Path, census_year: int | None, county: str | None
):
    from pipelines.lib.outputs.folder import write_outputs

    started = time.perf_counter()
    outputs = write_outputs(published, reports, census_year, county)
    seconds = time.perf_counter() - started
    size = outputs.bytes / 2**20
    print(
        _say(
            args,
            f"{outputs.census_year} 年度报告：{outputs.files} 个文件，{size:.1f} MiB，在 {reports}（用时 {seconds:.1f} 秒）",
            f"reports for census year {outputs.census_year}: {outputs.files} files, {size:.1f} MiB in "
            f"{reports} ({seconds:.1f}s)",
        )
    )
    if outputs.filing_counties:
        print(
            _say(
                args,
                f"已认定县的填报材料（差异系数表、学校明细表、补足清单）：{outputs.filing_counties} 个县的工作簿和可打印页面，"
                f"PDF {outputs.pdfs} 份，在 {reports / 'counties'}",
                f"tables for certified counties: workbooks and printable pages of {outputs.filing_counties} "
                f"counties, {outputs.pdfs} PDFs, in {reports / 'counties'}",
            )
        )
    if outputs.pdf_message:
        print(outputs.pdf_message, file=sys.stderr)
    return outputs


def _as_of(text: str):
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: 日期格式应为 YYYY-MM-DD / a date like 2025-09-30"
        ) from None


def _snapshot_as_of(args: argparse.Namespace, published: Path) -> Path:
    """The published snapshot, or the kept version of --as-of DATE (ValueError naming the date)."""
    if not getattr(args, "as_of", None):
        return published
    from pipelines.lib.publish.snapshot import catalog_as_of

    if not published.exists():
        raise ValueError(f"{published} does not exist (run `junheng run` first)")
    return catalog_as_of(published, args.as_of)


def cmd_versions(args: argparse.Namespace) -> int:
    from pipelines.lib.publish.snapshot import kept_versions

    published = paths.published_file(args.published)
    if not published.exists():
        print(f"junheng versions: {published} does not exist (run `junheng run` first)", file=sys.stderr)
        return EXIT_USAGE
    print(
        _say(
            args,
            "版本  发布时间          本次载入的普查年度  目录",
            "version  published         census years loaded  catalog",
        )
    )
    for kept in kept_versions(published):
        when = kept.published_at.astimezone().strftime("%Y-%m-%d %H:%M")
        years = "、".join(map(str, kept.census_years)) or "-"
        mark = _say(args, "（当前）", " (current)") if kept.current else ""
        print(f"{kept.version:<5} {when}  {years:<18}  {kept.catalog}{mark}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from pipelines.lib.monitoring.alert_list import NoAlerts

    try:
        published = _snapshot_as_of(args, paths.published_file(args.published))
    except ValueError as exc:
        print(f"junheng report: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        outputs = _write_outputs(args, published, paths.reports_dir(args.out), args.year, args.county)
    except (FileNotFoundError, ValueError, NoAlerts) as exc:
        print(f"junheng report: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(_say(args, f"报告：{outputs.index}", f"report: {outputs.index}"))
    return 0


def cmd_dictionary(args: argparse.Namespace) -> int:
    from pipelines.lib.outputs.dictionary import write_dictionary

    published = paths.published_file(args.published)
    if not published.exists():
        print(f"junheng dictionary: {published} does not exist (run `junheng run` first)", file=sys.stderr)
        return EXIT_USAGE
    tables = write_dictionary(published, markdown=Path(args.out))
    print(f"wrote {args.out}: {tables} tables")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from pipelines.lib.loads.load_lock import LoadBusy, LoadLock
    from pipelines.lib.synthetic.province import generate

    started = time.perf_counter()
    landing = paths.landing_dir(args.landing)
    warehouse = paths.warehouse_file(args.warehouse)
    published = paths.published_file(args.published)
    reports = paths.reports_dir(args.reports)
    print(
        _say(
            args,
            f"1/3 生成一个模拟省（{args.counties} 个县，{args.years[0]}–{args.years[-1]} 年）到 {landing}",
            f"1/3 generating a synthetic province ({args.counties} counties, "
            f"{args.years[0]}-{args.years[-1]}) into {landing}",
        ),
        flush=True,
    )
    truth = generate(
        landing,
        counties=args.counties,
        years=args.years,
        seed=args.seed,
        progress=lambda m: print(f"  {m}", flush=True),
        file_format="mixed",  # the last year as county offices send it: three shapes in one folder
    )
    lock = LoadLock(warehouse)
    try:  # the demo always starts from an empty warehouse, unless a load is using it
        lock.acquire(0, "demo")
    except LoadBusy as exc:
        print(f"junheng demo: {exc}", file=sys.stderr)
        return EXIT_BUSY
    for stale in (warehouse, warehouse.with_name(warehouse.name + ".wal")):
        stale.unlink(missing_ok=True)
    lock.release()
    print(
        _say(
            args,
            f"2/3 运行数据流程，写入 {warehouse}，发布 {published}",
            f"2/3 running the pipeline into {warehouse}, publishing {published}",
        ),
        flush=True,
    )
    summary = _run(
        args,
        "demo",
        landing=landing,
        warehouse=warehouse,
        published=published,
        reports=reports,
        census_years=args.years,
    )
    if isinstance(summary, int):
        return summary
    _print_held_counties(warehouse, summary.census_years, _lang(args))
    print(
        _say(
            args,
            f"\n{args.years[-1]} 年的文件按各县实际报送的形式提供，读取结果：",
            f"\nCensus year {args.years[-1]} arrived in the shapes county offices send, read as:",
        )
    )
    _print_shapes(warehouse, args.years[-1], _lang(args))
    print(
        _say(
            args,
            "\n各年度达标情况（全部县，普查数据可判定的部分）：\n",
            "\nCounties meeting each standard:\n",
        )
    )
    _print_summary(warehouse, _lang(args))
    print(
        _say(
            args,
            "\n模拟数据中预设的情形（落地目录中的 truth.json）与数据库的发现（“!” 表示未达标）：",
            "\nPlanted scenarios (truth.json in the landing folder) and what the warehouse finds ('!' = fails):",
        )
    )
    _print_scenarios(warehouse, truth, _lang(args))
    print(
        _say(
            args,
            "\n预警与预设情形对照（全部年度；docs/alerts.md）：",
            "\nAlerts against the planted scenarios (every year; docs/alerts.md):",
        )
    )
    _print_alert_quality(warehouse, truth, _lang(args))
    print(
        _say(
            args,
            "\n已认定县的滑坡预警，最近一个普查年度（全部预警：junheng alerts）：\n",
            "\nBacksliding alerts of certified counties, latest census year (junheng alerts for all):\n",
        )
    )
    _print_alert_summary(warehouse, _lang(args))
    units = truth["school_units_per_year"]
    fewest, most = min(units.values()), max(units.values())
    print(
        _say(
            args,
            f"\n模拟省：{args.counties} 个县，每个普查年度 {fewest}–{most} 个学校单位",
            f"\nprovince: {args.counties} counties, {fewest}-{most} school units per census year",
        )
    )
    print(
        _say(
            args,
            f"\n3/3 从发布库生成报告，写入 {reports}",
            f"\n3/3 writing the reports from the published snapshot into {reports}",
        ),
        flush=True,
    )
    outputs = _write_outputs(args, published, reports, None, None)
    query = (
        '.venv/bin/python -c "import duckdb; print(duckdb.connect('
        f"'{published}', read_only=True).sql('from marts.county_balance limit 10'))\""
    )
    seconds = time.perf_counter() - started
    if _lang(args) == "en":
        print(f"\nlanding:   {landing}")
        print(f"warehouse: {warehouse} (working file; the pipeline writes it)")
        print(f"published: {published} (read-only snapshot for analysts; Parquet beside it)")
        print(f"query it:  {query}")
        print(f"alerts:    .venv/bin/junheng alerts --published {published}")
        print(f"done in {seconds:.1f}s")
        print(f"\nreport:    {outputs.index.resolve()}")
        return 0
    print(f"\n落地目录：{landing}")
    print(f"工作库：  {warehouse}（数据流程写入的工作文件）")
    print(f"发布库：  {published}（供分析人员只读使用的快照，旁边是 Parquet 文件）")
    print(f"查询示例：{query}")
    print(f"预警清单：.venv/bin/junheng alerts --published {published}")
    print(f"完成，用时 {seconds:.1f} 秒")
    print(f"\n报告：{outputs.index.resolve()}")
    return 0


def _print_scenarios(warehouse: Path, truth: dict, lang: str = "zh") -> None:
    from pipelines.lib.queries import sql
    from pipelines.lib.warehouse import connect

    with connect(warehouse, read_only=True) as con:
        for s in truth["scenarios"]:
            params = {"county_code": s["county_code"], "stage": s["stage"], "standard_id": s["standard_id"]}
            if s["metric"] == "composite_cv":
                query = sql("outputs/scenario_composite")
            elif s["metric"] == "school_rule":  # sections failing the per-school rule
                query = sql("outputs/scenario_school_rule")
            elif s["metric"] == "checkpoint":  # a checkpoint of the checklist (marts.county_checklist)
                query = sql("outputs/scenario_checkpoint")
                params = {"county_code": s["county_code"], "checkpoint_code": s["checkpoint_code"]}
            else:
                query = sql("outputs/scenario_indicator")
                params["indicator_id"] = s["indicator_id"]
            rows = con.execute(query, params).fetchall()
            judged = {y["census_year"] for y in s["years"]}  # the years the scenario plans
            failing = [year for year, _, passes in rows if passes is False and year in judged]
            planted = [y["census_year"] for y in s["years"] if not y["passes"]]
            what = s["indicator_id"] or "composite"
            zh = lang == "zh"
            verdict = ("一致" if zh else "matches") if failing == planted else ("不一致" if zh else "DIFFERS")
            if s["metric"] == "checkpoint":
                what = (
                    f"督导评估清单检查点 {s['checkpoint_code']}"
                    if zh
                    else f"checklist checkpoint {s['checkpoint_code']}"
                )
                shown = "  ".join(f"{y}:{v:.1%}{'' if ok else '!'}" for y, v, ok in rows if v is not None)
            elif s["metric"] == "school_rule":
                what = (
                    f"未达到校际资源配置要求的学校数（预设指标 {s['indicator_id']}）"
                    if zh
                    else f"schools failing the per-school rule ({s['indicator_id']} planted)"
                )
                shown = "  ".join(f"{y}:{v}{'' if ok else '!'}" for y, v, ok in rows)
            else:
                what += f"，阈值 {s['threshold']}" if zh else f", threshold {s['threshold']}"
                shown = "  ".join(f"{y}:{v:.3f}{'' if ok else '!'}" for y, v, ok in rows)
            print(
                f"  {s['scenario_id']}: {s['county_name']} ({s['county_code']}) {s['standard_id']} {s['stage']} {what}"
            )
            print("    " + shown)
            if zh:
                print(f"    预设未达标年份 {planted or '无'}，发现 {failing or '无'}：{verdict}")
            else:
                print(f"    failing years planted {planted or 'none'}, found {failing or 'none'}: {verdict}")
            params = {"county_code": s["county_code"], "stage": s["stage"], "standard_id": s["standard_id"]}
            fired = con.execute(sql("outputs/scenario_alerts"), params).fetchall()
            print("    " + _alerts_planted_vs_found(s["expected_alerts"], fired, lang))


def _alerts_planted_vs_found(expected: list[dict], fired: list[tuple], lang: str = "zh") -> str:
    """One line: the alerts a scenario plants (rule and year) and whether the warehouse raised them."""
    found = {(year, rule) for year, _, _, rules in fired for rule in rules}
    planted = [(e["census_year"], e["rule_id"]) for e in expected]
    missing = [p for p in planted if p not in found]
    if lang == "zh":
        words = "、".join(f"{rule} {year}" for year, rule in planted) or "无"
        verdict = "全部发现" if not missing else "未发现 " + "、".join(f"{r} {y}" for y, r in missing)
        return f"预设预警：{words}；{verdict}（该县该学段历年有效预警 {len(fired)} 条）"
    words = ", ".join(f"{rule} {year}" for year, rule in planted) or "none"
    verdict = "all found" if not missing else "MISSING " + ", ".join(f"{r} {y}" for y, r in missing)
    return f"alerts planted: {words}; {verdict} (active alerts of this county-stage: {len(fired)})"


def _print_alert_quality(warehouse: Path, truth: dict, lang: str = "zh") -> None:
    from pipelines.lib.monitoring.alert_quality import describe, measure
    from pipelines.lib.warehouse import connect

    with connect(warehouse, read_only=True) as con:
        print(describe(measure(con, truth), lang))


def _print_alert_summary(warehouse: Path, lang: str = "zh") -> None:
    from pipelines.lib.monitoring.alert_list import summary
    from pipelines.lib.warehouse import connect

    with connect(warehouse, read_only=True) as con:
        print(summary(con, lang=lang))


def cmd_alerts(args: argparse.Namespace) -> int:
    from pipelines.lib.monitoring.alert_list import (
        NoAlerts,
        format_table,
        read_alert_list,
        to_csv,
        to_json,
        year_line,
    )
    from pipelines.lib.sentences import read_words
    from pipelines.lib.warehouse import connect

    # the published snapshot unless a file is named: reading the working file would lock out a load
    try:
        warehouse = (
            Path(args.warehouse)
            if args.warehouse
            else _snapshot_as_of(args, paths.published_file(args.published))
        )
    except ValueError as exc:
        print(f"junheng alerts: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not warehouse.exists():
        print(f"junheng alerts: {warehouse} does not exist (run `junheng run` first)", file=sys.stderr)
        return EXIT_USAGE
    try:
        with connect(warehouse, read_only=True) as con:
            alerts = read_alert_list(con, args.year, args.min_severity, args.county, args.status)
            words = read_words(con)
            footer = (
                "" if alerts.is_empty() else year_line(con, int(alerts["census_year"][0]), words, _lang(args))
            )
    except (NoAlerts, ValueError) as exc:
        print(f"junheng alerts: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.format == "xlsx":
        from pipelines.lib.outputs.excel import write_alert_list_xlsx

        if not args.out:
            print("junheng alerts: --format xlsx needs --out FILE.xlsx", file=sys.stderr)
            return EXIT_USAGE
        with connect(warehouse, read_only=True) as con:
            write_alert_list_xlsx(con, Path(args.out), args.year, args.min_severity, args.county, args.status)
        # the counts are the warehouse's (monitoring.year_summary), as below the table
        print(_say(args, f"已写入 {args.out}", f"wrote {args.out}") + (f"\n{footer}" if footer else ""))
    elif args.format == "csv":
        sys.stdout.write(to_csv(alerts))
    elif args.format == "json":
        print(to_json(alerts))
    else:
        print(format_table(alerts, words, _lang(args)))
        if footer:
            print(f"\n{footer}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    import polars as pl

    from pipelines.lib.ingest.validate import format_verdicts, validate_paths
    from pipelines.lib.reference.registry import ReferenceError, read_counties

    landing = paths.landing_dir(args.landing)
    try:
        registry = read_counties(landing)
        result = validate_paths(
            [Path(p) for p in args.files],
            registry["county_code"].to_list(),
            landing,
            args.year,
            paths.published_file(args.published),
            registry,
        )
    except (ReferenceError, ValueError) as exc:
        print(f"junheng validate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    verdicts = result.verdicts
    print(format_verdicts(verdicts))
    problems = pl.concat([v.rejected for v in verdicts])
    if args.out:
        problems.write_csv(args.out)
        print(f"\n{problems.height} problems written to {args.out}")
    refused_files = sum(v.report.status == "rejected" for v in verdicts)
    refused_rows = sum(v.report.rows_rejected for v in verdicts)
    print(f"\n{len(verdicts)} files: {refused_files} refused whole, {refused_rows} rows would be refused")
    for note in result.notes:
        print(note)
    return EXIT_FAILED if refused_files or refused_rows or result.years_refused else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="junheng",
        description="County compulsory-education balance: census extracts to official coefficients.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--english",
        action="store_true",
        help="print in English (the default is Chinese, as the reports are)",
    )
    common.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="show Dagster's log as it happens and Python's traceback on errors",
    )

    gen = sub.add_parser(
        "generate", parents=[common], help="write a synthetic province (or country) as a landing folder"
    )
    gen.add_argument("--out", required=True, help="landing folder to write")
    gen.add_argument(
        "--scale",
        choices=["province", "national"],
        default="province",
        help="province: one province with planted scenarios (default); national: 31 provinces, "
        "2,843 counties, about 250,000-270,000 school units a year, written one province at a time",
    )
    gen.add_argument(
        "--format",
        choices=["csv", "parquet", "county_export", "jiaoji", "jiaoji_county", "mixed"],
        default="csv",
        help="extract files: csv or parquet (one per prefecture and year), or county_export "
        "(statistics-system export workbooks, one per county and year: 统计三级 names, two-row headers), "
        "or jiaoji (base-form workbooks, one per school and year: one sheet per 教基 form), or "
        "jiaoji_county (one base-form workbook per county and year: every school's forms, 教基1001 (2), …), "
        "or mixed (canonical CSV, but the last year mixes a CSV file, county exports and a forms workbook)",
    )
    gen.add_argument(
        "--provinces",
        type=lambda text: [p.strip() for p in text.split(",") if p.strip()],
        help="national scale only: just these province codes, e.g. 51,64",
    )
    gen.add_argument(
        "--counties", type=int, default=60, help="province scale: number of counties (default 60)"
    )
    gen.add_argument("--years", type=_years, default=_years("2015-2024"), help="census years, e.g. 2015-2024")
    gen.add_argument("--seed", type=int, default=2012, help="random seed (same seed, same files)")
    gen.add_argument(
        "--messy",
        action="store_true",
        help="write the years as counties send them (GBK/XLSX/Parquet, Chinese headers, 万元) "
        "with planted bad rows listed in truth.json",
    )
    gen.set_defaults(func=cmd_generate)

    run = sub.add_parser("run", parents=[common], help="load every census year found and build the warehouse")
    run.add_argument("--landing", help="landing folder (default $JUNHENG_LANDING or warehouse/landing)")
    run.add_argument(
        "--warehouse", help="DuckDB file (default $JUNHENG_WAREHOUSE or warehouse/junheng.duckdb)"
    )
    run.add_argument(
        "--published",
        help="read-only snapshot to publish (default $JUNHENG_PUBLISHED or warehouse/published/junheng.duckdb)",
    )
    run.add_argument(
        "--reports", help="reports folder, for the data-quality Data Docs (default $JUNHENG_REPORTS)"
    )
    run.add_argument("--years", type=_years, help="only these census years")
    run.add_argument(
        "--wait",
        type=float,
        metavar="SECONDS",
        help="how long to wait for another load of the same warehouse to finish "
        "(default: models/operations/runs.yaml, one hour); then exit 75",
    )
    run.set_defaults(func=cmd_run)

    validate = sub.add_parser(
        "validate",
        parents=[common],
        help="check extract files against the contract without touching the warehouse",
    )
    validate.add_argument(
        "files",
        nargs="+",
        help="extract files (csv, xlsx, xls, parquet) or year folders; each is checked with the files "
        "already in its year's landing folder, as `run` would check it",
    )
    validate.add_argument("--year", type=int, help="census year (default: the file's folder name)")
    validate.add_argument(
        "--landing", help="landing folder whose reference/counties.csv is the county registry"
    )
    validate.add_argument(
        "--published",
        help="published snapshot whose previous census year the unit check compares with "
        "(default $JUNHENG_PUBLISHED; skipped when it does not exist)",
    )
    validate.add_argument("--out", help="write every refused row and its reason to this CSV")
    validate.set_defaults(func=cmd_validate)

    from pipelines.lib.paths import MODELS_DIR
    from pipelines.lib.reference.alert_rules import load_rules

    # the ladder as the rules file gives it, lowest first
    ladder = [s.severity for s in sorted(load_rules(MODELS_DIR / "rules").severities, key=lambda s: s.rank)]
    alerts = sub.add_parser(
        "alerts", parents=[common], help="list the backsliding alerts of a census year (from the snapshot)"
    )
    source = alerts.add_mutually_exclusive_group()
    source.add_argument(
        "--published",
        help="snapshot to read (default $JUNHENG_PUBLISHED or warehouse/published/junheng.duckdb)",
    )
    source.add_argument(
        "--warehouse",
        help="read this DuckDB file instead, e.g. the working warehouse (a load cannot write it "
        "while this reads it)",
    )
    alerts.add_argument("--year", type=int, help="census year (default: the latest with alerts)")
    alerts.add_argument(
        "--min-severity",
        choices=ladder,
        help=f"only alerts at this severity or worse (ladder: {' < '.join(ladder)})",
    )
    alerts.add_argument("--county", help="only this county (6-digit code)")
    alerts.add_argument(
        "--status", choices=["new", "continuing", "resolved", "active"], help="only alerts with this status"
    )
    alerts.add_argument(
        "--as-of",
        type=_as_of,
        metavar="DATE",
        help="read the snapshot as published on that date (YYYY-MM-DD)",
    )
    alerts.add_argument("--format", choices=["table", "csv", "json", "xlsx"], default="table")
    alerts.add_argument("--out", help="file to write (required for --format xlsx)")
    alerts.set_defaults(func=cmd_alerts)

    report = sub.add_parser(
        "report",
        parents=[common],
        help="write the Chinese HTML reports and Excel exports from the published snapshot",
    )
    report.add_argument(
        "--published",
        help="snapshot to read (default $JUNHENG_PUBLISHED or warehouse/published/junheng.duckdb)",
    )
    report.add_argument("--out", help="reports folder (default $JUNHENG_REPORTS or warehouse/reports)")
    report.add_argument("--county", help="only this county's page (6-digit code)")
    report.add_argument("--year", type=int, help="census year (default: the latest loaded)")
    report.add_argument(
        "--as-of",
        type=_as_of,
        metavar="DATE",
        help="rebuild the reports from the snapshot as published on that date (YYYY-MM-DD; junheng versions)",
    )
    report.set_defaults(func=cmd_report)

    versions = sub.add_parser(
        "versions", parents=[common], help="list the kept versions of the published snapshot (for --as-of)"
    )
    versions.add_argument("--published", help="snapshot (default $JUNHENG_PUBLISHED)")
    versions.set_defaults(func=cmd_versions)

    dictionary = sub.add_parser(
        "dictionary", parents=[common], help="write the data dictionary (markdown) of the published snapshot"
    )
    dictionary.add_argument("--published", help="snapshot to describe (default $JUNHENG_PUBLISHED)")
    dictionary.add_argument("--out", default="docs/data_dictionary.md", help="file to write")
    dictionary.set_defaults(func=cmd_dictionary)

    demo = sub.add_parser(
        "demo", parents=[common], help="generate a synthetic province and run the whole pipeline"
    )
    demo.add_argument("--landing", help="landing folder to (re)write")
    demo.add_argument("--warehouse", help="DuckDB file to (re)build")
    demo.add_argument("--published", help="read-only snapshot to publish")
    demo.add_argument("--reports", help="reports folder to write")
    demo.add_argument("--counties", type=int, default=60, help="number of counties (default 60)")
    demo.add_argument("--years", type=_years, default=_years("2015-2024"))
    demo.add_argument("--seed", type=int, default=2012)
    demo.add_argument("--wait", type=float, metavar="SECONDS", help="as for run")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print(f"junheng {args.command}: 已中断 / interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the output went to `head` or a pager that stopped reading
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return EXIT_FAILED
    except Exception as exc:
        if args.verbose:
            raise
        return _unexpected(args, exc)


def _crash_log(args: argparse.Namespace, exc: BaseException) -> Path | None:
    """The traceback of an error no handler expected, in a log file: logs/ beside the working
    warehouse for run and demo, else (or when that cannot be written) the temporary folder."""
    import tempfile
    import traceback
    from datetime import datetime

    if args.command in ("run", "demo"):
        folder = paths.warehouse_file(getattr(args, "warehouse", None)).parent / "logs"
    else:
        folder = Path(tempfile.gettempdir()) / "junheng-logs"
    text = f"junheng {args.command}\n\n" + "".join(traceback.format_exception(exc))
    return paths.write_log(text, folder, f"{datetime.now():%Y%m%d-%H%M%S}-{args.command}-error.log")


def _unexpected(args: argparse.Namespace, exc: Exception) -> int:
    """One line for an error that reached main(): a machine fault (a full disk, a read-only file
    system) in words, anything else as an unexpected error; both with the log of the traceback."""
    from pipelines.lib import faults
    from pipelines.lib.warehouse import WarehouseLocked

    if isinstance(exc, WarehouseLocked):
        print(f"junheng {args.command}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    log = _crash_log(args, exc)
    fault = faults.find_fault([exc])
    if fault is not None:
        text = faults.one_line(fault)
    elif isinstance(exc, OSError) and exc.filename:
        text = f"{exc.filename}: {exc.strerror}"
    else:
        first = (str(exc).strip().splitlines() or [""])[0]
        text = f"意外错误 / unexpected error: {type(exc).__name__}: {first}"
    if log is not None:
        print(f"junheng {args.command}: {text}; 完整日志 / full log: {log}", file=sys.stderr)
    else:  # nowhere to write the log: the traceback is all there is
        import traceback

        print(
            f"junheng {args.command}: {text}; 日志无法写入 / the log could not be written:", file=sys.stderr
        )
        traceback.print_exception(exc, file=sys.stderr)
    return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
