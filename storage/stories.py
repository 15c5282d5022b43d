"""SQL for stories: starting one, and filing it under its LSH band keys."""

from __future__ import annotations

import json

import numpy as np
import sqlite_utils

from crawler.text.dedup import band_keys

__all__ = ["start_story"]


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
