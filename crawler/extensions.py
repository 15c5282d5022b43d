"""Extensions and the signal they send.

- :class:`CheckRunner`: runs a source's *checks* in its crawler. A check sends the spider's
  entry-point requests into the running engine and ends when the engine is idle again
  (every request answered, every article stored); its numbers are the difference of the
  crawler's stats across the check, written as one ``crawl_runs`` row with the source's
  health (:mod:`storage.health`). With ``NEWSWATCH_MANAGED_CHECKS`` (set by newswatch's
  runner) the crawler stays open between checks, the way scrapy-redis keeps its spiders
  alive (``spider_idle`` raises ``DontCloseSpider``), and the runner starts each check;
  without it (``scrapy crawl source -a source=NAME``) one check starts when the spider
  opens and the spider closes when it ends. Pipeline failures count as errors.
- :data:`check_started`: sent when a check starts (the duplicate filter forgets what the
  previous check saw).

Reads ``NEWSWATCH_MANAGED_CHECKS`` and ``NEWSWATCH_RUN_ID`` (groups the rows of a pass).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider

from crawler.resources import runtime_for
from crawler.runtime import Runtime
from storage import utc_now
from storage.health import HealthReport

__all__ = ["CheckResult", "CheckRunner", "check_started", "summarize_stats"]

LOGGER = logging.getLogger(__name__)

check_started = object()

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
)


def summarize_stats(stats: dict[str, Any]) -> dict[str, int]:
    """The counters of a ``crawl_runs`` row from a check's Scrapy stats."""

    def get(key: str) -> int:
        return int(stats.get(key, 0) or 0)

    return {
        "requests": get("downloader/request_count"),
        "responses": get("downloader/response_count"),
        "new_articles": get("newswatch/articles_new"),
        "unchanged": get("newswatch/articles_known") + get("newswatch/articles_duplicate"),
        "not_modified": get("newswatch/not_modified"),
        "errors": get("newswatch/errors"),
        "pages": get("newswatch/pages"),
        "empty_pages": get("newswatch/articles_empty"),
        "repaired_pages": get("newswatch/pages_repaired"),
        "entry_errors": get("newswatch/entry_errors"),
    }


# Finish reasons of a check cut short by what runs it, not by its source: the process's
# stop, its source retired by a config reload, a cluster worker lost with its requests
# (they are done again after the lease). They say nothing of the source.
SHUTDOWN = "shutdown"
RETIRED = "retired"
WORKER_LOST = "worker_lost"
CUT_SHORT = frozenset({SHUTDOWN, RETIRED, WORKER_LOST})


@dataclass
class CheckResult:
    """One check of one source: its numbers, and what it did to the source's health."""

    source: str
    run_id: str
    trigger: str
    started_at: str
    finished_at: str = ""
    duration: float = 0.0
    finish_reason: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    health: HealthReport | None = None

    @property
    def counts(self) -> dict[str, int]:
        return summarize_stats(self.stats)

    @property
    def failed(self) -> bool:
        """An entry point could not be read, or the check did not end by itself (but
        for the process's own stop, which says nothing of the source:
        :attr:`cut_short`)."""
        ended = self.finish_reason == "finished" or self.cut_short
        return not ended or self.counts["entry_errors"] > 0

    @property
    def cut_short(self) -> bool:
        """The process cut the check short (:data:`CUT_SHORT`): neither a failure nor a
        success of its source."""
        return self.finish_reason in CUT_SHORT

    def row(self) -> dict[str, Any]:
        kept = {
            k: v for k, v in self.stats.items() if k in _KEPT_STATS or k.startswith("newswatch/")
        }
        kept.update(
            (k, v) for k, v in self.stats.items() if k.startswith("downloader/response_status")
        )
        return {
            "run_id": self.run_id,
            "source": self.source,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "finish_reason": self.finish_reason,
            "duration": round(self.duration, 3),
            "trigger": self.trigger,
            "stats": kept,
            **self.counts,
        }


def _numeric(stats: dict[str, Any]) -> dict[str, float]:
    return {
        k: v for k, v in stats.items() if isinstance(v, int | float) and not isinstance(v, bool)
    }


