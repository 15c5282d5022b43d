"""The one parser for a moment typed on the command line (``--since``).

Accepted: a date (``2026-01-01``: the start of that day), an ISO 8601 date and time
(``2026-01-01T08:00``, ``2026-01-01 08:00:00``, ``2026-01-01T08:00:00+08:00``,
``2026-01-01T00:00:00Z``), or a duration back from now in the config's own duration
syntax (``7d``, ``12h``, ``30m``, ``90s``; :func:`crawler.config.parse_duration`). A date
or time without an offset is the machine's local time, as ``git log --since`` reads it.
Anything else (``yesterday``, ``1 week``) is refused with a message that says what is
accepted: a word that silently matched nothing, or everything, would be worse.

Dates and times are read by :meth:`datetime.fromisoformat`, durations by the config's
parser; the only code here is choosing between them. I/O-free.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from crawler.config import parse_duration
from storage.clock import utc_stamp

__all__ = ["SINCE_HELP", "TimeParam", "format_utc", "parse_time"]

SINCE_HELP = (
    "a date (2026-01-01), a date and time (2026-01-01T08:00, with +08:00 or Z if not "
    "local time) or a duration back from now (7d, 12h, 30m)"
)


def parse_time(value: str, *, now: datetime | None = None) -> datetime:
    """The moment ``value`` names, as an aware datetime in UTC; :class:`ValueError` with
    a message naming what is accepted when it names none."""
    text = value.strip()
    try:
        return (now or datetime.now(UTC)).astimezone(UTC) - parse_duration(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        pass
    else:
        if moment.tzinfo is None:
            moment = moment.astimezone()  # local time
        return moment.astimezone(UTC)
    raise ValueError(f"expected {SINCE_HELP}, got {value!r}")


def format_utc(moment: datetime) -> str:
    """``moment`` in the archive's timestamp format (``2026-01-01T00:00:00Z``), which
    compares correctly as text with the stored ``fetched_at`` values."""
    return utc_stamp(moment)


class TimeParam(click.ParamType):
    """A click parameter type for :func:`parse_time`: a bad value exits 2 with its message."""

    name = "time"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, datetime):
            return value
        try:
            return parse_time(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
