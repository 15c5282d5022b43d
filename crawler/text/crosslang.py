"""What a Chinese and an English report of one event have in common, whatever the words.

A Chinese and an English article share almost no characters, so MinHash cannot tell that
they report one event. What they do share is facts: the entities named (through the
catalogue: 昇腾 is Ascend, 实体清单 the Entity List), product codes and classification
numbers (H20, 910C, 3A090), figures (55亿美元 = $5.5 billion, 140家 = 140 entities,
百分之十六 = 16%, 7纳米 = 7nm) and the dates the text names (5月14日 = May 14).
:func:`story_keys` turns an article into such keys, each weighted by how telling its kind
is and by where it stands (the headline and the lead say what the story is about; a
background paragraph recalling last week's rule does not). :func:`key_similarity` is the
cosine of two articles' weighted keys; :func:`same_event` adds the evidence a match needs.

Parameters were chosen on the bilingual labelled set in ``bench/labelled_bilingual.py``
(same-event pairs and hard negatives: the same companies on another event weeks later, a
different event of the same week, a response recalling the event it answers). Chinese
numerals are read with cn2an; the rest is written by hand (no library normalises figures
across Chinese and English). I/O-free.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta

from crawler.text.entities import Mention

__all__ = [
    "KEY_WINDOW_DAYS",
    "MIN_SHARED_WEIGHT",
    "MIN_SPECIFIC_WEIGHT",
    "SAME_EVENT",
    "family",
    "key_similarity",
    "same_event",
    "story_keys",
]

KEY_WINDOW_DAYS = 3
SAME_EVENT = 0.7
MIN_SHARED_WEIGHT = 7.0
MIN_SPECIFIC_WEIGHT = 4.0
DISTINCTIVE_ACTION = 2.0

# Base weight by kind of key: a figure or a code is rarely shared by chance, an agency
# names half the beat.
ENTITY_WEIGHTS = {
    "product": 2.5,
    "company": 2.0,
    "list": 1.5,
    "rule": 2.0,
    "agency": 1.0,
    "technology": 1.5,
    "person": 2.0,
    "place": 1.5,
    "other": 1.5,
}
CODE_WEIGHT = 2.5
MONEY_WEIGHT = 4.0
PERCENT_WEIGHT = 3.0
COUNT_WEIGHT = 3.0
NM_WEIGHT = 2.0
DATE_WEIGHT = 1.5
TITLE_BOOST = 3.0
LEAD_BOOST = 1.0

_CN_NUM = r"[零〇一二两三四五六七八九十百千万亿点]+"
_AR_NUM = r"\d+(?:,\d{3})*(?:\.\d+)?"
_NUM = rf"(?:{_AR_NUM}|{_CN_NUM})"
_MEASURE = r"家|个|個|种|種|项|項|名|款|台|颗|顆|枚|所|条|條|批|架|套|座|位|人|间|間|份|类|類"
_CN_MONEY_RE = re.compile(
    rf"(?P<num>{_NUM})\s*(?P<mult>万亿|千亿|百亿|亿|千万|百万|万)?\s*"
    r"(?P<cur>美元|美金|欧元|歐元|日元|港元|元人民币|元人民幣|元|人民币|人民幣)"
)
_CN_RMB_RE = re.compile(rf"人民[币幣]\s*(?P<num>{_NUM})\s*(?P<mult>万亿|亿|万)?\s*元?")
_EN_MONEY_RE = re.compile(
    rf"(?P<cur>US\$|\$|€|RMB\s?|¥)\s?(?P<num>{_AR_NUM})\s*"
    r"(?P<mult>trillion|billion|bn|million|mln|mn|thousand)?\b",
)
_EN_MONEY_WORD_RE = re.compile(
    rf"(?<![\d.,$])(?P<num>{_AR_NUM})\s*(?P<mult>trillion|billion|million)?\s*"
    r"(?P<cur>yuan|renminbi|dollars|euros)\b",
    re.IGNORECASE,
)
_PERCENT_RE = re.compile(rf"(?P<num>{_AR_NUM})\s*(?:%|％|\s?percent\b|\s?per cent\b)")
_CN_PERCENT_RE = re.compile(rf"百分之\s*(?P<num>{_NUM})")
_CN_COUNT_RE = re.compile(rf"(?P<num>{_NUM})\s*(?:{_MEASURE})")
_EN_COUNT_RE = re.compile(
    rf"(?<![\w.,$:/-])(?P<num>{_AR_NUM})(?![\d.,%:/])\s+(?!percent|per cent|billion|million|"
    r"trillion|nm\b|nanomet|yuan|dollars|am\b|pm\b|a\.m|p\.m|GMT|UTC)(?P<word>[A-Za-z]+)"
)
_NM_RE = re.compile(rf"(?P<num>{_AR_NUM})\s*-?\s*(?:nm\b|纳米|納米|奈米|nanomet(?:er|re)s?\b)")
_CODE_RE = re.compile(
    r"(?<![A-Za-z0-9])(?=[A-Za-z0-9]*\d)(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{3,10}(?![A-Za-z0-9])"
)
_CN_DATE_RE = re.compile(
    r"(?:(?P<year>\d{4}|[零〇一二三四五六七八九]{4})\s*年\s*)?(?P<month>\d{1,2}|[一二三四五六七八九十]{1,3})\s*月\s*"
    r"(?P<day>\d{1,2}|[一二三四五六七八九十]{1,3})\s*[日号號](?P<after>\s*(?:电|電|讯|訊))?"
)
_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
# What a match of each figure and date pattern cannot do without: a pattern whose text holds
# none of it is not run (most texts name no money, percentage or node size, and a pattern
# that starts with a numeral tries every Chinese numeral of the text before it fails).
_NEEDS: dict[re.Pattern[str], tuple[str, ...]] = {
    _CN_MONEY_RE: ("元", "美金", "人民"),
    _CN_RMB_RE: ("人民",),
    _EN_MONEY_RE: ("$", "€", "RMB", "¥"),
    _PERCENT_RE: ("%", "％", "per"),
    _CN_PERCENT_RE: ("百分之",),
    _NM_RE: ("nm", "纳米", "納米", "奈米", "nanomet"),
    _CN_DATE_RE: ("月",),
}


def _matches(regex: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """``regex.finditer(text)``, skipped when ``text`` lacks what every match needs."""
    needs = _NEEDS.get(regex)
    if needs is not None and not any(need in text for need in needs):
        return iter(())
    return regex.finditer(text)


_MONTH_NAME = (
    r"(?P<mname>Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_EN_DATE_RE = re.compile(
    rf"\b{_MONTH_NAME}\.?\s+(?P<day>\d{{1,2}})(?!\d)(?!,?\s*\(\w+\))|\b(?P<day2>\d{{1,2}})\s+"
    rf"(?P<mname2>January|February|March|April|May|June|July|August|September|October|"
    r"November|December)\b"
)
_CN_DAY_RE = re.compile(r"(?<![\d月/.-])(\d{1,2})\s*[日号號](?!\s*(?:电|電|讯|訊))")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_EN_WEEKDAY_RE = re.compile(
    r"\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b(?!\s*,?\s*\w+\s+\d)"
)
_CN_WEEKDAY_RE = re.compile(r"(?:周|週|星期|礼拜|禮拜)([一二三四五六日天])")
_CN_WEEKDAY = "一二三四五六"
_EN_DATELINE_RE = re.compile(r"^[A-Z][A-Za-z .,'-]{0,60}\([A-Za-z .]+\)\s*[-–—]")
_MULTIPLIERS = {
    "万亿": 1e12, "千亿": 1e11, "百亿": 1e10, "亿": 1e8, "千万": 1e7, "百万": 1e6, "万": 1e4,
    "trillion": 1e12, "billion": 1e9, "bn": 1e9, "million": 1e6, "mln": 1e6, "mn": 1e6,
    "thousand": 1e3,
}  # fmt: skip
_CURRENCIES = {
    "美元": "usd", "美金": "usd", "$": "usd", "us$": "usd", "dollars": "usd",
    "欧元": "eur", "歐元": "eur", "€": "eur", "euros": "eur",
    "日元": "jpy", "¥": "cny", "港元": "hkd",
    "元": "cny", "元人民币": "cny", "元人民幣": "cny", "人民币": "cny", "人民幣": "cny",
    "rmb": "cny", "yuan": "cny", "renminbi": "cny",
}  # fmt: skip
# English words after a number that make it a year, a time or an ordinal, not a count.
_NOT_COUNT_WORDS = {"st", "nd", "rd", "th", "years", "year", "days", "hours", "minutes", "weeks"}


def family(lang: str | None) -> str | None:
    """``zh`` for Chinese in either script, ``en`` for English, else None."""
    if not lang:
        return None
    if lang == "zh" or lang.startswith("zh-"):
        return "zh"
    if lang == "en" or lang.startswith("en-"):
        return "en"
    return None


@functools.lru_cache(maxsize=4096)
def _number(text: str) -> float | None:
    """The value a numeral spells (``1,200``, ``3.5``, ``十二``, ``两万亿``), or None.
    Cached: the same numerals come back page after page, and reading a Chinese one
    costs tens of microseconds."""
    text = text.replace(",", "")
    try:
        return float(text)
    except ValueError:
        pass
    import cn2an

    multiplier = 1.0
    if text.endswith("万亿"):
        text, multiplier = text[:-2], 1e12
    if not text:
        return None
    try:
        return float(cn2an.cn2an(text, "smart")) * multiplier
    except (ValueError, KeyError, IndexError):
        return None


def _figure(value: float) -> str:
    return f"{value:.3g}"


def _chinese_numeral_int(text: str) -> int | None:
    value = _number(text)
    return int(value) if value is not None and value == int(value) else None


def _figures(text: str, field: str, add) -> None:  # type: ignore[no-untyped-def]
    taken: list[tuple[int, int]] = []

    def free(match: re.Match[str]) -> bool:
        start, end = match.span()
        if any(start < e and s < end for s, e in taken):
            return False
        taken.append((start, end))
        return True

    for regex in (_CN_MONEY_RE, _CN_RMB_RE, _EN_MONEY_RE, _EN_MONEY_WORD_RE):
        for match in _matches(regex, text):
            value = _number(match.group("num"))
            if value is None or not free(match):
                continue
            value *= _MULTIPLIERS.get((match.group("mult") or "").lower(), 1.0)
            currency = _CURRENCIES.get(match.groupdict().get("cur", "元").strip().lower(), "cny")
            add(f"{currency}:{_figure(value)}", MONEY_WEIGHT, match.start(), field)
    for regex in (_PERCENT_RE, _CN_PERCENT_RE):
        for match in _matches(regex, text):
            value = _number(match.group("num"))
            if value is not None and free(match):
                add(f"pct:{_figure(value)}", PERCENT_WEIGHT, match.start(), field)
    for match in _matches(_NM_RE, text):
        value = _number(match.group("num"))
        if value is not None and free(match):
            add(f"nm:{_figure(value)}", NM_WEIGHT, match.start(), field)
    for match in _CN_COUNT_RE.finditer(text):
        value = _number(match.group("num"))
        if value is not None and value >= 10 and free(match):
            add(f"n:{_figure(value)}", COUNT_WEIGHT, match.start(), field)
    for match in _EN_COUNT_RE.finditer(text):
        value = _number(match.group("num"))
        word = match.group("word").lower()
        if value is None or value < 10 or word in _NOT_COUNT_WORDS:
            continue
        if 1900 <= value <= 2100 and "," not in match.group("num"):
            continue  # a year
        before = text[max(0, match.start() - 10) : match.start()]
        if re.search(_MONTH_NAME + r"\.?\s*$", before):
            continue  # May 14
        if free(match):
            add(f"n:{_figure(value)}", COUNT_WEIGHT, match.start(), field)


def _relative_days(
    text: str,
    field: str,
    add,
    published: date | None,  # type: ignore[no-untyped-def]
) -> None:
    """Dates a text names relative to its publication day: ``15日`` (this month's 15th,
    or last month's when the 15th is still ahead), ``on Tuesday`` and ``周二`` (the latest
    Tuesday on or before the day)."""
    if published is None:
        return
    for match in _CN_DAY_RE.finditer(text):
        day = int(match.group(1))
        if not 1 <= day <= 31:
            continue
        month_start = published.replace(day=1)
        if day > published.day + 1:  # a day still ahead is last month's (one day of slack
            month_start = (month_start - timedelta(days=1)).replace(day=1)  # for time zones)
        try:
            named = month_start.replace(day=day)
        except ValueError:
            continue
        add(f"d:{named:%m-%d}", DATE_WEIGHT, match.start(), field)
    weekdays = [
        (m.start(), _WEEKDAYS.index(m.group(1).lower())) for m in _EN_WEEKDAY_RE.finditer(text)
    ]
    weekdays += [
        (m.start(), _CN_WEEKDAY.index(m.group(1)) if m.group(1) in _CN_WEEKDAY else 6)
        for m in _CN_WEEKDAY_RE.finditer(text)
    ]
    for position, weekday in weekdays:
        named = published - timedelta(days=(published.weekday() - weekday) % 7)
        add(f"d:{named:%m-%d}", DATE_WEIGHT, position, field)


def _dates(text: str, field: str, add) -> None:  # type: ignore[no-untyped-def]
    dateline_end = 0
    first_line = text.split("\n", 1)[0]
    dateline = _EN_DATELINE_RE.match(first_line)
    if dateline:
        dateline_end = dateline.end()
    for match in _matches(_CN_DATE_RE, text):
        if match.group("after"):
            continue  # 新华社北京5月14日电: the day of the wire, not of the event
        month = _chinese_numeral_int(match.group("month"))
        day = _chinese_numeral_int(match.group("day"))
        if month and day and 1 <= month <= 12 and 1 <= day <= 31:
            add(f"d:{month:02d}-{day:02d}", DATE_WEIGHT, match.start(), field)
    for match in _EN_DATE_RE.finditer(text):
        if match.start() < dateline_end:
            continue
        name = (match.group("mname") or match.group("mname2"))[:3].lower()
        day = int(match.group("day") or match.group("day2"))
        if 1 <= day <= 31:
            add(f"d:{_MONTHS[name]:02d}-{day:02d}", DATE_WEIGHT, match.start(), field)


def story_keys(
    title: str,
    text: str,
    *,
    mentions: Sequence[Mention] = (),
    published: str | None = None,
) -> dict[str, float]:
    """The weighted keys of an article for cross-language matching: entities (``e:``, not
    news outlets), actions (``a:``), codes (``c:``), figures (``usd:``, ``cny:``, ``pct:``,
    ``n:``, ``nm:``) and dates (``d:MM-DD``). A key counts once, with the weight of its
    most salient occurrence (the title, then the lead paragraph, then the rest).
    ``published`` (ISO date or time) dates ``15日`` and ``on Tuesday``."""
    day = _published_day(published)
    keys: dict[str, float] = {}
    lead_end = (text or "").find("\n")
    lead_end = len(text or "") if lead_end < 0 else lead_end

    def add(key: str, weight: float, position: int, field: str) -> None:
        if field == "title":
            weight *= 1.0 + TITLE_BOOST
        elif position < lead_end:
            weight *= 1.0 + LEAD_BOOST
        if weight > keys.get(key, 0.0):
            keys[key] = weight

    for mention in mentions:
        if mention.kind == "outlet":
            continue
        if mention.kind == "action":
            prefix = "x" if mention.weight >= DISTINCTIVE_ACTION else "a"
            add(f"{prefix}:{mention.entity}", mention.weight, mention.start, mention.field)
            continue
        weight = ENTITY_WEIGHTS.get(mention.kind, 1.5)
        add(f"e:{mention.entity}", weight, mention.start, mention.field)
    # A code that is the very name of an entity found (H20) is that entity, not more.
    named = {m.alias.upper() for m in mentions if m.kind != "action"}
    for field, value in (("title", title or ""), ("text", text or "")):
        for match in _CODE_RE.finditer(value):
            code = match.group(0).upper()
            if code not in named:
                add(f"c:{code}", CODE_WEIGHT, match.start(), field)
        _figures(value, field, add)
        _dates(value, field, add)
        _relative_days(value, field, add, day)
    # A code that is a figure's unit (7nm, 16GB) or a year is no product code.
    for key in [k for k in keys if k.startswith("c:")]:
        code = key[2:]
        if re.fullmatch(r"\d+(?:NM|GB|TB|MB|GHZ|MHZ|W|KW|MW|G|K|M|B|H|D|S|ST|ND|RD|TH)", code):
            del keys[key]
    return keys


def _published_day(published: str | None) -> date | None:
    if not published:
        return None
    try:
        return datetime.fromisoformat(published.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def key_similarity(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """The cosine of two articles' weighted keys."""
    shared = a.keys() & b.keys()
    if not shared:
        return 0.0
    dot = sum(a[k] * b[k] for k in shared)
    norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
    return dot / norm if norm else 0.0


def shared_weight(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """The evidence two articles share: per shared key, the smaller of its two weights."""
    return sum(min(a[k], b[k]) for k in a.keys() & b.keys())


def specific_key(key: str) -> bool:
    """A code, a figure, a date or a telling action: what two reports of different events
    about the same companies rarely share."""
    return not key.startswith(("e:", "a:"))


def same_event(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """How surely two articles in two languages report one event: their key similarity
    when they share at least ``MIN_SHARED_WEIGHT`` of evidence, ``MIN_SPECIFIC_WEIGHT`` of
    it specific (codes, figures, dates, telling actions: two reports of one week's news
    name the same companies and products), else 0."""
    shared = a.keys() & b.keys()
    specific = sum(min(a[k], b[k]) for k in shared if specific_key(k))
    if specific < MIN_SPECIFIC_WEIGHT or shared_weight(a, b) < MIN_SHARED_WEIGHT:
        return 0.0
    return key_similarity(a, b)
