"""Read-only queries behind the command line's summaries (``crawl``'s failures)."""

from __future__ import annotations

from typing import Any

import sqlite_utils

__all__ = ["fetch_failures"]


def fetch_failures(
    db: sqlite_utils.Database, source: str, *, since: str, limit: int = 1000
) -> list[dict[str, Any]]:
    """The URLs of ``source`` whose last fetch, at or after ``since`` (an archive
    timestamp), failed: a network error or an HTTP status of 400 or more; newest first.
    Each: ``url``, ``kind`` (``feed``, ``sitemap``, ``listing``, ``article``),
    ``last_status``, ``last_error``, ``last_fetch``."""
    return list(
        db.query(
            "SELECT url, kind, last_status, last_error, last_fetch FROM fetches "
            "WHERE source = ? AND last_fetch >= ? "
            "AND (last_error IS NOT NULL OR last_status >= 400) "
            "ORDER BY last_fetch DESC, url LIMIT ?",
            [source, since, limit],
        )
    )
