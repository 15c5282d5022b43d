"""Downloader middlewares, in the order requests pass them.

- :class:`ConditionalGetMiddleware` (60): entry points (feeds, sitemaps, listings) are asked
  with ``If-None-Match``/``If-Modified-Since`` from the crawl state (the ``fetches`` table),
  and every response or failure is recorded there (without waiting for the write).
- :class:`AddressGuardMiddleware` (65): a request to a loopback, private, link-local or
  otherwise non-public address is refused unless its host is one the config names for the
  source (or ``crawl.allow_private_addresses`` is set): a feed link or a redirect cannot
  lead the crawler into the network it runs in. IP literals, ``localhost`` names and
  names that resolve to such an address are refused before any connection (and before
  robots.txt is asked); should a name resolve differently when the download connects,
  the response is dropped.
- :class:`RetryAfterMiddleware` (550, replaces Scrapy's RetryMiddleware): retries 429/5xx
  and honours ``Retry-After`` up to ``RETRY_AFTER_MAX`` seconds.
- :class:`MetaRefreshMiddleware` (580, replaces Scrapy's): follows ``<meta
  http-equiv="refresh">`` as Scrapy does, but first looks for the word in the page's first
  bytes: Scrapy decodes every page (detecting its charset over the whole body) to look,
  on the thread that downloads; the page stage decodes it properly elsewhere.

Articles already archived never reach the downloader: the spider middleware
:class:`crawler.spidermiddlewares.KnownArticleMiddleware` drops them in batches.

Requests carry ``meta["newswatch_kind"]`` (``feed``, ``sitemap``, ``listing``, ``article``)
and ``meta["newswatch_source"]``; requests without them (robots.txt) pass untouched, except
that the guard holds them to the hosts of every source.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware as ScrapyMetaRefresh
from scrapy.downloadermiddlewares.retry import RetryMiddleware, get_retry_request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Response

from crawler.failures import describe_failure
from crawler.resources import runtime_for
from crawler.runtime import Runtime
from crawler.text.urls import host_of
from storage.db import Fetch

__all__ = [
    "AddressGuardMiddleware",
    "BlockedAddress",
    "ConditionalGetMiddleware",
    "RetryAfterMiddleware",
    "non_public_host",
    "parse_retry_after",
]

LOGGER = logging.getLogger(__name__)

ENTRY_KINDS = frozenset({"feed", "sitemap", "listing"})


class BlockedAddress(IgnoreRequest):
    """The request leads to a non-public address the config does not name; an error."""


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])  # an IPv6 zone is not the address
    except ValueError:
        return None


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def non_public_host(host: str) -> bool:
    """``localhost`` names and IP literals outside the public internet (loopback, private,
    link-local, carrier-grade NAT, reserved, multicast)."""
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    address = _address(host.strip("[]"))
    return address is not None and not _is_public(address)


class AddressGuardMiddleware:
    """Keeps requests to public addresses and to the hosts the config names; the
    refusals reach the spider's errback, which logs and counts them."""

    RESOLVED_FOR = 300.0  # seconds a host's resolved addresses are trusted
    RESOLVED_MAX = 4096  # host names kept; expired ones are dropped past this

    def __init__(
        self,
        configured: dict[str, frozenset[str]] | Runtime,
        allow_all: bool = False,
    ) -> None:
        # per source: the hosts its config names; "" holds every source's (robots.txt).
        # With a runtime, they follow its config (a reload takes effect at once).
        self._configured = configured
        self._allow_all = allow_all
        self._resolved: dict[str, tuple[float, tuple[str, ...]]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AddressGuardMiddleware:
        return cls(runtime_for(crawler))

    @property
    def configured(self) -> dict[str, frozenset[str]]:
        if isinstance(self._configured, Runtime):
            return self._configured.view.hosts
        return self._configured

    @property
    def allow_all(self) -> bool:
        if isinstance(self._configured, Runtime):
            return self._configured.config.crawl.allow_private_addresses
        return self._allow_all

    def _named(self, request: Request, host: str) -> bool:
        configured = self.configured
        source = request.meta.get("newswatch_source", "")
        return host in configured.get(source, configured.get("", frozenset()))

    async def _resolve(self, host: str) -> tuple[str, ...]:
        """The addresses ``host`` resolves to (cached); none when it does not resolve,
        which the download then reports as a DNS error."""
        now = time.monotonic()
        cached = self._resolved.get(host)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, None, type=socket.SOCK_STREAM
            )
        except (OSError, UnicodeError):
            infos = []
        addresses = tuple(dict.fromkeys(str(info[4][0]) for info in infos))
        if len(self._resolved) >= self.RESOLVED_MAX:
            self._resolved = {h: v for h, v in self._resolved.items() if v[0] > now}
        self._resolved[host] = (now + self.RESOLVED_FOR, addresses)
        return addresses

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        if self.allow_all:
            return
        host = host_of(request.url)
        if not host or self._named(request, host):
            return
        if non_public_host(host):
            raise BlockedAddress(f"refused non-public address {host} (not named in the config)")
        if _address(host) is not None:
            return  # a public IP literal
        for text in await self._resolve(host):
            address = _address(text)
            if address is not None and not _is_public(address):
                raise BlockedAddress(
                    f"refused {host}: it resolves to non-public address {address} "
                    "(not named in the config)"
                )

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        address = response.ip_address
        if self.allow_all or address is None or request.meta.get("proxy"):
            return response
        host = host_of(request.url)
        if not _is_public(address) and not self._named(request, host):
            raise BlockedAddress(
                f"refused {host}: it resolved to non-public address {address} "
                "(not named in the config)"
            )
        return response


