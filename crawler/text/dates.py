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
fall in and the precision are written by hand. English, Japanese and Korean relative times
(``3 hours ago``, ``Yesterday at 2:30 PM``, ``3時間前``, ``30분 전``) go to dateparser too.

Full dates: ISO 8601, RFC 2822, year first (``2026年3月5日``, ``2026/03/27``), day first
with dashes or dots (``27-03-2026``; with slashes only when a number over 12 shows the
order), and English month names (``March 20, 2026``, ``20 Mar 2026``), each with the time
written after it (``-17:40``, ``10時02分``, ``下午2:30``, ``오후 2:30``, ``3:45 PM EST``,
``10:30 GMT+8``: one reader, ``_TIME_AFTER_RE``) or, in English, before it (``6:00am, 29
Mar 2026``). A named zone or offset decides; otherwise the source's ``timezone``. I/O-free.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

__all__ = [
    "DEFAULT_TIMEZONE",
    "PublishedTime",
    "day_of",
    "find_date",
    "finer",
    "normalize_date",
    "parse_fetched_at",
    "resolve_date",
]

LOGGER = logging.getLogger(__name__)

DEFAULT_TIMEZONE = "Asia/Shanghai"
CLOCK_SKEW = timedelta(hours=1)

# A date with its year first: "2026年3月5日", "2026-03-05", "2026/03/27", and Xinhua's
# spaced header "2026 03/14"; its time, if any, is read after it by _TIME_AFTER_RE.
_FULL_CN_RE = re.compile(
    r"(?<!\d)((?:19|20)\d{2})(?:\s*[年/.-]\s*|\s+(?=\d{1,2}\s*/\s*\d))(\d{1,2})\s*[月/.-]\s*"
    r"(\d{1,2})(?!\d)\s*[日일]?(?:\.(?=\s))?"
)
# A time right after a date, in every form the dates here come with: "10:02", "-17:40",
# "| 15:30", "at 9:15 pm", "10時02分", "下午2:30", "오후 2:30", "09.02 EDT", "10:30 GMT+8".
_TIME_AFTER_RE = re.compile(
    r"\s*(?:[,|·T–-]|at(?=\s))?\s*(?P<word>上午|下午|午前|午後|오전|오후)?\s*"
    r"(?P<hour>\d{1,2})\s*(?:[:：.]|[時时点點]\s*)(?P<minute>\d{2})(?!\d)(?:\s*分)?"
    r"(?:[:：](?P<second>\d{2}))?(?:\s*(?P<half>[ap])\.?m\b\.?)?"
    r"(?:\s*(?:(?:GMT|UTC)\s*)?(?P<offset>[+-]\d{1,2}(?::?\d{2})?)(?!\d)"
    r"|\s+(?P<zone>[a-z]{1,4})\b(?!\s*[+-]\d))?",
    re.IGNORECASE,
)
_AFTERNOON = frozenset({"下午", "午後", "오후", "p", "P"})
_MORNING = frozenset({"上午", "午前", "오전", "a", "A"})
# Day-month-year with dashes or dots ("27-03-2026 | 15:30", European sites); with slashes
# only when the order shows (27/03/2026, 03/24/2026), since 05/03/2026 could be either.
_NUMERIC_DATE_RE = re.compile(r"(?<![\d/.-])(\d{1,2})([-./])(\d{1,2})\2((?:19|20)\d{2})(?![\d/.-])")
_ISO_RE = re.compile(
    r"(?<!\d)(?:19|20)\d{2}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})"
)
_MONTH_DAY_RE = re.compile(
    r"(?<![\d年/.-])(\d{1,2})\s*月\s*(\d{1,2})\s*日(?:\s*(\d{1,2})[:：](\d{2}))?"
)
_MM_DD_TIME_RE = re.compile(r"(?<![\d/.-])(\d{1,2})-(\d{1,2})\s+(\d{1,2}):(\d{2})(?![\d:])")
_RELATIVE_RE = re.compile(
    r"刚刚|剛剛|半\s*小?[时時]前|(?<!\d)\d+\s*(?:秒钟?|秒鐘?|分钟|分鐘|小时|小時|个小时|個小時|天)前"
    r"|(?:今天|昨天|前天)(?:\s*(\d{1,2})[:：](\d{2}))?"
)
# The same in English, Japanese and Korean: "3 hours ago", "Yesterday at 2:30 PM",
# "3時間前", "30분 전".
_RELATIVE_OTHER_RE = re.compile(
    r"\b(?:just now|(?<!\d)\d+\s*(?:secs?|seconds?|mins?|minutes?|hrs?|hours?|days?)\s+ago"
    r"|yesterday(?:,?\s*(?:at\s+)?\d{1,2}:\d{2}(?:\s*[ap]\.?m\.?)?)?)(?!\w)"
    # (not 日前: Chinese "15日前" is "before the 15th")
    r"|(?<!\d)\d+\s*(?:秒|分|時間)前|(?<!\d)\d+\s*(?:초|분|시간|일)\s*전",
    re.IGNORECASE,
)
_TRADITIONAL = str.maketrans("剛時鐘個", "刚时钟个")
# English dates as wires and agencies print them: "March 20, 2026", "Mar. 20, 2026 3:45 PM
# ET", "Wed 25 Mar 2026 09.02 EDT", "20 March 2026".
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
# Abbreviations with one meaning; "CST" (China or US Central) and the like are left out.
_ZONES = {
    "utc": "UTC",
    "gmt": "UTC",
    "z": "UTC",
    "et": "America/New_York",
    "est": "America/New_York",
    "edt": "America/New_York",
    "pt": "America/Los_Angeles",
    "pst": "America/Los_Angeles",
    "pdt": "America/Los_Angeles",
    "cet": "Europe/Paris",
    "cest": "Europe/Paris",
    "jst": "Asia/Tokyo",
    "kst": "Asia/Seoul",
    "hkt": "Asia/Hong_Kong",
    "sgt": "Asia/Singapore",
}
_RFC2822_RE = re.compile(
    r"^\s*(?:[a-z]{3},?\s*)?\d{1,2}\s+[a-z]{3}\s+\d{2,4}\s+\d{1,2}:\d{2}(?::\d{2})?"
    r"(?:\s*(?:[+-]\d{4}|[a-z]{1,5}))?(?:\s*\([^)]*\))?\s*$",
    re.IGNORECASE,
)
_EN_DATE_RE = re.compile(
    # a time before the date: "6:00am, 29 Mar 2026", "10:02 AM EST, Thu March 5, 2026"
    r"(?:(?<![\w:.])(?P<hour0>\d{1,2})[:.](?P<minute0>\d{2})(?:\s*(?P<half0>[ap])\.?m\.?)?"
    r"(?:\s+(?P<zone0>[a-z]{1,4})\b)?\s*[,·|]?\s*(?:[a-z]{3,9}\.?,?\s+)?)?"
    r"(?<![\w])(?:"
    rf"{_MONTH}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>(?:19|20)\d{{2}})"
    rf"|(?P<day2>\d{{1,2}})(?:st|nd|rd|th)?\s+{_MONTH.replace('month', 'month2')}"
    r",?\s+(?P<year2>(?:19|20)\d{2}))(?!\d)",
    re.IGNORECASE,
)


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
    if _RFC2822_RE.match(value):  # (email.utils reads "3:45 PM EST" as 03:45, naive)
        from email.utils import parsedate_to_datetime

        try:
            return parsedate_to_datetime(value), True
        except (TypeError, ValueError, IndexError):
            pass
    match = _ISO_RE.search(value)
    if match:
        return _full(match.group(0))
    return _year_first(value) or _numeric(value) or _english(value)


