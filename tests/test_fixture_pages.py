"""Gate (issue 13): pages written in the layouts real portals use come out as their own
article text: WeChat's #js_content, a finance portal's collapsed body, <br>-separated
text in a table cell, an infinite-scroll page with the next article appended, related
boxes and comment threads, Big5 with HKSCS characters, GBK and Big5 templates with UTF-8
articles pasted in, undeclared Korean and Japanese, a 163 article annotated with pinyin by
a byte-level replace, with spans whose lost bytes are missing from the page."""

from __future__ import annotations

import re
import statistics

import pytest

from bench.page_fixtures import FixturePage, bigram_f1, load_fixtures
from crawler.text.page import process_page

PAGES = load_fixtures()
_MOJIBAKE_RE = re.compile(r"[\ufffd\u0080-\u009f]|锟斤拷|[ÃÂÐ][\u0080-\u00ff]")
_READING_RE = re.compile(r"\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]{1,6}\)")


def _run(page: FixturePage):  # type: ignore[no-untyped-def]
    return process_page(page.body, url=page.url, content_type=page.content_type)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_fixture_page_yields_its_article(page: FixturePage) -> None:
    result = _run(page)
    assert result.text, page.layout
    assert bigram_f1(result.text, page.expected) >= 0.9, result.text
    assert result.lang == page.lang
    assert not _MOJIBAKE_RE.search(result.text) and not _READING_RE.search(result.text)
    assert result.title.split() == page.title.split()
    assert result.repairs["extractor"] == page.extractor
    if page.published_at:
        assert result.published_at == page.published_at


def test_fixture_pages_mean_f1() -> None:
    scores = [bigram_f1(_run(page).text, page.expected) for page in PAGES]
    assert statistics.fmean(scores) >= 0.97, scores


def test_fixture_set_covers_the_layouts() -> None:
    layouts = " ".join(page.layout for page in PAGES)
    for trait in (
        "#js_content",
        "finance portal",
        "<br>",
        "next article",
        "related-article",
        "comment thread",
        "Big5-HKSCS",
        "GBK template",
        "Big5 template",
        "Korean",
        "Japanese",
        "pinyin",
    ):
        assert trait in layouts, trait
    assert len(PAGES) >= 12
