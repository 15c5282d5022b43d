"""The archive's one way of writing a moment: UTC, to the second, ``Z``
(``2026-12-07T04:09:00Z``), which sorts as text in the order of the moments. Light to
import (the daemon's lock and ``newswatch status`` use it before anything else)."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["utc_now", "utc_stamp"]


def utc_stamp(moment: datetime) -> str:
    """A moment as the archive writes it: UTC, to the second, ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def utc_now() -> str:
    return utc_stamp(datetime.now(UTC))
