"""The fallback extractor: the page's densest block of prose, by readability-style scoring.

Runs when trafilatura returns nothing or very little from a page that plainly holds a
long text, or returns a layout table: a WeChat article whose paragraphs are spans inside
nested ``<section>``s in a ``#js_content`` hidden until scripts run, a finance portal whose
body sits in a collapsed block, an old portal whose text is one ``<td>`` or ``<div>``
with paragraphs separated by ``<br>``.

On BeautifulSoup with the lxml parser: scripts, forms and page furniture go, and so do
comment threads, related-article boxes and next articles (``blocks.py``). Known article
containers (``#js_content`` and the like) win when they hold text. Otherwise the page is cut
into paragraph units: each ``<p>``, and each run of inline content between block tags or
``<br>``s. A unit with some length and few links scores by its length and its
punctuation; the score goes to its element and, halved, to the parent (readability's
scheme). The best element, less its link density, is the article; its units with few
links, in order, are the text. The scoring is written here because trafilatura's own
fallbacks (readability-lxml, jusText) are what failed on these pages. I/O-free.
"""

from __future__ import annotations

import copy
import re
from collections import defaultdict
from dataclasses import dataclass

import lxml.html
from bs4 import BeautifulSoup, NavigableString, Tag
from lxml import etree

from crawler.text.blocks import prune_tree

__all__ = ["KNOWN_CONTAINERS", "density_text"]

# Article containers of platforms and CMSs that newswatch meets, as (attribute, value):
# WeChat, schema.org markup, Sina, 163, hexun, government sites.
KNOWN_CONTAINERS = (
    ("id", "js_content"),
    ("class", "rich_media_content"),
    ("itemprop", "articleBody"),
    ("id", "artibody"),
    ("id", "article_content"),
    ("id", "endText"),
    ("class", "art_contextBox"),
    ("id", "zoom"),
)
_DROP_TAGS = (
    "script",
    "style",
    "noscript",
    "iframe",
    "form",
    "nav",
    "header",
    "footer",
    "aside",
    "select",
    "button",
    "textarea",
    "svg",
    "template",
    "head",
)
_KNOWN_MARKER_RE = re.compile("|".join(re.escape(value) for _, value in KNOWN_CONTAINERS))
_KNOWN_XPATHS = tuple(
    etree.XPath(
        f"//*[contains(concat(' ', normalize-space(@class), ' '), ' {value} ')]"
        if attribute == "class"
        else f"//*[@{attribute}='{value}']"
    )
    for attribute, value in KNOWN_CONTAINERS
)
_INLINE = frozenset(
    {"a", "span", "font", "b", "strong", "em", "i", "u", "sub", "sup", "small", "big", "mark"}
    | {"abbr", "cite", "code", "q", "s", "strike", "del", "ins", "label", "time", "img", "wbr"}
)
_PUNCTUATION_RE = re.compile(r"[，。；：、！？,.;:!?]")
_SPACES_RE = re.compile(r"[ \t\r\n\u00a0\u3000]+")
_MIN_UNIT = 20
_MAX_LINK_DENSITY = 0.5
_MIN_KNOWN = 100


@dataclass
class _Unit:
    element: Tag
    text: str
    link_chars: int

    @property
    def link_density(self) -> float:
        return self.link_chars / max(1, len(self.text))


def _tidy(text: str) -> str:
    return _SPACES_RE.sub(" ", text).strip()


def _units(root: Tag) -> list[_Unit]:
    """Paragraph units under ``root`` in document order: inline runs between block tags
    and ``<br>``s, each with the element that holds it and how much of it is link text."""
    units: list[_Unit] = []

    def flush(owner: Tag, parts: list[str], links: int) -> None:
        text = _tidy("".join(parts))
        if text:
            units.append(_Unit(owner, text, min(links, len(text))))

    def walk(element: Tag) -> None:
        parts: list[str] = []
        links = 0
        for child in element.children:
            if isinstance(child, NavigableString):
                if type(child) is NavigableString:  # not a comment or CDATA
                    parts.append(str(child))
                continue
            if not isinstance(child, Tag):
                continue
            if child.name == "br":
                flush(element, parts, links)
                parts, links = [], 0
            elif child.name in _INLINE:
                text = child.get_text()
                parts.append(text)
                if child.name == "a" or child.find("a") is not None:
                    links += len(_tidy(text))
            else:
                flush(element, parts, links)
                parts, links = [], 0
                walk(child)
        flush(element, parts, links)

    walk(root)
    return units


