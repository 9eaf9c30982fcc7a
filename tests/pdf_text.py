"""Reading the reports' PDFs back as a person's PDF reader would show their text (poppler-utils)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest


def need_pdftotext() -> None:
    if shutil.which("pdftotext") and shutil.which("pdfinfo"):
        return
    message = "poppler-utils (pdftotext, pdfinfo) is not installed: make browser"
    if os.environ.get("JUNHENG_REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    pytest.skip(message)


def pdf_pages(path: Path) -> list[str]:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))  # type: ignore[union-attr]
    return [
        subprocess.run(
            ["pdftotext", "-layout", "-f", str(i), "-l", str(i), str(path), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for i in range(1, pages + 1)
    ]
