"""Send what the outbox holds: immediate alerts that are due, and digests whose period is up.

Retries back off exponentially (``[delivery] base_backoff``, 30 s, doubling up to
``max_backoff``, 1 h) or wait as long as a 429's ``Retry-After`` asks; after
``max_attempts`` (12) an alert is ``dead``. Each send is bounded by
the channel's ``timeout`` and a pass stops starting new sends after ``budget`` seconds, so a
slow channel never holds a crawl pass for long; what is left is sent by the next pass or
by the daemon's delivery loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from alerts.channels import DeliveryError, Permanent, Transient, send_email, send_slack
from alerts.render import email_message, slack_payload
from crawler.config import Config, EmailChannel, SlackChannel, parse_duration
from storage import Archive
from storage.outbox import (
    due_alerts,
    last_digest,
    mark_dead,
    mark_failed,
    mark_sent,
    pending_digest,
    record_digest,
)

__all__ = ["DeliveryReport", "backoff", "deliver_due"]

LOGGER = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    deferred: int = 0
    errors: list[str] = field(default_factory=list)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def backoff(
    attempts: int,
    retry_after: float | None = None,
    *,
    base: float = 30.0,
    ceiling: float = 3600.0,
) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones."""
    delay = min(ceiling, base * 2 ** max(0, attempts - 1))
    if retry_after is not None:
        delay = max(retry_after, 1.0)
    return delay


def _send(channel: SlackChannel | EmailChannel, rule: str, rows: list[dict[str, Any]]) -> None:
    if isinstance(channel, SlackChannel):
        send_slack(channel, slack_payload(rule, rows))
    else:
        send_email(channel, email_message(rule, rows))


def deliver_due(
    archive: Archive,
    config: Config,
    *,
    budget: float | None = None,
    now: datetime | None = None,
    send: Callable[[SlackChannel | EmailChannel, str, list[dict[str, Any]]], None] = _send,
) -> DeliveryReport:
    """Deliver due alerts and digests; returns what happened."""
    report = DeliveryReport()
    started = time.monotonic()
    settings = config.delivery
    if budget is None:
        budget = parse_duration(settings.budget).total_seconds()
    base = parse_duration(settings.base_backoff).total_seconds()
    ceiling = parse_duration(settings.max_backoff).total_seconds()
    current = now or datetime.now(UTC)
    channels = {c.name: c for c in config.channels}
    rules = {r.name: r for r in config.rules}
    db = archive.db

    def settle(rows: list[dict[str, Any]], rule: str, channel_name: str) -> bool:
        """Send ``rows`` as one message and record the outcome; True when delivered."""
        ids = [row["id"] for row in rows]
        channel = channels.get(channel_name)
        if channel is None:
            mark_dead(db, ids, error=f"channel {channel_name!r} is no longer configured")
            report.dead += len(ids)
            return False
        try:
            send(channel, rule, rows)
        except Permanent as exc:
            mark_dead(db, ids, error=str(exc))
            report.dead += len(ids)
            report.errors.append(str(exc))
            LOGGER.error("alert %s to %s is dead: %s", rule, channel_name, exc)
            return False
        except (Transient, DeliveryError) as exc:
            attempts = max(row["attempts"] for row in rows) + 1
            retry_after = getattr(exc, "retry_after", None)
            if attempts >= settings.max_attempts:
                mark_dead(db, ids, error=f"gave up after {attempts} attempts: {exc}")
                report.dead += len(ids)
            else:
                delay = backoff(attempts, retry_after, base=base, ceiling=ceiling)
                when = current + timedelta(seconds=delay)
                mark_failed(db, ids, error=str(exc), next_attempt_at=_iso(when))
                report.failed += len(ids)
            report.errors.append(str(exc))
            LOGGER.warning(
                "alert %s to %s failed (attempt %d): %s", rule, channel_name, attempts, exc
            )
            return False
        mark_sent(db, ids, now=_iso(current))
        report.sent += len(ids)
        return True

    for row in due_alerts(db, now=_iso(current)):
        if time.monotonic() - started > budget:
            report.deferred += 1
            continue
        settle([row], row["rule"], row["channel"])

    for rule in rules.values():
        if rule.mode != "digest" or not rule.period:
            continue
        period = parse_duration(rule.period)
        names = rule.channels if rule.channels is not None else list(channels)
        for channel_name in names:
            last = last_digest(db, rule.name, channel_name)
            if last is not None and _parse(last) + period > current:
                continue
            rows = pending_digest(db, rule.name, channel_name)
            due = [
                r for r in rows if not r["next_attempt_at"] or r["next_attempt_at"] <= _iso(current)
            ]
            if not due or time.monotonic() - started > budget:
                continue
            if settle(due, rule.name, channel_name):
                record_digest(db, rule.name, channel_name, now=_iso(current))
    return report
