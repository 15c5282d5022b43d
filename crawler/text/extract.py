"""Pull an article's title, main text, publish date and declared canonical link from HTML.

The generic path is trafilatura (main-text extraction that drops navigation, sidebars and
related-article lists), after comment threads, related-article boxes and appended next
articles named the way Chinese portals name them are pruned (``blocks.py``). When
trafilatura returns nothing or very little from a page that plainly holds a long text, or
returns a layout table, the text-density extractor (``density.py``) takes over; which one
produced the text is recorded. A source's ``selectors`` replace any of title, body and date
when the generic result is not good enough for a site. The date comes from the date
selector, else the page's metadata, else the short lines of the page's header (the lines
after the headline and elements named for a time, date, source or byline: ``3小时前``,
``昨天 14:30``, ``来源：新华社``), else the start of the text; relative and partial dates are
resolved against the fetch time (:mod:`crawler.text.dates`). The header lines are returned
too, for the article's credited origin. I/O-free.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import lxml.html
from lxml import etree

from crawler.text.blocks import prune_tree
from crawler.text.dates import CN_FULL_DATE_RE, find_date, finer, normalize_date, resolve_date
from crawler.text.density import density_text
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
    "//meta[@name='DCTERMS.issued']/@content",
    "//meta[@name='dcterms.issued']/@content",
    "//meta[@name='DCTERMS.created']/@content",
    "//meta[@name='citation_publication_date']/@content",
    "//meta[@name='citation_date']/@content",
    "//meta[@property='og:published_time']/@content",
    "//meta[@name='parsely-pub-date']/@content",
    "//meta[@name='publish-date']/@content",
    "//meta[@name='publish_date']/@content",
    "//*[@itemprop='datePublished']/@datetime",
    "//time[@datetime]/@datetime",
)
_LD_JSON_XPATH = etree.XPath("//script[@type='application/ld+json']/text()")
# WeChat articles date themselves only in their script: ``var ct = "1774567890"`` (the
# moment, in seconds), ``var publish_time = "2026-03-27"``.
_WECHAT_TIME_RE = re.compile(r"""\bvar\s+ct\s*=\s*["'](\d{9,10})["']""")
_WECHAT_DAY_RE = re.compile(r"""\bvar\s+publish_time\s*=\s*["']([\d-]{8,10}(?: [\d:]{4,8})?)["']""")
_CANONICAL_XPATHS = (
    "//link[@rel='canonical']/@href",
    "//meta[@property='og:url']/@content",
)
_BLANK_LINES_RE = re.compile(r"\n\s*\n+")
_SPACES_RE = re.compile(r"[ \t\u00a0\u3000]+")
_ISO_DATE_RE = re.compile(r"\b(20\d{2}|19\d{2})-(\d{2})-(\d{2})(?:[ T]\d{2}:\d{2}(?::\d{2})?)?")


@dataclass(frozen=True)
class Extracted:
    title: str
    text: str
    published_at: str | None
    declared_canonical: str | None
    published_precision: str | None = None
    header: tuple[str, ...] = ()
    extractor: str = "trafilatura"


def _first(tree: etree._Element, xpaths: tuple[str, ...]) -> str | None:
    for xpath in xpaths:
        for value in tree.xpath(xpath):
            value = str(value).strip()
            if value:
                return value
    return None


def _linked_data_date(tree: etree._Element) -> str | None:
    """``datePublished`` of the page's schema.org JSON-LD (an article, or the first item
    of a list or ``@graph`` that has one)."""
    for script in _LD_JSON_XPATH(tree):
        try:
            data = json.loads(script)
            found = _date_published(data)
        except (ValueError, RecursionError):  # not JSON, or nested past reason
            continue
        if found:
            return found
    return None


def _date_published(data: Any) -> str | None:
    if isinstance(data, list):
        return next(filter(None, map(_date_published, data)), None)
    if not isinstance(data, dict):
        return None
    value = data.get("datePublished")
    if isinstance(value, str) and value.strip():
        return value
    return _date_published(data.get("@graph"))


def _script_date(html: str) -> str | None:
    """The date a WeChat article's script carries (its markup shows none)."""
    if "rich_media" not in html and "js_content" not in html:
        return None
    match = _WECHAT_TIME_RE.search(html)
    if match:
        return datetime.fromtimestamp(int(match.group(1)), UTC).isoformat()
    match = _WECHAT_DAY_RE.search(html)
    return match.group(1) if match else None


def _select(tree: etree._Element, spec: str | None) -> list[str]:
    return compile_selector(spec).texts(tree) if spec else []


_TITLE_XPATHS = (
    "//meta[@property='og:title']/@content",
    "//meta[@name='twitter:title']/@content",
    "//meta[@name='title']/@content",
)
_TITLE_SEPARATORS_RE = re.compile(r"\s+[-|_–—]\s+|\s*[|｜_]\s*|\s*-{2,}\s*")


_SHORT_TEXT = 250
_TINY_TEXT = 50
# The density extractor's text replaces trafilatura's when it is at least this long and
# this many times longer: the page plainly held a long text trafilatura did not return.
_LONG_TEXT = 200
_LONGER = 1.5
_TABLE_ROW_RE = re.compile(r"^\s*\|.*\|\s*$", re.MULTILINE)
_TABLE_RULE_RE = re.compile(r"^\s*\|(?:\s*:?-+:?\s*\|)+\s*$")
_CELL_SPLIT_RE = re.compile(r"(?<!\\)\|")
_PROSE_CELL = 200  # characters: a cell this long holds the page's text, not a datum


# Inline elements with nothing in them: a stock quote's placeholder (Sina's
# ``<span id="quote_sh688629"></span>``), an icon. trafilatura drops the text that follows
# one in its paragraph, so they go first, their tails kept.
_EMPTY_INLINE_XPATH = etree.XPath(
    "//span[not(node())]|//font[not(node())]|//em[not(node())]|//i[not(node())]"
    "|//b[not(node())]|//strong[not(node())]|//a[not(node())]"
)


def _drop_empty_inline(tree: etree._Element) -> None:
    for node in _EMPTY_INLINE_XPATH(tree):
        if node.getparent() is not None:
            node.drop_tag()  # type: ignore[attr-defined]  # lxml.html: its tail stays


def _trafilatura_text(tree: etree._Element, *, url: str | None, fast: bool) -> str:
    import trafilatura

    _drop_empty_inline(tree)
    options = copy.copy(_extraction_options(fast))  # trafilatura may adjust its copy
    options.url = options.source = url
    document = trafilatura.bare_extraction(tree, options=options)
    return getattr(document, "text", None) or ""


@functools.cache
def _extraction_options(fast: bool) -> Any:
    """trafilatura's options for the article text, built once (building them reads its
    configuration anew, a tenth of a millisecond per page); each call takes a copy that
    names its page."""
    from trafilatura.settings import Extractor

    return Extractor(
        output_format="python",
        fast=fast,
        with_metadata=False,
        comments=False,
        tables=True,
        precision=True,
        dedup=False,
    )


_LOGO_RE = re.compile(r"logo|brand|site-?(?:name|title)", re.IGNORECASE)


def _names_the_site(heading: etree._Element) -> bool:
    """An ``<h1>`` that holds the site's name or logo, not the headline: named for a logo,
    or a link to the home page and nothing else."""
    # the heading, or the block or two it sits in (a class high up, on <body>, is a theme)
    nearby = [heading, *[n for _, n in zip(range(2), heading.iterancestors(), strict=False)]]
    for node in nearby:
        if node.tag in ("article", "main", "body", "html"):
            break
        if _LOGO_RE.search(f"{node.get('class', '')} {node.get('id', '')}"):
            return True
    links = heading.xpath(".//a")
    return (
        len(links) == 1
        and _is_home(links[0].get("href") or "")
        and _node_text(links[0]) == _node_text(heading)
    )


_HOME_PATHS = frozenset(
    {"", "/", "./", "index.html", "/index.html", "index.htm", "/index.htm", "/index.shtml"}
)


def _is_home(href: str) -> bool:
    """A link to a site's home page: ``/``, ``./``, ``index.html``, ``https://site/``
    (not an empty or ``#`` link, which a headline may wrap)."""
    href = href.strip()
    if not href or href.startswith("#"):
        return False
    parts = urlsplit(href)
    return not parts.query and parts.path in _HOME_PATHS


def _generic_title(tree: etree._Element) -> str:
    """The article's headline: its only ``<h1>`` (inside ``<article>`` or ``<main>`` when
    there are several; not one that holds the site's name), else ``og:title`` and the
    like, else the longest part of ``<title>`` split at the site-name separator."""
    for scope in ("//article//h1", "//main//h1", "//h1"):
        headings = [h for h in tree.xpath(scope) if _node_text(h) and not _names_the_site(h)]
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
    match = CN_FULL_DATE_RE.search(text) or _ISO_DATE_RE.search(text)
    return match.group(0) if match else None


_HEADER_NAME_RE = re.compile(
    r"time|date|pub|info|source|byline|author|origin|from|laiyuan|editor|meta", re.IGNORECASE
)
_HEADER_LINE_MAX = 120
_AFTER_HEADLINE = 15
_BODY_LINE = 60


_UNREAD_TAGS = frozenset({"script", "style"})
# (tree may be a fragment; elements found through their attributes, as in ``blocks``)
_NAMED_XPATH = etree.XPath("(descendant-or-self::node()/@class|descendant-or-self::node()/@id)/..")


def _texts_within(node: etree._Element) -> Iterator[str]:
    """The text nodes inside ``node``, in document order, none of a script or style (nor
    a comment's or processing instruction's content)."""
    if not isinstance(node.tag, str) or node.tag in _UNREAD_TAGS:
        return
    if node.text:
        yield node.text
    for child in node:
        yield from _texts_within(child)
        if child.tail:
            yield child.tail


def _texts_after(node: etree._Element) -> Iterator[str]:
    """The text nodes after ``node`` in document order (XPath's ``following::text()``),
    none of a script or style: read lazily, so a caller that stops early does not walk
    the rest of a large page."""
    while node is not None:
        if node.tail:
            yield node.tail
        for sibling in node.itersiblings():
            yield from _texts_within(sibling)
            if sibling.tail:
                yield sibling.tail
        node = node.getparent()


def _header_texts(tree: etree._Element) -> list[str]:
    """Short lines of the page's header: those right after the headline (up to the first
    long line, where the body starts), then elements whose class or id names a time, date,
    source or byline. Read before trafilatura prunes the tree."""
    found: list[str] = []
    headings = tree.xpath("//article//h1") or tree.xpath("//main//h1") or tree.xpath("//h1")
    if headings:
        for piece in _texts_after(headings[0]):
            line = " ".join(piece.split())
            if not line:
                continue
            if len(line) > _BODY_LINE or len(found) >= _AFTER_HEADLINE:
                break
            found.append(line)
    for node in _NAMED_XPATH(tree):
        if node.tag in ("script", "style", "meta", "link"):
            continue
        names = f"{node.get('class', '')} {node.get('id', '')}"
        if names.strip() and _HEADER_NAME_RE.search(names):
            line = " ".join(" ".join(node.itertext()).split())
            if line and len(line) <= _HEADER_LINE_MAX:
                found.append(line)
    return list(dict.fromkeys(found))


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
    fetched_at: str | datetime | None = None,
    timezone: str | None = None,
) -> Extracted:
    """Extract from decoded ``html``. Selectors (CSS or XPath) override the generic result.
    Dates are read in ``timezone`` (naive times stay as written when it is None) and
    relative ones against ``fetched_at`` (default: now)."""
    try:
        tree = lxml.html.fromstring(html)
    except (etree.ParserError, ValueError):
        return Extracted("", "", None, None, extractor="none")

    # Everything read from the tree happens before trafilatura, which prunes it in place.
    selected_title = _select(tree, title_selector)
    selected_body = _select(tree, body_selector)
    selected_date = _select(tree, date_selector)
    meta_date = _first(tree, _DATE_XPATHS) or _linked_data_date(tree) or _script_date(html)
    declared_canonical = _first(tree, _CANONICAL_XPATHS)
    header = _header_texts(tree)

    title = selected_title[0] if selected_title else _generic_title(tree)
    text = "\n".join(selected_body)
    extractor = "selectors"
    if not text:
        extractor = "trafilatura"
        prune_tree(tree)
        # Metadata is read here, not by trafilatura: its metadata pass (with htmldate)
        # costs more than the extraction itself.
        text = _trafilatura_text(tree, url=url, fast=True)
        table = _looks_like_layout_table(text)
        if (len(text) < _SHORT_TEXT and _holds_more_text(html, len(text))) or table:
            # The page plainly holds more text than trafilatura returned.
            dense = density_text(html)
            if len(dense) >= _LONG_TEXT and (len(dense) >= _LONGER * len(text) or table):
                text, extractor = dense, "density"
        if extractor == "trafilatura" and len(text) < _TINY_TEXT:
            # Nothing found either way: let trafilatura compare with its fallback
            # extractors (readability, jusText), which costs several times the fast pass.
            fresh = lxml.html.fromstring(html)
            prune_tree(fresh)
            text = _trafilatura_text(fresh, url=url, fast=False) or text
    published = resolve_date(
        selected_date[0] if selected_date else None, fetched_at=fetched_at, timezone=timezone
    )
    if published is None:
        declared = resolve_date(meta_date, fetched_at=fetched_at, timezone=timezone)
        if declared is None or declared.precision == "day":
            # metadata that gives the day only yields to the header's time on that day
            shown = find_date(header, fetched_at=fetched_at, timezone=timezone)
            published = finer(declared, shown, timezone=timezone) if declared else shown
        else:
            published = declared
    if published is None and text:
        published = resolve_date(
            _date_in_text(text[:300] + "\n" + (title or "")),
            fetched_at=fetched_at,
            timezone=timezone,
        )

    title = _tidy(title).replace("\n", " ")
    text = _tidy(text)
    if title and text.startswith(title):
        text = text[len(title) :].lstrip()
    elif title:
        # the headline again under a byline or a page marker ("作者：…\n<headline>\n…")
        lines = text.split("\n")
        for index, line in enumerate(lines[:3]):
            if line.strip() == title:
                text = "\n".join(lines[:index] + lines[index + 1 :])
                break
    return Extracted(
        title,
        text,
        published.value if published else None,
        declared_canonical,
        published_precision=published.precision if published else None,
        header=tuple(header),
        extractor=extractor,
    )


