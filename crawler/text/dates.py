"""Publication times as portals write them, resolved against the time a page was fetched.

Chinese portals often show no full date: ``刚刚``, ``3分钟前``, ``3小时前``, ``半小时前``,
``昨天 14:30``, ``5月19日`` or ``09-25 14:30``. :func:`resolve_date` turns such a string,
or a full one (ISO 8601, RFC 2822, ``2025年5月14日 10:23``), into a
:class:`PublishedTime`: the time in UTC (``2026-05-20T07:07:00Z``) or, when only the day
is known, the day in the source's time zone (``2026-05-19``), and its precision:

- ``minute``: the page gives the time to the minute (or says ``N分钟前``);
- ``day``: only the day (``5月19日``, ``昨天``, a date with no time);
- ``estimated``: a coarse relative time (``刚刚``, ``半小时前``, ``3小时前``: between three
  and four hours ago), resolved to the minute it names.

A date without a year is never in the future: it is the latest such date on or before the
fetch (a page showing ``12-31 23:00`` fetched on 2 January is from the year before); a
time up to an hour ahead of the fetch (a portal's clock running fast) is taken as the fetch
time, estimated. Naive times are in the source's ``timezone`` (default Asia/Shanghai).

The relative words are read by dateparser (its Chinese data knows 刚刚, 分钟前, 小时前,
半小时前, 今天, 昨天 and 前天, and it was checked against each form here); dateparser reads
``5月19日`` as nothing and ``09-25 14:30`` as 2009-05-25, so those two forms, the year they
fall in and the precision are written by hand. I/O-free.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

__all__ = [
    "DEFAULT_TIMEZONE",
    "PublishedTime",
    "day_of",
    "find_date",
    "normalize_date",
    "parse_fetched_at",
    "resolve_date",
]

LOGGER = logging.getLogger(__name__)

DEFAULT_TIMEZONE = "Asia/Shanghai"
CLOCK_SKEW = timedelta(hours=1)

_FULL_CN_RE = re.compile(
    r"(?<!\d)((?:19|20)\d{2})\s*[年/.-]\s*(\d{1,2})\s*[月/.-]\s*(\d{1,2})\s*日?"
    r"(?:\s*[T ]?\s*(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?)?"
)
_ISO_RE = re.compile(
    r"(?<!\d)(?:19|20)\d{2}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})"
)
_MONTH_DAY_RE = re.compile(
    r"(?<![\d年/.-])(\d{1,2})\s*月\s*(\d{1,2})\s*日(?:\s*(\d{1,2})[:：](\d{2}))?"
)
_MM_DD_TIME_RE = re.compile(r"(?<![\d/.-])(\d{1,2})-(\d{1,2})\s+(\d{1,2}):(\d{2})(?![\d:])")
_RELATIVE_RE = re.compile(
    r"刚刚|剛剛|半\s*小?[时時]前|\d+\s*(?:秒钟?|秒鐘?|分钟|分鐘|小时|小時|个小时|個小時|天)前"
    r"|(?:今天|昨天|前天)(?:\s*(\d{1,2})[:：](\d{2}))?"
)
_TRADITIONAL = str.maketrans("剛時鐘個", "刚时钟个")


class PublishedTime(NamedTuple):
    value: str
    precision: str  # "minute", "day" or "estimated"


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_fetched_at(value: str | datetime | None) -> datetime:
    """The fetch time as an aware datetime (an ISO string as the archive stores it, a
    datetime, or now)."""
    if value is None:
        return datetime.now(UTC)
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _full(value: str) -> tuple[datetime, bool] | None:
    """A full date (ISO 8601, RFC 2822 or Chinese) and whether it has a time of day."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed, ("T" in value or " " in value.strip() or ":" in value)
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(value), True
    except (TypeError, ValueError, IndexError):
        pass
    match = _ISO_RE.search(value)
    if match:
        return _full(match.group(0))
    match = _FULL_CN_RE.search(value)
    if not match:
        return None
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second), match.group(4) is not None
    except ValueError:
        return None


def _not_future(
    candidates: list[datetime], now: datetime, *, has_time: bool
) -> PublishedTime | None:
    """The first candidate (this year's date, then last year's) not after ``now``."""
    for moment in candidates:
        if has_time:
            if moment <= now:
                return PublishedTime(_utc(moment), "minute")
            if moment - now <= CLOCK_SKEW:
                return PublishedTime(_utc(now.replace(second=0, microsecond=0)), "estimated")
        elif moment.date() <= now.date():
            return PublishedTime(moment.date().isoformat(), "day")
    return None


def _without_year(
    month: int, day: int, hour: int | None, minute: int | None, now: datetime
) -> PublishedTime | None:
    candidates = []
    for year in range(now.year, now.year - 5, -1):  # 29 February waits for a leap year
        try:
            candidates.append(datetime(year, month, day, hour or 0, minute or 0, tzinfo=now.tzinfo))
        except ValueError:  # 29 February of a common year, 31 April, 25:00
            continue
    return _not_future(candidates, now, has_time=hour is not None)


