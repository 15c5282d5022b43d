"""SQL behind the article and story pages of the reading view: an article with its story,
the other outlets that carried it, the alerts it fired, its revisions and other URLs; a
story with every outlet's article."""

from __future__ import annotations

from typing import Any

from storage.datasette_plugin.words import describe_repairs

__all__ = ["article_page", "story_page"]


async def _rows(db: Any, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    results = await db.execute(sql, params)
    return [dict(row) for row in results.rows]


async def article_page(db: Any, article_id: int) -> dict[str, Any] | None:
    """What the article page shows of article ``article_id`` (None when it is not there).
    ``db`` is a :class:`datasette.database.Database`."""
    found = await _rows(
        db,
        "SELECT id, url, canonical_url, source, title, text, lang, published_at, fetched_at, "
        "story_id, encoding, repairs, content_type, revision FROM articles WHERE id = ?",
        [article_id],
    )
    if not found:
        return None
    article = found[0]
    article["paragraphs"] = [p.strip() for p in (article["text"] or "").split("\n") if p.strip()]
    article["repair_lines"] = describe_repairs(article["repairs"])
    story = await _rows(
        db,
        "SELECT id, title, first_seen, first_source, article_count FROM stories WHERE id = ?",
        [article["story_id"]],
    )
    article["story"] = story[0] if story else None
    article["story_articles"] = await _rows(
        db,
        "SELECT id, source, title, canonical_url, published_at, fetched_at FROM articles "
        "WHERE story_id = ? ORDER BY coalesce(published_at, fetched_at), id",
        [article["story_id"]],
    )
    article["alerts"] = await _rows(
        db,
        "SELECT id, rule, channel, status, created_at, sent_at, snippet, article_id "
        "FROM alerts WHERE article_id = ? OR story_id = ? ORDER BY id",
        [article_id, article["story_id"]],
    )
    article["revisions"] = await _rows(
        db,
        "SELECT revision, title, fetched_at FROM article_revisions WHERE article_id = ? "
        "ORDER BY revision",
        [article_id],
    )
    article["aliases"] = await _rows(
        db,
        "SELECT url, seen_at FROM article_aliases WHERE article_id = ? ORDER BY seen_at",
        [article_id],
    )
    return article


async def story_page(db: Any, story_id: int) -> dict[str, Any] | None:
    """What the story page shows of story ``story_id`` (None when it is not there)."""
    found = await _rows(
        db,
        "SELECT id, title, first_seen, first_source, first_url, article_count FROM stories "
        "WHERE id = ?",
        [story_id],
    )
    if not found:
        return None
    story = found[0]
    story["articles"] = await _rows(
        db,
        "SELECT id, source, title, canonical_url, lang, published_at, fetched_at FROM articles "
        "WHERE story_id = ? ORDER BY coalesce(published_at, fetched_at), id",
        [story_id],
    )
    story["outlets"] = sorted({a["source"] for a in story["articles"]})
    story["alerts"] = await _rows(
        db,
        "SELECT id, rule, channel, status, created_at, article_id FROM alerts "
        "WHERE story_id = ? ORDER BY id",
        [story_id],
    )
    return story
