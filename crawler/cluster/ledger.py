"""What a worker owes the archive node for each request it took from the queue.

A request popped from a source's stream is *held* by the worker until it is *finished*:
its processed article (if any) and a ``done`` event go to the events stream, and the
entry is acknowledged and deleted, in one atomic step (a Lua script). So a worker killed at
any moment either handed the article over and acknowledged the request, or did neither
(and another worker does the request again after the lease: the archive stores an article
once, by its canonical URL, and alerts once per story). Only the step that acknowledges
the entry adds its ``done``, so no request ends twice for its check. While Redis does
not answer, the hand-over waits (:mod:`crawler.cluster.outage`).

- :class:`Ledger`: holds, finishes, schedules (the requests a response leads to go to the
  cluster's queue, counted before the response is finished) and keeps leases alive.
- :class:`FinishSpiderMiddleware` (10): pushes a response's requests to the cluster's
  queue and finishes the response when it yielded no article.
- :class:`HandOffPipeline` (900): finishes an article's request with its processed article;
  dropped or failed items finish theirs too (signals).

``done`` events say what happened (status, 304, error kind, known links filtered, empty
page), so the archive node can count a check's numbers and tell when it is over; an
``article`` event carries its request's ``done`` with it.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.http import Response

from crawler.cluster import wire
from crawler.cluster.keys import WORKER_GROUP, Keys
from crawler.cluster.outage import REDIS_AWAY
from crawler.cluster.queue import ENTRY
from crawler.resources import runtime_for
from crawler.runtime import Runtime

__all__ = ["FinishSpiderMiddleware", "HandOffPipeline", "Ledger"]

LOGGER = logging.getLogger(__name__)

Entry = tuple[str, str]

# KEYS: the request's stream, the events stream
# ARGV: workers' group, entry id, then the event that ends the request in three parts
#       (ARGV[3] .. ARGV[4] .. ARGV[5]: the article with its done, or the done alone and
#       two empty parts), the article's packed record being ARGV[4] ('' when none), and
#       the head of the article event without its done (ARGV[6] .. ARGV[4]): the record,
#       the bulk of what crosses, is sent once (:func:`crawler.cluster.wire.article_event`)
# The request's end is counted only by whoever acknowledges its entry: a hand-over
# repeated after a lost answer, or by a worker whose entry another one took after the
# lease, adds no second ``done`` (a check would look over too early); the article still
# goes over (the archive stores it once), unless there is none.
_HAND_OVER = """
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('XDEL', KEYS[1], ARGV[2])
  redis.call('XADD', KEYS[2], '*', 'e', ARGV[3] .. ARGV[4] .. ARGV[5])
  return 1
end
if ARGV[4] ~= '' then
  redis.call('XADD', KEYS[2], '*', 'e', ARGV[6] .. ARGV[4])
end
return 0
"""


class Ledger:
    def __init__(self, runtime: Runtime) -> None:
        cluster = runtime.config.cluster
        assert cluster is not None, "the ledger needs [cluster]"
        self.runtime = runtime
        self.client = runtime.cluster_async
        self.keys = Keys(cluster.key_prefix)
        self.held: dict[Entry, float] = {}
        self.finishing: set[Entry] = set()  # being handed over (waiting for Redis, maybe)
        self.finished = 0
        self.failed = 0
        self.recent: deque[float] = deque()  # when articles were handed over, last minute

    # -- holding -------------------------------------------------------------------------

    def hold(self, entry: Entry) -> None:
        self.held[entry] = time.monotonic()

    def release(self, entry: Entry) -> None:
        self.held.pop(entry, None)

    # -- scheduling ----------------------------------------------------------------------

    async def schedule(self, requests: list[Request]) -> list[bool]:
        """Push each of ``requests`` to the cluster's queue unless its check saw it already
        (one atomic step each, all in one round trip: see
        :meth:`crawler.cluster.queue.SourceStreams.schedule`), waiting for Redis if it
        does not answer."""
        if not requests:
            return []
        queue = self.runtime.cluster_queue
        return await self.runtime.cluster_outage.call(  # type: ignore[no-any-return]
            lambda: queue.schedule(requests), "queueing a page's links"
        )

    # -- finishing -----------------------------------------------------------------------

    async def finish(
        self,
        meta: dict[str, Any],
        url: str,
        outcome: dict[str, Any],
        record: dict[str, Any] | None = None,
    ) -> None:
        """Hand over ``record`` (if any) and a ``done`` event for the queue entry named in
        ``meta``, and acknowledge the entry; once per entry."""
        raw = meta.get(ENTRY)
        if raw is None:
            return  # not from the cluster's queue (robots.txt)
        entry: Entry = (raw[0], raw[1])
        if entry not in self.held or entry in self.finishing:
            return  # finished already, or being finished
        source, entry_id = entry
        check = meta.get("newswatch_check", "")
        done = {
            "t": "done",
            "check": check,
            "source": source,
            "kind": meta.get("newswatch_kind"),
            "url": url,
            "worker": self.runtime.worker_id,
            **outcome,
        }
        if record is not None:  # the article and its request's end: one event
            head, packed, tail, head_alone = wire.article_event(check, record, done)
            parts = [head, packed, tail, head_alone]
        else:
            parts = [wire.dumps(done), b"", b"", b""]
        keys = [self.keys.requests(source), self.keys.events]
        args = [WORKER_GROUP, entry_id, *parts]

        # Held (its lease kept) until handed over: if this worker stops while Redis is
        # away, what it could not hand over goes to another worker.
        self.finishing.add(entry)
        try:
            await self.runtime.cluster_outage.call(
                lambda: self.runtime.cluster_batch.call(
                    lambda pipe: pipe.eval(_HAND_OVER, 2, *keys, *args)
                ),
                "handing a page over",
            )
        except Exception as exc:  # not an outage: another worker does it after the lease
            self.held.pop(entry, None)
            LOGGER.error("could not hand %s over (%s): it is done again after the lease",
                         url, exc)  # fmt: skip
            return
        finally:
            self.finishing.discard(entry)
        self.held.pop(entry, None)
        self.finished += 1
        if outcome.get("error"):
            self.failed += 1
        if record is not None:
            self.recent.append(time.monotonic())
            self.pages_per_minute()

    def pages_per_minute(self) -> int:
        """Articles handed over in the last minute."""
        now = time.monotonic()
        while self.recent and now - self.recent[0] >= 60:
            self.recent.popleft()
        return len(self.recent)

    async def refresh(self) -> None:
        """Keep this worker's leases: reset the idle time of every entry it holds."""
        if self.held:
            self.runtime.cluster_queue.refresh(list(self.held))

    def give_up(self, entries: list[Entry] | None = None) -> None:
        """Stopping: what this worker holds (or ``entries`` of it) becomes available to
        the others at once."""
        queue = self.runtime.cluster_queue
        # what is being handed over stays this worker's (the hand-over may yet go through)
        chosen = self.held if entries is None else [e for e in entries if e in self.held]
        given = [entry for entry in chosen if entry not in self.finishing]
        if given and queue is not None:
            cluster = self.runtime.config.cluster
            assert cluster is not None
            try:
                queue.refresh(given, idle_ms=int(cluster.lease_seconds * 1000) + 1000)
            except REDIS_AWAY as exc:
                LOGGER.warning(
                    "could not give back %d request(s) (%s): the other workers take them "
                    "after the lease",
                    len(given),
                    exc,
                )
            else:
                LOGGER.info("gave back %d request(s) to the other workers", len(given))
            for entry in given:
                self.held.pop(entry, None)


