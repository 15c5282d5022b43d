"""Sitemaps, sitemap indexes and Google News sitemaps → links.

Written here rather than taken from ``scrapy.utils.sitemap`` because that module is marked
internal and drops the ``news:`` children (title, publication date) that news sitemaps carry.
Parsing uses lxml with entities and network access off; gzipped sitemaps are inflated up to
a size cap.
"""

from __future__ import annotations

import gzip
import io
import logging
import zlib
from dataclasses import dataclass, field
from urllib.parse import urljoin

from lxml import etree

from crawler.discovery.links import Link
from crawler.text.dates import normalize_date

__all__ = ["MalformedSitemap", "SitemapContent", "parse_sitemap"]

LOGGER = logging.getLogger(__name__)

MAX_INFLATED = 50 * 1024 * 1024


class MalformedSitemap(ValueError):
    """The bytes are not a sitemap."""


@dataclass
class SitemapContent:
    """Articles listed by a ``urlset``, or sub-sitemaps listed by a ``sitemapindex``."""

    articles: list[Link] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _inflate(body: bytes) -> bytes:
    if body[:2] != b"\x1f\x8b":
        return body
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(body)) as handle:
            data = handle.read(MAX_INFLATED + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise MalformedSitemap(f"broken gzip data ({exc})") from None
    if len(data) > MAX_INFLATED:
        raise MalformedSitemap("gzipped sitemap inflates beyond the size cap")
    return data


def parse_sitemap(body: bytes, *, base_url: str) -> SitemapContent:
    """Parse a ``urlset`` or ``sitemapindex`` document."""
    data = _inflate(body)
    parser = etree.XMLParser(
        recover=True, resolve_entities=False, no_network=True, remove_comments=True, huge_tree=False
    )
    try:
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise MalformedSitemap(f"not XML ({exc})") from None
    if root is None or _local(root.tag) not in ("urlset", "sitemapindex"):
        found = "nothing" if root is None else f"<{_local(root.tag)}>"
        raise MalformedSitemap(f"expected <urlset> or <sitemapindex>, found {found}")
    content = SitemapContent()
    is_index = _local(root.tag) == "sitemapindex"
    for entry in root:
        if _local(entry.tag) not in ("url", "sitemap"):
            continue
        loc = title = published = lastmod = None
        for child in entry.iter():
            name = _local(child.tag)
            text = (child.text or "").strip()
            if name == "loc" and loc is None:
                loc = text
            elif name == "title":
                title = text
            elif name == "publication_date":
                published = text
            elif name == "lastmod":
                lastmod = text
        if not loc:
            continue
        url = urljoin(base_url, loc)
        if not url.startswith(("http://", "https://")):
            continue
        if is_index:
            content.sitemaps.append(url)
        else:
            content.articles.append(
                Link(url=url, title=title, published_at=normalize_date(published or lastmod))
            )
    return content
