"""The resources of one process for one config, built once and shared by every crawler.

A :class:`Runtime` holds the loaded config and what is derived from it (the rule set with
its one Aho-Corasick automaton, per-source host names, aliases and revisit windows), the
archive writer thread, a reader thread and the crawl state over them. The runner (``newswatch
crawl``, the daemon) builds it and hands it to each crawler as ``crawler.newswatch``;
components reach it through :func:`crawler.resources.runtime_for`, never through module
state. ``reload`` swaps the config and what is derived from it in one step (SIGHUP).

:func:`scrapy_settings` is the one place where the TOML config becomes Scrapy settings.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from scrapy.settings import Settings

from alerts.matching import RuleSet
from crawler.config import Config, SourceConfig, parse_duration
from crawler.page_stage import PageWorkers
from crawler.text.urls import host_of
from storage import Archive
from storage.connection_thread import ArchiveThread
from storage.crawl_state import ArchiveCrawlState, CrawlState

__all__ = ["ConfigView", "Runtime", "scrapy_settings", "source_settings"]

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConfigView:
    """What components look up per source, derived once per config."""

    config: Config
    rules: RuleSet
    channel_names: list[str]
    # per source: the host names its URLs and host_aliases name; "" holds every source's
    hosts: dict[str, frozenset[str]] = field(default_factory=dict)
    host_aliases: dict[str, dict[str, str]] = field(default_factory=dict)
    revisit: dict[str, timedelta] = field(default_factory=dict)

    @classmethod
    def of(cls, config: Config) -> ConfigView:
        hosts: dict[str, frozenset[str]] = {}
        for source in config.sources:
            named = {host_of(url) for url in source.entry_urls}
            named |= {h.lower() for pair in source.host_aliases.items() for h in pair}
            hosts[source.name] = frozenset(named - {""})
        hosts[""] = frozenset().union(*hosts.values())
        return cls(
            config=config,
            rules=RuleSet(config.rules, config.catalogue),
            channel_names=[c.name for c in config.channels],
            hosts=hosts,
            host_aliases={s.name: s.host_aliases for s in config.sources if s.host_aliases},
            revisit={s.name: parse_duration(s.revisit) for s in config.sources if s.revisit},
        )


class Runtime:
    """Config, rules, archive threads and crawl state of one process (see module doc)."""

    def __init__(
        self,
        config: Config,
        *,
        writer: ArchiveThread | None,
        reader: ArchiveThread | None,
        state: CrawlState | None = None,
    ) -> None:
        self.view = ConfigView.of(config)
        # A crawl worker of a cluster has no archive: no writer, no reader, its crawl state
        # in Redis (crawler.cluster.state). Everything else has both.
        self.writer: ArchiveThread = writer  # type: ignore[assignment]
        self.reader: ArchiveThread = reader  # type: ignore[assignment]
        if writer is not None:
            self._set_story_window(config)
        if state is None:
            assert writer is not None and reader is not None
            state = ArchiveCrawlState(reader, writer)
        self.state: CrawlState = state
        self._pages: PageWorkers | None = None
        # In a cluster: this process's name, Redis clients, whether Redis answers, and
        # the worker's queue and ledger once its crawler has built them.
        self.worker_id = ""
        self.slot_holder = ""  # what its host slots are held under
        self.cluster_redis: Any = None
        self.cluster_async: Any = None
        self.cluster_queue: Any = None
        self.cluster_outage: Any = None  # crawler.cluster.outage.Outage
        self.cluster_ledger: Any = None
        self.cluster_batch: Any = None  # crawler.cluster.coalesce.Coalescer (workers)
        self._alert_listeners: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    def open(cls, config: Config) -> Runtime:
        """Create and migrate the archive, then start its writer and reader threads."""
        Archive.open(config.archive_path).close()
        writer = ArchiveThread(config.archive_path, name="archive-writer")
        try:
            reader = ArchiveThread(config.archive_path, name="archive-reader")
        except BaseException:
            writer.close()
            raise
        return cls(config, writer=writer, reader=reader)

    @property
    def config(self) -> Config:
        return self.view.config

    @property
    def rules(self) -> RuleSet:
        return self.view.rules

    @property
    def pages(self) -> PageWorkers:
        """The page stage's workers (started on first use; see :mod:`crawler.page_stage`)."""
        if self._pages is None:
            config = self.config
            self._pages = PageWorkers(config.crawl.page_workers, config.entities, config.catalogue)
        return self._pages

    def reload(self, config: Config) -> None:
        """Take ``config`` (already validated) for everything built from now on."""
        if config.archive_path != self.config.archive_path:
            raise ValueError(
                f"archive.path changed ({self.config.archive_path} → {config.archive_path}); "
                "restart to switch archives"
            )
        old = self.config
        self.view = ConfigView.of(config)
        if self.writer is not None:
            self._set_story_window(config)
        if self._pages is not None and (
            config.entities != old.entities or config.crawl.page_workers != self._pages.workers
        ):
            # new pages go to a new pool; the old one finishes what it holds, then goes
            stale, self._pages = self._pages, None
            stale.close(wait=False)

    def _set_story_window(self, config: Config) -> None:
        window = config.stories.window_delta
        self.writer.post(lambda archive: setattr(archive, "story_window", window), what="setup")

    # -- alert hand-off ------------------------------------------------------------------

    def on_alerts_queued(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (from any thread) whenever alerts were committed."""
        with self._lock:
            self._alert_listeners.append(listener)

    def alerts_queued(self) -> None:
        with self._lock:
            listeners = list(self._alert_listeners)
        for listener in listeners:
            listener()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._pages is not None:
            self._pages.close()
        if self.reader is not None:
            self.reader.close()
        if self.writer is not None:
            self.writer.close()
        if self.cluster_redis is not None:
            self.cluster_redis.close()


def scrapy_settings(
    config: Config, *, log_level: str = "WARNING", extra: dict[str, Any] | None = None
) -> Settings:
    """The Scrapy settings of a crawler started by newswatch (the project's settings module
    and where the config is); each source's own values come from :func:`source_settings`."""
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    values: dict[str, Any] = {
        "NEWSWATCH_CONFIG": config.path,
        "ARCHIVE_PATH": str(config.archive_path),
        "LOG_LEVEL": log_level,
        # The CLI configures logging itself (level, format, file); Scrapy's root handler
        # would repeat every line.
        "LOG_INSTALL_ROOT_HANDLER": False,
    }
    values.update(extra or {})
    settings.setdict(values, priority="cmdline")
    return settings


def source_settings(config: Config, source: SourceConfig) -> dict[str, Any]:
    """The Scrapy settings ``[crawl]`` and the source's politeness (``delay``) decide; the
    spider applies them at spider priority, so ``scrapy crawl -s`` still overrides."""
    crawl = config.crawl
    values: dict[str, Any] = {
        "ROBOTSTXT_OBEY": crawl.obey_robots,
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrency_per_host,
        "DOWNLOAD_TIMEOUT": crawl.timeout,
        "DOWNLOAD_MAXSIZE": crawl.max_page_size,
        "RETRY_TIMES": crawl.retries,
        "DOWNLOAD_DELAY": source.delay,
        "AUTOTHROTTLE_START_DELAY": source.delay,
    }
    if crawl.user_agent:
        values["USER_AGENT"] = crawl.user_agent
    return values
