"""Canonical URLs: tracking parameters never reach canonical_url."""

from __future__ import annotations

import pytest

from crawler.text.urls import canonical_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://News.Example.com:443/a/1.html?utm_source=rss&utm_medium=feed",
            "https://news.example.com/a/1.html",
        ),
        (
            "http://example.com/a.html?id=3&spm=a1.b2&from=timeline#comments",
            "http://example.com/a.html?id=3",
        ),
        ("http://example.com/a.html?b=2&a=1&fbclid=xyz", "http://example.com/a.html?a=1&b=2"),
        ("http://example.com/news/index.html", "http://example.com/news/"),
        ("http://example.com:8080/x?share_token=abc", "http://example.com:8080/x"),
        ("http://127.0.0.1:8765/news/a.html", "http://127.0.0.1:8765/news/a.html"),
        ("http://[::1]:8765/news/a.html", "http://[::1]:8765/news/a.html"),
        ("https://[2001:DB8::1]:443/a.html", "https://[2001:db8::1]/a.html"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_idempotent() -> None:
    url = "https://example.com/a%20b/c.html?x=1&utm_campaign=z"
    assert canonical_url(canonical_url(url)) == canonical_url(url)


def test_mobile_hosts_map_to_desktop() -> None:
    aliases = {"m.163.com": "www.163.com", "3g.163.com": "www.163.com"}
    assert canonical_url("https://m.163.com/dy/article/ABC.html?spm=x", host_aliases=aliases) == (
        "https://www.163.com/dy/article/ABC.html"
    )
    assert canonical_url("https://news.163.com/a.html", host_aliases=aliases) == (
        "https://news.163.com/a.html"
    )


@pytest.mark.parametrize(
    ("url", "site"),
    [
        ("https://news.163.com/a", "163.com"),
        ("http://m.sina.com.cn/x", "sina.com.cn"),
        ("http://127.0.0.1:8765/a", "127.0.0.1"),
        ("https://example.org/", "example.org"),
    ],
)
def test_site_of(url: str, site: str) -> None:
    from crawler.text.urls import site_of

    assert site_of(url) == site
