"""The generic spider: one configured source, from its entry points to its articles.

``scrapy crawl source -a source=NAME`` crawls every entry point of the source; the
``feeds``, ``sitemaps`` and ``listings`` spiders crawl only that kind. The spider only
requests, selects and yields: feeds, sitemaps and listings are parsed by
:mod:`crawler.discovery`, articles by the item pipelines.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar

import scrapy
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.config import SourceConfig
from crawler.discovery import (
    Link,
    MalformedFeed,
    MalformedSitemap,
    listing_links,
    next_page_links,
    parse_feed,
    parse_sitemap,
)
from crawler.items import ArticleItem
from crawler.middlewares import AlreadyArchived, BlockedAddress
from crawler.resources import archive_for, config_for
from storage import utc_now

__all__ = ["SourceSpider"]

LOGGER = logging.getLogger(__name__)

MAX_SITEMAP_NESTING = 3
_HTML_TYPES = (b"text/html", b"application/xhtml", b"text/plain", b"")


class SourceSpider(scrapy.Spider):
    name = "source"
    kinds: ClassVar[tuple[str, ...]] = ("feeds", "sitemaps", "listings")

    def __init__(self, source: str | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not source:
            raise ValueError("give the source to crawl: -a source=NAME")
        self.source_name = source
        self.source_config: SourceConfig | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> SourceSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        config = config_for(crawler)
        spider.source_config = config.source(spider.source_name)
        source = spider.source_config
        # Politeness per source: the delay between requests to its hosts.
        crawler.settings.set("DOWNLOAD_DELAY", source.delay, priority="spider")
        crawler.settings.set("AUTOTHROTTLE_START_DELAY", source.delay, priority="spider")
        crawler.settings.set("ROBOTSTXT_OBEY", config.crawl.obey_robots, priority="spider")
        crawler.settings.set(
            "CONCURRENT_REQUESTS_PER_DOMAIN", config.crawl.concurrency_per_host, priority="spider"
        )
        crawler.settings.set("DOWNLOAD_TIMEOUT", config.crawl.timeout, priority="spider")
        crawler.settings.set("DOWNLOAD_MAXSIZE", config.crawl.max_page_size, priority="spider")
        crawler.settings.set("RETRY_TIMES", config.crawl.retries, priority="spider")
        if config.crawl.user_agent:
            crawler.settings.set("USER_AGENT", config.crawl.user_agent, priority="spider")
        return spider

    @property
    def source(self) -> SourceConfig:
        assert self.source_config is not None, "spider built without from_crawler"
        return self.source_config

    # -- requests -----------------------------------------------------------------------

    def _entry(self, url: str, kind: str, callback: Any, **meta: Any) -> Request:
        return Request(
            url,
            callback=callback,
            errback=self.on_error,
            dont_filter=True,
            meta={
                "newswatch_kind": kind,
                "newswatch_source": self.source_name,
                "handle_httpstatus_list": [304],
                **meta,
            },
        )

    def _article(self, link: Link) -> Request:
        return Request(
            link.url,
            callback=self.parse_article,
            errback=self.on_error,
            meta={
                "newswatch_kind": "article",
                "newswatch_source": self.source_name,
                "hint_title": link.title,
                "hint_published_at": link.published_at,
            },
        )

    async def start(self) -> AsyncIterator[Request]:
        for request in self.entry_requests():
            yield request

    def entry_requests(self) -> Iterator[Request]:
        source = self.source
        if "feeds" in self.kinds:
            for url in source.feeds:
                yield self._entry(url, "feed", self.parse_feed)
        if "sitemaps" in self.kinds:
            for url in source.sitemaps:
                yield self._entry(url, "sitemap", self.parse_sitemap, sitemap_nesting=0)
        if "listings" in self.kinds:
            for url in source.listings:
                yield self._entry(url, "listing", self.parse_listing, listing_depth=1)

    # -- callbacks ----------------------------------------------------------------------

    def _not_modified(self, response: Response) -> bool:
        return response.status == 304

    def _count_error(self, kind: str, reason: str, url: str) -> None:
        stats = self.crawler.stats
        stats.inc_value("newswatch/errors")
        stats.inc_value(f"newswatch/errors/{kind}")
        LOGGER.warning("[%s] %s: %s", self.source_name, url, reason)

    def parse_feed(self, response: Response) -> Iterator[Request]:
        if self._not_modified(response):
            return
        try:
            links = parse_feed(
                response.body,
                base_url=response.url,
                content_type=(response.headers.get(b"Content-Type") or b"").decode("latin-1"),
            )
        except MalformedFeed as exc:
            self._count_error("malformed_feed", str(exc), response.url)
            return
        self.crawler.stats.inc_value("newswatch/links_from_feeds", len(links))
        for link in links:
            yield self._article(link)

    def _sub_sitemaps(self, response: Response, urls: list[str]) -> Iterator[Request]:
        nesting = response.meta.get("sitemap_nesting", 0)
        if nesting >= MAX_SITEMAP_NESTING:
            return
        for url in urls:
            yield self._entry(
                url,
                "sitemap",
                self.parse_sitemap,
                sitemap_nesting=nesting + 1,
                newswatch_parent=response.url,
            )

    def parse_sitemap(self, response: Response) -> Iterator[Request]:
        if self._not_modified(response):
            # An unchanged index says nothing about its sitemaps: ask each of them again.
            known = archive_for(self.crawler).children(response.url, kind="sitemap")
            yield from self._sub_sitemaps(response, known)
            return
        try:
            content = parse_sitemap(response.body, base_url=response.url)
        except MalformedSitemap as exc:
            self._count_error("malformed_sitemap", str(exc), response.url)
            return
        yield from self._sub_sitemaps(response, content.sitemaps)
        self.crawler.stats.inc_value("newswatch/links_from_sitemaps", len(content.articles))
        for link in content.articles:
            yield self._article(link)

    def parse_listing(self, response: Response) -> Iterator[Request]:
        if self._not_modified(response):
            return
        source = self.source
        assert source.article_links is not None
        urls = listing_links(response.body, base_url=response.url, pattern=source.article_links)
        self.crawler.stats.inc_value("newswatch/links_from_listings", len(urls))
        for url in urls:
            yield self._article(Link(url=url))
        depth = response.meta.get("listing_depth", 1)
        if depth < source.listing_depth:
            for url in next_page_links(
                response.body, base_url=response.url, selector=source.next_page
            ):
                yield self._entry(
                    url,
                    "listing",
                    self.parse_listing,
                    listing_depth=depth + 1,
                    newswatch_parent=response.url,
                )

    def parse_article(self, response: Response) -> Iterator[ArticleItem]:
        if self._not_modified(response):
            return
        content_type = response.headers.get(b"Content-Type", b"") or b""
        if not content_type.split(b";")[0].strip().lower().startswith(_HTML_TYPES):
            self.crawler.stats.inc_value("newswatch/articles_not_html")
            LOGGER.info(
                "[%s] skipped non-HTML %s (%s)",
                self.source_name,
                response.url,
                content_type.decode("latin-1"),
            )
            return
        yield ArticleItem(
            source=self.source_name,
            url=response.url,
            body=response.body,
            content_type=content_type.decode("latin-1") or None,
            redirect_urls=response.meta.get("redirect_urls", []),
            fetched_at=utc_now(),
            hint_title=response.meta.get("hint_title"),
            hint_published_at=response.meta.get("hint_published_at"),
        )

    def on_error(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        kind = request.meta.get("newswatch_kind", "request")
        if failure.check(AlreadyArchived):
            return
        if failure.check(HttpError):
            status = failure.value.response.status
            self._count_error(f"http_{status}", f"HTTP {status}", request.url)
            return
        if failure.check(BlockedAddress):
            self._count_error("blocked_address", str(failure.value), request.url)
            return
        if failure.check(IgnoreRequest):
            self.crawler.stats.inc_value(f"newswatch/ignored/{kind}")
            LOGGER.info("[%s] ignored %s: %s", self.source_name, request.url, failure.value)
            return
        name = failure.type.__name__ if failure.type else "error"
        self._count_error(name, f"{name}: {failure.getErrorMessage()}", request.url)
