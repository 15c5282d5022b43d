"""The SQLite archive: articles, fetch state, crawl runs and full-text search.

All SQL of the project lives in this package. The archive is a WAL-mode SQLite file opened
through sqlite-utils; the schema comes from :mod:`storage.migrations`.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import sqlite_utils

from crawler.text.crosslang import KEY_WINDOW_DAYS, family, story_keys
from crawler.text.dedup import (
    STORY_THRESHOLD,
    band_keys,
    content_fingerprint,
    own_parts_agree,
    signature,
    similarity,
)
from storage.clock import utc_now
from storage.health import AlarmPolicy, HealthReport, record_check
from storage.migrations import migrate
from storage.outbox import enqueue_alerts
from storage.search import fts_query, search_entry
from storage.stories import (
    count_story_paragraphs,
    current_story,
    file_story_keys,
    find_other_language_stories,
    merge_stories,
    moment_of,
    refresh_story,
    start_story,
    template_paragraphs,
)
from storage.transactions import write_transaction

__all__ = [
    "Archive",
    "Fetch",
    "FetchState",
    "IndexHold",
    "Stored",
    "compress_html",
    "decompress_html",
    "stored_html",
    "utc_now",
]

LOGGER = logging.getLogger(__name__)


def _parse_time(stamp: str | None) -> datetime | None:
    if not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None


# zlib's level 3 takes half the CPU of its default (6) on article pages for 1–4 % more
# bytes (docs/benchmarks.md); any level decompresses alike.
HTML_COMPRESSION = 3


def compress_html(body: bytes) -> bytes:
    """Raw page bytes as stored in ``articles.html`` (zlib; decompress with
    :func:`decompress_html` or SQLite's ``zlib`` tools)."""
    return zlib.compress(body, HTML_COMPRESSION)


def decompress_html(blob: bytes) -> bytes:
    return zlib.decompress(blob)


def stored_html(article: Mapping[str, Any]) -> bytes | None:
    """What ``articles.html`` holds for ``article``: its ``html_zlib`` (the page stage
    compressed the raw page already), else its raw ``html`` compressed here, else nothing."""
    blob = article.get("html_zlib")
    if blob is not None:
        if not isinstance(blob, bytes):
            raise TypeError(f"html_zlib holds {type(blob).__name__}, not bytes")
        return blob
    return compress_html(article["html"]) if article.get("html") else None


class Stored(NamedTuple):
    """What :meth:`Archive.add_article` did."""

    id: int
    created: bool
    story_id: int
    new_story: bool
    revised: bool
    alerts: int = 0  # outbox rows queued with it


@dataclass(frozen=True)
class Fetch:
    """What fetching ``url`` (an entry point, or an article of ``source``) answered: its
    status (``None`` when it failed with ``error``) and validators."""

    url: str
    source: str
    kind: str
    status: int | None
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None
    parent: str | None = None  # the sitemap index a sitemap was reached from

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Fetch:
        """From plain data (keys it does not know, from a newer release, are left out)."""
        known: dict[str, Any] = {f.name: data.get(f.name) for f in fields(cls)}
        return cls(**known)

    def without_validators(self) -> Fetch:
        return replace(self, etag=None, last_modified=None)


@dataclass(frozen=True)
class FetchState:
    url: str
    etag: str | None
    last_modified: str | None
    last_status: int | None
    last_fetch: str | None


def insert_row(db: sqlite_utils.Database, table: str, row: Mapping[str, Any]) -> int:
    """Insert ``row`` (column → value: str, int, float, bytes or None, as SQLite takes
    them; JSON and timestamps already as text) into ``table``; its rowid. One plain
    statement: the per-article writes need none of sqlite-utils' type detection or column
    creation, which cost more than the statement itself."""
    columns = ", ".join(f"[{name}]" for name in row)
    marks = ", ".join(f":{name}" for name in row)
    cursor = db.execute(f"INSERT INTO [{table}] ({columns}) VALUES ({marks})", dict(row))
    return int(cursor.lastrowid)  # type: ignore[arg-type]


# One statement per fetch (the crawl's commonest write): a new URL is inserted; a known one
# is updated, its validators kept when ``keep`` (a 304 or an error).
_RECORD_FETCH = """
INSERT INTO fetches (url, source, kind, etag, last_modified, last_status, last_fetch,
                     last_error, parent)
VALUES (:url, :source, :kind, :etag, :last_modified, :last_status, :last_fetch,
        :last_error, :parent)
ON CONFLICT (url) DO UPDATE SET
    source = excluded.source, kind = excluded.kind,
    etag = CASE WHEN :keep THEN fetches.etag ELSE excluded.etag END,
    last_modified = CASE WHEN :keep THEN fetches.last_modified ELSE excluded.last_modified END,
    last_status = excluded.last_status, last_fetch = excluded.last_fetch,
    last_error = excluded.last_error, parent = excluded.parent
"""


class IndexHold:
    """Full-text index writes held back, in order, while a group of calls shares one
    transaction (:meth:`Archive.hold_index`)."""

    __slots__ = ("writes",)

    def __init__(self) -> None:
        self.writes: list[tuple[str, list[Any]]] = []

    def mark(self) -> int:
        """Where the writes stand now, for :meth:`undo`."""
        return len(self.writes)

    def undo(self, mark: int) -> None:
        """Forget the writes made since ``mark`` (their call's savepoint was rolled back)."""
        del self.writes[mark:]


# The counts of a check's crawl_runs row (crawler.extensions.summarize_stats).
CHECK_COUNTS = (
    "requests",
    "responses",
    "new_articles",
    "unchanged",
    "not_modified",
    "errors",
    "pages",
    "empty_pages",
    "repaired_pages",
    "entry_errors",
)


class Archive:
    """An open archive. ``Archive.open(path)`` creates and migrates the file as needed;
    ``Archive.memory()`` gives an in-memory one for tests."""

    def __init__(self, db: sqlite_utils.Database, *, migrate_schema: bool = True) -> None:
        self.db = db
        # How far apart a Chinese and an English report of one event may be published.
        self.story_window = timedelta(days=KEY_WINDOW_DAYS)
        self._index_hold: IndexHold | None = None
        if migrate_schema:
            migrate(db)

    @classmethod
    def open(cls, path: str | Path, *, busy_timeout: float = 30.0, migrate: bool = True) -> Archive:
        """Open (and create) the archive at ``path``; ``migrate=False`` for a connection
        opened after the schema is known to be current (a second connection of a process)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # check_same_thread off: a connection is opened by the thread that then uses it,
        # except that tests and one-shot commands may close it from another.
        # isolation_level=None: no implicit transactions (a stray statement never keeps the
        # write lock); writes are explicit, see storage.transactions.
        conn = sqlite3.connect(
            str(path), timeout=busy_timeout, check_same_thread=False, isolation_level=None
        )
        db = sqlite_utils.Database(conn)
        db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        if db.journal_mode != "wal":
            db.enable_wal()
        # WAL with synchronous=NORMAL: a crash of the process loses nothing committed; a
        # power cut may lose the last transactions, never the file. Saves an fsync per article.
        db.execute("PRAGMA synchronous = NORMAL")
        return cls(db, migrate_schema=migrate)

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

    def first_fetched(self, canonical_url: str) -> datetime | None:
        """When the article at ``canonical_url`` (or an alias) was first stored."""
        row = self.db.execute(
            "SELECT coalesce((SELECT min(r.fetched_at) FROM article_revisions r "
            "WHERE r.article_id = a.id), a.fetched_at) FROM articles a "
            "WHERE a.canonical_url = ? OR a.id = "
            "(SELECT article_id FROM article_aliases WHERE url = ?) LIMIT 1",
            [canonical_url, canonical_url],
        ).fetchone()
        if row is None or not row[0]:
            return None
        return datetime.fromisoformat(row[0].replace("Z", "+00:00"))

    def known_urls(self, urls: Sequence[str]) -> dict[str, datetime | None]:
        """Which of ``urls`` (canonical form) are archived articles or aliases of one, with
        when each article was first stored (None when the row has no date)."""
        found: dict[str, datetime | None] = {}
        unique = list(dict.fromkeys(urls))
        for start in range(0, len(unique), 400):
            chunk = unique[start : start + 400]
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                "WITH hits(url, article_id) AS ("
                f" SELECT canonical_url, id FROM articles WHERE canonical_url IN ({marks})"
                f" UNION ALL SELECT url, article_id FROM article_aliases WHERE url IN ({marks}))"
                " SELECT h.url, coalesce((SELECT min(r.fetched_at) FROM article_revisions r"
                " WHERE r.article_id = a.id), a.fetched_at)"
                " FROM hits h LEFT JOIN articles a ON a.id = h.article_id",
                [*chunk, *chunk],
            ).fetchall()
            for url, first in rows:
                found[url] = _parse_time(first)
        return found

    def add_alias(self, url: str, article_id: int) -> None:
        """Record ``url`` (canonical form) as another address of article ``article_id``."""
        self.db.execute(
            "INSERT OR IGNORE INTO article_aliases (url, article_id, seen_at) VALUES (?, ?, ?)",
            [url, article_id, utc_now()],
        )

    def add_article(
        self, article: Mapping[str, Any], *, alerts: Sequence[Mapping[str, Any]] = ()
    ) -> Stored:
        """Store ``article`` with its search entry, aliases and story, in one transaction.

        Keys: url, canonical_url, source, title, text, html (raw bytes) or html_zlib (the
        same compressed, :func:`stored_html`), lang, published_at,
        published_precision, fetched_at, encoding, repairs, content_type, origin, entities
        (names), aliases, and for stories fingerprint and signature (:mod:`crawler.text.dedup`)
        and story_keys (:func:`crawler.text.crosslang.story_keys`), computed here when
        absent (story keys then without entities); search, the search entry the page stage
        computed (:func:`storage.search.search_entry`: used when in this release's form).

        An article whose canonical URL is stored already is not stored again: its other
        URLs become aliases, and a changed text becomes a new revision of the same row and
        story. A new article joins the story of an article with the same fingerprint, else
        of a near-duplicate found through the LSH bands, else of a report of the same event
        in the other language (Chinese or English) published within ``story_window``, else
        starts a story of its own.

        ``alerts`` (rule matches, see :func:`storage.outbox.enqueue_alerts`) are queued in
        the same transaction, once per (rule, story, channel), for new articles and
        revisions; a duplicate queues nothing.
        """
        text = article.get("text") or ""
        title = article.get("title") or ""
        fingerprint = article.get("fingerprint") or content_fingerprint(text or title)
        values = article["signature"] if "signature" in article else signature(text or title)
        aliases = [a for a in article.get("aliases") or () if a != article["canonical_url"]]
        with self._writing():
            existing = self.db.execute(
                "SELECT id, story_id, fingerprint FROM articles WHERE canonical_url = ?",
                [article["canonical_url"]],
            ).fetchone()
            if existing is not None:
                article_id, story_id, stored_fingerprint = existing
                for alias in aliases:
                    self.add_alias(alias, article_id)
                revised = stored_fingerprint is not None and stored_fingerprint != fingerprint
                queued = 0
                if revised:
                    self._revise(article_id, article, fingerprint)
                    self._revise_facts(article_id, story_id, article)
                    queued = enqueue_alerts(
                        self.db,
                        alerts,
                        story_id=story_id,
                        article={**article, "id": article_id},
                        now=utc_now(),
                    )
                return Stored(article_id, False, story_id, False, revised, queued)
            template = template_paragraphs(self.db, source=article["source"], text=text)
            if template and values is not None:
                own = "\n".join(p for p in text.split("\n") if p.strip() not in template)
                values = signature(own)
            story_id = self._find_story(fingerprint, values, article["source"], text, template)
            if story_id is not None:
                story_id = current_story(self.db, story_id)
            how = "copy"
            lang_family = family(article.get("lang"))
            at = moment_of(article.get("published_at"), article.get("fetched_at"))
            keys = article.get("story_keys")
            if keys is None:
                keys = story_keys(title, text)
            same_event: list[int] = []
            if lang_family and at:
                same_event = find_other_language_stories(
                    self.db, keys=keys, family=lang_family, at=at, window=self.story_window
                )
            how = "first" if story_id is None else "copy"
            if story_id is None and same_event:
                how = "other language"
            row = {
                "url": article["url"],
                "canonical_url": article["canonical_url"],
                "source": article["source"],
                "title": title,
                "text": text,
                "html": stored_html(article),
                "lang": article.get("lang"),
                "published_at": article.get("published_at"),
                "fetched_at": article.get("fetched_at") or utc_now(),
                "encoding": article.get("encoding"),
                "repairs": json.dumps(article.get("repairs") or {}, ensure_ascii=False),
                "content_type": article.get("content_type"),
                "fingerprint": fingerprint,
                "story_id": story_id,
                "origin": article.get("origin"),
                "published_precision": article.get("published_precision"),
                "entities": json.dumps(list(article.get("entities") or ()), ensure_ascii=False),
                "story_match": how,
            }
            article_id = insert_row(self.db, "articles", row)
            # An article that starts its language in a story still files its own signature
            # (a story of its own, merged at once), so copies of its text find the event.
            if story_id is None:
                story_id = article_id
                self.db.execute(
                    "UPDATE articles SET story_id = ? WHERE id = ?", [story_id, article_id]
                )
                start_story(
                    self.db,
                    story_id=story_id,
                    first_seen=row["fetched_at"],
                    source=row["source"],
                    url=row["canonical_url"],
                    title=title,
                    values=values,
                )
                count_story_paragraphs(self.db, source=row["source"], text=text)
            else:
                assert story_id is not None
                self._join_story(story_id, row["source"])
            # Reports of the event that had not met (two Chinese ones, then the English
            # one) become one story: the oldest.
            if same_event:
                merged = {story_id, *same_event}
                story_id = min(merged)
                merge_stories(self.db, keep=story_id, others=sorted(merged - {story_id}))
            new_story = story_id == article_id
            refresh_story(self.db, story_id)
            if lang_family and at and keys:
                file_story_keys(
                    self.db,
                    article_id=article_id,
                    story_id=story_id,
                    family=lang_family,
                    at=at,
                    keys=keys,
                )
            self._index(article_id, article)
            for alias in aliases:
                self.add_alias(alias, article_id)
            queued = enqueue_alerts(
                self.db, alerts, story_id=story_id, article={**row, "id": article_id}, now=utc_now()
            )
        return Stored(article_id, True, story_id, new_story, False, queued)

    def _find_story(
        self,
        fingerprint: str,
        values: np.ndarray | None,
        source: str,
        text: str,
        template: set[str],
    ) -> int | None:
        """The story of an article with the same fingerprint, else of the most similar
        near-duplicate at ``STORY_THRESHOLD`` or more; a story that already holds articles
        of ``source`` must also agree with one of them beyond the paragraphs they share
        (:func:`~crawler.text.dedup.own_parts_agree`: a site's blurb is not a story).
        ``template``: the site's template paragraphs found in ``text``."""
        row = self.db.execute(
            "SELECT story_id FROM articles WHERE fingerprint = ? LIMIT 1", [fingerprint]
        ).fetchone()
        if row is not None:
            return int(row[0])
        if values is None:
            return None
        keys = band_keys(values)
        placeholders = ",".join("?" * len(keys))
        candidates = self.db.execute(
            "SELECT b.story_id, s.signature FROM story_bands b "
            "JOIN stories s ON s.id = b.story_id "
            f"WHERE b.key IN ({placeholders}) GROUP BY b.story_id ORDER BY count(*) DESC LIMIT 8",
            keys,
        ).fetchall()
        scored = []
        for story_id, blob in candidates:
            if blob is None:
                continue
            score = similarity(values, np.frombuffer(blob, np.uint64))
            if score >= STORY_THRESHOLD:
                scored.append((score, int(story_id)))
        for _, story_id in sorted(scored, reverse=True):
            same_site = self.db.execute(
                "SELECT text FROM articles WHERE story_id = ? AND source = ? "
                "ORDER BY id DESC LIMIT 3",
                [story_id, source],
            ).fetchall()
            if not same_site:
                return story_id
            for (other,) in same_site:
                other = other or ""
                known = template | template_paragraphs(self.db, source=source, text=other)
                if own_parts_agree(text, other, template=known):
                    return story_id
        return None

    def _revise_facts(self, article_id: int, story_id: int, article: Mapping[str, Any]) -> None:
        """A revised text's origin, entities and story keys replace the old ones."""
        self.db.execute(
            "UPDATE articles SET origin = ?, entities = ?, published_precision = "
            "coalesce(?, published_precision) WHERE id = ?",
            [
                article.get("origin"),
                json.dumps(list(article.get("entities") or ()), ensure_ascii=False),
                article.get("published_precision"),
                article_id,
            ],
        )
        lang_family = family(article.get("lang"))
        at = moment_of(article.get("published_at"), article.get("fetched_at"))
        if lang_family and at:
            keys = article.get("story_keys")
            if keys is None:
                keys = story_keys(article.get("title") or "", article.get("text") or "")
            file_story_keys(
                self.db,
                article_id=article_id,
                story_id=story_id,
                family=lang_family,
                at=at,
                keys=keys,
            )
        refresh_story(self.db, story_id)

    def _join_story(self, story_id: int, source: str) -> None:
        row = self.db.execute("SELECT sources FROM stories WHERE id = ?", [story_id]).fetchone()
        sources = json.loads(row[0]) if row and row[0] else []
        if source not in sources:
            sources.append(source)
        self.db.execute(
            "UPDATE stories SET article_count = article_count + 1, sources = ? WHERE id = ?",
            [json.dumps(sources, ensure_ascii=False), story_id],
        )

    def _revise(self, article_id: int, article: Mapping[str, Any], fingerprint: str) -> None:
        old = self.db.execute(
            "SELECT revision, title, text, fingerprint, fetched_at FROM articles WHERE id = ?",
            [article_id],
        ).fetchone()
        revision, old_title, old_text, old_fingerprint, old_fetched = old
        self.db.table("article_revisions").insert(
            {
                "article_id": article_id,
                "revision": revision,
                "title": old_title,
                "text": old_text,
                "fingerprint": old_fingerprint,
                "fetched_at": old_fetched,
            }
        )
        self._index_write("DELETE FROM articles_fts WHERE rowid = ?", [article_id])
        title, text = article.get("title") or "", article.get("text") or ""
        self.db.execute(
            "UPDATE articles SET title = ?, text = ?, html = ?, fingerprint = ?, "
            "revision = ?, fetched_at = ?, repairs = ? WHERE id = ?",
            [
                title,
                text,
                stored_html(article),
                fingerprint,
                revision + 1,
                article.get("fetched_at") or utc_now(),
                json.dumps(article.get("repairs") or {}, ensure_ascii=False),
                article_id,
            ],
        )
        self._index(article_id, article)

    def _index(self, article_id: int, article: Mapping[str, Any]) -> None:
        """File ``article`` (title, text, and the page stage's search entry if any) in the
        full-text index under ``article_id``."""
        title, text = article.get("title") or "", article.get("text") or ""
        self._index_write(
            "INSERT INTO articles_fts (rowid, title, text) VALUES (?, ?, ?)",
            [article_id, *search_entry(title, text, article.get("search"))],
        )

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """A write transaction, or a savepoint inside the running one
        (:func:`storage.transactions.write_transaction`), whose held index writes
        (:meth:`hold_index`) go with it when it fails, also where its caller catches the
        failure and goes on."""
        hold = self._index_hold
        mark = hold.mark() if hold is not None else 0
        try:
            with write_transaction(self.db):
                yield
        except BaseException:
            if hold is not None and hold is self._index_hold:
                hold.undo(mark)
            raise

    def _index_write(self, sql: str, params: list[Any]) -> None:
        if self._index_hold is None:
            self.db.execute(sql, params)
        else:
            self._index_hold.writes.append((sql, params))

    def hold_index(self) -> IndexHold:
        """Hold back the full-text index's writes until :meth:`release_index`.

        FTS5 writes the terms it has pending into a new segment of its index at every
        savepoint and every release of one. A group of article writes sharing a transaction
        (:class:`storage.connection_thread.ArchiveThread`), each in a savepoint of its own,
        would make a segment per article (a fifth of the writer's time per article, and
        merges later); held back and made together before the commit, they make one, or a
        few (FTS5 also writes out what it holds when a write's rowid is lower than the
        last, or it holds more than its hash size)."""
        self._index_hold = IndexHold()
        return self._index_hold

    def release_index(self, *, write: bool) -> None:
        """Stop holding the index's writes back; make those held, in the running
        transaction, when ``write`` (else they are dropped: the transaction is gone)."""
        hold, self._index_hold = self._index_hold, None
        if write and hold is not None:
            # In rowid order (each rowid's own writes in theirs): FTS5 writes out what it
            # holds whenever a write's rowid is lower than the one before (a revision of
            # an older article).
            for sql, params in sorted(hold.writes, key=lambda write: write[1][0]):
                self.db.execute(sql, params)

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

    def articles_since(self, since: str | None) -> Iterator[dict[str, Any]]:
        """Articles fetched on or after ``since`` (ISO date or time), oldest first."""
        sql = "SELECT id, story_id, source, lang, title, text, url, origin FROM articles"
        params: list[Any] = []
        if since:
            sql += " WHERE fetched_at >= ?"
            params.append(since)
        yield from self.db.query(sql + " ORDER BY id", params)

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

    def record_fetch(self, fetch: Fetch) -> None:
        """Remember what fetching a URL answered. A 304 keeps the stored validators; an
        error keeps them too, so the next pass can still ask conditionally."""
        status = fetch.status
        keep = status == 304 or fetch.error is not None or status is None or status >= 400
        with self._writing():
            self.db.execute(
                _RECORD_FETCH,
                {
                    "url": fetch.url,
                    "source": fetch.source,
                    "kind": fetch.kind,
                    "etag": None if keep else fetch.etag,
                    "last_modified": None if keep else fetch.last_modified,
                    "keep": keep,
                    "last_status": status,
                    "last_fetch": utc_now(),
                    "last_error": fetch.error,
                    "parent": fetch.parent,
                },
            )

    def known_index(self, batch: int = 1000) -> Iterator[list[tuple[str, str | None]]]:
        """Every archived article's canonical URL and every alias, with when the article
        was first stored, in batches (what a cluster's workers need to skip them)."""
        cursor = self.db.execute(
            "SELECT canonical_url, fetched_at FROM articles "
            "UNION ALL SELECT l.url, a.fetched_at FROM article_aliases l "
            "JOIN articles a ON a.id = l.article_id"
        )
        while rows := cursor.fetchmany(batch):
            yield [(str(url), first) for url, first in rows]

    def entry_validators(self) -> list[tuple[str, str | None, str | None, str | None]]:
        """Per entry point: URL, ETag, Last-Modified and the sitemap index it came from."""
        return [
            (row[0], row[1], row[2], row[3])
            for row in self.db.execute(
                "SELECT url, etag, last_modified, parent FROM fetches "
                "WHERE kind IN ('feed', 'sitemap', 'listing')"
            ).fetchall()
        ]

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
        with self._writing():
            return int(self.db.table("crawl_runs").insert(row).last_pk)  # type: ignore[arg-type]

    def record_check(
        self,
        row: Mapping[str, Any],
        *,
        policy: AlarmPolicy,
        alarm_channels: Sequence[str] = (),
        failed: bool = False,
        cut_short: bool = False,
    ) -> HealthReport:
        """Record one check of a source and update its health (:mod:`storage.health`)."""
        return record_check(
            self.db,
            row,
            policy=policy,
            alarm_channels=alarm_channels,
            failed=failed,
            cut_short=cut_short,
        )

    def add_late_counts(self, counts: Mapping[tuple[str, str], Mapping[str, int]]) -> int:
        """Add to each check's ``crawl_runs`` row, by ``(run_id, source)``, the counts (its
        row's columns) of what was stored after the check was recorded: what a cluster's
        workers hand over after their check timed out, or after the archive node that ran
        it stopped. Returns the rows changed."""
        changed = 0
        with self._writing():
            for (run_id, source), count in counts.items():
                columns = [c for c in CHECK_COUNTS if count.get(c)]
                if not columns:
                    continue
                changed += self.db.execute(
                    "UPDATE crawl_runs SET "
                    + ", ".join(f"{c} = coalesce({c}, 0) + ?" for c in columns)
                    + " WHERE run_id = ? AND source = ?",
                    [*(count[c] for c in columns), run_id, source],
                ).rowcount
        return changed

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
