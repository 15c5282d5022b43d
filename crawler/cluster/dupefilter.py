"""The workers' duplicate filter: one Redis set per source and check, shared by every
worker, so two workers never fetch the article a feed and a sitemap both list in one check;
each set expires a day after its check (what is archived is filtered before, by the
archive's known URLs)."""

from __future__ import annotations

from typing import Any

from scrapy import Request, Spider
from scrapy.dupefilters import BaseDupeFilter

from crawler.cluster.keys import Keys
from crawler.resources import runtime_for

__all__ = ["CheckSeen"]

EXPIRE = 86400


class CheckSeen(BaseDupeFilter):
    def __init__(self, server: Any, keys: Keys, fingerprinter: Any) -> None:
        self.server = server
        self.keys = keys
        self.fingerprinter = fingerprinter

    @classmethod
    def from_spider(cls, spider: Spider) -> CheckSeen:
        """scrapy-redis' scheduler builds its duplicate filter from the spider."""
        runtime = runtime_for(spider.crawler)
        cluster = runtime.config.cluster
        assert cluster is not None, "CheckSeen needs [cluster]"
        seen = cls(
            runtime.cluster_redis, Keys(cluster.key_prefix), spider.crawler.request_fingerprinter
        )
        runtime.cluster_seen = seen  # the ledger schedules a response's requests through it
        return seen

    def request_seen(self, request: Request) -> bool:
        key = self.keys.seen(
            request.meta.get("newswatch_source", ""), request.meta.get("newswatch_check", "")
        )
        pipe = self.server.pipeline(transaction=False)
        pipe.sadd(key, self.fingerprinter.fingerprint(request))
        pipe.expire(key, EXPIRE)
        added, _ = pipe.execute()
        return added == 0

    def log(self, request: Request, spider: Spider) -> None:
        """Duplicates within a check are normal (a feed and a sitemap list one article)."""
