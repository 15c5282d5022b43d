"""Spider middlewares.

- :class:`KnownArticleMiddleware` (50): article requests a callback yields whose canonical
  URL (or an alias of it) is archived are dropped before they reach the scheduler, asked of
  the crawl state in batches (one look-up for a sitemap of thousands of links). With a
  source's ``revisit`` window, an article first stored within it is asked again,
  conditionally, so an edit becomes a revision. Counted as ``newswatch/articles_known``
  and ``newswatch/articles_revisited``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response

from crawler.resources import runtime_for
from crawler.runtime import Runtime
from crawler.text.urls import canonical_url

__all__ = ["KnownArticleMiddleware"]

BATCH = 500


class KnownArticleMiddleware:
    def __init__(self, runtime: Runtime, stats: Any) -> None:
        self.runtime = runtime
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> KnownArticleMiddleware:
        return cls(runtime_for(crawler), crawler.stats)

    async def process_spider_output(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        batch: list[Request] = []
        async for entry in result:
            if (
                isinstance(entry, Request)
                and entry.meta.get("newswatch_kind") == "article"
                and not entry.meta.get("newswatch_revisit")
            ):
                batch.append(entry)
                if len(batch) >= BATCH:
                    for request in await self.unknown(batch, response):
                        yield request
                    batch = []
            else:
                yield entry
        if batch:
            for request in await self.unknown(batch, response):
                yield request

    async def unknown(self, requests: list[Request], response: Response) -> list[Request]:
        """The requests to send: articles not archived, and those to revisit."""
        view = self.runtime.view
        canonical = [
            canonical_url(
                r.url, host_aliases=view.host_aliases.get(r.meta.get("newswatch_source", ""))
            )
            for r in requests
        ]
        known = await self.runtime.state.known(canonical)
        now = datetime.now(UTC)
        kept: list[Request] = []
        for request, url in zip(requests, canonical, strict=True):
            if url not in known:
                kept.append(request)
                continue
            window = view.revisit.get(request.meta.get("newswatch_source", ""))
            first_seen = known[url]
            if window and first_seen and now - first_seen < window:
                self.stats.inc_value("newswatch/articles_revisited")
                request.meta["newswatch_revisit"] = True
                request.meta["handle_httpstatus_list"] = [304]
                kept.append(request)
                continue
            self.stats.inc_value("newswatch/articles_known")
            response.meta["newswatch_known"] = response.meta.get("newswatch_known", 0) + 1
        return kept