class ConditionalGetMiddleware:
    def __init__(self, runtime: Runtime, stats) -> None:  # type: ignore[no-untyped-def]
        self.runtime = runtime
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalGetMiddleware:
        return cls(runtime_for(crawler), crawler.stats)

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        kind = request.meta.get("newswatch_kind")
        if kind not in ENTRY_KINDS and not request.meta.get("newswatch_revisit"):
            return
        state = await self.runtime.state.validators(request.url)
        if state is None:
            return
        if state.etag and b"If-None-Match" not in request.headers:
            request.headers[b"If-None-Match"] = state.etag
        if state.last_modified and b"If-Modified-Since" not in request.headers:
            request.headers[b"If-Modified-Since"] = state.last_modified

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        kind = request.meta.get("newswatch_kind")
        if kind is None:
            return response
        if response.status == 304:
            self.stats.inc_value("newswatch/not_modified")
        self.runtime.state.record_fetch(
            Fetch(
                request.url,
                source=request.meta.get("newswatch_source", ""),
                kind=kind,
                status=response.status,
                etag=_header(response, b"ETag"),
                last_modified=_header(response, b"Last-Modified"),
                parent=request.meta.get("newswatch_parent"),
            )
        )
        return response

    def process_exception(
        self, request: Request, exception: Exception, spider: Spider | None = None
    ) -> None:
        kind = request.meta.get("newswatch_kind")
        if kind is None or (
            isinstance(exception, IgnoreRequest) and not isinstance(exception, BlockedAddress)
        ):
            return
        self.runtime.state.record_fetch(
            Fetch(
                request.url,
                source=request.meta.get("newswatch_source", ""),
                kind=kind,
                status=None,
                error=describe_failure(exception)[:500],
                parent=request.meta.get("newswatch_parent"),
            )
        )


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def parse_retry_after(value: str | bytes | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait for a ``Retry-After`` value (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


async def _sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)  # the asyncio reactor's loop (crawler/settings.py)


class RetryAfterMiddleware(RetryMiddleware):
    """Scrapy's retry, waiting as long as the server's ``Retry-After`` asks (capped)."""

    def __init__(self, settings) -> None:  # type: ignore[no-untyped-def]
        super().__init__(settings)
        self.retry_after_max = settings.getfloat("RETRY_AFTER_MAX", 300)

    async def process_response(  # type: ignore[override]
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        wait = parse_retry_after(response.headers.get(b"Retry-After"))
        if wait is not None and wait > self.retry_after_max:
            LOGGER.warning(
                "%s asks to retry after %.0f s, more than RETRY_AFTER_MAX; giving up",
                request.url,
                wait,
            )
            return response
        spider = spider or self.crawler.spider
        assert spider is not None
        retry = get_retry_request(
            request,
            spider=spider,
            reason=f"{response.status} response",
            max_retry_times=request.meta.get("max_retry_times", self.max_retry_times),
            priority_adjust=request.meta.get("priority_adjust", self.priority_adjust),
        )
        if retry is None:
            return response
        if wait:
            LOGGER.info("waiting %.1f s (Retry-After) before retrying %s", wait, request.url)
            await _sleep(wait)
        return retry


# Scrapy looks for a refresh in the first 4,096 characters of the decoded page: at most
# this many bytes in an encoding where ASCII is ASCII (UTF-8, GBK, GB18030, Big5...).
REFRESH_SCAN_BYTES = 4 * 4096


def may_refresh(body: bytes) -> bool:
    """Whether a page's body might hold a meta refresh where Scrapy looks for one: the
    word in its first bytes, or an encoding (UTF-16, UTF-32) where it would not be spelt
    in ASCII bytes."""
    head = body[:REFRESH_SCAN_BYTES]
    return b"\x00" in head or b"refresh" in head.lower()


class MetaRefreshMiddleware(ScrapyMetaRefresh):
    def process_response(  # type: ignore[override]
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        if isinstance(response, HtmlResponse) and not may_refresh(response.body):
            return response
        return super().process_response(request, response)
