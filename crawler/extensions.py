"""Extensions.

- :class:`CrawlRunRecorder`: counts pipeline failures as errors and, when a spider
  closes, writes one ``crawl_runs`` row for its source (start, end, requests, new
  articles, unchanged, errors, key Scrapy stats), under the ``NEWSWATCH_RUN_ID`` of the
  pass (a fresh id when unset).
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler

from crawler.resources import archive_for
from storage import Archive, utc_now

__all__ = ["CrawlRunRecorder", "summarize_stats"]

LOGGER = logging.getLogger(__name__)

_KEPT_STATS = (
    "downloader/request_count",
    "downloader/response_count",
    "downloader/exception_count",
    "response_received_count",
    "item_scraped_count",
    "item_dropped_count",
    "retry/count",
    "retry/max_reached",
    "robotstxt/forbidden",
    "log_count/ERROR",
    "elapsed_time_seconds",
)


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return utc_now()


def summarize_stats(stats: dict[str, Any]) -> dict[str, int]:
    """The counters of a ``crawl_runs`` row from a crawl's Scrapy stats."""

    def get(key: str) -> int:
        return int(stats.get(key, 0) or 0)

    return {
        "requests": get("downloader/request_count"),
        "responses": get("downloader/response_count"),
        "new_articles": get("newswatch/articles_new"),
        "unchanged": get("newswatch/articles_known") + get("newswatch/articles_duplicate"),
        "not_modified": get("newswatch/not_modified"),
        "errors": get("newswatch/errors"),
    }


class CrawlRunRecorder:
    def __init__(self, archive: Archive, stats: Any, run_id: str) -> None:
        self.archive = archive
        self.stats = stats
        self.run_id = run_id

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlRunRecorder:
        run_id = crawler.settings.get("NEWSWATCH_RUN_ID") or uuid.uuid4().hex[:12]
        extension = cls(archive_for(crawler), crawler.stats, run_id)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(extension.item_error, signal=signals.item_error)
        return extension

    def item_error(self, item: Any, response: Any, spider: Spider, failure: Any) -> None:
        """A pipeline failed on an article: counted, so it shows in the run's errors."""
        self.stats.inc_value("newswatch/errors")
        self.stats.inc_value("newswatch/errors/pipeline")

    def spider_closed(self, spider: Spider, reason: str) -> None:
        stats = self.stats.get_stats()
        kept = {k: v for k, v in stats.items() if k in _KEPT_STATS or k.startswith("newswatch/")}
        for key, value in stats.items():
            if key.startswith("downloader/response_status_count/"):
                kept[key] = value
        row = {
            "run_id": self.run_id,
            "source": getattr(spider, "source_name", spider.name),
            "started_at": _iso(stats.get("start_time")),
            "finished_at": utc_now(),
            "finish_reason": reason,
            "stats": kept,
            **summarize_stats(stats),
        }
        self.archive.record_crawl_run(row)
        LOGGER.info("recorded crawl run %s for %s", self.run_id, row["source"])
