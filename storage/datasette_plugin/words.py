"""I/O-free wording for the reading view: times in the reader's time zone, repair records
and JSON columns in words."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

__all__ = [
    "DEFAULT_TIMEZONE",
    "describe_repairs",
    "describe_stats",
    "local_day",
    "local_midnight_utc",
    "local_time",
    "parse_time",
    "sources_list",
]

DEFAULT_TIMEZONE = "Asia/Shanghai"

_KINDS = {
    "comments": "reader comments",
    "image_placeholders": "image placeholders",
    "disclaimers": "disclaimers",
    "share_and_page_furniture": "share buttons and page furniture",
    "repeated_paragraphs": "repeated paragraphs",
    "annotations_removed": "pinyin annotations removed",
    "spans_reconstructed": "corrupted spans rebuilt",
    "spans_left": "corrupted spans that could not be rebuilt",
    "dropped": "replacement characters dropped",
}


def parse_time(value: str) -> datetime | None:
    """An ISO 8601 time with a zone (``2026-03-18T05:10:00Z``, ``...+08:00``), else None."""
    if not isinstance(value, str) or len(value) < 16 or value[4:5] != "-":
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def local_time(value: str, zone: ZoneInfo) -> str | None:
    """``value`` as ``2026-03-18 13:10`` in ``zone``, or None when it is not a time."""
    parsed = parse_time(value)
    if parsed is None:
        return None
    return parsed.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def local_day(value: str | None, zone: ZoneInfo) -> str | None:
    """The day (``YYYY-MM-DD``) of ``value`` in ``zone``; a bare date is its own day."""
    if not value:
        return None
    parsed = parse_time(value)
    if parsed is not None:
        return parsed.astimezone(zone).date().isoformat()
    try:
        return date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        return None


def local_midnight_utc(zone: ZoneInfo, *, now: datetime | None = None) -> str:
    """Today's midnight in ``zone`` as a UTC time written like the archive's
    (``2026-03-17T16:00:00Z``), for comparisons with stored times."""
    now = now or datetime.now(UTC)
    today = now.astimezone(zone).date()
    midnight = datetime.combine(today, time(0), tzinfo=zone).astimezone(UTC)
    return midnight.strftime("%Y-%m-%dT%H:%M:%SZ")


def _counts(values: dict[str, Any]) -> str:
    return ", ".join(
        f"{_KINDS.get(kind, kind.replace('_', ' '))}: {count}" for kind, count in values.items()
    )


def describe_repairs(repairs: str | dict[str, Any] | None) -> list[str]:
    """Sentences for an article's ``repairs`` record (:func:`crawler.text.page.process_page`)."""
    record: Any = repairs
    if isinstance(repairs, str):
        try:
            record = json.loads(repairs)
        except ValueError:
            return [repairs] if repairs.strip() else []
    if not isinstance(record, dict):
        return []
    lines = []
    for key, value in record.items():
        if key == "encoding" and isinstance(value, dict):
            line = f"Decoded as {value.get('codec') or 'unknown'}"
            if value.get("reason"):
                line += f": {value['reason']}"
            if value.get("declared"):
                line += f"; the page declared {value['declared']}"
            lines.append(line + ".")
        elif key == "undecodable_bytes":
            lines.append(f"{value} undecodable bytes replaced.")
        elif key == "mojibake" and isinstance(value, dict):
            fixes = ", ".join(f"{kind} in {n} paragraph(s)" for kind, n in value.items())
            lines.append(f"Mojibake reversed: {fixes}.")
        elif key == "pinyin" and isinstance(value, dict):
            lines.append(f"Pinyin annotations: {_counts(value)}.")
        elif key == "replacement_characters" and isinstance(value, dict):
            lines.append(f"Replacement characters dropped: {value.get('dropped', 0)}.")
        elif key == "boilerplate" and isinstance(value, dict):
            lines.append(f"Boilerplate removed: {_counts(value)}.")
        elif isinstance(value, dict):
            lines.append(f"{key.replace('_', ' ').capitalize()}: {_counts(value)}.")
        else:
            lines.append(f"{key.replace('_', ' ').capitalize()}: {value}.")
    return lines


def describe_stats(stats: str | None) -> str | None:
    """A JSON object of counters as ``name: value`` pairs, else None."""
    try:
        values = json.loads(stats or "")
    except ValueError:
        return None
    if not isinstance(values, dict):
        return None
    return "; ".join(f"{key}: {value}" for key, value in values.items())


def sources_list(value: str | None) -> str | None:
    """A JSON list of source names as ``a, b``, else None."""
    try:
        values = json.loads(value or "")
    except ValueError:
        return None
    if not isinstance(values, list):
        return None
    return ", ".join(str(v) for v in values)
