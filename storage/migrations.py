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
    db.table("articles").create(
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
    db.table("articles").create_index(["canonical_url"], unique=True)
    db.table("articles").create_index(["source", "fetched_at"])
    db.table("articles").create_index(["story_id"])
    # Other URLs of a stored article (redirect sources, tracking-parameter variants), so
    # they are recognised without a download.
    db.table("article_aliases").create(
        {"url": str, "article_id": int, "seen_at": str},
        pk="url",
        foreign_keys=[("article_id", "articles", "id")],
    )
    db.table("fetches").create(
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
    db.table("fetches").create_index(["parent"])
    db.table("crawl_runs").create(
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
    db.table("crawl_runs").create_index(["source", "started_at"])


def m002_full_text_search(db: sqlite_utils.Database) -> None:
    # External content: datasette's FTS detection needs content="articles"; the indexed
    # values are the bigram form from storage.search.index_text, written by storage.db.
    db.execute(
        'CREATE VIRTUAL TABLE "articles_fts" USING fts5('
        'title, text, content="articles", content_rowid="id", '
        "tokenize='unicode61 remove_diacritics 2')"
    )


def m003_stories(db: sqlite_utils.Database) -> None:
    """Stories (one per event, however many outlets), content fingerprints, revisions and
    the persisted LSH bands that find a story's syndicated copies."""
    from crawler.text.dedup import content_fingerprint, signature
    from storage.stories import start_story

    db.table("articles").add_column("fingerprint", str)
    db.table("articles").add_column("revision", int, not_null_default=1)
    db.table("articles").create_index(["fingerprint"])
    db.table("stories").create(
        {
            "id": int,
            "first_seen": str,
            "first_source": str,
            "first_url": str,
            "title": str,
            "article_count": int,
            "sources": str,
            "signature": bytes,
        },
        pk="id",
    )
    db.execute(
        "CREATE TABLE story_bands (key INTEGER NOT NULL, story_id INTEGER NOT NULL, "
        "PRIMARY KEY (key, story_id)) WITHOUT ROWID"
    )
    db.table("article_revisions").create(
        {
            "article_id": int,
            "revision": int,
            "title": str,
            "text": str,
            "fingerprint": str,
            "fetched_at": str,
        },
        pk=("article_id", "revision"),
    )
    # Articles stored before stories existed: each becomes its own story.
    rows = db.execute(
        "SELECT id, source, url, title, text, fetched_at FROM articles ORDER BY id"
    ).fetchall()
    for article_id, source, url, title, text, fetched_at in rows:
        values = signature(text or title or "")
        db.execute(
            "UPDATE articles SET fingerprint = ?, story_id = ? WHERE id = ?",
            [content_fingerprint(text or title or ""), article_id, article_id],
        )
        start_story(
            db,
            story_id=article_id,
            first_seen=fetched_at,
            source=source,
            url=url,
            title=title,
            values=values,
        )


def m004_alerts(db: sqlite_utils.Database) -> None:
    """The alert outbox: one row per (rule, story, channel), written with the article."""
    db.table("alerts").create(
        {
            "id": int,
            "rule": str,
            "story_id": int,
            "channel": str,
            "article_id": int,
            "mode": str,
            "status": str,
            "attempts": int,
            "next_attempt_at": str,
            "last_error": str,
            "sent_at": str,
            "created_at": str,
            "terms": str,
            "spans": str,
            "snippet": str,
            "title": str,
            "url": str,
            "source": str,
            "published_at": str,
        },
        pk="id",
        not_null={"rule", "story_id", "channel", "status"},
        defaults={"status": "pending", "attempts": 0},
    )
    db.table("alerts").create_index(["rule", "story_id", "channel"], unique=True)
    db.table("alerts").create_index(["status", "next_attempt_at"])
    db.table("digests").create(
        {"rule": str, "channel": str, "last_sent_at": str}, pk=("rule", "channel")
    )


def m005_source_paragraphs(db: sqlite_utils.Database) -> None:
    """How many articles of a source carry each paragraph: a paragraph that two earlier
    articles of the same source carried is the site's template, not the article."""
    db.execute(
        "CREATE TABLE source_paragraphs (source TEXT NOT NULL, hash TEXT NOT NULL, "
        "articles INTEGER NOT NULL, PRIMARY KEY (source, hash)) WITHOUT ROWID"
    )


def m006_source_paragraphs_count_stories(db: sqlite_utils.Database) -> None:
    """A site's template is what recurs across its stories, not across copies of one
    story: the count is of stories started by articles carrying the paragraph."""
    db.execute("ALTER TABLE source_paragraphs RENAME COLUMN articles TO stories")


MIGRATIONS: list[Migration] = [
    m001_core_tables,
    m002_full_text_search,
    m003_stories,
    m004_alerts,
    m005_source_paragraphs,
    m006_source_paragraphs_count_stories,
]


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
