"""RSS 0.9x/1.0/2.0 and Atom feeds → article links, through feedparser.

feedparser copes with the encodings and the sloppy XML that portals serve; a document it
cannot read as a feed at all (an HTML error page, truncated bytes with no entries) raises
:class:`MalformedFeed`, which the crawl logs and counts.
"""

from __future__ import annotations

import calendar
import logging
from datetime import UTC, datetime
from urllib.parse import urljoin

import feedparser

from crawler.discovery.links import Link

__all__ = ["MalformedFeed", "parse_feed"]

LOGGER = logging.getLogger(__name__)


class MalformedFeed(ValueError):
    """The bytes are not a feed."""


def _published(entry: feedparser.FeedParserDict) -> str | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    stamp = datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    return stamp.isoformat().replace("+00:00", "Z")


def parse_feed(body: bytes, *, base_url: str, content_type: str | None = None) -> list[Link]:
    """The entries' links of the feed in ``body``, resolved against ``base_url``."""
    headers = {"content-location": base_url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(body, response_headers=headers, sanitize_html=False)
    if not parsed.get("version") and not parsed.entries:
        problem = parsed.get("bozo_exception")
        raise MalformedFeed(f"not an RSS or Atom feed ({problem or 'no feed elements'})")
    links: list[Link] = []
    seen: set[str] = set()
    for entry in parsed.entries:
        href = entry.get("link") or entry.get("id")
        if not href or not isinstance(href, str):
            continue
        url = urljoin(base_url, href.strip())
        if not url.startswith(("http://", "https://")) or url in seen:
            continue
        seen.add(url)
        links.append(Link(url=url, title=entry.get("title"), published_at=_published(entry)))
    if parsed.get("bozo") and not links:
        raise MalformedFeed(f"unreadable feed ({parsed.get('bozo_exception')})")
    if parsed.get("bozo"):
        LOGGER.info(
            "feed %s is malformed; kept %d links (%s)",
            base_url,
            len(links),
            parsed.get("bozo_exception"),
        )
    return links
