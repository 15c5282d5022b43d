"""The generic spider: one configured source, from its entry points to its articles.

``scrapy crawl source -a source=NAME`` crawls every entry point of the source; the
``feeds``, ``sitemaps`` and ``listings`` spiders crawl only that kind. The spider only
requests, selects and yields: feeds, sitemaps and listings are parsed by
:mod:`crawler.discovery`, articles by the item pipelines. Its entry requests are sent by
:class:`crawler.extensions.CheckRunner`, once per check, so one spider serves every check
of its source in a long-lived process.
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
from crawler.failures import describe_failure
from crawler.items import ArticleItem
from crawler.middlewares import ENTRY_KINDS, BlockedAddress
from crawler.resources import runtime_for
from crawler.runtime import source_settings
from crawler.tls import CertificateRefused
from storage import utc_now

__all__ = ["SourceSpider", "failure_kind"]

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
        config = runtime_for(crawler).config
        spider.source_config = config.source(spider.source_name)
        # The source's politeness and [crawl]'s limits, from the one config the runtime holds.
        crawler.settings.setdict(source_settings(config, spider.source_config), priority="spider")
        return spider

    @property
    def source(self) -> SourceConfig:
        if self.source_config is None:  # AttributeError: inspect.getmembers() skips it
            raise AttributeError("a spider built without from_crawler, or serving every source")
        return self.source_config

    # -- requests -----------------------------------------------------------------------

    def _meta(self, parent: Response | None) -> dict[str, Any]:
        """What a request carries over from the response that led to it: its source and,
        in a cluster, the check it belongs to."""
        if parent is None:
            return {"newswatch_source": self.source_name}
        meta = {"newswatch_source": parent.meta.get("newswatch_source", self.source_name)}
        if "newswatch_check" in parent.meta:
            meta["newswatch_check"] = parent.meta["newswatch_check"]
        return meta

    def _entry(
        self, url: str, kind: str, callback: Any, *, parent: Response | None = None, **meta: Any
    ) -> Request:
        return Request(
            url,
            callback=callback,
            errback=self.on_error,
            dont_filter=True,
            meta={
                "newswatch_kind": kind,
                **self._meta(parent),
                "handle_httpstatus_list": [304],
                **meta,
            },
        )

    def _article(self, link: Link, parent: Response | None = None) -> Request:
        return Request(
            link.url,
            callback=self.parse_article,
            errback=self.on_error,
            meta={
                "newswatch_kind": "article",
                **self._meta(parent),
                "hint_title": link.title,
                "hint_published_at": link.published_at,
            },
        )

    def source_of(self, response: Response) -> SourceConfig:
        """The config of the source ``response`` belongs to."""
        name = response.meta.get("newswatch_source", self.source_name)
        if name == self.source_name and self.source_config is not None:
            return self.source_config
        return runtime_for(self.crawler).config.source(name)

    async def start(self) -> AsyncIterator[Request]:
        # Nothing here: each check sends entry_requests() (see CheckRunner).
        return
        yield  # an async generator that yields nothing

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

    def _count_error(
        self,
        kind: str,
        reason: str,
        url: str,
        *,
        entry: bool = False,
        source: str = "",
        response: Response | None = None,
    ) -> None:
        if response is not None:  # what a cluster worker reports for the response
            response.meta["newswatch_error"] = kind
            response.meta["newswatch_entry_error"] = entry
        stats = self.crawler.stats
        stats.inc_value("newswatch/errors")
        stats.inc_value(f"newswatch/errors/{kind}")
        if entry:
            stats.inc_value("newswatch/entry_errors")
        # Details at INFO: the check's own summary line (daemon, crawl) reports the failure.
        LOGGER.info("[%s] %s: %s", source or self.source_name, url, reason)

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
            self._count_error(
                "malformed_feed",
                str(exc),
                response.url,
                entry=True,
                source=_source(response),
                response=response,
            )
            return
        self.crawler.stats.inc_value("newswatch/links_from_feeds", len(links))
        for link in links:
            yield self._article(link, response)

    def _sub_sitemaps(self, response: Response, urls: list[str]) -> Iterator[Request]:
        nesting = response.meta.get("sitemap_nesting", 0)
        if nesting >= MAX_SITEMAP_NESTING:
            return
        for url in urls:
            yield self._entry(
                url,
                "sitemap",
                self.parse_sitemap,
                parent=response,
                sitemap_nesting=nesting + 1,
                newswatch_parent=response.url,
            )

    async def parse_sitemap(self, response: Response) -> AsyncIterator[Request]:
        if self._not_modified(response):
            # An unchanged index says nothing about its sitemaps: ask each of them again.
            state = runtime_for(self.crawler).state
            for request in self._sub_sitemaps(
                response, await state.children(response.url, kind="sitemap")
            ):
                yield request
            return
        try:
            content = parse_sitemap(response.body, base_url=response.url)
        except MalformedSitemap as exc:
            self._count_error(
                "malformed_sitemap",
                str(exc),
                response.url,
                entry=True,
                source=_source(response),
                response=response,
            )
            return
        for request in self._sub_sitemaps(response, content.sitemaps):
            yield request
        self.crawler.stats.inc_value("newswatch/links_from_sitemaps", len(content.articles))
        for link in content.articles:
            yield self._article(link, response)

    def parse_listing(self, response: Response) -> Iterator[Request]:
        if self._not_modified(response):
            return
        source = self.source_of(response)
        assert source.article_links is not None
        urls = listing_links(response.body, base_url=response.url, pattern=source.article_links)
        self.crawler.stats.inc_value("newswatch/links_from_listings", len(urls))
        for url in urls:
            yield self._article(Link(url=url), response)
        depth = response.meta.get("listing_depth", 1)
        if depth < source.listing_depth:
            for url in next_page_links(
                response.body, base_url=response.url, selector=source.next_page
            ):
                yield self._entry(
                    url,
                    "listing",
                    self.parse_listing,
                    parent=response,
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
                _source(response),
                response.url,
                content_type.decode("latin-1"),
            )
            return
        yield ArticleItem(
            source=response.meta.get("newswatch_source", self.source_name),
            url=response.url,
            body=response.body,
            content_type=content_type.decode("latin-1") or None,
            redirect_urls=response.meta.get("redirect_urls", []),
            fetched_at=utc_now(),
            hint_title=response.meta.get("hint_title"),
            hint_published_at=response.meta.get("hint_published_at"),
            queue_entry=response.meta.get("newswatch_entry"),
            check=response.meta.get("newswatch_check"),
        )

    def on_error(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        kind = request.meta.get("newswatch_kind", "request")
        entry = kind in ENTRY_KINDS
        source = request.meta.get("newswatch_source", self.source_name)
        if failure.check(HttpError):
            status = failure.value.response.status
            self._count_error(
                f"http_{status}", f"HTTP {status}", request.url, entry=entry, source=source
            )
            return
        if failure.check(BlockedAddress):
            self._count_error(
                "blocked_address", str(failure.value), request.url, entry=entry, source=source
            )
            return
        if failure.check(CertificateRefused):  # logged once per host by crawler.tls
            self.crawler.stats.inc_value("newswatch/errors")
            self.crawler.stats.inc_value("newswatch/errors/tls")
            if entry:
                self.crawler.stats.inc_value("newswatch/entry_errors")
            return
        if failure.check(IgnoreRequest):
            self.crawler.stats.inc_value(f"newswatch/ignored/{kind}")
            if entry:  # robots.txt forbids an entry point: the source cannot be read
                self._count_error(
                    "ignored", str(failure.value), request.url, entry=True, source=source
                )
            else:
                LOGGER.info("[%s] ignored %s: %s", source, request.url, failure.value)
            return
        name = failure.type.__name__ if failure.type else "error"
        self._count_error(
            name, describe_failure(failure.value), request.url, entry=entry, source=source
        )


def failure_kind(failure: Failure) -> str:
    """The kind of a failed request, as counted in ``newswatch/errors/<kind>``."""
    if failure.check(HttpError):
        return f"http_{failure.value.response.status}"
    if failure.check(BlockedAddress):
        return "blocked_address"
    if failure.check(CertificateRefused):
        return "tls"
    if failure.check(IgnoreRequest):
        return "ignored"
    return failure.type.__name__ if failure.type else "error"


def _source(response: Response) -> str:
    return str(response.meta.get("newswatch_source", ""))
