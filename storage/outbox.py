"""The alerts outbox: SQL for queueing, claiming and settling alert deliveries.

Rows are written in the article's transaction (:meth:`storage.db.Archive.add_article`),
unique per (rule, story, channel), so a story that gains outlets never alerts again and a
crash between storing and sending loses nothing. Statuses: ``pending`` (never tried),
``failed`` (a transient error; retried at ``next_attempt_at``), ``sent``, ``dead`` (a
permanent error, or out of attempts; ``last_error`` says why).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import sqlite_utils

__all__ = [
    "due_alerts",
    "enqueue_alerts",
    "list_alerts",
    "mark_dead",
    "mark_failed",
    "mark_sent",
    "pending_digest",
    "record_digest",
    "last_digest",
    "retry_alerts",
]


def enqueue_alerts(
    db: sqlite_utils.Database,
    alerts: Iterable[Mapping[str, Any]],
    *,
    story_id: int,
    article: Mapping[str, Any],
    now: str,
) -> int:
    """Queue each alert (keys: rule, channels, mode, terms, spans, snippet) for every
    channel; (rule, story, channel) already queued is left alone. Returns rows added."""
    added = 0
    for alert in alerts:
        for channel in alert["channels"]:
            cursor = db.execute(
                "INSERT OR IGNORE INTO alerts (rule, story_id, channel, article_id, mode, status, "
                "attempts, next_attempt_at, created_at, terms, spans, snippet, title, url, source, "
                "published_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, NULL, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    alert["rule"],
                    story_id,
                    channel,
                    article.get("id"),
                    alert.get("mode", "immediate"),
                    now,
                    json.dumps(alert.get("terms", []), ensure_ascii=False),
                    json.dumps(alert.get("spans", []), ensure_ascii=False),
                    alert.get("snippet", ""),
                    article.get("title"),
                    article.get("url"),
                    article.get("source"),
                    article.get("published_at"),
                ],
            )
            added += cursor.rowcount
    return added


def due_alerts(db: sqlite_utils.Database, *, now: str, limit: int = 200) -> list[dict[str, Any]]:
    """Immediate alerts that are pending, or failed and due again, oldest first."""
    return list(
        db.query(
            "SELECT * FROM alerts WHERE mode = 'immediate' AND status IN ('pending', 'failed') "
            "AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY id LIMIT ?",
            [now, limit],
        )
    )


def pending_digest(db: sqlite_utils.Database, rule: str, channel: str) -> list[dict[str, Any]]:
    return list(
        db.query(
            "SELECT * FROM alerts WHERE mode = 'digest' AND rule = ? AND channel = ? "
            "AND status IN ('pending', 'failed') ORDER BY id",
            [rule, channel],
        )
    )


def last_digest(db: sqlite_utils.Database, rule: str, channel: str) -> str | None:
    row = db.execute(
        "SELECT last_sent_at FROM digests WHERE rule = ? AND channel = ?", [rule, channel]
    ).fetchone()
    return None if row is None else row[0]


def record_digest(db: sqlite_utils.Database, rule: str, channel: str, *, now: str) -> None:
    with db.atomic():
        db.execute(
            "INSERT OR REPLACE INTO digests (rule, channel, last_sent_at) VALUES (?, ?, ?)",
            [rule, channel, now],
        )


def mark_sent(db: sqlite_utils.Database, ids: Iterable[int], *, now: str) -> None:
    with db.atomic():
        for alert_id in ids:
            db.execute(
                "UPDATE alerts SET status = 'sent', sent_at = ?, attempts = attempts + 1, "
                "last_error = NULL WHERE id = ?",
                [now, alert_id],
            )


def mark_failed(
    db: sqlite_utils.Database, ids: Iterable[int], *, error: str, next_attempt_at: str
) -> None:
    with db.atomic():
        for alert_id in ids:
            db.execute(
                "UPDATE alerts SET status = 'failed', attempts = attempts + 1, "
                "last_error = ?, next_attempt_at = ? WHERE id = ?",
                [error[:1000], next_attempt_at, alert_id],
            )


def mark_dead(db: sqlite_utils.Database, ids: Iterable[int], *, error: str) -> None:
    with db.atomic():
        for alert_id in ids:
            db.execute(
                "UPDATE alerts SET status = 'dead', attempts = attempts + 1, "
                "last_error = ? WHERE id = ?",
                [error[:1000], alert_id],
            )


def list_alerts(
    db: sqlite_utils.Database, *, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    if status:
        return list(
            db.query(
                "SELECT * FROM alerts WHERE status = ? ORDER BY id DESC LIMIT ?", [status, limit]
            )
        )
    return list(db.query("SELECT * FROM alerts ORDER BY id DESC LIMIT ?", [limit]))


def retry_alerts(db: sqlite_utils.Database, *, alert_id: int | None, now: str) -> int:
    """Put failed and dead alerts (or the one given) back in the queue, due now."""
    with db.atomic():
        if alert_id is None:
            cursor = db.execute(
                "UPDATE alerts SET status = 'pending', next_attempt_at = ? "
                "WHERE status IN ('failed', 'dead')",
                [now],
            )
        else:
            cursor = db.execute(
                "UPDATE alerts SET status = 'pending', next_attempt_at = ? "
                "WHERE id = ? AND status != 'sent'",
                [now, alert_id],
            )
        return cursor.rowcount
