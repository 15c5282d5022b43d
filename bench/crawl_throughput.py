"""Pages per second of `newswatch crawl` against a bare Scrapy spider, same pages, same run.

A local portal (127.0.0.1) serves N synthetic articles (default 2,000) in the demo's mix of
GBK, Big5 and UTF-8 with right, wrong and missing declarations, listed in one sitemap.

- baseline: a bare Scrapy ``SitemapSpider`` that reads the same sitemap and downloads every
  article, doing nothing with it, with newswatch's download settings (2 requests per host
  at once, delay 0, AutoThrottle from 0, robots.txt obeyed);
- newswatch: `newswatch crawl` of a source with that sitemap (decode, extract, language,
  archive writes, conditional-GET bookkeeping), delay 0.

Each runs in its own process (Twisted's reactor runs once per process). Prints, for each:
pages per second over the whole command (start-up included) and over the downloads alone
(first article request to last, from the portal's log); the seconds before the first
article request and after the last; CPU per page of everything the command started (the
page-stage workers included: :mod:`bench.machine`) and how busy the machine was; then the
ratios. It does so in rounds (default 3), each the bare spider then newswatch, and prints
the median of the rounds' ratios: a shared machine's speed drifts over a minute, and a
ratio taken within one round sees the same drift on both sides.
``--page-kb N`` pads every article page to about N KB with a real portal's markup around
the article (:func:`bench.synthetic.site_chrome`); without it a page is about 2 KB.
Run it on an otherwise quiet machine.
Run: python bench/crawl_throughput.py [--articles 2000] [--rounds 3] [--page-kb N]
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import Spent  # noqa: E402
from bench.synthetic import site_chrome, synthetic_articles  # noqa: E402
from crawler.demo.portal import PortalServer  # noqa: E402

BARE_SPIDER = r"""
import sys
from scrapy.crawler import CrawlerProcess
from scrapy.spiders import SitemapSpider
class Bare(SitemapSpider):
    name = "bare"
    sitemap_urls = [sys.argv[1]]
    def parse(self, response):
        pass
# The same download settings newswatch uses for a source with delay = 0.
process = CrawlerProcess({"LOG_LEVEL": "WARNING", "CONCURRENT_REQUESTS_PER_DOMAIN": 2,
                          "DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": True,
                          "AUTOTHROTTLE_START_DELAY": 0, "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.0,
                          "ROBOTSTXT_OBEY": True, "TELNETCONSOLE_ENABLED": False})
process.crawl(Bare)
process.start()
"""


def download_span(portal: PortalServer) -> tuple[float, float, float]:
    """When the portal logged the first article request and the last (its clock), and the
    seconds between them."""
    times = [r["at"] for r in portal.requested("/news/")]
    if len(times) < 2:
        return float("nan"), float("nan"), float("nan")
    return min(times), max(times), max(times) - min(times)


def timed(portal: PortalServer, command: list[str], **options: object) -> tuple[Spent, dict]:
    """Run ``command``; what it cost, and its pages, download span, start-up and tail."""
    portal.clear_log()
    started = time.time()
    with Spent() as spent:
        subprocess.run(command, check=True, **options)  # type: ignore[call-overload]
    first, last, span = download_span(portal)
    return spent, {
        "pages": len(portal.requested("/news/")),
        "span": span,
        "before": first - started,
        "after": started + spent.seconds - last,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds of (bare spider, then newswatch); the ratio is taken per round",
    )
    parser.add_argument("--page-kb", type=int, default=0, help="pad pages to about N KB")
    args = parser.parse_args()
    articles = synthetic_articles(args.articles)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"articles: {args.articles}, rounds: {args.rounds}")
    ratios: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory() as tmp, PortalServer(0, articles=articles) as portal:
        portal.site.chrome = site_chrome(args.page_kb * 1024)
        page = portal.site.article_reply(portal.site.articles[0]).body
        print(f"pages of {len(page) / 1024:.0f} KB")
        for round_ in range(1, args.rounds + 1):
            work = Path(tmp) / f"round-{round_}"
            work.mkdir()
            print(f"round {round_}:")
            ratios.append(one_round(portal, work))
    whole = statistics.median(r[0] for r in ratios)
    downloads = statistics.median(r[1] for r in ratios)
    print(
        f"median ratio newswatch/bare over {len(ratios)} rounds: {whole:.2f} whole command "
        f"(rounds: {', '.join(f'{r[0]:.2f}' for r in ratios)}), {downloads:.2f} downloads alone"
    )


def one_round(portal: PortalServer, work: Path) -> tuple[float, float]:
    """The bare spider, then newswatch, on the same pages; their ratios (whole command,
    downloads alone)."""
    sitemap = portal.url("/sitemaps/news.xml")
    (work / "bare.py").write_text(BARE_SPIDER)
    bare, bare_run = timed(portal, [sys.executable, str(work / "bare.py"), sitemap])

    config = work / "bench.toml"
    config.write_text(f"""
[archive]
path = "{work / "bench.db"}"
[[sources]]
name = "bench"
sitemaps = ["{sitemap}"]
delay = 0
""")
    nw, nw_run = timed(
        portal,
        [sys.executable, "-m", "crawler.cli", "--config", str(config), "crawl"],
        stdout=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
    )
    archive = sqlite3.connect(work / "bench.db")
    stored = archive.execute("SELECT count(*) FROM articles").fetchone()[0]
    archive.close()

    def line(name: str, spent: Spent, run: dict) -> str:
        pages = run["pages"]
        return (
            f"  {name}: {pages} pages in {spent.seconds:.1f} s = {pages / spent.seconds:.1f} "
            f"pages/s; downloads alone {pages / run['span']:.1f} pages/s ({run['before']:.1f} s "
            f"before the first, {run['after']:.1f} s after the last); "
            f"{1000 * spent.cpu / pages:.2f} ms CPU/page, machine {spent.busy:.0%} busy"
        )

    def rate(spent: Spent, run: dict) -> tuple[float, float]:
        return run["pages"] / spent.seconds, run["pages"] / run["span"]

    print(line("bare scrapy spider", bare, bare_run))
    print(line("newswatch crawl   ", nw, nw_run) + f" ({stored} stored)")
    (bare_whole, bare_downloads), (nw_whole, nw_downloads) = rate(bare, bare_run), rate(nw, nw_run)
    ratio = (nw_whole / bare_whole, nw_downloads / bare_downloads)
    print(f"  ratio newswatch/bare: {ratio[0]:.2f} whole command, {ratio[1]:.2f} downloads alone")
    return ratio


if __name__ == "__main__":
    main()
