"""Run checks of sources inside a running reactor, and one pass of them as a command.

A :class:`SourceCrawler` is one source's Scrapy crawler, opened once and kept open: each
check sends the source's entry points into its engine and ends when the engine is idle
(:class:`crawler.extensions.CheckRunner`). The daemon keeps one per source for its whole
life; ``newswatch crawl`` (:func:`run_pass`) opens them, runs one check each and closes
them: the same code path. A check that runs past its timeout is ended by closing its
crawler (the next check opens a new one).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO, TypeVar

from scrapy import signals
from scrapy.crawler import Crawler

from crawler.config import Config
from crawler.extensions import SHUTDOWN, CheckResult, CheckRunner
from crawler.runtime import Runtime, scrapy_settings
from crawler.tls import TLSPolicies, warn_unverified
from spiders.source import SourceSpider

__all__ = [
    "PassResult",
    "SourceCrawler",
    "crawl_pass",
    "default_progress_stream",
    "run_in_reactor",
    "run_pass",
]

LOGGER = logging.getLogger(__name__)

REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"

T = TypeVar("T")


@dataclass(frozen=True)
class PassResult:
    run_id: str
    results: list[CheckResult]

    @property
    def runs(self) -> list[dict[str, Any]]:
        return [r.row() for r in sorted(self.results, key=lambda r: r.source)]

    @property
    def totals(self) -> dict[str, int]:
        keys = ("new_articles", "unchanged", "errors", "requests", "not_modified")
        return {k: sum(int(r.get(k) or 0) for r in self.runs) for k in keys}


class SourceCrawler:
    """One source's crawler, kept open between checks."""

    def __init__(
        self, runtime: Runtime, source: str, *, log_level: str = "WARNING", run_id: str = ""
    ) -> None:
        self.runtime = runtime
        self.source = source
        self.log_level = log_level
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.crawler: Crawler | None = None
        self._task: asyncio.Future[None] | None = None

    @property
    def open(self) -> bool:
        return self.crawler is not None and self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Open the crawler: spider, engine, middlewares; return once the spider is open."""
        settings = scrapy_settings(
            self.runtime.config,
            log_level=self.log_level,
            extra={"NEWSWATCH_MANAGED_CHECKS": True, "NEWSWATCH_RUN_ID": self.run_id},
        )
        crawler = Crawler(SourceSpider, settings)
        crawler.newswatch = self.runtime  # type: ignore[attr-defined]
        opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def spider_opened(spider: Any) -> None:
            if not opened.done():
                opened.set_result(None)

        crawler.signals.connect(spider_opened, signal=signals.spider_opened, weak=False)
        task = asyncio.ensure_future(crawler.crawl_async(source=self.source))
        await asyncio.wait([opened, task], return_when=asyncio.FIRST_COMPLETED)
        if not opened.done():
            opened.cancel()
            task.result()  # raises why the crawler could not start
            raise RuntimeError(f"the crawler of {self.source} stopped before it opened")
        self.crawler, self._task = crawler, task

    async def check(
        self, *, run_id: str | None = None, trigger: str = "crawl", timeout: float | None = None
    ) -> CheckResult:
        """Run one check; past ``timeout`` seconds the crawler is closed, which ends it."""
        if not self.open:
            await self.start()
        assert self.crawler is not None
        runner = self.crawler.get_extension(CheckRunner)
        assert runner is not None, "CheckRunner is not enabled"
        done = runner.begin(run_id=run_id or self.run_id, trigger=trigger)
        try:
            return await asyncio.wait_for(asyncio.shield(done), timeout)
        except TimeoutError:
            LOGGER.warning("[%s] check still running after %.0f s: ending it", self.source, timeout)
            await self.stop(reason="check_timeout")
            return await done

    async def stop(self, *, reason: str) -> None:
        """Close the crawler (a running check ends with ``reason``)."""
        crawler, task = self.crawler, self._task
        self.crawler = self._task = None
        if crawler is None or task is None or task.done():
            return
        if crawler.engine.spider is not None:
            await crawler.engine.close_spider_async(reason=reason)
        await task

    def stats(self) -> dict[str, Any]:
        crawler = self.crawler
        return crawler.stats.get_stats() if crawler is not None and crawler.stats else {}


async def crawl_pass(
    runtime: Runtime,
    sources: Sequence[str] | None = None,
    *,
    log_level: str = "WARNING",
    progress: TextIO | None = None,
) -> PassResult:
    """Check ``sources`` (default: every enabled source) once, at most
    ``[crawl] max_parallel_checks`` at a time."""
    config = runtime.config
    names = list(sources) if sources else [s.name for s in config.sources if s.enabled]
    for name in names:
        config.source(name)  # raises KeyError for an unknown name
        warn_unverified(TLSPolicies.from_config(config, name))
    run_id = uuid.uuid4().hex[:12]
    runtime.pages.warm()  # the page workers start while the first entry points download
    crawlers = [SourceCrawler(runtime, n, log_level=log_level, run_id=run_id) for n in names]
    limit = asyncio.Semaphore(config.crawl.max_parallel_checks)

    async def one(crawler: SourceCrawler) -> CheckResult:
        source = config.source(crawler.source)
        async with limit:
            try:
                return await crawler.check(
                    trigger="crawl",
                    timeout=source.timeout_seconds if source.crawl_timeout else 3600.0,
                )
            finally:
                await crawler.stop(reason=SHUTDOWN)  # (its check is over)

    shown = asyncio.ensure_future(_progress(crawlers, progress)) if progress else None
    try:
        results = await asyncio.gather(*(one(c) for c in crawlers))
    finally:
        if shown is not None:
            shown.cancel()
            assert progress is not None
            progress.write("\n")
    return PassResult(run_id, list(results))


async def _progress(crawlers: list[SourceCrawler], stream: TextIO) -> None:
    while True:
        await asyncio.sleep(0.5)
        totals = {"req": 0, "new": 0, "known": 0, "err": 0}
        for crawler in crawlers:
            stats = crawler.stats()
            totals["req"] += stats.get("downloader/request_count", 0)
            totals["new"] += stats.get("newswatch/articles_new", 0)
            totals["known"] += stats.get("newswatch/articles_known", 0)
            totals["err"] += stats.get("newswatch/errors", 0)
        stream.write(
            f"\rcrawling {len(crawlers)} source(s): {totals['req']} requests, "
            f"{totals['new']} new, {totals['known']} known, {totals['err']} errors   "
        )
        stream.flush()


def run_in_reactor(main: Callable[[], Awaitable[T]], *, stop_signals: bool = True) -> T:
    """Install the asyncio reactor, run ``main()`` to completion in it, return its result.

    A process runs the reactor once. With ``stop_signals``, SIGINT and SIGTERM cancel
    ``main`` (it stops what it started and returns or raises ``CancelledError``).
    """
    from scrapy.utils.reactor import install_reactor

    install_reactor(REACTOR)
    from twisted.internet import reactor

    outcome: dict[str, Any] = {}

    async def wrapper() -> None:
        task = asyncio.ensure_future(main())
        loop = asyncio.get_running_loop()
        if stop_signals:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, task.cancel)
        try:
            outcome["result"] = await task
        except BaseException as exc:  # handed to the caller after the reactor stops
            outcome["error"] = exc
        finally:
            if stop_signals:
                for signum in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(signum)
            reactor.stop()  # type: ignore[attr-defined,misc]

    # What is loaded by now (the modules, the config, its catalogue and rule automaton)
    # lives as long as the process: the collector's full passes, which run whenever the
    # crawl's own objects have piled up, no longer walk it (a third of a second of the
    # reactor's time in a crawl of 2,000 pages). Objects still go when unreferenced (only
    # cycles among these stay: the first config's, once, should a reload replace it).
    gc.freeze()
    reactor.callWhenRunning(lambda: asyncio.ensure_future(wrapper()))  # type: ignore[attr-defined]
    reactor.run(installSignalHandlers=False)  # type: ignore[attr-defined,misc,call-arg]
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]  # type: ignore[no-any-return]


def run_pass(
    config: Config,
    sources: Sequence[str] | None = None,
    *,
    log_level: str = "WARNING",
    progress: TextIO | None = None,
    before: Callable[[Runtime], Any] | None = None,
    after: Callable[[Runtime, PassResult], Awaitable[Any]] | None = None,
) -> PassResult:
    """Crawl ``sources`` once in this process (the reactor runs once per process):
    ``before(runtime)`` (start delivering), the checks, then ``after(runtime, result)``
    (deliver what is due), before the archive closes."""

    async def main() -> PassResult:
        runtime = Runtime.open(config)
        try:
            if before is not None:
                await asyncio.to_thread(before, runtime)
            result = await crawl_pass(runtime, sources, log_level=log_level, progress=progress)
            if after is not None:
                await after(runtime, result)
            return result
        finally:
            runtime.close()

    return run_in_reactor(main)


def default_progress_stream() -> TextIO | None:
    return sys.stderr if sys.stderr.isatty() else None
