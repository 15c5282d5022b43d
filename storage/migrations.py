"""Numbered schema migrations, each applied once in its own transaction and recorded in
the ``_migrations`` table of the archive.

Add a migration by appending a function to ``MIGRATIONS``; never edit one that shipped.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlite_utils

from storage.transactions import write_transaction

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


def m007_daemon_state(db: sqlite_utils.Database) -> None:
    """What a long-lived daemon keeps in the archive: alert claims (a lease per send, so
    two deliverers never send one alert twice), per-check numbers in ``crawl_runs``, the
    health of each source, its alarms, and the daemon's own heartbeat."""
    alerts = db.table("alerts")
    alerts.add_column("lease_until", str)
    alerts.add_column("claimed_by", str)
    for column, kind in (
        ("pages", int),
        ("empty_pages", int),
        ("repaired_pages", int),
        ("entry_errors", int),
        ("duration", float),
        ("trigger", str),
    ):
        db.table("crawl_runs").add_column(column, kind)
    db.table("source_health").create(
        {
            "source": str,
            "state": str,
            "last_check_at": str,
            "last_success_at": str,
            "last_failure_at": str,
            "consecutive_failures": int,
            "last_error": str,
            "next_check_at": str,
            "last_new_article_at": str,
            "articles_today": int,
            "articles_per_day": float,
            "empty_share": float,
            "repaired_share": float,
            "alarm": str,
            "updated_at": str,
        },
        pk="source",
        not_null={"state"},
        defaults={"state": "unknown", "consecutive_failures": 0},
    )
    db.table("alarms").create(
        {
            "id": int,
            "source": str,
            "kind": str,
            "event": str,
            "message": str,
            "channel": str,
            "status": str,
            "attempts": int,
            "next_attempt_at": str,
            "last_error": str,
            "sent_at": str,
            "created_at": str,
            "lease_until": str,
            "claimed_by": str,
        },
        pk="id",
        not_null={"source", "kind", "event", "channel", "status", "created_at"},
        defaults={"status": "pending", "attempts": 0},
    )
    db.table("alarms").create_index(["status", "next_attempt_at"])
    db.table("daemon").create(
        {
            "id": int,
            "pid": int,
            "host": str,
            "role": str,
            "version": str,
            "config_path": str,
            "started_at": str,
            "heartbeat_at": str,
            "stopped_at": str,
        },
        pk="id",
    )


def m008_search_index_keeps_its_text(db: sqlite_utils.Database) -> None:
    """The full-text index keeps its own copy of what it indexed (the bigram form with the
    letter case kept, :func:`storage.search.search_text`) instead of being declared as
    external content over ``articles``: FTS5's ``rebuild`` (``sqlite-utils rebuild-fts``)
    used to re-read the raw text and silently lose every Chinese word, and snippets can
    now be shown."""
    from storage.search import search_text

    db.execute("DROP TABLE IF EXISTS articles_fts")
    db.execute(
        'CREATE VIRTUAL TABLE "articles_fts" USING fts5('
        "title, text, tokenize='unicode61 remove_diacritics 2')"
    )
    cursor = db.conn.execute("SELECT id, title, text FROM articles ORDER BY id")
    while batch := cursor.fetchmany(500):
        db.conn.executemany(
            "INSERT INTO articles_fts (rowid, title, text) VALUES (?, ?, ?)",
            [(row[0], search_text(row[1]), search_text(row[2])) for row in batch],
        )


def m009_foreign_keys(db: sqlite_utils.Database) -> None:
    """Declared foreign keys (alerts → articles and stories, articles → stories, revisions
    → articles), so datasette links them; the tables are rebuilt with sqlite-utils'
    ``transform``, which keeps every column and index they have. Stories name the
    canonical URL of their first article, without tracking parameters; articles are
    indexed by publication time for the newest-first reading view."""
    for table, keys in (
        ("articles", [("story_id", "stories", "id")]),
        ("alerts", [("article_id", "articles", "id"), ("story_id", "stories", "id")]),
        ("article_revisions", [("article_id", "articles", "id")]),
    ):
        known = {fk.column for fk in db.table(table).foreign_keys}
        missing = [key for key in keys if key[0] not in known]
        if missing:
            db.table(table).transform(add_foreign_keys=missing)
    db.execute(
        "UPDATE stories SET first_url = "
        "(SELECT canonical_url FROM articles WHERE articles.id = stories.id) "
        "WHERE EXISTS (SELECT 1 FROM articles WHERE articles.id = stories.id)"
    )
    db.table("articles").create_index(["published_at"], if_not_exists=True)


