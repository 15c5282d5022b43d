"""Extraction: the article's own title, text and date; sidebars stay out; selectors win."""

from __future__ import annotations

import pytest

from crawler.demo.portal import PortalSite
from crawler.text.extract import extract_article, normalize_date
from crawler.text.page import process_page

BASE = "http://portal.test"
SITE = PortalSite(BASE)


@pytest.mark.parametrize("article", SITE.articles, ids=lambda a: a.slug)
def test_portal_pages_through_the_page_pipeline(article) -> None:  # type: ignore[no-untyped-def]
    reply = SITE.article_reply(article)
    page = process_page(
        reply.body,
        url=f"{BASE}{article.path}?utm_source=x",
        content_type=reply.headers["Content-Type"],
    )
    assert page.title == article.title
    for paragraph in article.paragraphs:
        assert paragraph in page.text
    others = [a.title for a in SITE.articles if a.slug != article.slug]
    assert not any(title in page.text for title in others), "sidebar headline leaked"
    assert page.lang == article.lang
    assert page.canonical_url == f"{BASE}{article.path}"
    assert page.published_at == normalize_date(article.date)
    assert page.repairs["encoding"]["codec"] == page.encoding


def test_selectors_override_generic_extraction() -> None:
    html = """<html><body><div class="hd"><span class="t">Real title</span></div>
    <div id="story"><p>First paragraph of the story.</p><p>Second paragraph.</p></div>
    <p class="when">2026年3月5日 14:30</p></body></html>"""
    result = extract_article(
        html, title_selector="span.t", body_selector="#story p", date_selector="//p[@class='when']"
    )
    assert result.title == "Real title"
    assert result.text == "First paragraph of the story.\nSecond paragraph."
    assert result.published_at == "2026-03-05T14:30:00"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-02T09:15:00+08:00", "2026-03-02T01:15:00Z"),
        ("Tue, 03 Mar 2026 15:00:00 GMT", "2026-03-03T15:00:00Z"),
        ("2026年3月5日", "2026-03-05T00:00:00"),
        ("2026-03-05", "2026-03-05T00:00:00"),
        ("soon", None),
        (None, None),
    ],
)
def test_normalize_date(value: str | None, expected: str | None) -> None:
    assert normalize_date(value) == expected


def test_broken_html_gives_empty_result() -> None:
    page = process_page(b"", url="http://x.test/a")
    assert page.text == ""
    page = process_page(b"\x00\xff\xfe garbage", url="http://x.test/b")
    assert isinstance(page.text, str)


def test_canonical_link_to_another_site_is_ignored() -> None:
    html = b'<html><head><link rel="canonical" href="https://other.test/x"></head><body>' + (
        b"<article><h1>T</h1><p>"
        + b"Body text that is long enough to be extracted. " * 5
        + b"</p></article></body></html>"
    )
    page = process_page(html, url="http://mirror.test/a.html?utm_source=x")
    assert page.canonical_url == "http://mirror.test/a.html"


def test_mobile_page_names_its_desktop_twin() -> None:
    html = (
        b'<html><head><link rel="canonical" href="https://www.163.com/dy/article/A.html">'
        b"</head><body><article><h1>T</h1><p>"
        + b"Enough text for extraction here. " * 10
        + b"</p></article></body></html>"
    )
    page = process_page(html, url="https://m.163.com/dy/article/A.html?from=wap")
    assert page.canonical_url == "https://www.163.com/dy/article/A.html"
