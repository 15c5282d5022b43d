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

Every push is counted for its check: a ``spawn`` event goes to the archive node's events
stream in the same transaction as the request, so the archive node knows how many requests
a check has outstanding. A request pushed again (a retry, a redirect) carries the entry it
came from; that entry is acknowledged in the same transaction, with a ``done`` event.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

from redis.exceptions import ResponseError
from scrapy import Request, Spider
from scrapy_redis.queue import Base

from crawler.cluster import wire
from crawler.cluster.keys import WORKER_GROUP, Keys
from crawler.resources import runtime_for

__all__ = ["SourceStreams", "ensure_group"]

LOGGER = logging.getLogger(__name__)

ENTRY = "newswatch_entry"  # request.meta: (source, stream entry id) of a popped request


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
        self.groups: set[str] = set()
        self.last_reclaim = 0.0
        self.paused = False
        runtime.cluster_queue = self

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

    def push(self, request: Request) -> None:
        source = request.meta["newswatch_source"]
        check = request.meta.get("newswatch_check", "")
        old = request.meta.pop(ENTRY, None)
        data = self._encode_request(request)
        pipe = self.server.pipeline(transaction=True)
        pipe.xadd(self.keys.events, {"e": wire.dumps({"t": "spawn", "check": check})})
        pipe.xadd(self._stream(source), {"r": data})
        if old is not None:
            old_source, entry_id = old
            self._settle(pipe, old_source, entry_id)
            pipe.xadd(
                self.keys.events,
                {"e": wire.dumps({"t": "done", "check": check, "source": source, "again": 1})},
            )
        pipe.execute()
        if old is not None:
            self.runtime.cluster_ledger.release(tuple(old))

    def _settle(self, pipe: Any, source: str, entry_id: str) -> None:
        key = self.keys.requests(source)
        pipe.xack(key, WORKER_GROUP, entry_id)
        pipe.xdel(key, entry_id)

    # -- pop -----------------------------------------------------------------------------

    def pop(self, timeout: int = 0) -> Request | None:
        if self.paused:
            return None
        if not self.buffer:
            now = time.monotonic()
            if now - self.last_reclaim > self.lease_ms / 4000:
                self.last_reclaim = now
                self.buffer.extend(self._reclaim())
        if not self.buffer:
            self.buffer.extend(self._read())
        while self.buffer:
            source, entry_id, data = self.buffer.popleft()
            try:
                request = self._decode_request(data)
            except Exception as exc:  # a request this release cannot read: drop it, say why
                LOGGER.error("dropped unreadable request %s of %s: %s", entry_id, source, exc)
                pipe = self.server.pipeline(transaction=True)
                self._settle(pipe, source, entry_id)
                pipe.execute()
                continue
            request.meta[ENTRY] = (source, entry_id)
            self.runtime.cluster_ledger.hold((source, entry_id))
            return request
        return None

    def _read(self) -> Iterable[tuple[str, str, bytes]]:
        streams = {self._stream(source): ">" for source in self.sources()}
        if not streams:
            return []
        try:
            answer = self.server.xreadgroup(WORKER_GROUP, self.consumer, streams, count=1)
        except ResponseError as exc:  # NOGROUP: Redis restarted without persistence
            LOGGER.warning("request streams lost their group (%s); creating them again", exc)
            self.groups.clear()
            return []
        return [
            (self._source_of(key), _text(entry_id), fields[b"r"])
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
                    found.append((source, _text(entry_id), fields[b"r"]))
        if found:
            LOGGER.info("took over %d request(s) a stopped worker held", len(found))
        return found

    def _source_of(self, key: Any) -> str:
        text = _text(key)
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
        return len(self.buffer)

    def clear(self) -> None:
        """Never: the streams are shared by every worker and the archive node."""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