class _Check:
    def __init__(self, result: CheckResult, baseline: dict[str, float]) -> None:
        self.result = result
        self.baseline = baseline
        self.started = time.monotonic()
        self.done: asyncio.Future[CheckResult] = asyncio.get_running_loop().create_future()
        self.finishing = False


class CheckRunner:
    def __init__(self, crawler: Crawler, runtime: Runtime, *, managed: bool, run_id: str) -> None:
        self.crawler = crawler
        self.runtime = runtime
        self.managed = managed
        self.run_id = run_id
        self.current: _Check | None = None
        self.checks = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CheckRunner:
        extension = cls(
            crawler,
            runtime_for(crawler),
            managed=crawler.settings.getbool("NEWSWATCH_MANAGED_CHECKS"),
            run_id=crawler.settings.get("NEWSWATCH_RUN_ID") or uuid.uuid4().hex[:12],
        )
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(extension.item_error, signal=signals.item_error)
        return extension

    @property
    def source(self) -> str:
        spider = self.crawler.spider
        return str(getattr(spider, "source_name", spider.name if spider else ""))

    def begin(self, *, run_id: str | None = None, trigger: str = "crawl") -> asyncio.Future[Any]:
        """Start a check: the spider's entry requests go into the engine. The future
        resolves to the :class:`CheckResult` once the check is recorded."""
        if self.current is not None:
            raise RuntimeError(f"a check of {self.source} is already running")
        spider = self.crawler.spider
        assert spider is not None, "begin() before the spider opened"
        self.crawler.signals.send_catch_log(signal=check_started, spider=spider)
        check = _Check(
            CheckResult(
                source=self.source,
                run_id=run_id or self.run_id,
                trigger=trigger,
                started_at=utc_now(),
            ),
            _numeric(self.crawler.stats.get_stats()),
        )
        self.current = check
        self.checks += 1
        sent = 0
        for request in spider.entry_requests():  # type: ignore[attr-defined]
            self.crawler.engine.crawl(request)
            sent += 1
        if not sent:  # nothing to ask (a spider restricted to a kind the source lacks)
            self._finish("finished")
        return check.done

    def spider_opened(self, spider: Spider) -> None:
        if not self.managed:
            self.begin(trigger="scrapy")

    def spider_idle(self, spider: Spider) -> None:
        if self.current is not None and not self.current.finishing:
            self._finish("finished")
        if self.managed:
            raise DontCloseSpider

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.current is not None and not self.current.finishing:
            self._finish(reason)

    def item_error(self, item: Any, response: Any, spider: Spider, failure: Any) -> None:
        """A pipeline failed on an article: counted, so it shows in the check's errors."""
        self.crawler.stats.inc_value("newswatch/errors")
        self.crawler.stats.inc_value("newswatch/errors/pipeline")
        LOGGER.error(
            "[%s] storing %s failed: %s",
            self.source,
            getattr(response, "url", "?"),
            failure.getErrorMessage(),
        )

    def _finish(self, reason: str) -> None:
        check = self.current
        assert check is not None
        check.finishing = True
        result = check.result
        result.finished_at = utc_now()
        result.duration = time.monotonic() - check.started
        result.finish_reason = reason
        now = _numeric(self.crawler.stats.get_stats())
        result.stats = {
            key: value - check.baseline.get(key, 0)
            for key, value in now.items()
            if value != check.baseline.get(key, 0)
        }
        # the entry points' validators count only if every request they led to was done
        complete = reason == "finished" and not result.stats.get("newswatch/errors")
        self.runtime.state.settle(result.source, complete=complete)
        future = self.runtime.writer.submit(
            lambda archive: archive.record_check(
                result.row(),
                policy=self.runtime.config.alarms.policy(),
                alarm_channels=self.runtime.config.alarms.channels,
                failed=result.failed,
                cut_short=result.cut_short,
            )
        )

        def recorded(done: Any) -> None:
            self.current = None
            exc = done.exception()
            if exc is not None:
                LOGGER.error("recording the check of %s failed: %s", result.source, exc)
            else:
                result.health = done.result()
                if result.health is not None and result.health.alarms:
                    self.runtime.alerts_queued()
            if not check.done.done():
                check.done.set_result(result)

        loop = check.done.get_loop()
        future.add_done_callback(lambda done: loop.call_soon_threadsafe(recorded, done))
