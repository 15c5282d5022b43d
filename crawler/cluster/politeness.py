"""Politeness across all workers: a per-host slot in Redis.

Every worker's downloads to one host share one budget: at most ``[crawl]
concurrency_per_host`` requests in flight and one start per source's ``delay`` seconds,
whichever worker sends them. :class:`GlobalHostSlots` (a downloader middleware, 950: the
last before the download, the first to see its answer) takes a slot before a request
leaves and gives it back when it ends, before retries and redirects make new requests
from it; the check-and-take is one Lua
script, timed by the Redis server's clock, so workers on machines whose clocks differ
still agree. A slot a dead worker held is given back by the archive node once the
worker has been silent for the lease (:func:`free_slots_of`), when the others take its
requests over, and expires after the download timeout + 30 s anyway. A request
from the queue whose host has no slot free goes back to the worker's queue to wait
(:mod:`crawler.cluster.hostwaits`), leaving its place to requests for other hosts; one
the downloader was asked for directly (robots.txt) waits where it is, for the host's
slots only (not its sources' delays, which would keep the requests waiting for it in
their places). While Redis does not answer, requests wait for their slot
(:mod:`crawler.cluster.outage`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import time
from typing import Any

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.http import Response

from crawler.cluster.hostwaits import FIRST
from crawler.cluster.keys import Keys
from crawler.cluster.outage import REDIS_AWAY
from crawler.cluster.queue import ENTRY, PARKED
from crawler.resources import runtime_for
from crawler.runtime import Runtime
from crawler.text.urls import host_of

__all__ = ["GlobalHostSlots", "free_slots_of", "slot_holder"]

# KEYS: holders (sorted set: holder -> expiry ms), next allowed start (ms)
# ARGV: holder, expiry ms from now, concurrency, delay ms (-1: a request of no source,
#       robots.txt, which neither waits for the next allowed start nor moves it)
# Returns 0 when the slot is taken (or was, by this very call: a repeat after a lost
# answer finds its holder there), -1 when every slot is held (the worker waits as it
# sees fit: :mod:`crawler.cluster.hostwaits`), else how many ms until the source's delay
# allows the next start.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return -1 end
local delay = tonumber(ARGV[4])
if delay >= 0 then
  local next_at = tonumber(redis.call('GET', KEYS[2]) or '0')
  if next_at > now then return next_at - now end
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
if delay > 0 then redis.call('SET', KEYS[2], now + delay, 'PX', delay) end
return 0
"""

# KEYS: a host's holders; ARGV: a worker's holder prefix. Removes that worker's holders.
_FREE = """
local gone = 0
for _, holder in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if string.sub(holder, 1, #ARGV[1]) == ARGV[1] then
    redis.call('ZREM', KEYS[1], holder)
    gone = gone + 1
  end
end
return gone
"""

SLOT = "newswatch_host_slot"


def slot_holder(worker_id: str) -> str:
    """The name a worker process holds its host slots under: its id and a nonce of the
    process (a restarted container's worker may come back with its predecessor's id, and
    must not count its slots as its own). The worker's heartbeat carries it."""
    return f"{worker_id}:{secrets.token_hex(4)}"


async def free_slots_of(client: Any, keys: Keys, holder: str) -> int:
    """Give back every host slot held under ``holder`` (:func:`slot_holder`: a dead worker,
    once its requests have gone to the others); how many there were."""
    freed = 0
    async for key in client.scan_iter(match=keys.all_host_holders, count=1000):
        freed += int(await client.eval(_FREE, 1, key, f"{holder}:"))
    return freed


class GlobalHostSlots:
    def __init__(self, runtime: Runtime, timeout: float, stats: Any = None) -> None:
        cluster = runtime.config.cluster
        assert cluster is not None, "GlobalHostSlots needs [cluster]"
        self.runtime = runtime
        self.stats = stats
        self.keys = Keys(cluster.key_prefix)
        self.hold_ms = int((timeout + 30) * 1000)
        self.counter = itertools.count()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> GlobalHostSlots:
        timeout = crawler.settings.getfloat("DOWNLOAD_TIMEOUT", 30)
        return cls(runtime_for(crawler), timeout, crawler.stats)

    async def process_request(
        self, request: Request, spider: Spider | None = None
    ) -> Request | None:
        host = host_of(request.url)
        if not host or SLOT in request.meta:
            return None
        config = self.runtime.config
        source = config.sources_by_name.get(request.meta.get("newswatch_source", ""))
        # a request of no source (robots.txt) counts against the host's slots, not its
        # sources' delays: the requests waiting for it would hold their places meanwhile
        delay = source.delay if source is not None else None
        holder = f"{self.runtime.slot_holder}:{next(self.counter)}"
        keys = [self.keys.host_holders(host), self.keys.host_next(host)]
        delay_ms = -1 if delay is None else int(delay * 1000)
        args = [holder, self.hold_ms, config.crawl.concurrency_per_host, delay_ms]
        outage = self.runtime.cluster_outage
        batch = self.runtime.cluster_batch

        def take() -> Any:  # the download waits for it: it goes at the loop's next turn
            return batch.call(lambda pipe: pipe.eval(_TAKE, 2, *keys, *args), urgent=True)

        queue = self.runtime.cluster_queue
        from_queue = ENTRY in request.meta
        while True:
            # Redis away is not the download's failure: the request waits for it.
            wait = int(await outage.call(take, "asking a host's slot"))
            now = time.monotonic()
            if wait == 0:
                break
            if self.stats is not None:  # how often a request waits for its host
                self.stats.inc_value("newswatch/host_slot/waits")
            if not from_queue:  # asked for directly (robots.txt): it waits where it is
                await asyncio.sleep(FIRST if wait < 0 else wait / 1000)
                continue
            # back to the queue, kept with its host's requests: its place goes to another
            if wait < 0:
                queue.waiting.full(host, now)
            else:
                queue.waiting.delayed(host, now, wait / 1000)
            request.meta[PARKED] = True
            return request
        if from_queue:
            queue.waiting.took(host, now, delay or 0.0)
            queue.wake(now)
        if self.stats is not None:
            self.stats.inc_value("newswatch/host_slot/taken")
        request.meta[SLOT] = (host, holder)
        return None

    def _give_back(self, request: Request) -> None:
        """Give the request's slot back at the event loop's next turn, with the worker's
        other waiting calls; the response goes on meanwhile (Scrapy counts a request in
        flight until its response has passed the downloader middlewares)."""
        slot = request.meta.pop(SLOT, None)
        queue, now = self.runtime.cluster_queue, time.monotonic()
        if slot is None:
            if ENTRY in request.meta:  # ended before asking: the host's next one may ask
                queue.waiting.gone(host_of(request.url), now)
                queue.wake(now)
            return
        queue.waiting.freed(slot[0], now)  # its requests kept back may ask at once
        queue.wake(now)
        self.runtime.cluster_batch.background(
            self._release(*slot), "a host's slot was not given back (it expires by itself)"
        )

    async def _release(self, host: str, holder: str) -> None:
        batch = self.runtime.cluster_batch
        key = self.keys.host_holders(host)
        with contextlib.suppress(*REDIS_AWAY):  # after that long, the slot expired by itself
            await self.runtime.cluster_outage.call(
                lambda: batch.call(lambda pipe: pipe.zrem(key, holder), urgent=True),
                "giving a host's slot back",
                give_up_after=self.hold_ms / 1000,
            )

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        self._give_back(request)
        return response

    def process_exception(
        self, request: Request, exception: Exception, spider: Spider | None = None
    ) -> Any:
        self._give_back(request)
        return None
