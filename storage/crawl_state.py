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
from typing import Any, Protocol

from storage.connection_thread import ArchiveThread
from storage.db import Fetch, FetchState

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

    def record_fetch(self, fetch: Fetch) -> None:
        """Remember what a fetch answered (queued; never waits)."""
        ...

    def settle(self, source: str, *, complete: bool) -> None:
        """``source``'s check ended: what its fetches answered may be kept, their
        validators only if the check was ``complete`` (every request it led to done)."""
        ...


class ArchiveCrawlState:
    """The crawl state of the local archive: reads on ``reader``, writes on ``writer``.

    What a check's fetches answered is written when the check ends (:meth:`settle`), and
    an entry point's new validators only if the check completed. A feed's ETag saved
    while the articles it listed were still to be fetched would make the next check's
    answer a 304 that hides them, should this process be killed in between (nothing else
    remembers those requests); a check that timed out or failed somewhere is asked again
    unconditionally next time."""

    def __init__(self, reader: ArchiveThread, writer: ArchiveThread) -> None:
        self.reader = reader
        self.writer = writer
        self.pending: dict[str, list[Fetch]] = {}

    async def known(self, urls: Sequence[str]) -> dict[str, datetime | None]:
        if not urls:
            return {}
        urls = list(urls)
        return await self.reader.run(lambda archive: archive.known_urls(urls))

    async def validators(self, url: str) -> FetchState | None:
        return await self.reader.run(lambda archive: archive.fetch_state(url))

    async def children(self, url: str, *, kind: str) -> list[str]:
        return await self.reader.run(lambda archive: archive.children(url, kind=kind))

    def record_fetch(self, fetch: Fetch) -> None:
        if fetch.source:
            self.pending.setdefault(fetch.source, []).append(fetch)
        else:  # not a source's check, which no check end would settle: written at once
            self._write([fetch], f"record of fetching {fetch.url}")

    def settle(self, source: str, *, complete: bool) -> None:
        records = self.pending.pop(source, [])
        if not records:
            return
        if not complete:
            records = [fetch.without_validators() for fetch in records]
        self._write(records, f"records of {len(records)} fetch(es) of {source}")

    def _write(self, records: list[Fetch], what: str) -> None:
        def record(archive: Any) -> None:
            for fetch in records:
                archive.record_fetch(fetch)

        self.writer.post(record, what=what)
