"""Numbered schema migrations, each applied once in its own transaction and recorded in
the ``_migrations`` table of the archive.

Add a migration by appending a function to ``MIGRATIONS``; never edit one that shipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import sqlite_utils

__all__ = ["MIGRATIONS", "migrate"]

LOGGER = logging.getLogger(__name__)

Migration = Callable[[sqlite_utils.Database], None]


def m001_core_tables(db: sqlite_utils.Database) -> None:
    db["articles"].create(
        {
            "id": int,
            "url": str,
            "canonical_url": str,
            "source": str,
            "title": str,
            "text": str,
            "html": bytes,
            "lang": str,
            "published_at": str,
            "fetched_at": str,
            "story_id": int,
            "encoding": str,
            "repairs": str,
            "content_type": str,
        },
        pk="id",
        not_null={"url", "canonical_url", "source", "fetched_at"},
    )
    db["articles"].create_index(["canonical_url"], unique=True)
    db["articles"].create_index(["source", "fetched_at"])
    db["articles"].create_index(["story_id"])
    # Other URLs of a stored article (redirect sources, tracking-parameter variants), so
    # they are recognised without a download.
    db["article_aliases"].create(
        {"url": str, "article_id": int, "seen_at": str},
        pk="url",
        foreign_keys=[("article_id", "articles", "id")],
    )
    db["fetches"].create(
        {
            "url": str,
            "source": str,
            "kind": str,
            "etag": str,
            "last_modified": str,
            "last_status": int,
            "last_fetch": str,
            "last_error": str,
            "parent": str,
        },
        pk="url",
    )
    db["fetches"].create_index(["parent"])
    db["crawl_runs"].create(
        {
            "id": int,
            "run_id": str,
            "source": str,
            "started_at": str,
            "finished_at": str,
            "requests": int,
            "responses": int,
            "new_articles": int,
            "unchanged": int,
            "not_modified": int,
            "errors": int,
            "finish_reason": str,
            "stats": str,
        },
        pk="id",
    )
    db["crawl_runs"].create_index(["source", "started_at"])


def m002_full_text_search(db: sqlite_utils.Database) -> None:
    # External content: datasette's FTS detection needs content="articles"; the indexed
    # values are the bigram form from storage.search.index_text, written by storage.db.
    db.execute(
        'CREATE VIRTUAL TABLE "articles_fts" USING fts5('
        'title, text, content="articles", content_rowid="id", '
        "tokenize='unicode61 remove_diacritics 2')"
    )


MIGRATIONS: list[Migration] = [m001_core_tables, m002_full_text_search]


def migrate(db: sqlite_utils.Database) -> list[str]:
    """Apply pending migrations; return the names applied."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    done = {row[0] for row in db.execute("SELECT name FROM _migrations").fetchall()}
    applied = []
    for migration in MIGRATIONS:
        name = migration.__name__
        if name in done:
            continue
        with db.atomic():
            migration(db)
            db.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                [name, datetime.now(UTC).isoformat(timespec="seconds")],
            )
        LOGGER.info("applied migration %s", name)
        applied.append(name)
    return applied
