"""Scrapy spiders: ``source`` (every entry point of a source) and ``feeds``, ``sitemaps``,
``listings`` (one kind of entry point)."""
