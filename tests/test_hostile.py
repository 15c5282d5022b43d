"""Hostile servers and documents (issue 15): every byte from a portal is untrusted. Bombs,
endless bodies, slow drips, redirect loops and chains into loopback, metadata and file:
URLs, external entities and billion laughs are dropped, bounded and counted, and nothing
from them is archived. (Links and redirects into private addresses are covered in
``test_crawl.py``, entity handling of sitemaps in ``test_discovery.py``.)"""

from __future__ import annotations

import gzip
import json
import sqlite3
import time
from pathlib import Path

import pytest

from crawler.demo.portal import PortalServer
from crawler.discovery import MalformedSitemap, listing_links, parse_feed, parse_sitemap
from crawler.discovery.sitemaps import MAX_INFLATED
from crawler.text.page import process_page
from tests.conftest import run_cli
from tests.hostile_servers import STREAM_LIMIT_BYTES, HostileSite

BASE = "https://news.example"
LAUGHS = '<!ENTITY lol "lol">' + "".join(
    f'<!ENTITY lol{i} "{("&lol;" if i == 1 else f"&lol{i - 1};") * 10}">' for i in range(1, 10)
)
XXE = '<!ENTITY xxe SYSTEM "file:///etc/passwd">'


def test_feed_entities_are_never_expanded_and_file_links_dropped() -> None:
    feed = (
        f'<?xml version="1.0"?><!DOCTYPE rss [{LAUGHS}{XXE}]><rss version="2.0"><channel>'
        "<title>&lol9;</title>"
        f"<item><title>&xxe; &lol9;</title><link>{BASE}/a.html</link></item>"
        "<item><title>f</title><link>file:///etc/passwd</link></item>"
        "<item><title>m</title><link>data:text/html,hello</link></item>"
        "</channel></rss>"
    ).encode()
    links = parse_feed(feed, base_url=f"{BASE}/feed.xml")
    assert [link.url for link in links] == [f"{BASE}/a.html"]
    title = links[0].title or ""
    assert "root:" not in title and "lollol" not in title and len(title) < 100


def test_sitemap_billion_laughs_and_gzip_bomb() -> None:
    body = (
        f'<?xml version="1.0"?><!DOCTYPE urlset [{LAUGHS}]>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>{BASE}/&lol9;.html</loc></url>"
        "<url><loc>file:///etc/passwd</loc></url></urlset>"
    ).encode()
    content = parse_sitemap(body, base_url=f"{BASE}/sitemap.xml")
    assert all(len(link.url) < 100 and link.url.startswith(BASE) for link in content.articles)

    bomb = gzip.compress(b"\0" * (MAX_INFLATED + 1), compresslevel=9)
    assert len(bomb) < MAX_INFLATED // 500
    with pytest.raises(MalformedSitemap, match="beyond the size cap"):
        parse_sitemap(bomb, base_url=f"{BASE}/sitemap.xml.gz")


def test_page_entities_are_never_expanded() -> None:
    paragraph = "<p>Exporters of accelerators waited for licences &lol9; and &xxe; all spring.</p>"
    html = (
        f"<!DOCTYPE html [{LAUGHS}{XXE}]><html><head><title>&lol9;</title></head><body>"
        f"<article><h1>Licences &xxe;</h1>{paragraph}"
        "<p>Distributors moved spring shipments to the summer and asked customers to "
        "revise their orders while the review went on.</p></article></body></html>"
    ).encode()
    page = process_page(html, url=f"{BASE}/a.html", content_type="text/html")
    assert "root:" not in page.text and "lollollol" not in page.text
    assert len(page.text) < 1000 and len(page.title or "") < 100


def test_listing_keeps_only_http_links() -> None:
    html = (
        '<a href="/news/a.html">a</a><a href="file:///etc/passwd">f</a>'
        '<a href="javascript:alert(1)">j</a><a href="data:text/html,x">d</a>'
        '<a href="ftp://news.example/news/b.html">ftp</a>'
    )
    assert listing_links(html, base_url=f"{BASE}/list", pattern="") == [f"{BASE}/news/a.html"]


@pytest.mark.slow
def test_hostile_site_is_crawled_within_bounds_and_only_its_honest_article_kept(
    tmp_path: Path, write_config
) -> None:  # type: ignore[no-untyped-def]
    """A listing links to a 64 MiB gzip bomb (64 kB on the wire), an endless body, a
    one-byte-per-half-second drip, a redirect loop, a 5-hop redirect chain ending on
    another loopback service, and redirects to file: and metadata URLs. A second source's
    feed is a redirect loop itself. The pass ends within the configured limits."""
    db = tmp_path / "a.db"
    with PortalServer(0, host="127.0.0.2") as inside:
        site = HostileSite(inside.base)
        try:
            config = write_config(f"""
[archive]
path = "{db}"
[crawl]
timeout = 3
retries = 0
max_page_size = 1048576
[[sources]]
name = "hostile"
listings = ["{site.base}/list"]
article_links = "/news/"
delay = 0
[[sources]]
name = "looping-feed"
feeds = ["{site.base}/news/loop-a.html"]
delay = 0
""")
            started = time.monotonic()
            result = run_cli("--config", str(config), "crawl", timeout=120)
            elapsed = time.monotonic() - started
            assert result.returncode == 0, result.stderr[-3000:]
            assert "Traceback" not in result.stderr
        finally:
            site.close()
        assert inside.requested() == []  # the chain's last hop was refused

    assert elapsed < 60, f"the pass took {elapsed:.0f} s"
    assert [r[0] for r in sqlite3.connect(db).execute("SELECT url FROM articles")] == [
        f"{site.base}/news/honest.html"
    ]
    runs = {
        row[0]: json.loads(row[1])
        for row in sqlite3.connect(db).execute("SELECT source, stats FROM crawl_runs")
    }
    hostile = runs["hostile"]
    assert hostile["newswatch/errors/blocked_address"] == 2  # metadata, end of the chain
    assert hostile["newswatch/errors/http_302"] == 1  # the file: redirect, not followed
    assert hostile["newswatch/errors/DownloadCancelledError"] == 1  # endless, cut at the cap
    assert hostile["newswatch/errors/DownloadTimeoutError"] == 1  # the drip
    assert hostile["newswatch/ignored/article"] == 1  # the bomb, dropped while inflating
    assert len(site.requested("/news/chain/")) == 5
    # The crawler hung up: the endless body stopped far short of its own limit, and the
    # drip (a byte every half second for up to 60 s) soon after the 3 s timeout.
    assert site.sent["/news/endless.html"] < STREAM_LIMIT_BYTES // 8
    assert site.sent["/news/drip.html"] < 40

    looping = runs["looping-feed"]
    assert looping["newswatch/ignored/feed"] == 1  # Scrapy's redirect limit
    assert looping["downloader/request_count"] <= 25
