"""Every worked example of docs/analysts.md runs on the demo province and returns rows.

The guide promises analysts that its queries work as written. Each ```sql block is run against
the demo's published snapshot, opened read-only as an analyst opens it. Each test is named
after the question heading above its block, so a renamed column names the example it broke. The guide must keep at least ten examples, so deleting them fails too.
"""

from __future__ import annotations

import duckdb
import pytest

from pipelines.lib.paths import REPO_ROOT

pytestmark = pytest.mark.integration

GUIDE = REPO_ROOT / "docs" / "analysts.md"
MIN_EXAMPLES = 10


def sql_blocks(markdown: str) -> list[tuple[str | None, str]]:
    """(question, sql) for every ```sql block; the question is the last '### ' heading above it."""
    blocks: list[tuple[str | None, str]] = []
    question: str | None = None
    sql: list[str] | None = None
    for line in markdown.splitlines():
        if sql is not None:
            if line.strip() == "```":
                blocks.append((question, "\n".join(sql)))
                sql = None
            else:
                sql.append(line)
        elif line.strip() == "```sql":
            sql = []
        elif line.startswith("### "):
            question = line.removeprefix("### ").strip()
    assert sql is None, f"{GUIDE.name}: a ```sql block is not closed"
    return blocks


EXAMPLES = sql_blocks(GUIDE.read_text(encoding="utf-8"))
QUESTIONS = [str(question) for question, _ in EXAMPLES]


def test_sql_blocks_finds_each_block_under_its_question():
    markdown = "### 1. How many?\n\ntext\n\n```sql\nselect 1\norder by 1\n```\n\n```python\nx = 1\n```\n"
    assert sql_blocks(markdown) == [("1. How many?", "select 1\norder by 1")]


def test_the_guide_has_at_least_ten_examples_each_under_its_own_question():
    assert len(EXAMPLES) >= MIN_EXAMPLES, f"{GUIDE.name} has {len(EXAMPLES)} ```sql blocks"
    assert all(question and question.endswith("?") for question, _ in EXAMPLES), QUESTIONS
    assert len(set(QUESTIONS)) == len(QUESTIONS), "two ```sql blocks under one question"


@pytest.mark.parametrize("sql", [sql for _, sql in EXAMPLES], ids=QUESTIONS)
def test_example_is_one_ordered_select(sql):
    with duckdb.connect() as con:
        statements = con.extract_statements(sql)
    assert len(statements) == 1
    assert statements[0].type == duckdb.StatementType.SELECT
    assert "order by" in " ".join(sql.lower().split()), "results must come in a fixed order"


@pytest.mark.parametrize("sql", [sql for _, sql in EXAMPLES], ids=QUESTIONS)
def test_example_returns_rows_on_the_demo_warehouse(demo, sql):
    with duckdb.connect(str(demo.published), read_only=True) as con:
        rows = con.execute(sql).fetchall()
    assert rows, "the example returns no rows on the demo province"
