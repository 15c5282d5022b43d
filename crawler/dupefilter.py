"""A duplicate filter that remembers one check at a time.

Scrapy's ``RFPDupeFilter`` keeps the fingerprint of every request a crawler ever made: in a
crawler that lives for months, a set that only grows. Across checks, the archive already
says which articles are known (:mod:`crawler.spidermiddlewares`); within a check, the same
article linked from a feed and a sitemap must still be fetched once. So this filter
forgets what it saw when a new check starts (:data:`crawler.extensions.check_started`).
"""

from __future__ import annotations

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.dupefilters import BaseDupeFilter
from scrapy.utils.request import RequestFingerprinterProtocol

__all__ = ["CheckDupeFilter"]


class CheckDupeFilter(BaseDupeFilter):
    def __init__(self, fingerprinter: RequestFingerprinterProtocol) -> None:
        self.fingerprinter = fingerprinter
        self.seen: set[bytes] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CheckDupeFilter:
        from crawler.extensions import check_started

        dupefilter = cls(crawler.request_fingerprinter)
        crawler.signals.connect(dupefilter.forget, signal=check_started)
        return dupefilter

    def forget(self, **_: object) -> None:
        self.seen.clear()

    def request_seen(self, request: Request) -> bool:
        fingerprint = self.fingerprinter.fingerprint(request)
        if fingerprint in self.seen:
            return True
        self.seen.add(fingerprint)
        return False
