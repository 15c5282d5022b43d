"""The alerts outbox: SQL for queueing, claiming and settling alert deliveries.

Rows are written in the article's transaction (:meth:`storage.db.Archive.add_article`),
unique per (rule, story, channel), so a story that gains outlets never alerts again and a
crash between storing and sending loses nothing. Statuses: ``pending`` (never tried),
``sending`` (claimed by one deliverer until ``lease_until``), ``failed`` (a transient
error; retried at ``next_attempt_at``), ``sent``, ``dead`` (a permanent error, or out of
attempts; ``last_error`` says why). The ``alarms`` table (source health) is an outbox of
the same shape, claimed and settled by the same functions.

Exactly one sender: a deliverer claims a row with one atomic ``UPDATE … RETURNING`` and
settles it only while it still holds the claim. A deliverer killed mid-send leaves its
lease; when the lease runs out (or the process is known to be gone, see
:func:`release_claims`) the row is due again: at most one duplicate per kill, never a lost
alert.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import sqlite_utils

from storage.transactions import write_transaction

__all__ = [
    "backlog",
    "claim",
    "claimers",
    "digest_rules",
    "enqueue_alerts",
    "last_digest",
    "list_alerts",
    "next_due",
    "record_digest",
    "release_claims",
    "retry_alerts",
    "settle",
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


Claim = dict[str, Any]

# What an immediate alert (or an alarm) needs to be claimed: due, or left "sending" by a
# deliverer whose lease ran out (it died mid-send).
_DUE = (
    "((status IN ('pending', 'failed') AND (next_attempt_at IS NULL OR next_attempt_at <= :now))"
    " OR (status = 'sending' AND lease_until <= :now))"
)


def claim(
    db: sqlite_utils.Database,
    *,
    table: str = "alerts",
    channel: str,
    now: str,
    lease_until: str,
    claimer: str,
    rule: str | None = None,
    digest: bool = False,
    limit: int = 1,
) -> list[Claim]:
    """Atomically take up to ``limit`` due rows of ``table`` (``alerts`` or ``alarms``) for
    ``channel``, oldest first: one ``UPDATE … RETURNING``, so two deliverers (a crawl pass,
    the daemon, ``alerts retry``, another machine) never take the same row. The rows are
    ``sending`` under ``claimer`` until ``lease_until``; settle them with :func:`settle`.
    ``digest`` takes the pending digest rows of ``rule`` instead of immediate alerts."""
    if table not in ("alerts", "alarms"):
        raise ValueError(f"not an outbox table: {table}")
    where = f"channel = :channel AND {_DUE}"
    if table == "alerts":
        where += " AND mode = :mode"
        if digest:
            where += " AND rule = :rule"
    params = {
        "channel": channel,
        "now": now,
        "lease": lease_until,
        "claimer": claimer,
        "mode": "digest" if digest else "immediate",
        "rule": rule,
        "limit": limit,
    }
    with write_transaction(db):
        rows = db.execute(
            f"UPDATE {table} SET status = 'sending', lease_until = :lease, claimed_by = :claimer "
            f"WHERE id IN (SELECT id FROM {table} WHERE {where} ORDER BY id LIMIT :limit) "
            "RETURNING *",
            params,
        )
        columns = [c[0] for c in rows.description]
        claimed = [dict(zip(columns, row, strict=True)) for row in rows.fetchall()]
    return sorted(claimed, key=lambda row: row["id"])


def settle(
    db: sqlite_utils.Database,
    ids: Iterable[int],
    *,
    table: str = "alerts",
    claimer: str,
    status: str,
    now: str,
    error: str | None = None,
    next_attempt_at: str | None = None,
) -> int:
    """Record the outcome of a claimed send: ``sent``, ``failed`` (retry at
    ``next_attempt_at``) or ``dead``. Only rows still held by ``claimer`` change (a
    deliverer whose lease ran out and was taken over settles nothing); returns how many."""
    if table not in ("alerts", "alarms") or status not in ("sent", "failed", "dead"):
        raise ValueError(f"cannot settle {table} as {status}")
    changed = 0
    with write_transaction(db):
        for row_id in ids:
            cursor = db.execute(
                f"UPDATE {table} SET status = ?, attempts = attempts + 1, last_error = ?, "
                "next_attempt_at = ?, sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END, "
                "lease_until = NULL, claimed_by = NULL "
                "WHERE id = ? AND status = 'sending' AND claimed_by = ?",
                [
                    status,
                    None if error is None else error[:1000],
                    next_attempt_at,
                    status,
                    now,
                    row_id,
                    claimer,
                ],
            )
            changed += cursor.rowcount
    return changed


def release_claims(db: sqlite_utils.Database, claimers: Iterable[str]) -> int:
    """Give back what ``claimers`` (deliverers known to be dead) held, due at once: an alert
    a killed process was sending is sent again (at most one duplicate per kill)."""
    released = 0
    with write_transaction(db):
        for claimer in claimers:
            for table in ("alerts", "alarms"):
                released += db.execute(
                    f"UPDATE {table} SET status = CASE WHEN attempts = 0 THEN 'pending' "
                    "ELSE 'failed' END, next_attempt_at = NULL, lease_until = NULL, "
                    "claimed_by = NULL WHERE status = 'sending' AND claimed_by = ?",
                    [claimer],
                ).rowcount
    return released


def claimers(db: sqlite_utils.Database) -> set[str]:
    """Who holds rows that are being sent."""
    return {
        row[0]
        for table in ("alerts", "alarms")
        for row in db.execute(
            f"SELECT DISTINCT claimed_by FROM {table} WHERE status = 'sending'"
        ).fetchall()
        if row[0]
    }


def next_due(db: sqlite_utils.Database, channel: str | None = None) -> str | None:
    """The earliest time an immediate alert or alarm (of ``channel``) becomes due: a retry
    time, a lease that runs out, or the epoch for one due now. None: nothing waits."""
    moments: list[str] = []
    for table, extra in (("alerts", " AND mode = 'immediate'"), ("alarms", "")):
        where = "1" + extra
        params: list[Any] = []
        if channel is not None:
            where += " AND channel = ?"
            params.append(channel)
        row = db.execute(
            "SELECT min(CASE WHEN status = 'sending' THEN lease_until "
            "WHEN next_attempt_at IS NULL THEN '1970-01-01T00:00:00.000Z' "
            "ELSE next_attempt_at END) "
            f"FROM {table} WHERE status IN ('pending', 'failed', 'sending') AND {where}",
            params,
        ).fetchone()
        if row and row[0]:
            moments.append(row[0])
    return min(moments) if moments else None


def digest_rules(db: sqlite_utils.Database, channel: str) -> list[str]:
    """Rules with digest rows waiting for ``channel``."""
    return [
        row[0]
        for row in db.execute(
            "SELECT DISTINCT rule FROM alerts WHERE mode = 'digest' AND channel = ? "
            "AND status IN ('pending', 'failed', 'sending')",
            [channel],
        ).fetchall()
    ]


def last_digest(db: sqlite_utils.Database, rule: str, channel: str) -> str | None:
    row = db.execute(
        "SELECT last_sent_at FROM digests WHERE rule = ? AND channel = ?", [rule, channel]
    ).fetchone()
    return None if row is None else row[0]


def record_digest(db: sqlite_utils.Database, rule: str, channel: str, *, now: str) -> None:
    with write_transaction(db):
        db.execute(
            "INSERT OR REPLACE INTO digests (rule, channel, last_sent_at) VALUES (?, ?, ?)",
            [rule, channel, now],
        )


def backlog(db: sqlite_utils.Database) -> dict[str, Any]:
    """Alerts by status and the oldest one waiting (for ``newswatch status``)."""
    counts = {
        status: count
        for status, count in db.execute("SELECT status, count(*) FROM alerts GROUP BY status")
    }
    oldest = db.execute(
        "SELECT min(created_at) FROM alerts WHERE status IN ('pending', 'failed', 'sending')"
    ).fetchone()[0]
    alarms = {
        status: count
        for status, count in db.execute("SELECT status, count(*) FROM alarms GROUP BY status")
    }
    return {"alerts": counts, "oldest_waiting": oldest, "alarms": alarms}


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


def retry_alerts(db: sqlite_utils.Database, *, alert_id: int | None, now: str = "") -> int:
    """Put failed and dead alerts (or the one given) back in the queue, due now (``now`` is
    accepted for callers that pass it; a NULL retry time means due at once)."""
    with write_transaction(db):
        if alert_id is None:
            cursor = db.execute(
                "UPDATE alerts SET status = 'pending', next_attempt_at = NULL, attempts = 0 "
                "WHERE status IN ('failed', 'dead')",
            )
        else:
            cursor = db.execute(
                "UPDATE alerts SET status = 'pending', next_attempt_at = NULL, attempts = 0 "
                "WHERE id = ? AND status IN ('failed', 'dead', 'pending')",
                [alert_id],
            )
        return cursor.rowcount