_PROSE_XPATH = (
    "//body//text()[not(ancestor::script or ancestor::style or ancestor::a or ancestor::noscript)]"
)


def _holds_more_text(html: str, extracted: int) -> bool:
    """Whether the page holds plainly more text, outside links, comment threads and
    related boxes, than was extracted."""
    try:
        tree = lxml.html.fromstring(html)
    except (etree.ParserError, ValueError):
        return False
    prune_tree(tree)
    prose = sum(len(t.strip()) for t in tree.xpath(_PROSE_XPATH))
    return prose >= max(_LONG_TEXT, _LONGER * extracted) + extracted


def _looks_like_layout_table(text: str) -> bool:
    """trafilatura's rendering of a page laid out in a table: cells of prose hold half its
    text or more (even in one row), or most lines are rows that do not share a number of
    columns (a data table in an article, the Entity List's additions, has its columns in
    every row)."""
    lines = text.count("\n") + 1
    rows = [
        [cell.strip() for cell in _CELL_SPLIT_RE.split(row.strip()[1:-1])]
        for row in _TABLE_ROW_RE.findall(text)
        if not _TABLE_RULE_RE.match(row)
    ]
    prose = sum(len(cell) for row in rows for cell in row if len(cell) >= _PROSE_CELL)
    if prose >= 0.5 * len(text):
        return True  # the page's text in cells: laid out in a table (even in one row)
    if len(rows) < max(2, lines * 0.3):
        return False
    columns, count = Counter(len(row) for row in rows).most_common(1)[0]
    return columns < 2 or count < 0.7 * len(rows)
