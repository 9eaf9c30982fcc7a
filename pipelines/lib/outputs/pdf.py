"""PDF files printed from the reports' own pages by Chromium, driven headless through Playwright.

Why Chromium: it is the engine the pages are made for and tested in (tests/integration/
test_report_browser.py), so a PDF looks like the page on screen; it prints CSS paged media (page
size, margin boxes with page numbers, breaks that keep a heading with what follows), and one browser
process prints every county's file (about half a second each). Playwright (a pinned dependency,
installed from PyPI) drives the Chromium of the operating system (Debian's `chromium` package,
installed with fonts-noto-cjk by `make browser`): it never downloads a browser, so nothing is
fetched at run time. WeasyPrint, the other well-kept choice, is a second layout engine with its
own CSS support and needs Pango from the system as well; keeping two engines in agreement would
cost more than it saves.

Without a Chromium the PDFs are not written and `junheng report` says so in one line; everything
else is written as usual.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

CHROMIUM_ENV = "JUNHENG_CHROMIUM"
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
ARGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class NoChromium(RuntimeError):
    """No Chromium to print with."""


def find_chromium() -> Path | None:
    """$JUNHENG_CHROMIUM, else the first Chromium or Chrome on PATH."""
    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        return Path(configured) if Path(configured).is_file() else None
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


def missing_message() -> str:
    return (
        "未生成 PDF：本机未安装 Chromium（Debian：make browser，或设置 JUNHENG_CHROMIUM 为浏览器路径）/ "
        "PDFs not written: no Chromium found (make browser, or set JUNHENG_CHROMIUM)"
    )


TABS = 2
"""Pages printed at once, each in its own tab of the one browser: on a 2-core machine two tabs
print the demo's 51 files about a fifth faster than one; a third tab adds nothing."""


def print_pdfs(pages: list[Path]) -> list[Path]:
    """Print each HTML page to a PDF beside it (same name, .pdf), in one browser; each file appears
    under its final name only when complete. Raises NoChromium when there is no browser."""
    if not pages:
        return []
    chromium = find_chromium()
    if chromium is None:
        raise NoChromium(missing_message())
    import asyncio

    return asyncio.run(_print_all(chromium, pages))


async def _print_all(chromium: Path, pages: list[Path]) -> list[Path]:
    import asyncio

    from playwright.async_api import async_playwright

    args = [*ARGS, "--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else ARGS
    waiting = list(pages)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(chromium), headless=True, args=args)

        async def tab_prints() -> None:
            tab = await browser.new_page()
            while waiting:
                page = waiting.pop(0)
                target = page.with_suffix(".pdf")
                temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
                try:
                    await tab.goto(page.resolve().as_uri(), wait_until="load")
                    await tab.pdf(path=str(temporary), prefer_css_page_size=True, print_background=True)
                    os.replace(temporary, target)
                finally:
                    temporary.unlink(missing_ok=True)

        try:
            await asyncio.gather(*(tab_prints() for _ in range(min(TABS, len(pages)))))
        finally:
            await browser.close()
    return [page.with_suffix(".pdf") for page in pages]
