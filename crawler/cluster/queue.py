"""The workers' request queue: scrapy-redis' queue interface over one Redis Stream per source.

scrapy-redis' queues pop a request (``LPOP``, ``ZPOPMIN``): a worker killed after the pop
loses it. :class:`SourceStreams` keeps scrapy-redis' ``Base`` interface (``push``, ``pop``,
``__len__``, ``clear``) but reads each source's stream (``{prefix}:{source}:requests``)
through a consumer group: a popped request stays *pending* under the worker that took it
until the worker acknowledges it (:mod:`crawler.cluster.ledger`) once its article is handed
to the archive node, or it ended otherwise. A worker that dies leaves its entries pending;
once they have been idle for ``[cluster] lease`` another worker claims them
(``XAUTOCLAIM``) and does them again. Live workers keep their entries' idle time short
(:meth:`SourceStreams.refresh`), so a slow download is never taken from a live worker.

Every push is one atomic step on the Redis server (a Lua script): the request's
fingerprint is added to its check's seen set (:mod:`crawler.cluster.dupefilter`) and,
unless it was there, the request goes to its stream with a ``spawn`` event to the archive
node's events stream, so the archive node knows how many requests a check has
outstanding. A request pushed again (a retry, a redirect) carries the entry it came from;
that entry is acknowledged in the same step, with a ``done`` event. So a worker killed, or
a Redis cut, at any moment leaves a link either seen and queued, or neither.

A request whose host's slot is not free comes back from the downloader and is kept
back here, still held, with its host's other requests, until the host is worth asking
again (:mod:`crawler.cluster.hostwaits`), so it does not keep one of the worker's places
while requests for other hosts could go; the engine is woken when one may go. A source
with ``KEPT_PER_SOURCE`` requests kept back is not read from until one goes, so a
cautious source's backlog stays in its stream, for any worker, rather than piling up here.

Redis away (:mod:`crawler.cluster.outage`): ``pop`` finds nothing until it answers again;
a push that cannot be made lets go of the entry it came from, which another worker (or
this one) does again after the lease.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

from redis.exceptions import ResponseError
from scrapy import Request, Spider
from scrapy_redis.queue import Base

from crawler.cluster import wire
from crawler.cluster.dupefilter import EXPIRE as SEEN_EXPIRE
from crawler.cluster.hostwaits import WaitingHosts
from crawler.cluster.keys import WORKER_GROUP, Keys
from crawler.cluster.outage import REDIS_AWAY
from crawler.resources import runtime_for
from crawler.text.urls import host_of

__all__ = ["SourceStreams", "ensure_group"]

LOGGER = logging.getLogger(__name__)

ENTRY = "newswatch_entry"  # request.meta: (source, stream entry id) of a popped request
PARKED = "newswatch_parked"  # request.meta: back from the downloader to wait for its host
KEPT_PER_SOURCE = 4  # requests of one source kept back for their hosts before its stream waits

# KEYS: seen set, events stream, request stream, stream of the entry the request came from
# ARGV: fingerprint ('' when not filtered), seen expiry (s), spawn event, request,
#       entry the request came from ('' when none), its done event, workers' group
# Returns 1 when the request was queued, 0 when its check had seen it, -1 when the entry
# it came from was settled already (this very call, repeated after a lost answer, or
# another worker's, which took it after the lease): then nothing is done, so a check
# never counts one request's end twice.
_SCHEDULE = """
if ARGV[5] ~= '' then
  if redis.call('XACK', KEYS[4], ARGV[7], ARGV[5]) == 0 then return -1 end
  redis.call('XDEL', KEYS[4], ARGV[5])
end
local queued = 1
if ARGV[1] ~= '' then
  queued = redis.call('SADD', KEYS[1], ARGV[1])
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
end
if queued == 1 then
  redis.call('XADD', KEYS[2], '*', 'e', ARGV[3])
  redis.call('XADD', KEYS[3], '*', 'r', ARGV[4])
