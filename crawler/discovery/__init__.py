"""Entry points → article links: feeds, sitemaps and listing pages, each parsed from bytes
with no I/O (see :mod:`.feeds`, :mod:`.sitemaps`, :mod:`.listings`)."""

from crawler.discovery.feeds import MalformedFeed, parse_feed
from crawler.discovery.links import Link
from crawler.discovery.listings import listing_links, next_page_links
from crawler.discovery.sitemaps import MalformedSitemap, parse_sitemap

__all__ = [
    "Link",
    "MalformedFeed",
    "MalformedSitemap",
    "listing_links",
    "next_page_links",
    "parse_feed",
    "parse_sitemap",
]
