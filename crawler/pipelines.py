"""Item pipelines, in order:

- :class:`PagePipeline` (100): the page pipeline of :mod:`crawler.text.page` (decode,
  extract, language) with the source's overrides; a page with no text is dropped and counted.
- :class:`ArchivePipeline` (500): stores the article in the archive (one transaction per
  article, with its search entry and aliases); counts new articles and duplicates.

Slots 200–400 are for text repair and deduplication, 800 for alerts.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from crawler.config import Config
from crawler.items import ArticleItem
from crawler.resources import archive_for, config_for
from crawler.text.page import process_page
from crawler.text.urls import canonical_url
from storage import Archive

__all__ = ["ArchivePipeline", "PagePipeline"]

LOGGER = logging.getLogger(__name__)


class PagePipeline:
    def __init__(self, config: Config, stats: Any) -> None:
        self.config = config
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PagePipeline:
        return cls(config_for(crawler), crawler.stats)

    def process_item(self, item: ArticleItem) -> ArticleItem:
        source = self.config.source(item["source"])
        page = process_page(
            item["body"],
            url=item["url"],
            content_type=item.get("content_type"),
            encoding=source.encoding,
            language=source.language,
            title_selector=source.selectors.title,
            body_selector=source.selectors.body,
            date_selector=source.selectors.date,
        )
        if not page.text.strip():
            self.stats.inc_value("newswatch/articles_empty")
            self.stats.inc_value("newswatch/errors")
            raise DropItem(f"no article text found at {item['url']}")
        item["canonical_url"] = page.canonical_url
        item["title"] = page.title or item.get("hint_title") or ""
        item["text"] = page.text
        item["lang"] = page.lang
        item["encoding"] = page.encoding
        item["published_at"] = page.published_at or item.get("hint_published_at")
        item["repairs"] = page.repairs
        self.stats.inc_value(f"newswatch/lang/{page.lang}")
        return item


class ArchivePipeline:
    def __init__(self, archive: Archive, stats: Any) -> None:
        self.archive = archive
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivePipeline:
        return cls(archive_for(crawler), crawler.stats)

    def process_item(self, item: ArticleItem) -> ArticleItem:
        urls = [item["url"], *(item.get("redirect_urls") or [])]
        aliases = sorted({canonical_url(u) for u in urls})
        article_id, created = self.archive.add_article(
            {
                "url": item["url"],
                "canonical_url": item["canonical_url"],
                "source": item["source"],
                "title": item["title"],
                "text": item["text"],
                "html": item["body"],
                "lang": item["lang"],
                "published_at": item["published_at"],
                "fetched_at": item["fetched_at"],
                "encoding": item["encoding"],
                "repairs": item["repairs"],
                "content_type": item.get("content_type"),
                "aliases": aliases,
            }
        )
        item["article_id"] = article_id
        if created:
            self.stats.inc_value("newswatch/articles_new")
        else:
            self.stats.inc_value("newswatch/articles_duplicate")
        return item