def _year_first(value: str) -> tuple[datetime, bool] | None:
    match = _FULL_CN_RE.search(value)
    if not match:
        return None
    year, month, day = (int(g) for g in match.group(1, 2, 3))
    return _dated(value, match.end(), year, month, day)


def _dated(value: str, end: int, year: int, month: int, day: int) -> tuple[datetime, bool] | None:
    """The day, with the time written right after it (``value[end:]``) when there is one:
    in its zone or offset when it names one, else naive; and whether it had a time."""
    try:
        date(year, month, day)
    except ValueError:
        return None
    time = _TIME_AFTER_RE.match(value, end)
    clock = _clock_of(time) if time else None
    if clock is None:
        return datetime(year, month, day), False
    hour, minute, second, zone = clock
    return datetime(year, month, day, hour, minute, second, tzinfo=zone), True


Clock = tuple[int, int, int, "tzinfo | None"]


def _clock_of(time: re.Match[str]) -> Clock | None:
    """A time read by _TIME_AFTER_RE (see :func:`_clock`)."""
    return _clock(
        time.group("hour"),
        time.group("minute"),
        second=time.group("second"),
        word=time.group("word"),
        half=time.group("half"),
        zone=time.group("zone"),
        offset=time.group("offset"),
    )


def _clock(
    hour_text: str,
    minute_text: str,
    *,
    second: str | None = None,
    word: str | None = None,
    half: str | None = None,
    zone: str | None = None,
    offset: str | None = None,
) -> Clock | None:
    """A time on a 24-hour clock (上午/下午, 오전/오후 as ``word``, am/pm as ``half``; "13
    PM" is no time), with its zone (EDT, HKT) or offset (GMT+8) when it names one."""
    hour, minute, seconds = int(hour_text), int(minute_text), int(second or 0)
    if half and not 1 <= hour <= 12:
        return None
    if (word or half) in _AFTERNOON and hour < 12:
        hour += 12
    elif (word or half) in _MORNING and hour == 12:
        hour = 0
    if hour > 23 or minute > 59 or seconds > 59:
        return None
    tz: tzinfo | None = None
    if offset:
        tz = _offset(offset)
    elif zone and zone.lower() in _ZONES:
        tz = _zone(_ZONES[zone.lower()])
    return hour, minute, seconds, tz


