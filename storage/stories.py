"""SQL for stories: starting one, and filing it under its LSH band keys."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import sqlite_utils

from crawler.text.dedup import band_keys

__all__ = ["count_story_paragraphs", "start_story", "template_paragraphs"]

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
