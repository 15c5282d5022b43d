"""The alert outbox as ``newswatch alerts`` prints it: a table with column headers, and
for each alert when it is tried next. I/O-free."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

__all__ = ["next_try", "render_alerts", "until"]

HEADER = (
    f"{'id':>6}  {'status':<8} {'rule':<16} {'channel':<14} {'story':>6} {'tries':>5}  "
    f"{'next try':<24} title"
)


def _time(stamp: str | None) -> datetime | None:
    if not stamp:
        return None
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def until(seconds: float) -> str:
    """``1m 30s``, ``2h 5m``, ``3d 4h``: the two largest units."""
    seconds = int(round(seconds))
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size or (unit == "s" and not parts):
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts[:2])


def next_try(row: dict[str, Any], now: datetime) -> str:
    """When the outbox tries ``row`` next, in words: ``in 1m 30s (08:01:30Z)``,
    ``due now``, ``with the next digest``, ``sending``; ``-`` for sent and dead alerts."""
    status = row.get("status")
    if status in ("sent", "dead"):
        return "-"
    if status == "sending":
        lease = _time(row.get("lease_until"))
        return (
            f"sending (lease {until((lease - now).total_seconds())} left)" if lease else "sending"
        )
    if status == "pending" and row.get("mode") == "digest":
        return "with the next digest"
    due = _time(row.get("next_attempt_at"))
    if due is None or due <= now:
        return "due now"
    return f"in {until((due - now).total_seconds())} ({due.strftime('%H:%M:%SZ')})"


def render_alerts(rows: Sequence[dict[str, Any]], *, now: datetime | None = None) -> str:
    """A header line, then a line per alert; an alert's last error on the line below it."""
    now = now or datetime.now(UTC)
    lines = [HEADER]
    for row in rows:
        lines.append(
            f"{row['id']:>6}  {row['status']:<8} {row['rule']:<16} {row['channel']:<14} "
            f"{row['story_id']:>6} {row['attempts'] or 0:>5}  {next_try(row, now):<24} "
            f"{row['title'] or ''}"
        )
        if row.get("last_error") and row["status"] != "sent":
            lines.append(f"{'':>8}last error: {row['last_error']}")
    return "\n".join(lines)
