"""The SQLite archive: articles, fetch state, crawl runs and full-text search.

All SQL of the project lives in this package. The archive is a WAL-mode SQLite file opened
through sqlite-utils; the schema comes from :mod:`storage.migrations`.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from storage.migrations import migrate
from storage.search import fts_query, index_text

__all__ = ["Archive", "FetchState", "compress_html", "decompress_html", "utc_now"]

LOGGER = logging.getLogger(__name__)


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def compress_html(body: bytes) -> bytes:
    """Raw page bytes as stored in ``articles.html`` (zlib; decompress with
    :func:`decompress_html` or SQLite's ``zlib`` tools)."""
    return zlib.compress(body, 6)


def decompress_html(blob: bytes) -> bytes:
    return zlib.decompress(blob)


@dataclass(frozen=True)
class FetchState:
    url: str
    etag: str | None
    last_modified: str | None
    last_status: int | None
    last_fetch: str | None


class Archive:
    """An open archive. ``Archive.open(path)`` creates and migrates the file as needed;
    ``Archive.memory()`` gives an in-memory one for tests."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        migrate(db)

    @classmethod
    def open(cls, path: str | Path) -> Archive:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=30.0)
        db = sqlite_utils.Database(conn)
        db.execute("PRAGMA busy_timeout = 30000")
        if db.journal_mode != "wal":
            db.enable_wal()
        return cls(db)

    @classmethod
    def memory(cls) -> Archive:
        return cls(sqlite_utils.Database(memory=True))

    def close(self) -> None:
        self.db.close()

    # -- articles ---------------------------------------------------------------------

    def article_id(self, canonical_url: str) -> int | None:
        row = self.db.execute(
            "SELECT id FROM articles WHERE canonical_url = ?", [canonical_url]
        ).fetchone()
        return None if row is None else int(row[0])

    def is_known_url(self, canonical_url: str) -> bool:
        """Whether ``canonical_url`` is an archived article or an alias of one."""
        return (
            self.db.execute(
                "SELECT 1 FROM articles WHERE canonical_url = ? "
                "UNION ALL SELECT 1 FROM article_aliases WHERE url = ? LIMIT 1",
                [canonical_url, canonical_url],
            ).fetchone()
            is not None
        )

    def add_alias(self, url: str, article_id: int) -> None:
        """Record ``url`` (canonical form) as another address of article ``article_id``."""
        self.db.execute(
            "INSERT OR IGNORE INTO article_aliases (url, article_id, seen_at) VALUES (?, ?, ?)",
            [url, article_id, utc_now()],
        )

    def add_article(self, article: Mapping[str, Any]) -> tuple[int, bool]:
        """Store ``article`` (keys: url, canonical_url, source, title, text, html (raw
        bytes), lang, published_at, encoding, repairs, content_type, aliases) with its
        search index entry, in one transaction. Returns ``(id, created)``; an article whose
        canonical URL is already stored is not stored again, its other URLs become
        aliases."""
        aliases = [a for a in article.get("aliases") or () if a != article["canonical_url"]]
        existing = self.article_id(article["canonical_url"])
        if existing is not None:
            with self.db.atomic():
                for alias in aliases:
                    self.add_alias(alias, existing)
            return existing, False
        row = {
            "url": article["url"],
            "canonical_url": article["canonical_url"],
            "source": article["source"],
            "title": article.get("title") or "",
            "text": article.get("text") or "",
            "html": compress_html(article["html"]) if article.get("html") else None,
            "lang": article.get("lang"),
            "published_at": article.get("published_at"),
            "fetched_at": article.get("fetched_at") or utc_now(),
            "encoding": article.get("encoding"),
            "repairs": json.dumps(article.get("repairs") or {}, ensure_ascii=False),
            "content_type": article.get("content_type"),
        }
        with self.db.atomic():
            article_id = int(self.db["articles"].insert(row).last_pk)  # type: ignore[arg-type]
            self.db.execute(
                "UPDATE articles SET story_id = ? WHERE id = ?", [article_id, article_id]
            )
            self.db.execute(
                "INSERT INTO articles_fts (rowid, title, text) VALUES (?, ?, ?)",
                [article_id, index_text(row["title"]), index_text(row["text"])],
            )
            for alias in aliases:
                self.add_alias(alias, article_id)
        return article_id, True

    def count_articles(self, source: str | None = None) -> int:
        if source is None:
            return int(self.db.execute("SELECT count(*) FROM articles").fetchone()[0])
        return int(
            self.db.execute("SELECT count(*) FROM articles WHERE source = ?", [source]).fetchone()[
                0
            ]
        )

    def search(self, query: str, *, limit: int = 20) -> list[dict[str, Any]]:
        """Articles matching ``query`` (see :mod:`storage.search`), best first."""
        sql = (
            "SELECT a.id, a.source, a.title, a.url, a.lang, a.published_at "
            "FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid "
            "WHERE articles_fts MATCH ? ORDER BY articles_fts.rank LIMIT ?"
        )
        cursor = self.db.execute(sql, [fts_query(query), limit])
        columns = [c[0] for c in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    def recent_articles(self, *, limit: int = 20) -> Iterator[dict[str, Any]]:
        yield from self.db.query(
            "SELECT id, source, lang, encoding, title, url FROM articles ORDER BY id DESC LIMIT ?",
            [limit],
        )

    # -- fetch state (conditional GET) ------------------------------------------------

    def fetch_state(self, url: str) -> FetchState | None:
        row = self.db.execute(
            "SELECT url, etag, last_modified, last_status, last_fetch FROM fetches WHERE url = ?",
            [url],
        ).fetchone()
        return None if row is None else FetchState(*row)

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
        """Remember the outcome of fetching ``url``. A 304 keeps the stored validators;
        an error keeps them too, so the next pass can still ask conditionally."""
        previous = self.fetch_state(url)
        if status == 304 or error is not None or status is None or status >= 400:
            etag = previous.etag if previous else None
            last_modified = previous.last_modified if previous else None
        with self.db.atomic():
            self.db["fetches"].upsert(
                {
                    "url": url,
                    "source": source,
                    "kind": kind,
                    "etag": etag,
                    "last_modified": last_modified,
                    "last_status": status,
                    "last_fetch": utc_now(),
                    "last_error": error,
                    "parent": parent,
                },
                pk="url",
            )

    def children(self, parent: str, *, kind: str) -> list[str]:
        """URLs of ``kind`` last reached from ``parent`` (the sitemaps of a sitemap index)."""
        return [
            row[0]
            for row in self.db.execute(
                "SELECT url FROM fetches WHERE parent = ? AND kind = ? ORDER BY url", [parent, kind]
            ).fetchall()
        ]

    # -- crawl runs ---------------------------------------------------------------------

    def record_crawl_run(self, run: Mapping[str, Any]) -> int:
        row = dict(run)
        if isinstance(row.get("stats"), dict):
            row["stats"] = json.dumps(row["stats"], ensure_ascii=False, default=str)
        with self.db.atomic():
            return int(self.db["crawl_runs"].insert(row).last_pk)  # type: ignore[arg-type]

    def crawl_runs(self, run_id: str) -> list[dict[str, Any]]:
        return list(
            self.db.query("SELECT * FROM crawl_runs WHERE run_id = ? ORDER BY source", [run_id])
        )

    def source_states(self) -> dict[str, dict[str, Any]]:
        """Per source: its last crawl run and how many articles it has."""
        states: dict[str, dict[str, Any]] = {}
        for row in self.db.query(
            "SELECT source, started_at, finished_at, new_articles, unchanged, errors, "
            "finish_reason FROM crawl_runs WHERE id IN "
            "(SELECT max(id) FROM crawl_runs GROUP BY source)"
        ):
            states[row["source"]] = dict(row)
        for row in self.db.query("SELECT source, count(*) AS n FROM articles GROUP BY source"):
            states.setdefault(row["source"], {})["articles"] = row["n"]
        return states
