"""Listing pages → article links (chosen by the source's ``article_links`` regex) and
next-page links (``rel=next`` or the source's ``next_page`` selector)."""

from __future__ import annotations

import re
from urllib.parse import urljoin

import lxml.html
from lxml import etree

from crawler.text.selectors import compile_selector

__all__ = ["listing_links", "next_page_links"]

_DEFAULT_NEXT = "//a[@rel='next']/@href | //link[@rel='next']/@href"


def _tree(html: str | bytes) -> etree._Element | None:
    try:
        return lxml.html.fromstring(html)
    except (etree.ParserError, ValueError):
        return None


def listing_links(html: str | bytes, *, base_url: str, pattern: str | re.Pattern[str]) -> list[str]:
    """Absolute URLs of links in ``html`` that ``pattern`` matches (``re.search``), in page
    order, without repeats and without fragments."""
    tree = _tree(html)
    if tree is None:
        return []
    regex = re.compile(pattern) if isinstance(pattern, str) else pattern
    seen: dict[str, None] = {}
    for element in tree.iter("a", "area"):
        href = element.get("href")
        if not href or href.startswith(("javascript:", "mailto:", "#")):
            continue
        url = urljoin(base_url, href.strip()).split("#", 1)[0]
        if url.startswith(("http://", "https://")) and regex.search(url):
            seen.setdefault(url, None)
    return list(seen)


def next_page_links(html: str | bytes, *, base_url: str, selector: str | None = None) -> list[str]:
    """Where the listing continues: the ``next_page`` selector's matches (hrefs of matched
    elements, or matched attribute values), else ``rel=next`` links."""
    tree = _tree(html)
    if tree is None:
        return []
    values: list[str] = []
    if selector:
        for node in compile_selector(selector).xpath(tree):
            if isinstance(node, etree._Element):
                href = node.get("href")
                if href:
                    values.append(href)
            else:
                values.append(str(node))
    else:
        values = [str(v) for v in tree.xpath(_DEFAULT_NEXT)]
    out: list[str] = []
    for value in values:
        url = urljoin(base_url, value.strip())
        if url.startswith(("http://", "https://")) and url not in out:
            out.append(url)
    return out
