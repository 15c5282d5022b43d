"""Feeds, sitemaps and listings parsed from bytes, including broken ones."""

from __future__ import annotations

import gzip

import pytest

from crawler.demo.portal import PortalSite
from crawler.discovery import (
    MalformedFeed,
    MalformedSitemap,
    listing_links,
    next_page_links,
    parse_feed,
    parse_sitemap,
)

BASE = "http://portal.test"


@pytest.fixture(scope="module")
def site() -> PortalSite:
    return PortalSite(BASE)


def test_rss_in_gbk_with_tracking_links(site: PortalSite) -> None:
    links = parse_feed(site.rss(), base_url=f"{BASE}/feeds/zh.xml")
    zh = [a for a in site.articles if a.lang.startswith("zh")]
    assert len(links) == len(zh)
    assert links[0].url.startswith(f"{BASE}{zh[0].path}?utm_source=rss")
    assert links[0].title == zh[0].title
    assert links[0].published_at is not None


def test_atom_relative_links_resolved(site: PortalSite) -> None:
    links = parse_feed(site.atom(), base_url=f"{BASE}/feeds/en.atom")
    en = [a for a in site.articles if a.lang == "en"]
    assert [link.url for link in links] == [f"{BASE}{a.path}" for a in en]


@pytest.mark.parametrize(
    "body",
    [b"<html><body><h1>502 Bad Gateway</h1></body></html>", b"", b"\x00\x01garbage"],
)
def test_not_a_feed(body: bytes) -> None:
    with pytest.raises(MalformedFeed):
        parse_feed(body, base_url=BASE)


def test_truncated_feed_keeps_what_it_can() -> None:
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><item><title>A</title>'
        b"<link>http://x.test/a</link></item><item><title>B"
    )
    links = parse_feed(body, base_url=BASE)
    assert [link.url for link in links] == ["http://x.test/a"]


def test_sitemap_index_and_news_sitemap(site: PortalSite) -> None:
    index = parse_sitemap(site.sitemap_index(), base_url=f"{BASE}/sitemap.xml")
    assert index.sitemaps == [f"{BASE}/sitemaps/news.xml"]
    assert index.articles == []
    news = parse_sitemap(site.news_sitemap(), base_url=f"{BASE}/sitemaps/news.xml")
    assert len(news.articles) == len(site.articles)
    first = news.articles[0]
    assert first.title == site.articles[0].title
    assert first.published_at == "2026-03-02T01:15:00Z"


def test_gzipped_sitemap(site: PortalSite) -> None:
    content = parse_sitemap(gzip.compress(site.news_sitemap()), base_url=BASE)
    assert len(content.articles) == len(site.articles)


@pytest.mark.parametrize(
    "body", [b"<html><body>nope</body></html>", b"not xml at all", b"\x1f\x8bbroken gzip"]
)
def test_not_a_sitemap(body: bytes) -> None:
    with pytest.raises(MalformedSitemap):
        parse_sitemap(body, base_url=BASE)


def test_sitemap_entities_are_not_expanded() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<url><loc>http://x.test/&e;</loc></url></urlset>"
    )
    content = parse_sitemap(body, base_url=BASE)
    assert all("root:" not in link.url for link in content.articles)


def test_listing_links_and_pagination(site: PortalSite) -> None:
    page1 = site.listing(1)
    assert page1 is not None
    links = listing_links(
        page1, base_url=f"{BASE}/list/", pattern=r"/news/[a-z]+/\d{4}/[a-z0-9-]+\.html$"
    )
    assert links == [f"{BASE}{a.path}" for a in site.articles[:5]]
    assert next_page_links(page1, base_url=f"{BASE}/list/") == [f"{BASE}/list/?page=2"]
    last = site.listing(3)
    assert last is not None and next_page_links(last, base_url=f"{BASE}/list/") == []


def test_listing_next_page_selector() -> None:
    html = '<div class="pager"><a href="?p=2">下一页</a></div><a href="/x">x</a>'
    assert next_page_links(html, base_url=f"{BASE}/list/", selector="div.pager a") == [
        f"{BASE}/list/?p=2"
    ]
    assert next_page_links(
        html, base_url=f"{BASE}/list/", selector="//div[@class='pager']/a/@href"
    ) == [f"{BASE}/list/?p=2"]
