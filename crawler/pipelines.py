"""Item pipelines, in order:

- :class:`PagePipeline` (100): the page stage (:mod:`crawler.page_stage`: decode, extract,
  repair, clean, language, dates, origin, fingerprint, MinHash signature, entities, story
  keys) in the pool of worker processes, with the source's overrides; a page with no text
  is dropped and counted.
- :class:`AlertMatchPipeline` (450): which alert rules the article fires (the runtime's
  rule set, built once per config).
- :class:`ArchivePipeline` (500): stores the article through the archive writer thread (one
  transaction per article, with its search entry, aliases, story and alert outbox rows);
  counts new articles, new and joined stories, revisions and duplicates, and wakes alert
  delivery when the transaction queued alerts.

Slots 200–400 are free (the page stage does what slots 100–400 once did). Delivery is not
a pipeline: the outbox's channel workers send what it holds. :func:`alerts_for` and
:func:`archive_mapping` are what an archive does with a processed article, wherever it came
from (this crawl, or a crawl worker on another machine).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from crawler.items import ArticleItem
from crawler.page_stage import page_input, record_signature
from crawler.resources import runtime_for
from crawler.runtime import ConfigView, Runtime
from crawler.text.urls import canonical_url
from storage import Stored

__all__ = [
    "AlertMatchPipeline",
    "ArchivePipeline",
    "PagePipeline",
    "alerts_for",
    "archive_mapping",
    "heavily_repaired",
]

LOGGER = logging.getLogger(__name__)

# Item fields the processed article fills, for components and tests that read the item.
_ITEM_FIELDS = (
    "canonical_url",
    "title",
    "text",
    "lang",
    "encoding",
    "published_at",
    "published_precision",
    "origin",
    "repairs",
    "fingerprint",
    "entities",
    "story_keys",
)


class PagePipeline:
    def __init__(self, runtime: Runtime, stats: Any) -> None:
        self.runtime = runtime
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PagePipeline:
        return cls(runtime_for(crawler), crawler.stats)

    async def process_item(self, item: ArticleItem) -> ArticleItem:
        source = self.runtime.config.source(item["source"])
        record = await self.runtime.pages.process(page_input(item, source))
        count_page(self.stats, record)
        if not record["text"].strip():
            raise DropItem(f"no article text found at {item['url']}")
        item["record"] = record
        for field in _ITEM_FIELDS:
            item[field] = record.get(field)
        item["signature"] = record_signature(record)
        return item


def count_page(stats: Any, record: Mapping[str, Any]) -> None:
    """The page counters of a check: pages, empty ones, heavily repaired ones, languages."""
    stats.inc_value("newswatch/pages")
    if not record["text"].strip():
        stats.inc_value("newswatch/articles_empty")
        stats.inc_value("newswatch/errors")
        return
    if heavily_repaired(record["repairs"]):
        stats.inc_value("newswatch/pages_repaired")
    stats.inc_value(f"newswatch/lang/{record['lang']}")


class AlertMatchPipeline:
    """Which alert rules the article fires; the archive queues them with the article, in
    its transaction, once per (rule, story, channel). Reads only the article's own title
    and text, never the page around it."""

    def __init__(self, runtime: Runtime, stats: Any) -> None:
        self.runtime = runtime
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AlertMatchPipeline:
        return cls(runtime_for(crawler), crawler.stats)

    def process_item(self, item: ArticleItem) -> ArticleItem:
        item["alerts"] = alerts_for(self.runtime.view, item["record"])
        if item["alerts"]:
            self.stats.inc_value("newswatch/rule_matches", len(item["alerts"]))
        return item


def alerts_for(view: ConfigView, record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The alerts the rules of ``view`` fire on a processed article (outbox entries)."""
    if not view.config.rules:
        return []
    matches = view.rules.match(
        title=record["title"],
        text=record["text"],
        source=record["source"],
        lang=record["lang"],
        origin=record.get("origin"),
    )
    return [
        {
            **m.to_dict(),
            "mode": m.mode,
            "channels": m.channels if m.channels is not None else view.channel_names,
        }
        for m in matches
    ]


class ArchivePipeline:
    def __init__(self, runtime: Runtime, stats: Any) -> None:
        self.runtime = runtime
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivePipeline:
        return cls(runtime_for(crawler), crawler.stats)

    async def process_item(self, item: ArticleItem) -> ArticleItem:
        record = archive_mapping(item["record"], self.runtime.view.host_aliases.get(item["source"]))
        alerts = item.get("alerts") or ()
        stored = await self.runtime.writer.run(
            lambda archive: archive.add_article(record, alerts=alerts), grouped=True
        )
        self.count(item, stored)
        if stored.alerts:
            self.runtime.alerts_queued()
        return item

    def count(self, item: ArticleItem, stored: Stored) -> None:
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


def archive_mapping(
    record: Mapping[str, Any], host_aliases: Mapping[str, str] | None
) -> dict[str, Any]:
    """What :meth:`storage.db.Archive.add_article` stores for a processed article: its
    fields, the canonical forms of the URLs it was reached at (aliases) and its signature
    as the archive keeps it."""
    urls = [record["url"], *(record.get("redirect_urls") or [])]
    aliases = sorted({canonical_url(u, host_aliases=host_aliases) for u in urls})
    return {
        "url": record["url"],
        "canonical_url": record["canonical_url"],
        "source": record["source"],
        "title": record["title"],
        "text": record["text"],
        "html": record.get("html"),  # a version-1 record's raw page
        "html_zlib": record.get("html_zlib"),
        "lang": record.get("lang"),
        "published_at": record.get("published_at"),
        "fetched_at": record.get("fetched_at"),
        "encoding": record.get("encoding"),
        "repairs": record.get("repairs"),
        "content_type": record.get("content_type"),
        "aliases": aliases,
        "fingerprint": record.get("fingerprint"),
        "signature": record_signature(record),
        "origin": record.get("origin"),
        "published_precision": record.get("published_precision"),
        "entities": record.get("entities"),
        "story_keys": record.get("story_keys"),
        "search": record.get("search"),
    }


def heavily_repaired(repairs: dict[str, Any]) -> bool:
    """Whether a page's text needed repairs that say its bytes were in a bad way: mojibake
    undone, corrupted spans, replacement characters or ``锟斤拷`` runs dropped. A wrong
    charset label alone is not (portals get those wrong all the time)."""
    pinyin = repairs.get("pinyin") or {}
    return bool(
        repairs.get("mojibake")
        or pinyin.get("spans_reconstructed")
        or pinyin.get("spans_left")
        or (repairs.get("replacement_characters") or {}).get("dropped")
        or repairs.get("undecodable_bytes")
    )
