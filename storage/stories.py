"""SQL for stories: starting one, and filing it under its LSH band keys."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import sqlite_utils

from crawler.text.dedup import band_keys

__all__ = ["start_story", "template_paragraphs"]

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


def template_paragraphs(db: sqlite_utils.Database, *, source: str, text: str) -> set[str]:
    """Paragraphs of ``text`` that ``TEMPLATE_AFTER`` earlier articles of ``source``
    carried too (a site's blurbs the boilerplate rules do not know); then count this
    article's paragraphs. Such paragraphs would make unrelated short articles of one site
    look alike, so story matching leaves them out."""
    paragraphs = {p.strip() for p in text.split("\n") if len(p.strip()) >= 8}
    if not paragraphs:
        return set()
    hashes = {hashlib.blake2b(p.encode("utf-8"), digest_size=12).hexdigest(): p for p in paragraphs}
    placeholders = ",".join("?" * len(hashes))
    rows = db.execute(
        f"SELECT hash FROM source_paragraphs WHERE source = ? AND hash IN ({placeholders}) "
        "AND articles >= ?",
        [source, *hashes, TEMPLATE_AFTER],
    ).fetchall()
    db.conn.executemany(
        "INSERT INTO source_paragraphs (source, hash, articles) VALUES (?, ?, 1) "
        "ON CONFLICT (source, hash) DO UPDATE SET articles = articles + 1",
        [(source, digest) for digest in hashes],
    )
    return {hashes[row[0]] for row in rows}
