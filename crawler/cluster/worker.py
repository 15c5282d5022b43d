"""``newswatch run --role worker``: a crawl worker of a cluster.

One Scrapy crawler for every source (:class:`ClusterSpider`: the generic spider, the source
read from each request), whose scheduler is scrapy-redis' over the sources' request streams
(:mod:`crawler.cluster.queue`, with a per-check duplicate filter shared by all workers).
Pages go through the page stage in worker processes, as in a single process; the processed
article then goes to the archive node (:mod:`crawler.cluster.ledger`), which the worker
never opens. Downloads to a host share a budget with every other worker
(:mod:`crawler.cluster.politeness`). The worker says it is alive every few seconds
(``{prefix}:workers``: host, PID, pages per minute, errors), keeps the leases of what it
holds and, on SIGTERM, stops taking requests, finishes what it can within ``STOP_GRACE``
and gives the rest back to the other workers.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import socket
import time
import warnings
from typing import Any

import redis
from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider, ScrapyDeprecationWarning
from twisted.python.failure import Failure

from crawler import __version__, stop_signals
from crawler.cluster import wire
from crawler.cluster.coalesce import Coalescer
from crawler.cluster.connection import async_client, server_time, sync_client
from crawler.cluster.keys import WORKER_HEARTBEAT, Keys
from crawler.cluster.ledger import Ledger
from crawler.cluster.outage import REDIS_AWAY, Outage
from crawler.cluster.politeness import slot_holder
from crawler.cluster.state import RedisCrawlState
from crawler.config import Config, ConfigError, load_config
from crawler.redact import RedactingFilter, secret_values
from crawler.runtime import Runtime, scrapy_settings
from spiders.source import SourceSpider, failure_kind
from storage import utc_now, utc_stamp

__all__ = ["ClusterSpider", "Worker", "WorkerCrawler"]

# scrapy-redis 0.9 passes the spider to StatsCollector.inc_value, which Scrapy 2.19
# deprecates: one warning per request otherwise.
warnings.filterwarnings(
    "ignore",
    message="Passing a 'spider' argument to StatsCollector",
    category=ScrapyDeprecationWarning,
)

LOGGER = logging.getLogger(__name__)

STOP_GRACE = 10.0  # seconds in-flight requests may take after SIGTERM
POLL = 0.5  # seconds between looks at the queue when idle (Scrapy's own: 5)


class ClusterSpider(SourceSpider):
    """The generic spider serving every source: the source comes with each request."""

    name = "cluster"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        Spider.__init__(self, *args, **kwargs)
        self.source_name = ""
        self.source_config = None

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> ClusterSpider:
        spider: ClusterSpider = Spider.from_crawler.__func__(cls, crawler, *args, **kwargs)  # type: ignore[attr-defined]
        return spider

    def on_error(self, failure: Failure) -> None:
        super().on_error(failure)
        request = failure.request  # type: ignore[attr-defined]
        outcome = {
            "error": failure_kind(failure),
            "entry_error": request.meta.get("newswatch_kind") in ("feed", "sitemap", "listing"),
        }
        ledger: Ledger = self.crawler.newswatch.cluster_ledger  # type: ignore[attr-defined]
        asyncio.ensure_future(ledger.finish(request.meta, request.url, outcome))


class WorkerCrawler(Crawler):
    """A crawler whose engine looks at the queue about every ``POLL`` seconds when idle, so
    work another process pushed starts within that (Scrapy's engine looks every 5 s).
    Each worker's period differs a little: with one period, the worker whose looks fall
    first after the archive node's pushes would take every check's entry points while
    the others idle, check after check."""

    def _create_engine(self) -> Any:
        engine = super()._create_engine()
        engine._SLOT_HEARTBEAT_INTERVAL = POLL * random.uniform(0.8, 1.2)
        return engine


class _KeepOpen:
    """The worker's spider never closes by itself."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> _KeepOpen:
        extension = cls()
        crawler.signals.connect(extension.spider_idle, signal=signals.spider_idle)
        return extension

    def spider_idle(self, spider: Spider) -> None:
        raise DontCloseSpider


def worker_settings(config: Config, log_level: str) -> Any:
    """The Scrapy settings of a worker: scrapy-redis' scheduler over the sources' streams,
    the hand-off to the archive node instead of the archive pipelines, the global host
    slots; per-source delays are kept by those slots, across workers."""
    cluster = config.cluster
    assert cluster is not None
    settings = scrapy_settings(config, log_level=log_level)
    crawl = config.crawl
    settings.setdict(
        {
            "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
            "SCHEDULER_QUEUE_CLASS": "crawler.cluster.queue.SourceStreams",
            "SCHEDULER_QUEUE_KEY": f"{cluster.key_prefix}:%(spider)s:requests",
            "DUPEFILTER_CLASS": "crawler.cluster.dupefilter.CheckSeen",
            "SCHEDULER_SERIALIZER": "crawler.cluster.wire",
            "SCHEDULER_PERSIST": True,
            "REDIS_URL": cluster.redis_url,
            "ROBOTSTXT_OBEY": crawl.obey_robots,
            "CONCURRENT_REQUESTS": cluster.worker_concurrency,
            "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrency_per_host,
            "DOWNLOAD_TIMEOUT": crawl.timeout,
            "DOWNLOAD_MAXSIZE": crawl.max_page_size,
            "RETRY_TIMES": crawl.retries,
            "DOWNLOAD_DELAY": 0,
            "AUTOTHROTTLE_START_DELAY": 0,
            "ITEM_PIPELINES": {
                "crawler.pipelines.PagePipeline": 100,
                "crawler.cluster.ledger.HandOffPipeline": 900,
            },
            "SPIDER_MIDDLEWARES": {
                "crawler.spidermiddlewares.KnownArticleMiddleware": 50,
                "crawler.cluster.ledger.FinishSpiderMiddleware": 10,
            },
            "DOWNLOADER_MIDDLEWARES": {
                **settings.getdict("DOWNLOADER_MIDDLEWARES"),
                "crawler.cluster.politeness.GlobalHostSlots": 950,
            },
            "EXTENSIONS": {
                **settings.getdict("EXTENSIONS"),
                "crawler.extensions.CheckRunner": None,
                "crawler.cluster.worker._KeepOpen": 500,
            },
        },
        priority="cmdline",
    )
    if crawl.user_agent:
        settings.set("USER_AGENT", crawl.user_agent, priority="cmdline")
    return settings


async def _redis_now(runtime: Runtime) -> str:
    """Now on Redis' clock, which ``newswatch status`` reads heartbeats on; this machine's
    clock where Redis refuses TIME (an ACL without it, a proxy that lacks it)."""
    try:
        return utc_stamp(server_time(await runtime.cluster_async.time()))
    except redis.ResponseError:
        return utc_now()


class Worker:
    def __init__(
        self, config: Config, *, log_level: str = "INFO", redactor: RedactingFilter | None = None
    ) -> None:
        self.config = config
        self.log_level = log_level
        self.redactor = redactor
        self.stopping = asyncio.Event()
        self.started_at = utc_now()

    def _runtime(self) -> Runtime:
        cluster = self.config.cluster
        assert cluster is not None
        keys = Keys(cluster.key_prefix)
        client = async_client(cluster)
        outage = Outage()
        batch = Coalescer(client)
        runtime = Runtime(
            self.config,
            writer=None,
            reader=None,
            state=RedisCrawlState(client, keys, outage, batch=batch),
        )
        runtime.cluster_batch = batch
        runtime.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        runtime.slot_holder = slot_holder(runtime.worker_id)
        runtime.cluster_redis = sync_client(cluster)
        runtime.cluster_async = client
        runtime.cluster_outage = outage
        runtime.cluster_ledger = Ledger(runtime)
        return runtime

    async def run(self) -> int:
        cluster = self.config.cluster
        assert cluster is not None
        loop = asyncio.get_running_loop()
        runtime = self._runtime()
        runtime.cluster_redis.ping()  # fail at once, and clearly, when Redis does not answer
        runtime.pages.warm()
        keys = Keys(cluster.key_prefix)
        crawler = WorkerCrawler(ClusterSpider, worker_settings(self.config, self.log_level))
        crawler.newswatch = runtime  # type: ignore[attr-defined]
        crawl = asyncio.ensure_future(crawler.crawl_async())
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stopping.set)
        loop.add_signal_handler(signal.SIGHUP, lambda: self.reload(runtime))
        LOGGER.info(
            "newswatch %s worker %s started: %d source(s), queues in Redis under %r",
            __version__,
            runtime.worker_id,
            len([s for s in self.config.sources if s.enabled]),
            cluster.key_prefix,
        )
        beat = asyncio.ensure_future(self._beat(runtime, keys))
        try:
            stopped = asyncio.ensure_future(self.stopping.wait())
            await asyncio.wait([stopped, crawl], return_when=asyncio.FIRST_COMPLETED)
            if crawl.done():
                crawl.result()  # raises why the crawler stopped
                return 1
        finally:
            stop_signals.hold_while_stopping(loop, STOP_GRACE)
            try:
                await self._stop(runtime, crawler, crawl, keys)
                beat.cancel()
            finally:
                stop_signals.release(loop)
        return 0

    async def _stop(self, runtime: Runtime, crawler: Crawler, crawl: Any, keys: Keys) -> None:
        kept = []
        if runtime.cluster_queue is not None:
            runtime.cluster_queue.paused = True
            # read, or kept back for their hosts: held, not in flight
            kept = runtime.cluster_queue.let_go()
        LOGGER.info("stopping: no new requests; %d in flight",
                    len(runtime.cluster_ledger.held) - len(kept))  # fmt: skip
        if kept:
            runtime.cluster_ledger.give_up(kept)
        deadline = time.monotonic() + STOP_GRACE
        while runtime.cluster_ledger.held and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        runtime.cluster_ledger.give_up()
        if not crawl.done():
            # Scrapy waits for the requests in progress, which wait for Redis if it is away
            stopping = asyncio.ensure_future(crawler.stop_async())
            await asyncio.wait([stopping], timeout=STOP_GRACE)
            await asyncio.wait([crawl], timeout=10)
        # slots given back and fetch records, which nothing waited for, then what waits
        await runtime.cluster_batch.close(timeout=STOP_GRACE)
        try:
            await runtime.cluster_async.hdel(keys.workers, runtime.worker_id)
        except REDIS_AWAY as exc:  # the archive node forgets it after a while
            LOGGER.warning("could not remove this worker's heartbeat: %s", exc)
        await runtime.cluster_async.aclose()
        runtime.close()
        stats = crawler.stats.get_stats() if crawler.stats is not None else {}
        LOGGER.info(
            "stopped: %d request(s) done; host slots taken %d, waited for %d time(s)",
            runtime.cluster_ledger.finished,
            stats.get("newswatch/host_slot/taken", 0),
            stats.get("newswatch/host_slot/waits", 0),
        )

    async def _beat(self, runtime: Runtime, keys: Keys) -> None:
        cluster = self.config.cluster
        assert cluster is not None
        refresh_every = max(1.0, cluster.lease_seconds / 3)
        last_refresh = 0.0
        ledger: Ledger = runtime.cluster_ledger
        while True:
            try:
                now = time.monotonic()
                queue = runtime.cluster_queue
                kept_back = queue.kept_back() if queue is not None else 0
                beat = {
                    "host": socket.gethostname(),
                    "pid": os.getpid(),
                    "version": __version__,
                    "started_at": self.started_at,
                    # dated by Redis' clock, which status compares it with: a machine
                    # whose own clock is off neither looks dead nor hides a dead worker
                    "heartbeat_at": await _redis_now(runtime),
                    "done": ledger.finished,
                    "errors": ledger.failed,
                    "pages_per_minute": ledger.pages_per_minute(),
                    "in_flight": len(ledger.held) - kept_back,
                    "waiting_for_host": kept_back,
                    "slots": runtime.slot_holder,  # what its host slots are held under
                }
                await runtime.cluster_async.hset(keys.workers, runtime.worker_id, wire.dumps(beat))
                if now - last_refresh >= refresh_every:
                    last_refresh = now
                    await ledger.refresh()
            except REDIS_AWAY as exc:  # Redis away for a moment: say so once, keep trying
                runtime.cluster_outage.failed(exc, "sending a heartbeat")
            except Exception as exc:
                LOGGER.warning("heartbeat to Redis failed: %s", exc)
            await asyncio.sleep(WORKER_HEARTBEAT)

    def reload(self, runtime: Runtime) -> None:
        """SIGHUP: the config again (sources, politeness, entities); an invalid one is
        refused and the running one kept. ``[cluster]`` itself needs a restart."""
        try:
            config = load_config(self.config.path)
            if config.cluster != self.config.cluster:
                raise ValueError("[cluster] changed; restart the worker to switch clusters")
            runtime.reload(config)
        except (ConfigError, ValueError) as exc:
            LOGGER.error("config reload refused, the running config stays: %s", exc)
            return
        self.config = config
        if self.redactor is not None:
            self.redactor.redactor.add(secret_values(config))
        LOGGER.info("config reloaded: %d source(s)", len(config.sources))
