"""Downloader middlewares, in the order requests pass them.

- :class:`KnownArticleMiddleware` (50): an article already in the archive, under its
  canonical URL or an alias, is not downloaded again. Reads the archive.
- :class:`ConditionalGetMiddleware` (60): entry points (feeds, sitemaps, listings) are asked
  with ``If-None-Match``/``If-Modified-Since`` from the ``fetches`` table, and every
  response or failure is recorded there.
- :class:`AddressGuardMiddleware` (65): a request to a loopback, private, link-local or
  otherwise non-public address is refused unless its host is one the config names for the
  source (or ``crawl.allow_private_addresses`` is set): a feed link or a redirect cannot
  lead the crawler into the network it runs in. IP literals, ``localhost`` names and
  names that resolve to such an address are refused before any connection (and before
  robots.txt is asked); should a name resolve differently when the download connects,
  the response is dropped.
- :class:`RetryAfterMiddleware` (550, replaces Scrapy's RetryMiddleware): retries 429/5xx
  and honours ``Retry-After`` up to ``RETRY_AFTER_MAX`` seconds.

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
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware, get_retry_request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future

from crawler.config import parse_duration
from crawler.resources import archive_for, config_for
from crawler.text.urls import canonical_url, host_of
from storage import Archive

__all__ = [
    "AddressGuardMiddleware",
    "BlockedAddress",
    "ConditionalGetMiddleware",
    "KnownArticleMiddleware",
    "RetryAfterMiddleware",
    "parse_retry_after",
]

LOGGER = logging.getLogger(__name__)

ENTRY_KINDS = frozenset({"feed", "sitemap", "listing"})


class AlreadyArchived(IgnoreRequest):
    """The article is in the archive; not an error."""


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

    def __init__(self, configured: dict[str, frozenset[str]], allow_all: bool) -> None:
        # per source: the hosts its config names; "" holds every source's (robots.txt)
        self.configured = configured
        self.allow_all = allow_all
        self._resolved: dict[str, tuple[float, tuple[str, ...]]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AddressGuardMiddleware:
        config = config_for(crawler)
        configured: dict[str, frozenset[str]] = {}
        for source in config.sources:
            urls = [*source.feeds, *source.sitemaps, *source.listings]
            hosts = {host_of(url) for url in urls}
            hosts |= {h.lower() for pair in source.host_aliases.items() for h in pair}
            configured[source.name] = frozenset(hosts - {""})
        configured[""] = frozenset().union(*configured.values())
        return cls(configured, config.crawl.allow_private_addresses)

    def _named(self, request: Request, host: str) -> bool:
        source = request.meta.get("newswatch_source", "")
        return host in self.configured.get(source, self.configured[""])

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


class KnownArticleMiddleware:
    """Skips archived articles; with a source's ``revisit`` window, an article first
    fetched within it is asked again, conditionally, so an edit becomes a revision."""

    def __init__(  # type: ignore[no-untyped-def]
        self, archive: Archive, stats, host_aliases=None, revisit=None
    ) -> None:
        self.archive = archive
        self.stats = stats
        # per source: its mobile hosts and their desktop twins; its revisit window
        self.host_aliases: dict[str, dict[str, str]] = host_aliases or {}
        self.revisit: dict[str, timedelta] = revisit or {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> KnownArticleMiddleware:
        config = config_for(crawler)
        aliases = {s.name: s.host_aliases for s in config.sources if s.host_aliases}
        revisit = {s.name: parse_duration(s.revisit) for s in config.sources if s.revisit}
        return cls(archive_for(crawler), crawler.stats, aliases, revisit)

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        if request.meta.get("newswatch_kind") != "article" or request.meta.get("redirect_times"):
            return
        source = request.meta.get("newswatch_source", "")
        canonical = canonical_url(request.url, host_aliases=self.host_aliases.get(source))
        if not self.archive.is_known_url(canonical):
            return
        window = self.revisit.get(source)
        first_seen = self.archive.first_fetched(canonical) if window else None
        if window and first_seen and datetime.now(UTC) - first_seen < window:
            self.stats.inc_value("newswatch/articles_revisited")
            request.meta["newswatch_revisit"] = True
            request.meta["handle_httpstatus_list"] = [304]
            return
        self.stats.inc_value("newswatch/articles_known")
        raise AlreadyArchived(f"already archived: {request.url}")


class ConditionalGetMiddleware:
    def __init__(self, archive: Archive, stats) -> None:  # type: ignore[no-untyped-def]
        self.archive = archive
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalGetMiddleware:
        return cls(archive_for(crawler), crawler.stats)

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        kind = request.meta.get("newswatch_kind")
        if kind not in ENTRY_KINDS and not request.meta.get("newswatch_revisit"):
            return
        state = self.archive.fetch_state(request.url)
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
        self.archive.record_fetch(
            request.url,
            source=request.meta.get("newswatch_source", ""),
            kind=kind,
            status=response.status,
            etag=_header(response, b"ETag"),
            last_modified=_header(response, b"Last-Modified"),
            parent=request.meta.get("newswatch_parent"),
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
        self.archive.record_fetch(
            request.url,
            source=request.meta.get("newswatch_source", ""),
            kind=kind,
            status=None,
            error=f"{type(exception).__name__}: {exception}"[:500],
            parent=request.meta.get("newswatch_parent"),
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
    # Imported here: importing the reactor at module level would install the default one
    # before Scrapy installs the asyncio reactor.
    from twisted.internet import reactor
    from twisted.internet.task import deferLater

    await maybe_deferred_to_future(deferLater(reactor, seconds, lambda: None))


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
