"""Scrapy settings for newswatch.

Scrapy's own settings come first, grouped; newswatch's settings follow, alphabetically, each
with the component that reads it:

- ``ARCHIVE_PATH``: the SQLite archive (default: ``[archive] path`` of the config).
- ``NEWSWATCH_CONFIG``: the TOML config (default: ``$NEWSWATCH_CONFIG``, else ./newswatch.toml).
- ``NEWSWATCH_MANAGED_CHECKS``: the runner starts each check and the crawler stays open
  between checks (:class:`crawler.extensions.CheckRunner`); off for ``scrapy crawl``.
- ``NEWSWATCH_RUN_ID``: groups the ``crawl_runs`` rows of one ``newswatch crawl`` pass.
- ``RETRY_AFTER_MAX``: the longest ``Retry-After`` honoured (seconds); longer waits give up.
- ``ROBOTSTXT_MAX_AGE``, ``ROBOTSTXT_RETRY_AFTER``: when a host's robots.txt is asked again
  (seconds; after a success, after a failure; :mod:`crawler.robots`).

Per source, the spider applies ``[crawl]`` and the source's ``delay`` at spider priority
(:func:`crawler.runtime.source_settings`). Nothing listens on a socket: the telnet console
and Scrapy 2.19's remote-control endpoint are off, whatever the reactor.
"""

from __future__ import annotations

from scrapy.settings import default_settings

from crawler import __version__

BOT_NAME = "newswatch"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

# --- Politeness ------------------------------------------------------------------------
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1.0
ROBOTSTXT_OBEY = True
USER_AGENT = f"newswatch/{__version__} (+https://github.com/newswatch/newswatch)"

# --- Limits and retries ----------------------------------------------------------------
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
RETRY_ENABLED = True
# The spider's errback logs a request that failed for good in one line of its own.
RETRY_GIVE_UP_LOG_LEVEL = "DEBUG"
RETRY_HTTP_CODES = [408, 429, 500, 502, 503, 504, 522, 524]
RETRY_TIMES = 3

# --- Behaviour -------------------------------------------------------------------------
# What one response yields is handled by this many asyncio tasks, made afresh for every
# response: a page yields one article at most, so Scrapy's 100 only costs task creation.
CONCURRENT_ITEMS = 8
# Scrapy reads a generator callback's source (inspect + ast) to warn about ``return
# value``, again whenever its cache misses (bound methods): newswatch's callbacks are
# checked by its tests instead.
WARN_ON_GENERATOR_RETURN_VALUE = False
COOKIES_ENABLED = False
DUPEFILTER_CLASS = "crawler.dupefilter.CheckDupeFilter"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
LOGSTATS_INTERVAL = 0.0  # checks log their own one-line summary
MEMUSAGE_ENABLED = False

# --- Safety (docs/security.md) ---------------------------------------------------------
# Only http(s): no file:, data:, ftp: or s3: downloads, whatever a page or redirect says.
DOWNLOAD_HANDLERS = {"data": None, "file": None, "ftp": None, "s3": None}
# Certificates and host names are checked; crawler.tls decides per source and host.
DOWNLOAD_VERIFY_CERTIFICATES = True
DOWNLOADER_CLIENTCONTEXTFACTORY = "crawler.tls.SourceTLSContextFactory"
# Nothing listens: no remote-code endpoint (Scrapy 2.19's default), no telnet console.
REMOTE_CONTROL_ENABLED = False
TELNETCONSOLE_ENABLED = False
# Scrapy's default, stated because components await asyncio (the address guard resolves
# host names with the running asyncio loop).
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"

# --- Components (orders leave gaps for later stages) -----------------------------------
DOWNLOADER_MIDDLEWARES = {
    "crawler.middlewares.ConditionalGetMiddleware": 60,
    "crawler.middlewares.AddressGuardMiddleware": 65,
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.robots.RobotsTxtMiddleware": 100,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.RetryAfterMiddleware": 550,
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawler.middlewares.MetaRefreshMiddleware": 580,
    "crawler.tls.CertificateCheckMiddleware": 560,
}
SPIDER_MIDDLEWARES = {
    "crawler.spidermiddlewares.KnownArticleMiddleware": 50,
}
ITEM_PIPELINES = {
    "crawler.pipelines.PagePipeline": 100,
    "crawler.pipelines.AlertMatchPipeline": 450,
    "crawler.pipelines.ArchivePipeline": 500,
}
EXTENSIONS = {
    "crawler.extensions.CheckRunner": 500,
    "scrapy.extensions.logstats.LogStats": None,
    "scrapy.extensions.memusage.MemoryUsage": None,
}
# The listening extensions are left out of Scrapy's base list, not just disabled: Scrapy
# imports every extension it lists, disabled or not, and the remote-control one imports
# aiohttp, a tenth of a second of every start. The rest of Scrapy's list is kept.
_LISTENING_EXTENSIONS = {
    "scrapy.extensions.telnet.TelnetConsole",
    "scrapy.extensions.remote_control.RemoteControl",
}
EXTENSIONS_BASE = {
    name: order
    for name, order in default_settings.EXTENSIONS_BASE.items()
    if name not in _LISTENING_EXTENSIONS
}

# --- newswatch -------------------------------------------------------------------------
ARCHIVE_PATH = None
NEWSWATCH_CONFIG = None
NEWSWATCH_MANAGED_CHECKS = False
NEWSWATCH_RUN_ID = None
RETRY_AFTER_MAX = 300
ROBOTSTXT_MAX_AGE = 86400
ROBOTSTXT_RETRY_AFTER = 600
