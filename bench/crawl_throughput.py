"""Pages per second of `newswatch crawl` against a bare Scrapy spider, same pages, same run.

A local portal (127.0.0.1) serves N synthetic articles (default 2,000) in the demo's mix of
GBK, Big5 and UTF-8 with right, wrong and missing declarations, listed in one sitemap.

- baseline: a bare Scrapy ``SitemapSpider`` that reads the same sitemap and downloads every
  article, doing nothing with it, with newswatch's download settings (2 requests per host
  at once, delay 0, AutoThrottle from 0, robots.txt obeyed);
- newswatch: `newswatch crawl` of a source with that sitemap (decode, extract, language,
  archive writes, conditional-GET bookkeeping), delay 0.

Each runs in its own process (Twisted's reactor runs once per process). Prints both rates
and the ratio. Run: python bench/crawl_throughput.py [--articles 2000]
"""

from __future__ import annotations

import argparse
import os
import platform
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=2000)
    args = parser.parse_args()
    articles = synthetic_articles(args.articles)
    with tempfile.TemporaryDirectory() as tmp, PortalServer(0, articles=articles) as portal:
        work = Path(tmp)
        sitemap = portal.url("/sitemaps/news.xml")
        (work / "bare.py").write_text(BARE_SPIDER)
        started = time.perf_counter()
        subprocess.run([sys.executable, str(work / "bare.py"), sitemap], check=True)
        bare_seconds = time.perf_counter() - started
        bare_pages = len(portal.requested("/news/"))

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
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "crawler.cli", "--config", str(config), "crawl"],
            check=True,
            stdout=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
        )
        nw_seconds = time.perf_counter() - started
        nw_pages = len(portal.requested("/news/"))
        stored = (
            sqlite3.connect(work / "bench.db")
            .execute("SELECT count(*) FROM articles")
            .fetchone()[0]
        )

    bare_rate = bare_pages / bare_seconds
    nw_rate = nw_pages / nw_seconds
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"articles: {args.articles}")
    print(
        f"bare scrapy spider: {bare_pages} pages in {bare_seconds:.1f} s = {bare_rate:.1f} pages/s"
    )
    print(
        f"newswatch crawl:    {nw_pages} pages in {nw_seconds:.1f} s = {nw_rate:.1f} pages/s "
        f"({stored} stored)"
    )
    print(f"ratio newswatch/bare: {nw_rate / bare_rate:.2f}")


if __name__ == "__main__":
    main()
