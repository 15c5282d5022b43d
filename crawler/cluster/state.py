"""The crawl state of a worker, which sees the archive only through Redis.

The archive node publishes what a crawl needs to know (:mod:`crawler.cluster.archive`):
the canonical URLs of archived articles and their aliases with when each was first stored
(``known``), each entry point's last validators (``validators``) and the sitemaps a sitemap
index last led to (``children``). :class:`RedisCrawlState` answers the crawl-state
questions (:class:`storage.crawl_state.CrawlState`) from them, and sends what each fetch of
an entry point answered to the archive node as a ``fetch`` event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from crawler.cluster import wire
from crawler.cluster.coalesce import Coalescer
from crawler.cluster.keys import Keys
from crawler.cluster.outage import Outage
from storage.db import Fetch, FetchState

__all__ = ["RedisCrawlState"]


FETCH_RECORD_PATIENCE = 300.0  # seconds a fetch record waits for Redis


def _time(stamp: Any) -> datetime | None:
    if not stamp:
        return None
    text = stamp.decode() if isinstance(stamp, bytes) else str(stamp)
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


class RedisCrawlState:
    def __init__(self, client: Any, keys: Keys, outage: Outage, *, batch: Coalescer) -> None:
        self.client = client
        self.keys = keys
        self.outage = outage
        self.batch = batch  # fetch records go with the worker's other Redis calls

    async def known(self, urls: Sequence[str]) -> dict[str, datetime | None]:
        if not urls:
            return {}
        urls = list(dict.fromkeys(urls))
        values = await self.outage.call(
            lambda: self.client.hmget(self.keys.known, urls), "asking which links are archived"
        )
        return {url: _time(value) for url, value in zip(urls, values, strict=True) if value}

    async def validators(self, url: str) -> FetchState | None:
        value = await self.outage.call(
            lambda: self.client.hget(self.keys.validators, url), "asking an ETag"
        )
        if not value:
            return None
        data = wire.loads(value)
        return FetchState(url, data.get("etag"), data.get("last_modified"), data.get("status"),
                          data.get("at"))  # fmt: skip

    async def children(self, url: str, *, kind: str) -> list[str]:
        value = await self.outage.call(
            lambda: self.client.hget(self.keys.children, url), "asking a sitemap's children"
        )
        return list(wire.loads(value)) if value else []

    def record_fetch(self, fetch: Fetch) -> None:
        event = {"t": "fetch", **asdict(fetch)}
        data = wire.dumps(event)
        key = self.keys.events
        sent = self.outage.call(
            lambda: self.batch.call(lambda pipe: pipe.xadd(key, {"e": data})),
            "sending a fetch record",
            give_up_after=FETCH_RECORD_PATIENCE,
        )
        # Only validators are lost: the entry point is next asked without a condition.
        self.batch.background(sent, "a fetch record did not reach the archive node")

    def settle(self, source: str, *, complete: bool) -> None:
        """Nothing to do: fetch records go out at once, and the requests a fetch led to
        wait in Redis, where they outlive this worker."""
