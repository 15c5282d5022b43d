"""Run one crawl pass over configured sources in this process.

A pass starts one Scrapy crawler per source in a single ``CrawlerProcess``; each writes a
``crawl_runs`` row tagged with the pass's run id, which the summary reads back. Twisted's
reactor runs once per process, so the daemon starts each pass in a child process.
"""

from __future__ import annotations

import logging
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from crawler.config import Config
from spiders.source import SourceSpider
from storage import Archive

__all__ = ["PassResult", "build_settings", "run_pass"]

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class PassResult:
    run_id: str
    runs: list[dict[str, Any]]

    @property
    def totals(self) -> dict[str, int]:
        keys = ("new_articles", "unchanged", "errors", "requests", "not_modified")
        return {k: sum(int(r.get(k) or 0) for r in self.runs) for k in keys}


def build_settings(config: Config, *, run_id: str, log_level: str = "WARNING") -> Settings:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("NEWSWATCH_CONFIG", config.path, priority="cmdline")
    settings.set("ARCHIVE_PATH", str(config.archive_path), priority="cmdline")
    settings.set("NEWSWATCH_RUN_ID", run_id, priority="cmdline")
    settings.set("LOG_LEVEL", log_level, priority="cmdline")
    # The CLI configures logging itself (level, file); Scrapy's handler would repeat it.
    settings.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")
    return settings


def _progress(process: CrawlerProcess, stream: TextIO) -> Any:
    from twisted.internet.task import LoopingCall

    def show() -> None:
        totals = {"req": 0, "new": 0, "known": 0, "err": 0}
        for crawler in process.crawlers:
            stats = crawler.stats.get_stats() if crawler.stats else {}
            totals["req"] += stats.get("downloader/request_count", 0)
            totals["new"] += stats.get("newswatch/articles_new", 0)
            totals["known"] += stats.get("newswatch/articles_known", 0)
            totals["err"] += stats.get("newswatch/errors", 0)
        stream.write(
            f"\rcrawling {len(process.crawlers)} source(s): {totals['req']} requests, "
            f"{totals['new']} new, {totals['known']} known, {totals['err']} errors   "
        )
        stream.flush()

    loop = LoopingCall(show)
    loop.start(0.5, now=False)
    return loop


def run_pass(
    config: Config,
    sources: Sequence[str] | None = None,
    *,
    log_level: str = "WARNING",
    progress: TextIO | None = None,
) -> PassResult:
    """Crawl ``sources`` (default: every enabled source) once; block until done."""
    names = list(sources) if sources else [s.name for s in config.sources if s.enabled]
    for name in names:
        config.source(name)  # raises KeyError for an unknown name
    run_id = uuid.uuid4().hex[:12]
    Archive.open(config.archive_path).close()  # create and migrate before crawlers race
    settings = build_settings(config, run_id=run_id, log_level=log_level)
    process = CrawlerProcess(settings)
    for name in names:
        process.crawl(SourceSpider, source=name)
    loop = _progress(process, progress) if progress is not None else None
    process.start()
    if loop is not None and loop.running:
        loop.stop()
    if progress is not None:
        progress.write("\n")
    archive = Archive.open(config.archive_path)
    try:
        runs = archive.crawl_runs(run_id)
    finally:
        archive.close()
    return PassResult(run_id, runs)


def default_progress_stream() -> TextIO | None:
    return sys.stderr if sys.stderr.isatty() else None
