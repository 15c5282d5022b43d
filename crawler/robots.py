"""robots.txt for a crawler that lives for months.

Scrapy's :class:`~scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware` asks each
host for its robots.txt once per crawler and keeps the answer for the crawler's life; a
daemon's crawlers live for months, so :class:`RobotsTxtMiddleware` asks again once the
answer is older than ``ROBOTSTXT_MAX_AGE`` seconds (default one day, as the big search
engines do), and a failed download (which allows everything until the next attempt) after
``ROBOTSTXT_RETRY_AFTER`` (default 10 minutes). A robots.txt that cannot be downloaded is
one log line (host and reason), not a traceback; at INFO when the host cannot be reached
at all (refused, DNS, TLS), since the request it guards then fails the same way and the
check's summary reports it.
"""

from __future__ import annotations

import logging
import time

from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware as ScrapyRobotsTxt
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request
from scrapy.http.request import NO_CALLBACK
from scrapy.robotstxt import RobotParser
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

from crawler.failures import describe_failure, is_network_failure

__all__ = ["RobotsTxtMiddleware"]

LOGGER = logging.getLogger(__name__)


class RobotsTxtMiddleware(ScrapyRobotsTxt):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.max_age = crawler.settings.getfloat("ROBOTSTXT_MAX_AGE", 86400.0)
        self.retry_after = crawler.settings.getfloat("ROBOTSTXT_RETRY_AFTER", 600.0)
        self._expires: dict[str, float] = {}

    async def robot_parser(self, request: Request) -> RobotParser | None:
        url = urlparse_cached(request)
        netloc = url.netloc
        cached = self._parsers.get(netloc)
        if (
            netloc in self._parsers
            and not isinstance(cached, Deferred)
            and self._expires.get(netloc, 0.0) <= time.monotonic()
        ):
            del self._parsers[netloc]
        if netloc not in self._parsers:
            self._parsers[netloc] = Deferred()
            robots = Request(
                f"{url.scheme}://{netloc}/robots.txt",
                priority=self.DOWNLOAD_PRIORITY,
                meta={"dont_obey_robotstxt": True},
                callback=NO_CALLBACK,
            )
            try:
                response = await self.crawler.engine.download_async(robots)
                await self._parse_robots(response, netloc, request)
                self._expires[netloc] = time.monotonic() + self.max_age
            except Exception as exc:
                if not isinstance(exc, IgnoreRequest):
                    LOGGER.log(
                        logging.INFO if is_network_failure(exc) else logging.WARNING,
                        "robots.txt of %s could not be read (%s); allowing until it can",
                        netloc,
                        describe_failure(exc),
                    )
                self._robots_error(exc, netloc)
                self._expires[netloc] = time.monotonic() + self.retry_after
            self._stats.inc_value("robotstxt/request_count")
        parser = self._parsers[netloc]
        if isinstance(parser, Deferred):
            return await maybe_deferred_to_future(parser)
        return parser