def _outcome(response: Response) -> dict[str, Any]:
    return {
        "status": response.status,
        "known": int(response.meta.get("newswatch_known", 0)),
        "error": response.meta.get("newswatch_error"),
        "entry_error": bool(response.meta.get("newswatch_entry_error")),
    }


SCHEDULE_BATCH = 500  # a page's links queued in one round trip at most


class FinishSpiderMiddleware:
    """Queues a response's requests in the cluster and ends the response's own request
    when it yielded no article (an article's hand-over ends it otherwise).

    A response's requests go to the cluster's queue together (a sitemap's hundreds of
    links in one round trip, up to ``SCHEDULE_BATCH`` at a time), each counted for its
    check before anything ends the response: before an item is yielded (its hand-over
    ends it), before the response ends without one and, when its callback fails, before
    the failure ends it (so the check cannot look over while its requests wait)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        # the links each response being read has yielded and not yet queued
        self.waiting: dict[int, list[Request]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FinishSpiderMiddleware:
        return cls(runtime_for(crawler))

    async def process_spider_output(self, response: Response, result: Any) -> Any:
        ledger: Ledger = self.runtime.cluster_ledger
        items = 0
        waiting = self.waiting[id(response)] = []
        try:
            async for entry in result:
                if isinstance(entry, Request):
                    waiting.append(entry)
                    if len(waiting) >= SCHEDULE_BATCH:
                        await ledger.schedule(_taken(waiting))
                    continue
                await ledger.schedule(_taken(waiting))
                items += 1
                yield entry
            await ledger.schedule(_taken(waiting))
        finally:
            self.waiting.pop(id(response), None)
        if not items:
            await ledger.finish(response.meta, response.url, _outcome(response))

    def process_spider_exception(self, response: Response, exception: Exception) -> None:
        """A callback that failed still ends its request, after the links it yielded
        before failing are queued; Scrapy logs the error (so this returns None, and does
        its Redis work in a background task of the worker's Redis calls)."""
        links = _taken(self.waiting.pop(id(response), []))
        outcome = {**_outcome(response), "error": type(exception).__name__}
        ledger: Ledger = self.runtime.cluster_ledger

        async def end() -> None:
            await ledger.schedule(links)
            await ledger.finish(response.meta, response.url, outcome)

        self.runtime.cluster_batch.background(
            end(), "a failed page's request was not ended (it is done again after the lease)"
        )


def _taken(waiting: list[Request]) -> list[Request]:
    """What ``waiting`` holds, which it no longer does."""
    taken = waiting[:]
    waiting.clear()
    return taken


class HandOffPipeline:
    """Finishes an article's request with its processed article (the last pipeline)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HandOffPipeline:
        pipeline = cls(runtime_for(crawler))
        crawler.signals.connect(pipeline.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(pipeline.item_error, signal=signals.item_error)
        return pipeline

    async def process_item(self, item: Any) -> Any:
        meta = {
            ENTRY: item.get("queue_entry"),
            "newswatch_check": item.get("check") or "",
            "newswatch_kind": "article",
        }
        await self.runtime.cluster_ledger.finish(
            meta, item["url"], {"status": 200}, record=item["record"]
        )
        return item

    async def item_dropped(self, item: Any, response: Response, exception: Any, spider: Spider):  # type: ignore[no-untyped-def]
        await self.runtime.cluster_ledger.finish(
            response.meta, response.url, {"status": response.status, "empty": 1}
        )

    async def item_error(self, item: Any, response: Response, spider: Spider, failure: Any):  # type: ignore[no-untyped-def]
        await self.runtime.cluster_ledger.finish(
            response.meta, response.url, {"status": response.status, "error": "pipeline"}
        )
