"""Issue 11 in a real browser: ``newswatch serve`` over a crawled archive, read in headless
Chromium (Debian's ``chromium`` driven by Playwright's Python API), checking what a reader
sees. Screenshots are saved in the test's temporary folder.

``.ci/run`` installs Chromium and the CJK fonts with apt when they are missing; where that
is impossible this test skips and says why.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.reading_room import ARTICLE_COUNT, CrawledArchive
from tests.test_serve import _serve, started, stop

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _browser_or_skip() -> Any:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (.ci/run does)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright's Python package is not installed (pip install '.[test]')")
    if shutil.which("fc-list") is None:
        pytest.skip("fontconfig's fc-list not found: cannot check for CJK fonts")
    fonts = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=False)
    if not fonts.stdout.strip():
        pytest.skip("no CJK font installed: install fonts-noto-cjk (.ci/run does)")
    return sync_playwright


@pytest.fixture
def served(crawled_archive: CrawledArchive, tmp_path: Path) -> Iterator[str]:
    process = _serve(crawled_archive.config, "--port", "0")
    try:
        yield started(process).removesuffix("/archive")
    finally:
        stop(process)


def test_a_reader_in_chromium(crawled_archive: CrawledArchive, served: str, tmp_path: Path) -> None:
    sync_playwright = _browser_or_skip()
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(30_000)

            def visit(path: str, name: str) -> None:
                response = page.goto(served + path)
                assert response is not None and response.status == 200, path
                page.wait_for_load_state("networkidle")

            def shoot(name: str) -> None:
                page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

            visit("/", "index")
            assert page.get_by_role("link", name="Articles", exact=True).is_visible()
            assert page.get_by_text("story_bands").count() == 0
            shoot("index")

            visit("/archive/articles", "articles")
            titles = page.locator("table.nw-reading td.col-title a")
            assert titles.count() == ARTICLE_COUNT
            # The title column gets room: far more than a few characters per line.
            assert min(box["width"] for box in _boxes(titles)) > 150
            shoot("articles")

            visit("/archive/articles", "articles")
            page.get_by_role("link", name="渠道：H20交货推迟到下季度").click()
            page.wait_for_load_state("networkidle")
            # (its credit line, "（本文来源：合作媒体）", is not the article's text: its origin)
            paragraph = page.locator(".nw-body p").nth(0)
            assert paragraph.inner_text().startswith("几家服务器厂商的渠道人员说")
            box = paragraph.bounding_box()
            assert box is not None and box["width"] > 400, box
            assert box["height"] < 120, box  # a few lines, not a character per line
            assert page.locator("h1.nw-title").inner_text() == "渠道：H20交货推迟到下季度"
            assert page.locator(".nw-alerts li").count() == 1
            shoot("article")

            page.locator(".nw-story a").first.click()
            page.wait_for_load_state("networkidle")
            outlets = page.locator("table.nw-outlet-table td.col-source")
            assert sorted(outlets.all_inner_texts()) == ["outlet", "wire"]
            assert "2 outlets" in page.locator(".nw-story-page").inner_text()
            shoot("story")

            visit("/archive/search?q=昇腾", "search")
            marks = page.locator("td.col-snippet mark")
            # the Traditional article's snippet in its own characters, found by the Simplified
            assert marks.count() >= 1 and marks.first.inner_text() == "昇騰"
            assert page.locator("td.col-title a").first.inner_text() == "昇騰叢集新增兩座機房"
            shoot("search")

            visit("/-/dashboards/newswatch", "dashboard")
            for chart in ("articles-per-day", "alerts-per-rule"):
                marks = page.locator(f"#chart-{chart} svg .mark-rect path")
                marks.first.wait_for(state="attached")
                assert marks.count() >= 2, chart
            page.wait_for_timeout(500)
            shoot("dashboard")
        finally:
            browser.close()
    print(f"screenshots: {shots}")
    assert len(list(shots.glob("*.png"))) == 6


def _boxes(locator: Any) -> list[dict[str, float]]:
    boxes = []
    for i in range(locator.count()):
        box = locator.nth(i).bounding_box()
        assert box is not None
        boxes.append(box)
    return boxes
