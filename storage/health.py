"""Source health: per-check numbers, each source's state, and its alarms.

:func:`record_check` writes a check's ``crawl_runs`` row and, in the same transaction,
updates the source's ``source_health`` row (last check and success, failures in a row, new
articles against the source's own recent norm, share of pages that came out empty or
heavily repaired) and decides its alarms. An alarm is raised once when a condition starts
and once more when it ends (``recovered``); never one per failed check. Alarms are queued
in the ``alarms`` outbox for every alarm channel, delivered like alerts.

Conditions (thresholds in :class:`AlarmPolicy`, from ``[alarms]``):

- ``failing``: ``failures`` checks in a row failed (an entry point unreadable, or the check
  timed out); ends with a successful check.
- ``silent``: no new article for longer than the source's norm allows:
  ``silence_factor`` times its usual gap between articles (from the articles per day of the
  last ``norm_days``), at least ``min_silence``; only for sources with two days of history
  that publish at least ``min_daily_articles`` a day. Ends with a new article.
- ``degraded``: of the last ``quality_pages`` or more pages, a share of ``quality_threshold``
  or more came out empty or heavily repaired; ends when the share falls below half that.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from storage.clock import utc_stamp
from storage.transactions import write_transaction

__all__ = [
    "AlarmEvent",
    "AlarmPolicy",
    "HealthReport",
    "queue_alarm",
    "record_check",
    "retire_sources",
    "set_next_check",
]

KINDS = ("failing", "degraded", "silent")  # by precedence for the state


@dataclass(frozen=True)
class AlarmPolicy:
    failures: int = 3
    silence_factor: float = 4.0
    min_silence: float = 6 * 3600.0
    min_daily_articles: float = 1.0
    quality_threshold: float = 0.5
    quality_pages: int = 20
    norm_days: int = 14


@dataclass(frozen=True)
class AlarmEvent:
    source: str
    kind: str  # failing, silent, degraded
    event: str  # raised, recovered
    message: str


@dataclass
class HealthReport:
    source: str
    state: str
    consecutive_failures: int
    alarms: list[AlarmEvent] = field(default_factory=list)
    last_error: str | None = None


def _time(stamp: str | None) -> datetime | None:
    if not stamp:
        return None
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _last_error(db: sqlite_utils.Database, row: Mapping[str, Any]) -> str | None:
    if row["finish_reason"] != "finished":
        return f"the check ended: {row['finish_reason']}"
    found = db.execute(
        "SELECT url, last_status, last_error FROM fetches WHERE source = ? "
        "AND kind IN ('feed', 'sitemap', 'listing') "
        "AND (last_error IS NOT NULL OR last_status >= 400) ORDER BY last_fetch DESC LIMIT 1",
        [row["source"]],
    ).fetchone()
    if found is not None:
        url, status, error = found
        return f"{url}: {error or f'HTTP {status}'}"
    kinds = sorted(
        key.removeprefix("newswatch/errors/")
        for key in row.get("stats", {})
        if key.startswith("newswatch/errors/")
    )
    return ", ".join(kinds) or None


def _norm(
    db: sqlite_utils.Database, source: str, now: datetime, days: int
) -> tuple[float, float, int]:
    """(articles per day over the last ``days`` or the source's history if shorter, days
    of history, articles in the last 24 hours)."""
    since = utc_stamp(now - timedelta(days=days))
    day = utc_stamp(now - timedelta(days=1))
    first, recent, today = db.execute(
        "SELECT min(fetched_at), sum(fetched_at >= ?), sum(fetched_at >= ?) "
        "FROM articles WHERE source = ?",
        [since, day, source],
    ).fetchone()
    first_at = _time(first)
    if first_at is None:
        return 0.0, 0.0, 0
    history = (now - first_at).total_seconds() / 86400
    span = max(1.0, min(float(days), history))
    return (recent or 0) / span, history, int(today or 0)


def _quality(db: sqlite_utils.Database, source: str, pages_wanted: int) -> tuple[int, int, int]:
    """(pages, empty, heavily repaired) over the latest checks covering ``pages_wanted``."""
    pages = empty = repaired = 0
    for n, e, r in db.execute(
        "SELECT pages, empty_pages, repaired_pages FROM crawl_runs "
        "WHERE source = ? AND pages > 0 ORDER BY id DESC LIMIT 500",
        [source],
    ):
        pages, empty, repaired = pages + (n or 0), empty + (e or 0), repaired + (r or 0)
        if pages >= pages_wanted:
            break
    return pages, empty, repaired


def record_check(
    db: sqlite_utils.Database,
    row: Mapping[str, Any],
    *,
    policy: AlarmPolicy,
    alarm_channels: Sequence[str],
    failed: bool,
    cut_short: bool = False,
    now: datetime | None = None,
) -> HealthReport:
    """Record a check (a ``crawl_runs`` row) and what it says about its source's health.
    A check ``cut_short`` by the process (its stop) neither adds to the source's failures
    nor ends them."""
    moment = now or _time(row.get("finished_at")) or datetime.now(UTC)
    stamp = utc_stamp(moment)
    source = row["source"]
    with write_transaction(db):
        run = dict(row)
        if isinstance(run.get("stats"), dict):
            run["stats"] = json.dumps(run["stats"], ensure_ascii=False, default=str)
        db.table("crawl_runs").insert(run)
        previous = next(
            iter(db.query("SELECT * FROM source_health WHERE source = ?", [source])), None
        )
        health: dict[str, Any] = dict(previous or {"source": source, "consecutive_failures": 0})
        active = set(filter(None, (health.get("alarm") or "").split(",")))
        health["last_check_at"] = stamp
        if failed:
            health["consecutive_failures"] = int(health.get("consecutive_failures") or 0) + 1
            health["last_failure_at"] = stamp
            health["last_error"] = _last_error(db, row)
        elif cut_short:
            pass  # neither a failure nor a success
        else:
            health["consecutive_failures"] = 0
            health["last_success_at"] = stamp
            health["last_error"] = None
        if int(row.get("new_articles") or 0) > 0:
            health["last_new_article_at"] = stamp
        per_day, history, today = _norm(db, source, moment, policy.norm_days)
        health["articles_per_day"] = round(per_day, 2)
        health["articles_today"] = today
        pages, empty, repaired = _quality(db, source, policy.quality_pages)
        health["empty_share"] = round(empty / pages, 3) if pages else None
        health["repaired_share"] = round(repaired / pages, 3) if pages else None
        if health.get("state") == "removed":
            # the last check of a source taken out of the config: counted, no alarm
            health["updated_at"] = stamp
            db.table("source_health").upsert(health, pk="source")
            return HealthReport(source, "removed", health["consecutive_failures"], [], None)

        conditions: dict[str, tuple[bool, str]] = {}
        failures = health["consecutive_failures"]
        conditions["failing"] = (
            failures >= policy.failures,
            f"{source} is failing: {failures} checks in a row failed "
            f"(last: {health.get('last_error') or 'unknown'})",
        )
        bad = (empty + repaired) / pages if pages else 0.0
        if "degraded" in active:
            still_bad = pages >= policy.quality_pages and bad >= policy.quality_threshold / 2
        else:
            still_bad = pages >= policy.quality_pages and bad >= policy.quality_threshold
        conditions["degraded"] = (
            still_bad,
            f"{source} text quality collapsed: {empty + repaired} of its last {pages} pages "
            f"came out empty ({empty}) or heavily repaired ({repaired})",
        )
        silent = False
        message = ""
        last_new = _time(health.get("last_new_article_at"))
        if (
            not conditions["failing"][0]
            and history >= 2
            and per_day >= policy.min_daily_articles
            and last_new is not None
        ):
            allowed = max(policy.min_silence, policy.silence_factor * 86400 / per_day)
            quiet = (moment - last_new).total_seconds()
            silent = quiet > allowed
            message = (
                f"{source} has gone silent: no new article for {quiet / 3600:.1f} h "
                f"(it usually has {per_day:.1f} a day)"
            )
        elif "silent" in active and conditions["failing"][0]:
            silent = True  # a failing source stays silent until it publishes again
        conditions["silent"] = (silent, message)

        events: list[AlarmEvent] = []
        for kind in KINDS:
            on, text = conditions[kind]
            if on and kind not in active:
                active.add(kind)
                events.append(AlarmEvent(source, kind, "raised", text))
            elif not on and kind in active:
                active.discard(kind)
                events.append(AlarmEvent(source, kind, "recovered", _recovered(source, kind)))
        health["alarm"] = ",".join(k for k in KINDS if k in active) or None
        health["state"] = next((k for k in KINDS if k in active), "ok")
        health["updated_at"] = stamp
        db.table("source_health").upsert(health, pk="source")
        for event in events:
            for channel in alarm_channels:
                db.execute(
                    "INSERT INTO alarms (source, kind, event, message, channel, status, "
                    "attempts, created_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?)",
                    [event.source, event.kind, event.event, event.message, channel, stamp],
                )
    return HealthReport(source, health["state"], failures, events, health.get("last_error"))


def _recovered(source: str, kind: str) -> str:
    return {
        "failing": f"{source} recovered: its check succeeded again",
        "degraded": f"{source} text quality is back to normal",
        "silent": f"{source} is publishing again",
    }[kind]


def set_next_check(db: sqlite_utils.Database, source: str, when: str | None) -> None:
    """Record when the daemon will next check ``source`` (for ``newswatch status``)."""
    with write_transaction(db):
        db.execute(
            "INSERT INTO source_health (source, state, consecutive_failures, next_check_at) "
            "VALUES (?, 'unknown', 0, ?) "
            "ON CONFLICT(source) DO UPDATE SET next_check_at = excluded.next_check_at, "
            "state = CASE state WHEN 'removed' THEN 'unknown' ELSE state END",
            [source, when],
        )


def retire_sources(db: sqlite_utils.Database, keep: Sequence[str]) -> list[str]:
    """Mark the sources no longer configured (or disabled), all but ``keep``, as
    ``removed``: their history stays, their alarms end without a message (nobody watches
    them now) and they no longer count as in trouble. Returns the ones newly marked; a
    source configured again is ``unknown`` until its next check."""
    with write_transaction(db):
        rows = db.execute(
            "SELECT source FROM source_health WHERE state != 'removed' "
            "AND source NOT IN (SELECT value FROM json_each(?))",
            [json.dumps(list(keep))],
        ).fetchall()
        retired = [row[0] for row in rows]
        for source in retired:
            db.execute(
                "UPDATE source_health SET state = 'removed', alarm = NULL, "
                "next_check_at = NULL, updated_at = ? WHERE source = ?",
                [utc_stamp(datetime.now(UTC)), source],
            )
    return retired


def queue_alarm(
    db: sqlite_utils.Database,
    event: AlarmEvent,
    *,
    channels: Sequence[str],
    now: str,
) -> None:
    """Queue an alarm that is not about one check of a source (a cluster worker that
    stopped heart-beating) for every alarm channel."""
    with write_transaction(db):
        for channel in channels:
            db.execute(
                "INSERT INTO alarms (source, kind, event, message, channel, status, attempts, "
                "created_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?)",
                [event.source, event.kind, event.event, event.message, channel, now],
            )
