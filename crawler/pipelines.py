"""Item pipelines, in order:

- :class:`PagePipeline` (100): the page pipeline of :mod:`crawler.text.page` (decode,
  extract, language) with the source's overrides; a page with no text is dropped and counted.
- :class:`DedupPipeline` (400): the content fingerprint and MinHash signature.
- :class:`AlertMatchPipeline` (450): which alert rules the article fires.
- :class:`ArchivePipeline` (500): stores the article in the archive (one transaction per
  article, with its search entry, aliases and story); counts new articles, new and joined
  stories, revisions and duplicates.

Slots 200–300 are free (repair and language run inside the page pipeline). Delivery is
not a pipeline: ``newswatch crawl`` and the daemon send what the outbox holds.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured

from alerts.matching import RuleSet
from crawler.config import Config
from crawler.items import ArticleItem
from crawler.resources import archive_for, config_for
from crawler.text.dedup import content_fingerprint, signature
from crawler.text.page import process_page
from crawler.text.urls import canonical_url
from storage import Archive

__all__ = ["AlertMatchPipeline", "ArchivePipeline", "DedupPipeline", "PagePipeline"]

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
            host_aliases=source.host_aliases,
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


class DedupPipeline:
    """The content fingerprint and MinHash signature the archive files stories by."""

    def process_item(self, item: ArticleItem) -> ArticleItem:
        item["fingerprint"] = content_fingerprint(item["text"] or item["title"])
        item["signature"] = signature(item["text"] or item["title"])
        return item


class AlertMatchPipeline:
    """Which alert rules the article fires; the archive queues them with the article, in
    its transaction, once per (rule, story, channel). Reads only the article's own title
    and text, never the page around it. Off when the config has no rules."""

    def __init__(self, rules: RuleSet, channels: list[str], stats: Any) -> None:
        self.rules = rules
        self.channels = channels
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AlertMatchPipeline:
        config = config_for(crawler)
        if not config.rules:
            raise NotConfigured("no [[rules]] in the config")
        if not config.channels:
            LOGGER.info("rules are configured but no [[channels]]: alerts have nowhere to go")
        return cls(RuleSet(config.rules), [c.name for c in config.channels], crawler.stats)

    def process_item(self, item: ArticleItem) -> ArticleItem:
        matches = self.rules.match(
            title=item["title"], text=item["text"], source=item["source"], lang=item["lang"]
        )
        item["alerts"] = [
            {
                **m.to_dict(),
                "mode": m.mode,
                "channels": m.channels if m.channels is not None else self.channels,
            }
            for m in matches
        ]
        if matches:
            self.stats.inc_value("newswatch/rule_matches", len(matches))
        return item


class ArchivePipeline:
    def __init__(self, archive: Archive, stats: Any, config: Config) -> None:
        self.archive = archive
        self.stats = stats
        self.config = config

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivePipeline:
        return cls(archive_for(crawler), crawler.stats, config_for(crawler))

    def process_item(self, item: ArticleItem) -> ArticleItem:
        urls = [item["url"], *(item.get("redirect_urls") or [])]
        hosts = self.config.source(item["source"]).host_aliases
        aliases = sorted({canonical_url(u, host_aliases=hosts) for u in urls})
        stored = self.archive.add_article(
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
                "fingerprint": item.get("fingerprint"),
                "signature": item.get("signature"),
            },
            alerts=item.get("alerts") or (),
        )
        item["article_id"] = stored.id
        item["story_id"] = stored.story_id
        item["new_story"] = stored.new_story
        if stored.created:
            self.stats.inc_value("newswatch/articles_new")
            self.stats.inc_value(
                "newswatch/stories_new" if stored.new_story else "newswatch/stories_joined"
            )
        elif stored.revised:
            self.stats.inc_value("newswatch/articles_revised")
        else:
            self.stats.inc_value("newswatch/articles_duplicate")
        return item
