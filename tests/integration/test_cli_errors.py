"""Bad arguments get one line and exit code 2, never a traceback: `junheng` in its own process, as a
person types it. Nothing is started, so no warehouse file appears."""

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def junheng(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def landing(tmp_path):
    """A landing folder with two census-year folders (their contents are never read here)."""
    for year in ("2023", "2024"):
        (tmp_path / "landing" / year).mkdir(parents=True)
    (tmp_path / "a_file").write_text("not a folder\n")
    return tmp_path / "landing"


CASES = {
    "a census year with no folder": (
        ["run", "--landing", "landing", "--years", "2030"],
        "没有 2030 年的文件夹 / no folder for census year 2030 (census-year folders found: 2023-2024)",
    ),
    "no landing folder": (
        ["run", "--landing", "nowhere", "--years", "2024"],
        "nowhere: 找不到数据接收文件夹 / the landing folder does not exist",
    ),
    "a warehouse under a file": (
        ["run", "--landing", "landing", "--warehouse", "a_file/w.duckdb"],
        "上级路径 a_file 是一个文件，不是文件夹 / the working warehouse cannot go there: a_file is a file",
    ),
    "a snapshot under a file": (
        ["run", "--landing", "landing", "--published", "a_file/pub/j.duckdb"],
        "the published snapshot cannot go there: a_file is a file",
    ),
    "a warehouse that is a folder": (
        ["run", "--landing", "landing", "--warehouse", "landing"],
        "landing: 这是一个文件夹 / the working warehouse must be a file, and this is a folder",
    ),
    "too few census years to generate": (
        ["generate", "--out", "new", "--years", "2024"],
        "至少需要 3 个统计年度才能生成预设情景 / at least 3 census years are needed to plant the scenarios (got 1",
    ),
    "generating into a file": (
        ["generate", "--out", "a_file/landing"],
        "the landing folder cannot go there: a_file is a file",
    ),
    "alerts before anything was published": (
        ["alerts", "--published", "nothing.duckdb"],
        "nothing.duckdb does not exist (run `junheng run` first)",
    ),
}


@pytest.mark.parametrize("args, message", CASES.values(), ids=CASES.keys())
def test_bad_arguments_get_one_line_and_exit_code_2(landing, args, message):
    result = junheng(*args, cwd=landing.parent)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr  # one line
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(landing.parent.glob("**/*.duckdb"))  # nothing was started
