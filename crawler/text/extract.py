"""Pull an article's title, main text, publish date and declared canonical link from HTML.

The generic path is trafilatura (main-text extraction that drops navigation, sidebars and
related-article lists); a source's ``selectors`` replace any of title, body and date when the
generic result is not good enough for a site. I/O-free.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import lxml.html
from lxml import etree

from crawler.text.selectors import compile_selector

__all__ = ["Extracted", "extract_article", "normalize_date"]

LOGGER = logging.getLogger(__name__)

_DATE_XPATHS = (
    "//meta[@property='article:published_time']/@content",
    "//meta[@name='article:published_time']/@content",
    "//meta[@itemprop='datePublished']/@content",
    "//meta[@name='pubdate']/@content",
    "//meta[@name='publishdate']/@content",
    "//meta[@name='PubDate']/@content",
    "//meta[@name='dc.date']/@content",
    "//meta[@name='DC.date.issued']/@content",
    "//time[@datetime]/@datetime",
)
_CANONICAL_XPATHS = (
    "//link[@rel='canonical']/@href",
    "//meta[@property='og:url']/@content",
)
_BLANK_LINES_RE = re.compile(r"\n\s*\n+")
_SPACES_RE = re.compile(r"[ \t\u00a0\u3000]+")
_CN_DATE_RE = re.compile(
    r"(\d{4})\s*[年/.-]\s*(\d{1,2})\s*[月/.-]\s*(\d{1,2})\s*日?"
    r"(?:\s*(\d{1,2}):(\d{2})(?::(\d{2}))?)?"
)


_ISO_DATE_RE = re.compile(r"\b(20\d{2}|19\d{2})-(\d{2})-(\d{2})(?:[ T]\d{2}:\d{2}(?::\d{2})?)?")


@dataclass(frozen=True)
class Extracted:
    title: str
    text: str
    published_at: str | None
    declared_canonical: str | None


def normalize_date(value: str | None) -> str | None:
    """An ISO 8601 timestamp for the date strings portals use (ISO, RFC 2822, ``2025年5月1日``),
    UTC when the zone is known, or ``None``."""
    if not value:
        return None
    value = value.strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None:
        from email.utils import parsedate_to_datetime

        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            parsed = None
    if parsed is None:
        match = _CN_DATE_RE.search(value)
        if not match:
            return None
        year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
        try:
            parsed = datetime(year, month, day, hour, minute, second)
        except ValueError:
            return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC)
        return parsed.isoformat().replace("+00:00", "Z")
    return parsed.isoformat()


def _first(tree: etree._Element, xpaths: tuple[str, ...]) -> str | None:
    for xpath in xpaths:
        for value in tree.xpath(xpath):
            value = str(value).strip()
            if value:
                return value
    return None


def _select(tree: etree._Element, spec: str | None) -> list[str]:
    return compile_selector(spec).texts(tree) if spec else []


_TITLE_XPATHS = (
    "//meta[@property='og:title']/@content",
    "//meta[@name='twitter:title']/@content",
    "//meta[@name='title']/@content",
)
_TITLE_SEPARATORS_RE = re.compile(r"\s+[-|_–—]\s+|\s*[|｜_]\s*")


_SHORT_TEXT = 250


def _trafilatura_text(tree: etree._Element, *, url: str | None, fast: bool) -> str:
    import trafilatura

    document = trafilatura.bare_extraction(
        tree,
        url=url,
        fast=fast,
        with_metadata=False,
        include_comments=False,
        include_tables=True,
        favor_precision=True,
        deduplicate=False,
    )
    return getattr(document, "text", None) or ""


def _generic_title(tree: etree._Element) -> str:
    """The article's headline: its only ``<h1>`` (inside ``<article>`` or ``<main>`` when
    there are several), else ``og:title`` and the like, else the longest part of
    ``<title>`` split at the site-name separator."""
    for scope in ("//article//h1", "//main//h1", "//h1"):
        headings = [h for h in tree.xpath(scope) if _node_text(h)]
        if len(headings) == 1:
            return _node_text(headings[0])
    declared = _first(tree, _TITLE_XPATHS)
    if declared:
        return declared
    titles = tree.xpath("//title")
    if titles:
        parts = [p for p in _TITLE_SEPARATORS_RE.split(_node_text(titles[0])) if p.strip()]
        return max(parts, key=len) if parts else ""
    return ""


def _node_text(node: etree._Element) -> str:
    return " ".join(t.strip() for t in node.itertext() if t.strip())


def _date_in_text(text: str) -> str | None:
    match = _CN_DATE_RE.search(text) or _ISO_DATE_RE.search(text)
    return normalize_date(match.group(0)) if match else None


def _tidy(text: str) -> str:
    lines = [_SPACES_RE.sub(" ", line).strip() for line in text.splitlines()]
    return _BLANK_LINES_RE.sub("\n", "\n".join(line for line in lines if line)).strip()


def extract_article(
    html: str,
    *,
    url: str | None = None,
    title_selector: str | None = None,
    body_selector: str | None = None,
    date_selector: str | None = None,
) -> Extracted:
    """Extract from decoded ``html``. Selectors (CSS or XPath) override the generic result."""
    try:
        tree = lxml.html.fromstring(html)
    except (etree.ParserError, ValueError):
        return Extracted("", "", None, None)

    # Everything read from the tree happens before trafilatura, which prunes it in place.
    selected_title = _select(tree, title_selector)
    selected_body = _select(tree, body_selector)
    selected_date = _select(tree, date_selector)
    meta_date = _first(tree, _DATE_XPATHS)
    declared_canonical = _first(tree, _CANONICAL_XPATHS)

    title = selected_title[0] if selected_title else _generic_title(tree)
    text = "\n".join(selected_body)
    if not text:
        # Metadata is read here, not by trafilatura: its metadata pass (with htmldate)
        # costs more than the extraction itself.
        text = _trafilatura_text(tree, url=url, fast=True)
        if len(text) < _SHORT_TEXT:
            # Odd layouts: let trafilatura compare with its fallback extractors.
            text = _trafilatura_text(lxml.html.fromstring(html), url=url, fast=False) or text
    published = normalize_date(selected_date[0] if selected_date else None) or normalize_date(
        meta_date
    )
    if published is None and text:
        published = _date_in_text(text[:300] + "\n" + (title or ""))

    title = _tidy(title).replace("\n", " ")
    text = _tidy(text)
    if title and text.startswith(title):
        text = text[len(title) :].lstrip()
    return Extracted(title, text, published, declared_canonical)