end
if ARGV[5] ~= '' then
  redis.call('XADD', KEYS[2], '*', 'e', ARGV[6])
end
return queued
"""


def ensure_group(server: Any, key: str, group: str = WORKER_GROUP) -> None:
    """Create the consumer group of stream ``key`` (and the stream) unless it exists."""
    try:
        server.xgroup_create(key, group, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


class SourceStreams(Base):  # type: ignore[misc]
    def __init__(self, server: Any, spider: Spider, key: str, serializer: Any = None) -> None:
        super().__init__(server, spider, key, serializer or wire)
        runtime = runtime_for(spider.crawler)
        self.runtime = runtime
        cluster = runtime.config.cluster
        assert cluster is not None, "SourceStreams needs [cluster]"
        self.keys = Keys(cluster.key_prefix)
        self.lease_ms = int(cluster.lease_seconds * 1000)
        self.consumer = runtime.worker_id
        self.buffer: deque[tuple[str, str, bytes]] = deque()
        self.waiting = WaitingHosts()  # requests kept back for their hosts
        # nothing more is read from the streams while this many are kept back
        self.most_kept = cluster.worker_concurrency * 4
        self.wake_at: float | None = None  # when the engine is to be woken for them
        self.groups: set[str] = set()
        self.last_reclaim = 0.0
        self.paused = False
        self.outage = runtime.cluster_outage
        self.fingerprinter = spider.crawler.request_fingerprinter
        self.script_sync = server.register_script(_SCHEDULE)
        self.method_names = wire.method_names(spider)
        runtime.cluster_queue = self

    def _encode_request(self, request: Request) -> bytes:
        return wire.dumps(wire.request_dict(request, self.spider, self.method_names))

    # -- which streams -------------------------------------------------------------------

    def sources(self) -> tuple[str, ...]:
        return self.runtime.config.enabled_source_names

    def _stream(self, source: str) -> str:
        key = self.keys.requests(source)
        if key not in self.groups:
            ensure_group(self.server, key)
            self.groups.add(key)
        return key

    # -- push ----------------------------------------------------------------------------

    def _script_call(self, request: Request) -> tuple[list[str], list[Any]]:
        source = request.meta["newswatch_source"]
        check = request.meta.get("newswatch_check", "")
        old = request.meta.get(ENTRY)
        fingerprint = "" if request.dont_filter else self.fingerprinter.fingerprint(request)
        stream = self._stream(source)
        old_stream = self.keys.requests(old[0]) if old is not None else stream
        # the entry it came from travels with the request only as far as this push
        request.meta.pop(ENTRY, None)
        try:
            data = self._encode_request(request)
        finally:
            if old is not None:
                request.meta[ENTRY] = old
        again = {"t": "done", "check": check, "source": source, "again": 1}
        keys = [self.keys.seen(source, check), self.keys.events, stream, old_stream]
        args = [
            fingerprint,
            SEEN_EXPIRE,
            wire.dumps({"t": "spawn", "check": check}),
            data,
            old[1] if old is not None else "",
            wire.dumps(again),
            WORKER_GROUP,
        ]
        return keys, args

    def _pushed(self, request: Request) -> None:
        old = request.meta.pop(ENTRY, None)
        if old is not None:
            self.runtime.cluster_ledger.release((old[0], old[1]))

    async def schedule(self, requests: list[Request]) -> list[bool]:
        """Queue each of ``requests`` unless its check saw it (the ledger's path: a page's
        links), in one round trip: each is its own atomic step, in order; whether each was
        queued. Repeated after a lost answer, a request queued the first time is seen the
        second and not queued again; one that is never filtered (``dont_filter``: a
        sitemap index's sitemaps, listing pages) is queued again, with a ``spawn`` of its
        own, so its check's counts still add up and the page is only fetched twice."""
        pipe = self.runtime.cluster_async.pipeline(transaction=False)
        for request in requests:
            keys, args = self._script_call(request)
            # EVAL, not EVALSHA: Redis caches the script by its digest all the same, and
            # a Redis restarted without it needs no second round trip to load it
            pipe.eval(_SCHEDULE, len(keys), *keys, *args)
        answers = await pipe.execute()
        for request in requests:
            self._pushed(request)
        return [int(answer) == 1 for answer in answers]

    def push(self, request: Request) -> None:
        """scrapy-redis' scheduler: a new request, a retry or redirect of a held one, or a
        held one back from the downloader to wait for its host."""
        if request.meta.pop(PARKED, None) is not None:
            self._keep(request, first=True)
            return
        try:
            keys, args = self._script_call(request)
            self.script_sync(keys=keys, args=args)
        except Exception as exc:
            if isinstance(exc, REDIS_AWAY):
                self.outage.failed(exc, "queueing a request")
            old = request.meta.pop(ENTRY, None)
            if old is not None:  # done again by whoever takes it after the lease
                self.runtime.cluster_ledger.release((old[0], old[1]))
            LOGGER.warning("could not queue %s (%s): what it came from is done again after "
                           "the lease", request.url, exc)  # fmt: skip
            return
        self.outage.answered()
        self._pushed(request)

    def _settle(self, pipe: Any, source: str, entry_id: str) -> None:
        key = self.keys.requests(source)
        pipe.xack(key, WORKER_GROUP, entry_id)
        pipe.xdel(key, entry_id)

    # -- requests kept back for their hosts ----------------------------------------------

    def _keep(self, request: Request, *, first: bool = False) -> None:
        """Keep ``request`` (held) until its host is worth asking; a worker stopping
        gives it back to the others at once instead."""
        entry = request.meta.get(ENTRY)
        if self.paused:
            if entry is not None:
                self.runtime.cluster_ledger.give_up([(entry[0], entry[1])])
            return
        source = entry[0] if entry is not None else ""
        now = time.monotonic()
        self.waiting.keep(host_of(request.url), request, source, now, first=first)
        self.wake(now)

    def wake(self, now: float) -> None:
        """Have the engine ask for a request when the first one kept back may go (it
        asks when a download ends, and when idle only every few tenths of a second)."""
        first = self.waiting.next_time()
        if first is None or (self.wake_at is not None and self.wake_at <= first):
            return
        self.wake_at = first
        asyncio.get_running_loop().call_later(max(first - now, 0.0), self._wake, first)

    def _wake(self, at: float) -> None:
        if self.wake_at == at:
            self.wake_at = None
        slot = getattr(self.spider.crawler.engine, "_slot", None)
        if slot is not None:  # its pop wakes it again for the next one, if any
            slot.nextcall.schedule()

    def kept_back(self) -> int:
        """Requests held but not in flight: kept back for their hosts, or read and not
        yet asked for."""
        return self.waiting.count + len(self.buffer)

    def let_go(self) -> list[tuple[str, str]]:
        """Stopping: the entries of the requests held but not in flight, no longer kept
        here (the caller gives them up)."""
        kept = [r.meta[ENTRY] for r in self.waiting.drain() if ENTRY in r.meta]
        entries = [(source, entry_id) for source, entry_id in kept]
        entries += [(source, entry_id) for source, entry_id, _ in self.buffer]
        self.buffer.clear()
        return entries

    # -- pop -----------------------------------------------------------------------------

    def pop(self, timeout: int = 0) -> Request | None:
        if self.paused:
            return None
        now = time.monotonic()
        request = self.waiting.next_ready(now)
        if request is None:
            request = self._next(now)
        self.wake(now)
        return request

    def _next(self, now: float) -> Request | None:
        """The next request from the streams whose host is not waiting; those whose host
        waits are kept back as they come."""
        if not self.buffer and self.waiting.count < self.most_kept:
            if not self.outage.ready():
                return None  # Redis is away: ask again later, without blocking the reactor
            try:
                if (
                    now - self.last_reclaim > self.lease_ms / 4000
                    and now - self.outage.recovered_at > self.lease_ms / 1000
                ):
                    self.last_reclaim = now
                    self._buffer(self._reclaim())
                if not self.buffer:
                    self._buffer(self._read())
            except REDIS_AWAY as exc:
                self.outage.failed(exc, "reading the request queues")
                return None
            self.outage.answered()
        while self.buffer:
            source, entry_id, data = self.buffer.popleft()
            try:
                request = self._decode_request(data)
            except Exception as exc:  # a request this release cannot read: drop it, say why
                LOGGER.error("dropped unreadable request %s of %s: %s", entry_id, source, exc)
                self.runtime.cluster_ledger.release((source, entry_id))
                try:
                    pipe = self.server.pipeline(transaction=True)
                    self._settle(pipe, source, entry_id)
                    pipe.execute()
                except REDIS_AWAY as away:  # it stays pending; dropped again after the lease
                    self.outage.failed(away, "dropping an unreadable request")
                continue
            request.meta[ENTRY] = (source, entry_id)
            host = host_of(request.url)
            if self.waiting.holds_back(host, now):
                self.waiting.keep(host, request, source, now, first=False)
                continue
            self.waiting.let_out(host, now)
            return request
        return None

    def _buffer(self, entries: Iterable[tuple[str, str, bytes]]) -> None:
        """Entries read, held from now on (their leases kept, given back on a stop)."""
        for source, entry_id, data in entries:
            self.runtime.cluster_ledger.hold((source, entry_id))
            self.buffer.append((source, entry_id, data))

    def _read(self) -> Iterable[tuple[str, str, bytes]]:
        kept = self.waiting.by_source
        streams = {
            self._stream(source): ">"
            for source in self.sources()
            if kept.get(source, 0) < KEPT_PER_SOURCE
        }
        if not streams:
            return []
        try:
            answer = self.server.xreadgroup(WORKER_GROUP, self.consumer, streams, count=1)
        except ResponseError as exc:  # NOGROUP: Redis restarted without persistence
            LOGGER.warning("request streams lost their group (%s); creating them again", exc)
            self.groups.clear()
            return []
        return [
            (self._source_of(key), wire.text(entry_id), fields[b"r"])
            for key, entries in answer or []
            for entry_id, fields in entries
            if fields and b"r" in fields
        ]

    def _reclaim(self) -> list[tuple[str, str, bytes]]:
        """Entries a dead worker held, idle longer than the lease."""
        found = []
        for source in self.sources():
            try:
                _, entries, *_ = self.server.xautoclaim(
                    self._stream(source),
                    WORKER_GROUP,
                    self.consumer,
                    min_idle_time=self.lease_ms,
                    start_id="0-0",
                    count=16,
                )
            except ResponseError:
                self.groups.discard(self.keys.requests(source))
                continue
            for entry_id, fields in entries:
                if fields and b"r" in fields:
                    found.append((source, wire.text(entry_id), fields[b"r"]))
        if found:
            LOGGER.info("took over %d request(s) a stopped worker held", len(found))
        return found

    def _source_of(self, key: Any) -> str:
        text = wire.text(key)
        return text[len(self.keys.prefix) + 1 : -len(":requests")]

    # -- leases --------------------------------------------------------------------------

    def refresh(self, held: Iterable[tuple[str, str]], *, idle_ms: int = 0) -> None:
        """Reset the idle time of entries this worker holds (``idle_ms`` > lease: give them
        up, so another worker takes them at once)."""
        by_source: dict[str, list[str]] = {}
        for source, entry_id in held:
            by_source.setdefault(source, []).append(entry_id)
        if not by_source:
            return
        pipe = self.server.pipeline(transaction=False)
        for source, ids in by_source.items():
            pipe.xclaim(
                self.keys.requests(source),
                WORKER_GROUP,
                self.consumer,
                min_idle_time=0,
                message_ids=ids,
                idle=idle_ms,
                justid=True,
            )
        pipe.execute()

    def __len__(self) -> int:
        return len(self.buffer) + self.waiting.count

    def clear(self) -> None:
        """Never: the streams are shared by every worker and the archive node."""
