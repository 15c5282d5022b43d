"""The workers' duplicate filter: one Redis set per source and check, shared by every
worker, so two workers never fetch the article a feed and a sitemap both list in one check;
each set expires a day after its check (what is archived is filtered before, by the
archive's known URLs).

scrapy-redis' scheduler asks its duplicate filter and then pushes: two steps, between which
a worker killed or a Redis cut would leave a link marked seen but never queued. Here the
fingerprint is added in the same atomic step as the push
(:meth:`crawler.cluster.queue.SourceStreams.push`), so :meth:`CheckSeen.request_seen`
lets every request through to it.
"""

from __future__ import annotations

from typing import Any

from scrapy import Request, Spider
from scrapy.dupefilters import BaseDupeFilter

__all__ = ["EXPIRE", "CheckSeen"]

EXPIRE = 86400


class CheckSeen(BaseDupeFilter):
    @classmethod
    def from_spider(cls, spider: Spider) -> CheckSeen:
        """scrapy-redis' scheduler builds its duplicate filter from the spider."""
        return cls()

    def request_seen(self, request: Request) -> bool:
        """Decided with the push, atomically (see the module's docstring)."""
        return False

    def log(self, request: Request, spider: Spider) -> None:
        """Duplicates within a check are normal (a feed and a sitemap list one article)."""

    def clear(self) -> Any:
        """Never: the sets are shared by every worker, and expire."""
