"""Data Docs of the data-quality suites, made to work offline. pipelines.lib.publish.quality
builds them; the two share their data types through pipelines.lib.publish.suites, not each other.

great-expectations writes its Data Docs from templates that load stylesheets and scripts from CDNs;
the users' networks are isolated, so every page is rewritten here, and the index page is our own
plain HTML.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from contracts import yaml_files
from pipelines.lib.paths import MODELS_DIR
from pipelines.lib.publish.suites import SEVERITY_ZH

if TYPE_CHECKING:
    from pipelines.lib.publish.suites import CheckFrame, SuiteResult, SuiteSpec

# great-expectations' page templates load bootstrap, jquery, font-awesome and vega from CDNs and its
# logo from S3. The users' networks are isolated, so every page is rewritten: scripts go (the pages
# are plain HTML tables; nothing needs them), external stylesheets, images and links go, and an
# inline stylesheet keeps the pages readable.

_EXTERNAL = r"(?:https?:)?//"
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script\s*>", re.I | re.S)
_EXTERNAL_LINK_TAG = re.compile(rf"<link\b[^>]*\bhref\s*=\s*['\"]?{_EXTERNAL}[^>]*>", re.I | re.S)
_EXTERNAL_ATTRIBUTE = re.compile(
    rf"\s(?:src|href|srcset|data|poster|action|formaction|background)\s*=\s*"
    rf"(?:(['\"]){_EXTERNAL}.*?\1|{_EXTERNAL}[^\s>]*)",  # quoted or bare
    re.I | re.S,
)
_EXTERNAL_CSS_URL = re.compile(rf"url\(\s*(['\"]?){_EXTERNAL}[^)]*\)", re.I)
_EXTERNAL_CSS_IMPORT = re.compile(rf"@import\s+(?:url\()?\s*['\"]?{_EXTERNAL}[^;]*;", re.I)
_SCRIPT_SRC_EXTERNAL = re.compile(rf"<script\b[^>]*\bsrc\s*=\s*['\"]?{_EXTERNAL}", re.I)
# great-expectations points the favicon of deeply nested pages (suite names with dots) one folder
# too high, so a browser logs a missing file; the icon is dropped from every page
_ICON_LINK = re.compile(r"<link\b[^>]*\brel\s*=\s*['\"][^'\"]*icon[^'\"]*['\"][^>]*>", re.I | re.S)
_LOCAL_REFERENCE = re.compile(r"\s(?:src|href)\s*=\s*['\"](?![a-z]+:|#|/)([^'\"#?]+)", re.I)

OFFLINE_STYLE = """
<style>
/* junheng: Data Docs without CDN stylesheets (isolated networks) */
body { font-family: system-ui, "Segoe UI", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif;
       margin: 1.5rem auto; max-width: 95rem; padding: 0 1rem; color: #212529; line-height: 1.4; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; }
th, td { border: 1px solid #d0d4d9; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th, thead td { background: #f1f3f5; }
code, pre { font-family: ui-monospace, Consolas, monospace; font-size: 0.9em; white-space: pre-wrap; }
.text-danger, .fail { color: #b00020; }
.text-success, .pass { color: #1b6e20; }
.text-warning, .warn { color: #8a5300; }
.fa-check-circle::before, .fa-check::before { content: "\\2714"; }
.fa-times::before, .fa-times-circle::before { content: "\\2718"; }
.fa-exclamation-triangle::before { content: "\\26A0"; }
.fa-question-circle::before { content: "?"; }
.fa-comment::before { content: "\\2139"; }
.navbar, footer, #ge-cta-footer, .cooltip .top, .btn { display: none !important; }
.sticky { position: static; }
.alert { padding: 0.5rem; border: 1px solid #d0d4d9; margin: 0.5rem 0; }
.card { border: 1px solid #e0e3e6; padding: 0.5rem; margin: 0.5rem 0; }
.zh-banner { border: 1px solid #c9d3e0; background: #f5f8fc; padding: 0.5rem 1rem; margin: 0 0 1rem; }
.zh-banner h2 { font-size: 1.2rem; margin: 0.25rem 0; }
.note { color: #555; font-size: 0.9em; }
</style>
"""


def make_offline(site_dir: Path) -> None:
    """Rewrite every page and stylesheet under site_dir so that nothing loads from the network,
    drop the static files no page uses, and refuse the result if any external reference is left."""
    for page in site_dir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        text = _ICON_LINK.sub("", text)
        text = _SCRIPT.sub("", text)
        text = _EXTERNAL_LINK_TAG.sub("", text)
        text = _EXTERNAL_ATTRIBUTE.sub("", text)
        text = _EXTERNAL_CSS_IMPORT.sub("", text)
        text = _EXTERNAL_CSS_URL.sub("none", text)
        text = text.replace("</head>", OFFLINE_STYLE + "</head>", 1)
        page.write_text(text, encoding="utf-8")
    _drop_unused_static(site_dir)
    for sheet in site_dir.rglob("*.css"):
        text = sheet.read_text(encoding="utf-8")
        sheet.write_text(_EXTERNAL_CSS_URL.sub("none", _EXTERNAL_CSS_IMPORT.sub("", text)), encoding="utf-8")
    left = external_references(site_dir)
    if left:
        raise RuntimeError(f"Data Docs still reference the network: {left[:5]}")


_TEXT_NODE = re.compile(r">(\s*)([^<>]*?[A-Za-z][^<>]*?)(\s*)<")


def chinese_first(
    site_dir: Path, suites: Sequence[SuiteSpec], frames: Mapping[str, list[CheckFrame]]
) -> None:
    """Put the Chinese first on great-expectations' English pages: each suite's validation and
    expectation pages open with the suite's Chinese title, why it exists and its rules in Chinese,
    and the pages' own words are replaced from models/quality/data_docs_zh.yaml."""
    with open(MODELS_DIR / "quality" / "data_docs_zh.yaml", encoding="utf-8") as f:
        vocabulary = yaml_files.safe_load(f)
    texts: dict[str, str] = {str(k): str(v) for k, v in vocabulary["texts"].items()}
    patterns = [(re.compile(p["english"]), str(p["chinese"])) for p in vocabulary.get("patterns") or []]

    def word(match: re.Match[str]) -> str:
        before, text, after = match.groups()
        if text in texts:
            return f">{before}{texts[text]}{after}<"
        for pattern, chinese in patterns:
            if pattern.match(text):
                return f">{before}{pattern.sub(chinese, text)}{after}<"
        return match.group(0)

    banners: dict[str, str] = {}
    for suite in suites:
        for frame in frames[suite.name]:
            banner = _banner(suite, frame)
            for relative in _pages_of(site_dir, f"{suite.name}.{frame.name}"):
                if relative:
                    banners[relative] = banner
    for path in site_dir.rglob("*.html"):
        text = _TEXT_NODE.sub(word, path.read_text(encoding="utf-8"))
        top = banners.get(path.relative_to(site_dir).as_posix(), "")
        body = re.search(r"<body\b[^>]*>", text)
        if body and top:
            text = text[: body.end()] + top + text[body.end() :]
        text = text.replace('<html lang="en">', '<html lang="zh-CN">', 1)
        path.write_text(text, encoding="utf-8")


def _banner(suite: SuiteSpec, frame: CheckFrame) -> str:
    e = html.escape
    rules = "".join(f"<li>{e(x.rule_zh)}</li>" for x in frame.expectations if x.rule_zh)
    return (
        '<section class="zh-banner">'
        f"<h2>数据质量检查：{e(suite.title_zh)}（{e(SEVERITY_ZH[suite.severity])}级）</h2>"
        f"<p>{e(suite.note_zh)}</p>"
        f"<p>检查的数据：<code>{e(frame.name)}</code>，每行为一个 {e(frame.grain)}。检查规则：</p><ul>{rules}</ul>"
        '<p class="note">以下为 great-expectations 生成的检查明细；SQL、表名和列名保持原文。'
        "The details below are great-expectations' own.</p></section>"
    )


def check_local_links(site_dir: Path) -> None:
    """Refuse pages that refer to a file that is not there (a browser would log an error)."""
    missing = missing_local_files(site_dir)
    if missing:
        raise RuntimeError(f"Data Docs refer to files that are not there: {missing[:5]}")


def missing_local_files(site_dir: Path) -> list[str]:
    """`page: reference` for every relative src/href of a page that names no file under site_dir."""
    found = []
    for page in sorted(site_dir.rglob("*.html")):
        for match in _LOCAL_REFERENCE.finditer(page.read_text(encoding="utf-8")):
            if not (page.parent / match.group(1)).exists():
                found.append(f"{page.relative_to(site_dir)}: {match.group(1)}")
    return found


def external_references(site_dir: Path) -> list[str]:
    """`file: reference` for every network address a page or stylesheet under site_dir refers to
    (scripts, stylesheets, images, CSS imports and url()s, and plain links)."""
    found = []
    for path in sorted([*site_dir.rglob("*.html"), *site_dir.rglob("*.css")]):
        text = path.read_text(encoding="utf-8")
        for pattern in (_SCRIPT_SRC_EXTERNAL, _EXTERNAL_ATTRIBUTE, _EXTERNAL_CSS_URL, _EXTERNAL_CSS_IMPORT):
            found += [
                f"{path.relative_to(site_dir)}: {m.group(0).strip()[:120]}" for m in pattern.finditer(text)
            ]
    return found


def _drop_unused_static(site_dir: Path) -> None:
    """great-expectations copies ~4 MB of fonts and images; keep only what a page refers to."""
    static = site_dir / "static"
    if not static.is_dir():
        return
    used: set[Path] = set()
    for page in site_dir.rglob("*.html"):
        for match in _LOCAL_REFERENCE.finditer(page.read_text(encoding="utf-8")):
            used.add((page.parent / match.group(1)).resolve())
    for path in sorted(static.rglob("*"), reverse=True):  # files before their folders
        if path.is_file() and path.resolve() not in used:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def _pages_of(site_dir: Path, gx_suite_name: str) -> tuple[str | None, str | None]:
    """Relative paths of the validation page and the expectation-suite page of one frame."""
    parts = gx_suite_name.split(".")
    validation = sorted(site_dir.joinpath("validations", *parts).rglob("*.html"))
    suite_page = site_dir.joinpath("expectations", *parts[:-1], parts[-1] + ".html")
    return (
        validation[0].relative_to(site_dir).as_posix() if validation else None,
        suite_page.relative_to(site_dir).as_posix() if suite_page.exists() else None,
    )


def write_index(
    site_dir: Path,
    suites: Sequence[SuiteSpec],
    frames: Mapping[str, list[CheckFrame]],
    results: Sequence[SuiteResult],
    census_year: int | None,
    database_name: str,
) -> None:
    """Our own index.html: great-expectations' index fills its table with JavaScript from a CDN,
    which an isolated network cannot load; this one is plain HTML."""
    e = html.escape
    rows = []
    for suite, result in zip(suites, results, strict=True):
        status = "pass" if result.success else ("fail" if suite.severity == "error" else "warn")
        links = []
        for frame in frames[suite.name]:
            validation, expectations = _pages_of(site_dir, f"{suite.name}.{frame.name}")
            if validation:
                links.append(f'<a href="{e(validation)}">{e(frame.name)}</a>')
            else:
                links.append(e(frame.name))
            if expectations:
                links[-1] += f' (<a href="{e(expectations)}">检查规则</a>)'
        failures = "".join(f"<li>{e(f)}</li>" for f in result.failures)
        severity = f"{SEVERITY_ZH[suite.severity]} {suite.severity}"
        verdict = "通过 passed" if result.success else "未通过 FAILED"
        rows.append(
            f"<tr><td><b>{e(suite.title_zh)}</b> <code>{e(suite.name)}</code><br>{e(suite.note_zh)}"
            f'<br><span class="note">{e(suite.note)}</span></td>'
            f"<td>{e(severity)}</td>"
            f'<td class="{status}">{verdict}</td>'
            f"<td>{result.evaluated}</td>"
            f"<td>{'<br>'.join(links)}</td>"
            f"<td><ul>{failures}</ul></td></tr>"
        )
    # links back to the reports folder the pages sit in, where its pages are already there
    # (a first run writes the Data Docs before `junheng report` writes the overview)
    targets = {
        "../index.html": "返回全省总览 Back to the overview",
        "../dictionary.html": "数据字典 Data dictionary",
    }
    present = [
        f'<a href="{href}">{text}</a>'
        for href, text in targets.items()
        if (site_dir / href).resolve().exists()
    ]
    back = f"<p>{' · '.join(present)}</p>" if present else ""
    scope_zh = f"{census_year} 年" if census_year is not None else "全部年度"
    scope = f"census year {census_year}" if census_year is not None else "every census year"
    page = f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>数据质量检查 Data quality: {e(database_name)}（{e(scope_zh)}）</title>
{OFFLINE_STYLE}
</head>
<body>
{back}
<h1>发布数据的质量检查 Data quality of the published warehouse</h1>
<p>检查的文件 File: <code>{e(database_name)}</code>，{e(scope_zh)}（{e(scope)}）。检查规则见
models/quality/expectations.yaml（说明见 docs/quality.md）。“错误”级检查未通过说明数据之间的恒等关系被破坏：
本次运行停止，不发布任何数据；“提示”级检查是值得核对的信号。每组数据链接到 great-expectations 的检查结果页。
An <b>error</b> suite that fails is a broken identity: the run stops and nothing is published; a
<b>warn</b> suite is a signal to look at.</p>
<table>
<thead><tr><th>检查 suite</th><th>级别 severity</th><th>结果 result</th><th>检查项 expectations</th>
<th>数据 frames</th><th>问题 failures</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
</body>
</html>
"""
    (site_dir / "index.html").write_text(page, encoding="utf-8")


def staging_dir(docs_dir: Path) -> Path:
    docs_dir.parent.mkdir(parents=True, exist_ok=True)
    return docs_dir.parent / f".{docs_dir.name}.{uuid.uuid4().hex}.tmp"


def replace_docs(site_dir: Path, docs_dir: Path) -> None:
    """Move the new pages into docs_dir, replacing only what a Data Docs build owns there."""
    docs_dir.mkdir(parents=True, exist_ok=True)
    for item in ("validations", "expectations", "static", "index.html"):
        old = docs_dir / item
        if old.is_dir():
            shutil.rmtree(old)
        elif old.exists():
            old.unlink()
        new = site_dir / item
        if new.exists():
            os.replace(new, old)
