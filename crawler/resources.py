"""How components reach the process's :class:`~crawler.runtime.Runtime`: through the crawler.

newswatch's runner sets ``crawler.newswatch`` before the crawl starts. A crawler started by
Scrapy's own tools (``scrapy crawl source -a source=NAME``) has none: the first component
that asks builds one from the config named by ``NEWSWATCH_CONFIG`` (setting or environment,
else ./newswatch.toml), keeps it on that crawler and closes it when the engine stops. No
module-level state: each crawler owns what it opened.
"""

from __future__ import annotations

from typing import cast

from scrapy import signals
from scrapy.crawler import Crawler

from crawler.config import Config, config_path_from, load_config
from crawler.runtime import Runtime

__all__ = ["config_for", "runtime_for"]

ATTRIBUTE = "newswatch"


def runtime_for(crawler: Crawler) -> Runtime:
    """The runtime the crawler's components share (built on first use when the crawler was
    not started by newswatch's runner)."""
    runtime = getattr(crawler, ATTRIBUTE, None)
    if runtime is None:
        config = load_config(config_path_from(crawler.settings.get("NEWSWATCH_CONFIG")))
        runtime = Runtime.open(config)
        setattr(crawler, ATTRIBUTE, runtime)

        def close(**_: object) -> None:
            runtime.close()

        crawler.signals.connect(close, signal=signals.engine_stopped, weak=False)
    return cast(Runtime, runtime)


def config_for(crawler: Crawler) -> Config:
    """The config of the crawler's runtime."""
    return runtime_for(crawler).config
