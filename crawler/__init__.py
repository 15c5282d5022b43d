"""newswatch: crawl news portals on a schedule into a SQLite archive.

The ``crawler`` package is the Scrapy project (settings, items, middlewares, pipelines,
extensions), the CLI and the daemon; ``crawler.text`` is the I/O-free text library and
``crawler.discovery`` turns feeds, sitemaps and listings into article links.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