def _unit_score(unit: _Unit) -> float:
    if len(unit.text) < _MIN_UNIT or unit.link_density > _MAX_LINK_DENSITY:
        return 0.0
    return 1.0 + len(_PUNCTUATION_RE.findall(unit.text)) + min(len(unit.text) / 50, 3.0)


def _known(tag: Tag) -> int | None:
    """The rank of ``tag`` among ``KNOWN_CONTAINERS``, if it is one."""
    for rank, (attribute, value) in enumerate(KNOWN_CONTAINERS):
        found = tag.get(attribute)
        if found is None:
            continue
        if attribute == "class" and value in tag.get_attribute_list("class"):
            return rank
        if attribute != "class" and found == value:
            return rank
    return None


def _prune(soup: BeautifulSoup) -> list[Tag]:
    """Drop furniture; return the known containers, best first. (Comment threads,
    related boxes and next articles went before, on the lxml tree: ``_soup``.)"""
    for tag in soup(_DROP_TAGS):
        tag.decompose()
    known: list[tuple[int, Tag]] = []
    for tag in soup.find_all(True):
        rank = _known(tag) if tag.name not in ("html", "body") else None
        if rank is not None:
            known.append((rank, tag))
    return [tag for _, tag in sorted(known, key=lambda item: item[0])]


def _soup(tree: etree._Element) -> BeautifulSoup:
    """``tree`` without comment threads, related boxes and next articles (the judgement
    ``blocks.prune_tree`` makes for trafilatura too), as BeautifulSoup."""
    prune_tree(tree)
    return BeautifulSoup(lxml.html.tostring(tree, encoding="unicode"), "lxml")


def _text_of(units: list[_Unit]) -> str:
    kept = [u.text for u in units if u.link_density <= _MAX_LINK_DENSITY]
    return "\n".join(kept)


def _known_fragment(html: str, tree: etree._Element) -> etree._Element | None:
    """A copy of the page's first known container, on its own (a page of furniture around
    it need not go through BeautifulSoup)."""
    if not _KNOWN_MARKER_RE.search(html):
        return None
    for xpath in _KNOWN_XPATHS:
        for node in xpath(tree):
            fragment = copy.deepcopy(node)
            fragment.tail = None
            return fragment
    return None


def density_text(html: str) -> str:
    """The article text of ``html`` by text density, or ``""``."""
    try:
        tree = lxml.html.fromstring(html)
    except (etree.ParserError, ValueError):
        return ""
    fragment = _known_fragment(html, tree)
    if fragment is not None:
        for container in _prune(_soup(fragment)):
            text = _text_of(_units(container))
            if len(text) >= _MIN_KNOWN:
                return text
    soup = _soup(tree)
    for container in _prune(soup):
        text = _text_of(_units(container))
        if len(text) >= _MIN_KNOWN:
            return text
    body = soup.body or soup
    units = _units(body)
    scores: dict[int, float] = defaultdict(float)
    elements: dict[int, Tag] = {}
    for unit in units:
        score = _unit_score(unit)
        if not score:
            continue
        owner = unit.element
        # A unit's own <p> is the paragraph; the element holding paragraphs is a candidate.
        if owner.name == "p" and isinstance(owner.parent, Tag):
            owner = owner.parent
        elements[id(owner)] = owner
        scores[id(owner)] += score
        parent = owner.parent
        if isinstance(parent, Tag) and parent.name not in ("html", "[document]"):
            elements[id(parent)] = parent
            scores[id(parent)] += score / 2
    if not scores:
        return ""

    def adjusted(key: int) -> float:
        candidate_units = _units(elements[key])
        total = sum(len(u.text) for u in candidate_units) or 1
        links = sum(u.link_chars for u in candidate_units)
        return scores[key] * (1 - links / total)

    # Only the strongest few are worth the link-density pass over their units.
    leading = sorted(scores, key=scores.__getitem__, reverse=True)[:5]
    best = max(leading, key=adjusted)
    return _text_of(_units(elements[best]))
