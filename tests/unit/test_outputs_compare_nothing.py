"""Outputs only select and format: no code under pipelines/lib/outputs, and no report template,
compares a value with a threshold, a minimum or a verdict's line, or counts rows for a figure.

Such a fact is a column of a model (one home, computed once in SQL); a page that worked it out
again could disagree with the warehouse, as the county pages once did ("met = cv <= threshold",
bars coloured by value > threshold, failing schools counted three ways).
"""

import ast
import re
from pathlib import Path

from pipelines.lib.paths import REPO_ROOT

OUTPUTS = REPO_ROOT / "pipelines" / "lib" / "outputs"
TEMPLATES = OUTPUTS / "reports" / "templates"
ORDERING = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)
FACT_WORDS = re.compile(
    r"threshold|limit|standard_value|minimum|target|ratio|\bcv\b|_cv\b|severity|rank|passes|meets|"
    r"\bn_\w+|pl\.col|margin|\[\"value\"\]|\.value\b"
)
"""Names that hold a figure of the method or a verdict: an ordering comparison that mentions one
decides something a model should (a chart's own layout, its ticks and sizes, may compare)."""


def _python_files() -> list[Path]:
    return sorted(OUTPUTS.rglob("*.py"))


def test_no_output_module_compares_a_figure_with_a_line():
    found = []
    for path in _python_files():
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Compare) and any(isinstance(op, ORDERING) for op in node.ops):
                text = ast.get_source_segment(source, node) or ""
                if FACT_WORDS.search(text):
                    found.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}: {text}")
    assert found == [], "\n".join(found)


def test_no_output_module_counts_rows_into_a_figure():
    # polars' counts and Python's "sum(1 for ...)" are how a page once counted failing schools and
    # active alerts itself (a sheet's size for its own print area is layout, not a figure)
    found = []
    for path in _python_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if re.search(r"\.(n_unique|value_counts|group_by|len|count)\(|sum\(1 for|Counter\(", line):
                found.append(f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}")
    assert found == [], "\n".join(found)


def test_no_template_compares_or_counts():
    found = []
    for path in sorted(TEMPLATES.glob("*.html")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if "rowspan" in line:  # a table cell spanning its group's rows: layout
                continue
            for statement in re.findall(r"{[{%](.*?)[%}]}", line):
                if re.search(r"[<>]=?|\|\s*(length|count|sum|max|min|sort)\b", statement):
                    found.append(f"{path.name}:{number}: {statement.strip()}")
    assert found == [], "\n".join(found)


def test_the_check_catches_what_it_looks_for(tmp_path):
    # the patterns above find the comparisons the pages once made
    source = "met = r['cv'] <= threshold\nover = row['value'] > limit\nbad = r['n_failing'] > 0\n"
    nodes = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Compare)]
    assert all(FACT_WORDS.search(ast.get_source_segment(source, n) or "") for n in nodes)
    assert re.search(r"[<>]=?", "if ind.value > limit")
