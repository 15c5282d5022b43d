"""Scrapy settings for newswatch.

Scrapy's own settings come first, grouped; newswatch's settings follow, alphabetically, each
with the component that reads it:

- ``ARCHIVE_PATH``: the SQLite archive (default: ``[archive] path`` of the config).
- ``NEWSWATCH_CONFIG``: the TOML config (default: ``$NEWSWATCH_CONFIG``, else ./newswatch.toml).
- ``NEWSWATCH_RUN_ID``: groups the ``crawl_runs`` rows of one ``newswatch crawl`` pass.
- ``RETRY_AFTER_MAX``: the longest ``Retry-After`` honoured (seconds); longer waits give up.

Per source, the spider sets ``DOWNLOAD_DELAY`` and ``AUTOTHROTTLE_START_DELAY`` from its
``delay`` (see :mod:`spiders.source`).
"""

from __future__ import annotations

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
RETRY_HTTP_CODES = [408, 429, 500, 502, 503, 504, 522, 524]
RETRY_TIMES = 3

# --- Behaviour -------------------------------------------------------------------------
COOKIES_ENABLED = False
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
TELNETCONSOLE_ENABLED = False
# Scrapy's default, stated because components await asyncio (the address guard resolves
# host names with the running asyncio loop).
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"

# --- Components (orders leave gaps for later stages) -----------------------------------
DOWNLOADER_MIDDLEWARES = {
    "crawler.middlewares.AddressGuardMiddleware": 65,
    "crawler.middlewares.KnownArticleMiddleware": 50,
    "crawler.middlewares.ConditionalGetMiddleware": 60,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.RetryAfterMiddleware": 550,
}
ITEM_PIPELINES = {
    "crawler.pipelines.PagePipeline": 100,
    "crawler.pipelines.DedupPipeline": 400,
    "crawler.pipelines.AlertMatchPipeline": 450,
    "crawler.pipelines.ArchivePipeline": 500,
}
EXTENSIONS = {
    "crawler.extensions.CrawlRunRecorder": 500,
}

# --- newswatch -------------------------------------------------------------------------
ARCHIVE_PATH = None
NEWSWATCH_CONFIG = None
NEWSWATCH_RUN_ID = None
RETRY_AFTER_MAX = 300
