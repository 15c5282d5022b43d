"""What a crawl needs to know about what it crawled before, behind one small interface.

A check asks which article URLs are archived already (and since when, for revisits), the
validators (ETag, Last-Modified) to ask an entry point conditionally, and the sitemaps an
unchanged sitemap index led to; it reports what each fetch of an entry point answered.
:class:`ArchiveCrawlState` answers from the local archive, reading on a reader thread and
writing through the archive writer, so the reactor thread never waits on SQLite. Other
implementations (a worker that only sees the archive through Redis) keep the same methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from storage.connection_thread import ArchiveThread
from storage.db import FetchState

__all__ = ["ArchiveCrawlState", "CrawlState"]


class CrawlState(Protocol):
    async def known(self, urls: Sequence[str]) -> dict[str, datetime | None]:
        """The archived ones among canonical ``urls``, with when each was first stored."""
        ...

    async def validators(self, url: str) -> FetchState | None:
        """What the last fetch of entry point ``url`` answered (ETag, Last-Modified)."""
        ...

    async def children(self, url: str, *, kind: str) -> list[str]:
        """URLs of ``kind`` last reached from ``url`` (the sitemaps of a sitemap index)."""
        ...

    def record_fetch(
        self,
        url: str,
        *,
        source: str,
        kind: str,
        status: int | None,
        etag: str | None = None,
        last_modified: str | None = None,
        error: str | None = None,
        parent: str | None = None,
    ) -> None:
        """Remember what fetching ``url`` answered (queued; never waits)."""
        ...


class ArchiveCrawlState:
    """The crawl state of the local archive: reads on ``reader``, writes on ``writer``."""

    def __init__(self, reader: ArchiveThread, writer: ArchiveThread) -> None:
        self.reader = reader
        self.writer = writer

    async def known(self, urls: Sequence[str]) -> dict[str, datetime | None]:
        if not urls:
            return {}
        urls = list(urls)
        return await self.reader.run(lambda archive: archive.known_urls(urls))

    async def validators(self, url: str) -> FetchState | None:
        return await self.reader.run(lambda archive: archive.fetch_state(url))

    async def children(self, url: str, *, kind: str) -> list[str]:
        return await self.reader.run(lambda archive: archive.children(url, kind=kind))

    def record_fetch(
        self,
        url: str,
        *,
        source: str,
        kind: str,
        status: int | None,
        etag: str | None = None,
        last_modified: str | None = None,
        error: str | None = None,
        parent: str | None = None,
    ) -> None:
        self.writer.post(
            lambda archive: archive.record_fetch(
                url,
                source=source,
                kind=kind,
                status=status,
                etag=etag,
                last_modified=last_modified,
                error=error,
                parent=parent,
            ),
            what=f"record of fetching {url}",
        )