def _offset(text: str) -> tzinfo:
    """ "+8", "+08:00", "-0500" as a fixed offset."""
    sign = -1 if text.startswith("-") else 1
    digits = text[1:].replace(":", "")
    hours, minutes = (int(digits[:-2]), int(digits[-2:])) if len(digits) > 2 else (int(digits), 0)
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _numeric(value: str) -> tuple[datetime, bool] | None:
    """A date in digits with the year last: day first with dashes or dots, and with slashes
    when either number is over 12 (which tells the order)."""
    match = _NUMERIC_DATE_RE.search(value)
    if not match:
        return None
    first, separator, second, year = match.group(1, 2, 3, 4)
    a, b = int(first), int(second)
    if separator == "/" and a <= 12 and b <= 12:
        return None  # 05/03/2026: 5 March or 3 May
    day, month = (b, a) if separator == "/" and b > 12 else (a, b)
    return _dated(value, match.end(), int(year), month, day)


def _english(value: str) -> tuple[datetime, bool] | None:
    """An English date ("March 20, 2026", "Wed 25 Mar 2026 09.02 EDT"), its time after it
    or before it ("6:00am, 29 Mar 2026": digits before a date are a time only with am/pm
    or a zone), in its zone when it names one (EDT and EST are both New York's)."""
    match = _EN_DATE_RE.search(value)
    if not match:
        return None
    parts = match.groupdict()
    month = _MONTHS[(parts["month"] or parts["month2"]).lower()]
    day, year = int(parts["day"] or parts["day2"]), int(parts["year"] or parts["year2"])
    dated = _dated(value, match.end(), year, month, day)
    if dated is None or dated[1]:
        return dated
    known_zone = (parts["zone0"] or "").lower() in _ZONES
    if not parts["hour0"] or not (parts["half0"] or known_zone):
        return dated
    clock = _clock(parts["hour0"], parts["minute0"], half=parts["half0"], zone=parts["zone0"])
    if clock is None:
        return None
    hour, minute, second, tz = clock
    return datetime(year, month, day, hour, minute, second, tzinfo=tz), True


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
    """刚刚, 3小时前, 昨天 14:30 (Simplified or Traditional)."""
    folded = text.translate(_TRADITIONAL).replace(" ", "")
    if folded.endswith("天前") or folded in ("今天", "昨天", "前天"):
        precision = "day"
    elif "分钟" in folded or ":" in folded or "：" in folded:
        precision = "minute"
    else:
        precision = "estimated"
    return _relative_time(folded, now, ["zh"], precision)


def _relative_other(text: str, now: datetime) -> PublishedTime | None:
    """ "3 hours ago", "yesterday at 2:30 PM", "3時間前", "30분 전"."""
    folded = text.lower()
    if ":" in folded or re.search(r"min|分|분|sec|秒|초", folded):
        precision = "minute"
    elif re.search(r"day|yesterday|日|일", folded):
        precision = "day"
    else:
        precision = "estimated"  # hours ago, just now
    return _relative_time(text, now, ["en", "ja", "ko"], precision)


def _relative_time(
    text: str, now: datetime, languages: list[str], precision: str
) -> PublishedTime | None:
    """``text`` read by dateparser against ``now``, to the ``precision`` its words give;
    None when it names no time, or one more than the clock skew ahead."""
    import dateparser

    parsed = dateparser.parse(
        text,
        languages=languages,
        settings={"RELATIVE_BASE": now.replace(tzinfo=None), "PREFER_DATES_FROM": "past"},
    )
    if parsed is None:
        return None
    parsed = parsed.replace(tzinfo=now.tzinfo)
    if parsed > now + CLOCK_SKEW:
        return None
    if precision == "day":
        return PublishedTime(parsed.date().isoformat(), "day")
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
    match = _RELATIVE_OTHER_RE.search(value)
    if match:
        return _relative_other(match.group(0), now)
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


def finer(
    declared: PublishedTime, shown: PublishedTime | None, *, timezone: str | None
) -> PublishedTime:
    """``declared`` (a page's metadata), or ``shown`` (its header) where the metadata gives
    only the day and the header gives the time on that same day (People's Daily's
    ``publishdate`` meta and its ``2026年03月12日05:51`` header)."""
    if declared.precision != "day" or shown is None or shown.precision != "minute":
        return declared
    moment = datetime.fromisoformat(shown.value.replace("Z", "+00:00"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(_zone(timezone or DEFAULT_TIMEZONE))
    return shown if moment.date().isoformat() == declared.value else declared


def _looks_dated(text: str) -> bool:
    return bool(
        _FULL_CN_RE.search(text)
        or _ISO_RE.search(text)
        or _EN_DATE_RE.search(text)
        or _MONTH_DAY_RE.search(text)
        or _MM_DD_TIME_RE.search(text)
        or _RELATIVE_RE.search(text)
        or _RELATIVE_OTHER_RE.search(text)
        or _NUMERIC_DATE_RE.search(text)
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
