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
(first article request to last, from the portal's log), and CPU seconds per page of the
command and its child processes (the page-stage pool's included); then the ratios.
Run: python bench/crawl_throughput.py [--articles 2000]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.synthetic import synthetic_articles  # noqa: E402
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


def child_cpu() -> float:
    """CPU seconds of every child process waited for so far (their own children included)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def download_span(portal: PortalServer) -> float:
    """Seconds from the first article request the portal logged to the last."""
    times = [r["at"] for r in portal.requested("/news/")]
    return max(times) - min(times) if len(times) > 1 else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=2000)
    args = parser.parse_args()
    articles = synthetic_articles(args.articles)
    with tempfile.TemporaryDirectory() as tmp, PortalServer(0, articles=articles) as portal:
        work = Path(tmp)
        sitemap = portal.url("/sitemaps/news.xml")
        (work / "bare.py").write_text(BARE_SPIDER)
        started, cpu = time.perf_counter(), child_cpu()
        subprocess.run([sys.executable, str(work / "bare.py"), sitemap], check=True)
        bare_seconds = time.perf_counter() - started
        bare_cpu = child_cpu() - cpu
        bare_pages = len(portal.requested("/news/"))
        bare_span = download_span(portal)

        config = work / "bench.toml"
        config.write_text(f"""
[archive]
path = "{work / "bench.db"}"
[[sources]]
name = "bench"
sitemaps = ["{sitemap}"]
delay = 0
""")
        portal.clear_log()
        started, cpu = time.perf_counter(), child_cpu()
        subprocess.run(
            [sys.executable, "-m", "crawler.cli", "--config", str(config), "crawl"],
            check=True,
            stdout=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
        )
        nw_seconds = time.perf_counter() - started
        nw_cpu = child_cpu() - cpu
        nw_pages = len(portal.requested("/news/"))
        nw_span = download_span(portal)
        stored = (
            sqlite3.connect(work / "bench.db")
            .execute("SELECT count(*) FROM articles")
            .fetchone()[0]
        )

    def line(name: str, pages: int, seconds: float, span: float, cpu: float) -> str:
        return (
            f"{name}: {pages} pages in {seconds:.1f} s = {pages / seconds:.1f} pages/s; "
            f"downloads alone {pages / span:.1f} pages/s; {1000 * cpu / pages:.2f} ms CPU/page"
        )

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"articles: {args.articles}")
    print(line("bare scrapy spider", bare_pages, bare_seconds, bare_span, bare_cpu))
    print(line("newswatch crawl   ", nw_pages, nw_seconds, nw_span, nw_cpu) + f" ({stored} stored)")
    print(
        f"ratio newswatch/bare: {(nw_pages / nw_seconds) / (bare_pages / bare_seconds):.2f} "
        f"whole command, {(nw_pages / nw_span) / (bare_pages / bare_span):.2f} downloads alone"
    )


if __name__ == "__main__":
    main()
