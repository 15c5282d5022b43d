"""Spiders restricted to one kind of entry point of a source."""

from __future__ import annotations

from spiders.source import SourceSpider

__all__ = ["FeedsSpider", "ListingsSpider", "SitemapsSpider"]


class FeedsSpider(SourceSpider):
    """``scrapy crawl feeds -a source=NAME``: only the source's RSS/Atom feeds."""

    name = "feeds"
    kinds = ("feeds",)


class SitemapsSpider(SourceSpider):
    """``scrapy crawl sitemaps -a source=NAME``: only the source's sitemaps."""

    name = "sitemaps"
    kinds = ("sitemaps",)


class ListingsSpider(SourceSpider):
    """``scrapy crawl listings -a source=NAME``: only the source's listing pages."""

    name = "listings"
    kinds = ("listings",)