def _relative(text: str, now: datetime) -> PublishedTime | None:
    import dateparser

    folded = text.translate(_TRADITIONAL).replace(" ", "")
    base = now.replace(tzinfo=None)
    parsed = dateparser.parse(
        folded,
        languages=["zh"],
        settings={"RELATIVE_BASE": base, "PREFER_DATES_FROM": "past"},
    )
    if parsed is None:
        return None
    parsed = parsed.replace(tzinfo=now.tzinfo)
    if parsed > now + CLOCK_SKEW:
        return None
    if folded.endswith("天前") or folded in ("今天", "昨天", "前天"):
        return PublishedTime(parsed.date().isoformat(), "day")
    precision = "minute" if ("分钟" in folded or ":" in folded or "：" in folded) else "estimated"
    return PublishedTime(_utc(parsed.replace(second=0, microsecond=0)), precision)


def resolve_date(
    value: str | None,
    *,
    fetched_at: str | datetime | None = None,
    timezone: str | None = DEFAULT_TIMEZONE,
) -> PublishedTime | None:
    """The publication time ``value`` names, read in ``timezone`` and, for relative and
    partial forms, against ``fetched_at``; None when it names none. With ``timezone``
    None a naive full time is kept as written."""
    if not value or not value.strip():
        return None
    value = value.strip()
    full = _full(value)
    if full is not None:
        moment, has_time = full
        if moment.tzinfo is None and not has_time:
            return PublishedTime(moment.date().isoformat(), "day")
        if moment.tzinfo is None:
            if timezone is None:  # no zone known: the time stays as written
                return PublishedTime(moment.isoformat(), "minute")
            moment = moment.replace(tzinfo=_zone(timezone))
        return PublishedTime(_utc(moment), "minute")
    zone = _zone(timezone or DEFAULT_TIMEZONE)
    now = parse_fetched_at(fetched_at).astimezone(zone)
    match = _MONTH_DAY_RE.search(value)
    if match:
        month, day = int(match.group(1)), int(match.group(2))
        hour = int(match.group(3)) if match.group(3) else None
        minute = int(match.group(4)) if match.group(4) else None
        return _without_year(month, day, hour, minute, now)
    match = _MM_DD_TIME_RE.search(value)
    if match:
        month, day, hour, minute = (int(g) for g in match.groups())
        return _without_year(month, day, hour, minute, now)
    match = _RELATIVE_RE.search(value)
    if match:
        return _relative(match.group(0), now)
    return None


def find_date(
    texts: list[str],
    *,
    fetched_at: str | datetime | None = None,
    timezone: str | None = DEFAULT_TIMEZONE,
) -> PublishedTime | None:
    """The first publication time found in ``texts`` (short pieces of a page's header, in
    order): full dates, dates without a year and relative times alike."""
    for text in texts:
        if not _looks_dated(text):
            continue
        found = resolve_date(text, fetched_at=fetched_at, timezone=timezone)
        if found is not None:
            return found
    return None


def _looks_dated(text: str) -> bool:
    return bool(
        _FULL_CN_RE.search(text)
        or _ISO_RE.search(text)
        or _MONTH_DAY_RE.search(text)
        or _MM_DD_TIME_RE.search(text)
        or _RELATIVE_RE.search(text)
    )


def day_of(value: str) -> date:
    """The calendar day of a stored ``published_at`` (either form)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).date()


# A full date as Chinese and numeric portals write it (``2025年5月14日 10:23``, ``2025/5/14``),
# for :func:`normalize_date` and the extractor's date-in-text fallback. Looser than
# ``_FULL_CN_RE`` above (any four-digit year, no look-behind, ASCII colons only), which
# reads dates for :func:`find_date`; the two are kept apart so neither reading changes.
CN_FULL_DATE_RE = re.compile(
    r"(\d{4})\s*[年/.-]\s*(\d{1,2})\s*[月/.-]\s*(\d{1,2})\s*日?"
    r"(?:\s*(\d{1,2}):(\d{2})(?::(\d{2}))?)?"
)


def normalize_date(value: str | None) -> str | None:
    """An ISO 8601 timestamp for the date strings portals use (ISO, RFC 2822, ``2025年5月1日``),
    UTC when the zone is known, or ``None``."""
    if not value:
        return None
    value = value.strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None:
        from email.utils import parsedate_to_datetime

        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            parsed = None
    if parsed is None:
        match = CN_FULL_DATE_RE.search(value)
        if not match:
            return None
        year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
        try:
            parsed = datetime(year, month, day, hour, minute, second)
        except ValueError:
            return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC)
        return parsed.isoformat().replace("+00:00", "Z")
    return parsed.isoformat()
