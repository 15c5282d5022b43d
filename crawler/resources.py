"""Shared per-crawl resources: the loaded config and the open archive.

Components get them through these functions so that one crawl opens the archive once and
reads the config once, whichever component asks first.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from scrapy.crawler import Crawler

from crawler.config import Config, config_path_from, load_config
from storage import Archive

__all__ = ["archive_for", "config_for"]

_ARCHIVES: dict[int, Archive] = {}


@lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> Config:
    return load_config(path)


def config_for(crawler: Crawler) -> Config:
    """The config named by ``NEWSWATCH_CONFIG`` (setting or environment) or ./newswatch.toml."""
    path = config_path_from(crawler.settings.get("NEWSWATCH_CONFIG"))
    try:
        mtime = os.path.getmtime(path)
    except OSError:
        mtime = 0.0
    return _load(str(path), mtime)


def archive_path_for(crawler: Crawler) -> Path:
    setting = crawler.settings.get("ARCHIVE_PATH")
    if setting:
        return Path(setting)
    return config_for(crawler).archive_path


def archive_for(crawler: Crawler) -> Archive:
    """The archive this crawl writes to, opened on first use and closed with the crawl."""
    key = id(crawler)
    if key not in _ARCHIVES:
        _ARCHIVES[key] = Archive.open(archive_path_for(crawler))
        from scrapy import signals

        def close(**_: object) -> None:
            archive = _ARCHIVES.pop(key, None)
            if archive is not None:
                archive.close()

        crawler.signals.connect(close, signal=signals.engine_stopped, weak=False)
    return _ARCHIVES[key]
