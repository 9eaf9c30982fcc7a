"""The repository stands on its own: no tracked file cites the design briefs kept beside the
checkout, and every `docs/methodology.md §N` reference names a section that exists.

The briefs are not part of the product; what users need from them is in docs/ (methodology.md,
ingest.md, alerts.md, ...). The forbidden strings are built from parts so this file does not
contain them itself.
"""

import re
import shutil
import subprocess

import pytest

from pipelines.lib.paths import REPO_ROOT

FORBIDDEN = (
    "../" + "shared",
    "DOM" + "AIN.md",
    "DES" + "IGN.md",
    "DATA_" + "CONTRACT.md",
    "STY" + "LE.md",
)
METHODOLOGY = REPO_ROOT / "docs" / "methodology.md"
HEADING = re.compile(r"^#{2,6}\s+(\d+(?:\.\d+)*)\.?\s", re.MULTILINE)
REFERENCE = re.compile(r"methodology\.md §(\d+(?:\.\d+)*)")
BARE_REFERENCE = re.compile(r"§(\d+(?:\.\d+)*)")


def tracked_text_files() -> dict[str, str]:
    """Every file tracked by git that exists in the working tree and is text, by path."""
    git = shutil.which("git")
    if git is None or not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(
        [git, "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True
    ).stdout.decode("utf-8")
    files = {}
    for name in filter(None, listed.split("\0")):
        path = REPO_ROOT / name
        if not path.is_file():  # deleted in the working tree, or a submodule
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:  # binary
            continue
        files[name] = data.decode("utf-8", errors="replace")
    return files


def methodology_sections() -> set[str]:
    return set(HEADING.findall(METHODOLOGY.read_text(encoding="utf-8")))


def test_no_tracked_file_cites_the_design_briefs():
    files = tracked_text_files()
    assert "docs/methodology.md" in files  # the listing works, so the check below can fail
    found = [
        f"{name}:{number}: {needle}"
        for name, text in files.items()
        for number, line in enumerate(text.splitlines(), start=1)
        for needle in FORBIDDEN
        if needle in line
    ]
    assert found == []


def test_methodology_headings_are_numbered():
    sections = methodology_sections()
    assert {"1", "2", "2.1", "3", "3.1", "3.2", "4", "5", "6"} <= sections


def test_every_methodology_reference_names_an_existing_section():
    sections = methodology_sections()
    references = [
        (name, number, section)
        for name, text in tracked_text_files().items()
        for number, line in enumerate(text.splitlines(), start=1)
        for section in REFERENCE.findall(line)
    ]
    assert len(references) >= 10  # code and docs do cite the methodology this way
    assert [
        f"{name}:{number}: §{section}" for name, number, section in references if section not in sections
    ] == []


def test_every_section_sign_inside_the_methodology_names_an_existing_section():
    text = METHODOLOGY.read_text(encoding="utf-8")
    sections = methodology_sections()
    cited = set(BARE_REFERENCE.findall(text))
    assert cited  # the page cross-references itself
    assert sorted(cited - sections) == []


@pytest.mark.parametrize(
    ("heading", "section"),
    [
        ("## 2. The coefficient of variation", "2"),
        ("### 3.2 Quality balance", "3.2"),
        ("#### 10 Sources", "10"),
    ],
)
def test_headings_parse_to_section_numbers(heading, section):
    assert HEADING.findall(heading + "\n") == [section]
