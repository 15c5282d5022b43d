"""SQL for stories: starting one, filing it under its LSH band keys, finding the story of
a report in the other language, and a story's languages, origin and reposts."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import numpy as np
import sqlite_utils

from crawler.text.crosslang import (
    MIN_SHARED_WEIGHT,
    MIN_SPECIFIC_WEIGHT,
    SAME_EVENT,
    same_event,
    specific_key,
)
from crawler.text.dedup import band_keys
from storage.clock import utc_stamp

__all__ = [
    "count_story_paragraphs",
    "file_story_keys",
    "current_story",
    "find_other_language_stories",
    "merge_stories",
    "moment_of",
    "refresh_story",
    "start_story",
    "template_paragraphs",
]

TEMPLATE_AFTER = 2


def start_story(
    db: sqlite_utils.Database,
    *,
    story_id: int,
    first_seen: str,
    source: str,
    url: str,
    title: str,
    values: np.ndarray | None,
) -> None:
    """A story of one article (its id is the article's), findable by its band keys when
    the article has a signature."""
    db.execute(
        "INSERT INTO stories (id, first_seen, first_source, first_url, title, article_count, "
        "sources, signature) VALUES (?, ?, ?, ?, ?, 1, ?, ?)",
        [
            story_id,
            first_seen,
            source,
            url,
            title,
            json.dumps([source], ensure_ascii=False),
            None if values is None else values.tobytes(),
        ],
    )
    if values is not None:
        db.conn.executemany(
            "INSERT OR IGNORE INTO story_bands (key, story_id) VALUES (?, ?)",
            [(key, story_id) for key in band_keys(values)],
        )


def _paragraph_hashes(text: str) -> dict[str, str]:
    paragraphs = {p.strip() for p in text.split("\n") if len(p.strip()) >= 8}
    return {hashlib.blake2b(p.encode("utf-8"), digest_size=12).hexdigest(): p for p in paragraphs}


def template_paragraphs(db: sqlite_utils.Database, *, source: str, text: str) -> set[str]:
    """Paragraphs of ``text`` that articles of ``TEMPLATE_AFTER`` earlier stories of
    ``source`` carried too: a site's blurbs the boilerplate rules do not know. Such
    paragraphs would make unrelated short articles of one site look alike, so story
    matching leaves them out."""
    hashes = _paragraph_hashes(text)
    if not hashes:
        return set()
    placeholders = ",".join("?" * len(hashes))
    rows = db.execute(
        f"SELECT hash FROM source_paragraphs WHERE source = ? AND hash IN ({placeholders}) "
        "AND stories >= ?",
        [source, *hashes, TEMPLATE_AFTER],
    ).fetchall()
    return {hashes[row[0]] for row in rows}


def count_story_paragraphs(db: sqlite_utils.Database, *, source: str, text: str) -> None:
    """Count the paragraphs of the first article of a new story of ``source``. Copies that
    join a story are not counted: their paragraphs recur because the story does."""
    db.conn.executemany(
        "INSERT INTO source_paragraphs (source, hash, stories) VALUES (?, ?, 1) "
        "ON CONFLICT (source, hash) DO UPDATE SET stories = stories + 1",
        [(source, digest) for digest in _paragraph_hashes(text)],
    )


# -- stories across languages ------------------------------------------------------------

OTHER_FAMILY = {"zh": "en", "en": "zh"}
CANDIDATES = 12


def file_story_keys(
    db: sqlite_utils.Database,
    *,
    article_id: int,
    story_id: int,
    family: str,
    at: str,
    keys: Mapping[str, float],
) -> None:
    """File an article's cross-language keys (:func:`crawler.text.crosslang.story_keys`)
    so that a report of the same event in the other language finds it."""
    db.execute("DELETE FROM story_keys WHERE article_id = ?", [article_id])
    db.conn.executemany(
        "INSERT OR REPLACE INTO story_keys (key, family, at, article_id, story_id, weight) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [(key, family, at, article_id, story_id, weight) for key, weight in keys.items()],
    )


def find_other_language_stories(
    db: sqlite_utils.Database,
    *,
    keys: Mapping[str, float],
    family: str,
    at: str,
    window: timedelta,
) -> list[int]:
    """The stories of articles in the other language, published within ``window`` of
    ``at``, that report the same event (:func:`~crawler.text.crosslang.same_event` at
    ``SAME_EVENT`` or more), surest first. More than one story means the event's reports
    had not met yet (two Chinese reports, then the English one): the caller merges them.

    Candidates are found through the keys' index in two steps. First the articles whose
    *specific* keys (codes, figures, dates, telling actions) shared with ``keys`` weigh
    ``MIN_SPECIFIC_WEIGHT`` or more: without that, ``same_event`` is 0 whatever else they
    share, and entity keys (a company named in every report of the week) would make this
    step read a large part of the window. Then, of those, the ``CANDIDATES`` sharing the
    most key weight in all (``MIN_SHARED_WEIGHT`` at least) are scored. Each condition is
    one ``same_event`` needs (a shared key counts there with the smaller of its two
    weights), so no article that could match is left out."""
    other = OTHER_FAMILY.get(family)
    specific = [key for key in keys if specific_key(key)]
    if other is None or not specific:
        return []
    moment = datetime.fromisoformat(at.replace("Z", "+00:00"))
    low, high = (utc_stamp(moment - window), utc_stamp(moment + window))
    placeholders = ",".join("?" * len(specific))
    sharing = [
        int(article_id)
        for (article_id,) in db.execute(
            f"SELECT article_id FROM story_keys WHERE key IN ({placeholders}) "
            "AND family = ? AND at BETWEEN ? AND ? GROUP BY article_id HAVING sum(weight) >= ?",
            [*specific, other, low, high, MIN_SPECIFIC_WEIGHT],
        )
    ]
    if not sharing:
        return []
    theirs: dict[int, dict[str, float]] = {article_id: {} for article_id in sharing}
    marks = ",".join("?" * len(sharing))
    for article_id, key, weight in db.execute(
        f"SELECT article_id, key, weight FROM story_keys WHERE article_id IN ({marks})",
        sharing,
    ):
        theirs[int(article_id)][key] = weight
    weight_shared = {
        article_id: sum(their[key] for key in keys if key in their)
        for article_id, their in theirs.items()
    }
    candidates = sorted(
        (article_id for article_id, w in weight_shared.items() if w >= MIN_SHARED_WEIGHT),
        key=lambda article_id: (-weight_shared[article_id], article_id),
    )[:CANDIDATES]
    if not candidates:
        return []
    marks = ",".join("?" * len(candidates))
    story_of = dict(
        db.execute(f"SELECT id, story_id FROM articles WHERE id IN ({marks})", candidates)
    )
    scores: dict[int, float] = {}
    for article_id in candidates:
        score = same_event(keys, theirs[article_id])
        story = story_of.get(article_id)
        if score >= SAME_EVENT and story is not None and score > scores.get(int(story), 0.0):
            scores[int(story)] = score
    return sorted(scores, key=lambda story: (-scores[story], story))


def merge_stories(db: sqlite_utils.Database, *, keep: int, others: list[int]) -> None:
    """Fold ``others`` into story ``keep``: their articles, keys and alerts move over (an
    alert already queued for both stays with its own; the next article of the event finds
    the alert under ``keep`` and queues nothing). Each absorbed story keeps its row, with
    ``merged_into`` set and its LSH bands, so copies of its text still find the event."""
    for other in others:
        if other == keep:
            continue
        count = db.execute(
            "SELECT article_count, sources FROM stories WHERE id = ?", [other]
        ).fetchone()
        db.execute("UPDATE articles SET story_id = ? WHERE story_id = ?", [keep, other])
        db.execute("UPDATE story_keys SET story_id = ? WHERE story_id = ?", [keep, other])
        db.execute("UPDATE OR IGNORE alerts SET story_id = ? WHERE story_id = ?", [keep, other])
        db.execute("UPDATE stories SET merged_into = ? WHERE merged_into = ?", [keep, other])
        kept = db.execute("SELECT sources FROM stories WHERE id = ?", [keep]).fetchone()
        sources = json.loads(kept[0] or "[]") if kept else []
        for source in json.loads((count[1] if count else None) or "[]"):
            if source not in sources:
                sources.append(source)
        db.execute(
            "UPDATE stories SET article_count = article_count + ?, sources = ? WHERE id = ?",
            [count[0] if count else 0, json.dumps(sources, ensure_ascii=False), keep],
        )
        db.execute(
            "UPDATE stories SET merged_into = ?, article_count = 0 WHERE id = ?", [keep, other]
        )
    refresh_story(db, keep)


def current_story(db: sqlite_utils.Database, story_id: int) -> int:
    """The story ``story_id`` was merged into, if it was (else itself)."""
    for _ in range(32):  # merges chain at most this deep; a bound, not a loop forever
        row = db.execute("SELECT merged_into FROM stories WHERE id = ?", [story_id]).fetchone()
        if row is None or row[0] is None:
            return story_id
        story_id = int(row[0])
    return story_id


def moment_of(published_at: str | None, fetched_at: str | None) -> str | None:
    """When an article appeared, in UTC, for the cross-language window: its publication
    time (a day alone counts from its start), else when it was fetched."""
    for value in (published_at, fetched_at):
        if not value:
            continue
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            continue
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return utc_stamp(moment)
    return None


def refresh_story(db: sqlite_utils.Database, story_id: int) -> None:
    """Work out a story's languages, its origin and its reposts from its articles.

    The origin is the outlet its earliest article credits (by publication time, else fetch
    time), else the source of its earliest article. Reposts are the sources of the other
    articles that credit the same outlet or joined as copies of the text."""
    rows = db.execute(
        "SELECT source, origin, lang, story_match FROM articles WHERE story_id = ? "
        "ORDER BY coalesce(published_at, fetched_at), id",
        [story_id],
    ).fetchall()
    if not rows:
        return
    languages = list(dict.fromkeys(lang for _, _, lang, _ in rows if lang))
    anchor = next((i for i, row in enumerate(rows) if row[1]), 0)
    origin = rows[anchor][1] or rows[anchor][0]
    reposts: list[str] = []
    for i, (source, credit, _, how) in enumerate(rows):
        if i != anchor and (credit == origin or how == "copy") and source not in reposts:
            reposts.append(source)
    db.execute(
        "UPDATE stories SET languages = ?, origin = ?, reposts = ? WHERE id = ?",
        [
            json.dumps(languages, ensure_ascii=False),
            origin,
            json.dumps(reposts, ensure_ascii=False),
            story_id,
        ],
    )