def m010_entities_languages_origins(db: sqlite_utils.Database) -> None:
    """Entities, origins and publication precision of articles; a story's languages, first
    outlet and reposts; the keys that join reports of one event across languages.

    Existing articles get their credited origin from their stored text, and those of the
    last week of the archive their entities and keys, so the next crawl's reports in the
    other language find them; every story gets its languages, origin and reposts."""
    import warnings

    from alerts.matching import RuleSet
    from crawler.text.crosslang import KEY_WINDOW_DAYS, family, story_keys
    from crawler.text.entities import load_catalogue
    from crawler.text.origin import find_origin
    from storage.stories import file_story_keys, moment_of, refresh_story

    articles = db.table("articles")
    for column in ("origin", "published_precision", "entities", "story_match"):
        articles.add_column(column, str)
    for column in ("languages", "origin", "reposts"):
        db.table("stories").add_column(column, str)
    db.table("stories").add_column("merged_into", int)
    db.execute(
        "CREATE TABLE story_keys (key TEXT NOT NULL, family TEXT NOT NULL, at TEXT NOT NULL, "
        "article_id INTEGER NOT NULL, story_id INTEGER NOT NULL, weight REAL NOT NULL, "
        "PRIMARY KEY (key, family, at, article_id)) WITHOUT ROWID"
    )
    db.execute("CREATE INDEX story_keys_article ON story_keys (article_id)")
    db.execute(
        "UPDATE articles SET story_match = CASE WHEN id = story_id THEN 'first' ELSE 'copy' END"
    )
    catalogue = load_catalogue()
    ruleset = RuleSet([], catalogue)
    newest = db.execute("SELECT max(fetched_at) FROM articles").fetchone()[0]
    recent_from = None
    if newest:
        recent = datetime.fromisoformat(newest.replace("Z", "+00:00"))
        recent_from = (recent - timedelta(days=2 * KEY_WINDOW_DAYS + 1)).isoformat()
    rows = db.execute(
        "SELECT id, story_id, title, text, lang, published_at, fetched_at FROM articles"
    ).fetchall()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cn2an warns about figures it cannot read
        for article_id, story_id, title, text, lang, published_at, fetched_at in rows:
            origin = find_origin((), text or "", catalogue)
            scan = ruleset.scan(title=title or "", text=text or "")
            db.execute(
                "UPDATE articles SET origin = ?, entities = ? WHERE id = ?",
                [origin, json.dumps(scan.entities, ensure_ascii=False), article_id],
            )
            at = moment_of(published_at, fetched_at)
            fam = family(lang)
            if fam and at and recent_from and (fetched_at or "") >= recent_from:
                keys = story_keys(title or "", text or "", mentions=scan.mentions)
                file_story_keys(
                    db, article_id=article_id, story_id=story_id, family=fam, at=at, keys=keys
                )
    for (story_id,) in db.execute("SELECT id FROM stories").fetchall():
        refresh_story(db, story_id)


def m011_crawl_runs_by_check(db: sqlite_utils.Database) -> None:
    """A check's ``crawl_runs`` row found by its ``run_id``: a cluster's archive node adds
    to it what is stored after the check was recorded."""
    db.table("crawl_runs").create_index(["run_id", "source"], if_not_exists=True)


MIGRATIONS: list[Migration] = [
    m001_core_tables,
    m002_full_text_search,
    m003_stories,
    m004_alerts,
    m005_source_paragraphs,
    m006_source_paragraphs_count_stories,
    m007_daemon_state,
    m008_search_index_keeps_its_text,
    m009_foreign_keys,
    m010_entities_languages_origins,
    m011_crawl_runs_by_check,
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
        with write_transaction(db):
            migration(db)
            db.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                [name, datetime.now(UTC).isoformat(timespec="seconds")],
            )
        LOGGER.info("applied migration %s", name)
        applied.append(name)
    return applied
