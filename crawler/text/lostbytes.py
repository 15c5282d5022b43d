"""Bytes a corrupted span lost for good: rebuilt from the bytes around them and Chinese
word frequencies, when one reading clearly wins.

A byte-level pinyin replace over GBK (``pinyin.py``) shifts the bytes after it by one, so
the decoder pairs each character's trail byte with the next one's lead byte. Where such a
shifted pair is not valid GBK, the decoder writes one ``?`` for both bytes, or a later
step drops it: ``他們?cè)谥忻乐?g`` (or ``…乐g``) for ``他們在中美之間``, where ``之``'s
trail byte and ``間``'s lead byte are gone from the page. What is left constrains them: the
surviving lead byte before the gap (``之`` is ``d6 ??``), the surviving trail byte after
it (``間`` is ``?? 67``), the fact that the two lost bytes did not form a character, and
which characters are common and form words with their neighbours. ``resolve_pair``
scores every pair of characters that fits and keeps the best only when it beats every
other by a clear margin; otherwise the span stays counted as not rebuilt.

Written by hand: no library reverses this corruption. I/O-free.
"""

from __future__ import annotations

import codecs
import math
import re
from dataclasses import dataclass
from functools import lru_cache

from crawler.text.fold import fold_text
from crawler.text.frequency import common_words, han_ranks

__all__ = ["LostPair", "PAIR_MARKER", "PairChoice", "mark_lost_pairs", "resolve_pair"]

_CODEC = "gbk"
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Stands for a lost pair inside a paragraph until the paragraph is re-encoded.
PAIR_MARKER = "\x00"
# A gap after a lost span: Han, then an optional "?" or U+FFFD, then a lone ASCII byte
# that can only be a GBK trail byte (0x40-0x7e), then Han or Chinese punctuation.
_GAP_RE = re.compile(
    rf"(?<=[{_HAN}])[?\ufffd]?(?=[\x40-\x7e](?:[{_HAN}\u3000-\u303f\uff01-\uff5e]|$))"
)
# Score margin by which the best pair must beat the runner-up (calibrated by the
# property test in tests/test_repair.py: never wrong when it commits).
MARGIN = 3.0
_WORD_BONUS = 3.0
_RARE = 20000


@dataclass(frozen=True)
class LostPair:
    """Two bytes lost between a surviving lead byte and the surviving ASCII trail byte
    ``next_byte``; ``had_marker`` says whether the page still showed a ``?`` for them."""

    next_byte: int
    had_marker: bool


@dataclass(frozen=True)
class PairChoice:
    """The rebuilt characters, or ``None`` when no pair clearly wins."""

    chars: str | None
    margin: float


def mark_lost_pairs(paragraph: str, after: int) -> tuple[str, bool]:
    """``paragraph`` with the first gap after offset ``after`` (the end of a lost span)
    marked by ``PAIR_MARKER`` in place of its ``?``, and whether the page still showed
    that ``?``."""
    match = _GAP_RE.search(paragraph, after)
    if match is None:
        return paragraph, False
    marked = paragraph[: match.start()] + PAIR_MARKER + paragraph[match.end() :]
    return marked, match.end() > match.start()


@lru_cache(maxsize=512)
def _completions(lead: int) -> tuple[tuple[int, str], ...]:
    """Trail bytes that complete ``lead`` into a common character, with the character."""
    ranks = han_ranks()
    found = []
    for trail in range(0x80, 0xFF):
        try:
            char = bytes([lead, trail]).decode(_CODEC)
        except UnicodeDecodeError:
            continue
        if char in ranks:
            found.append((trail, char))
    return tuple(found)


@lru_cache(maxsize=512)
def _openings(trail: int) -> tuple[tuple[int, str], ...]:
    """Lead bytes that form a common character with the trail byte ``trail``."""
    ranks = han_ranks()
    found = []
    for lead in range(0x81, 0xFF):
        try:
            char = bytes([lead, trail]).decode(_CODEC)
        except UnicodeDecodeError:
            continue
        if char in ranks:
            found.append((lead, char))
    return tuple(found)


@lru_cache(maxsize=65536)
def _invalid(first: int, second: int) -> bool:
    try:
        bytes([first, second]).decode(_CODEC)
    except UnicodeDecodeError:
        return True
    return False


def placeholder(lead: int, next_byte: int) -> bytes | None:
    """The commonest pair of bytes that fits between ``lead`` and ``next_byte``: it keeps
    the alignment of the rest of the span while the other lost bytes are searched."""
    ranks = han_ranks()
    firsts = sorted(_completions(lead), key=lambda item: ranks[item[1]])
    seconds = sorted(_openings(next_byte), key=lambda item: ranks[item[1]])
    for trail, _ in firsts[:8]:
        for lead_byte, _ in seconds[:8]:
            if _invalid(trail, lead_byte):
                return bytes([trail, lead_byte])
    return None


def _cost(char: str) -> float:
    return math.log(han_ranks().get(char, _RARE) + 10)


def resolve_pair(lead: int, next_byte: int, left: str, right: str) -> PairChoice:
    """The two characters lost between ``lead`` and ``next_byte``, between the decoded
    text ``left`` and ``right``, when one pair beats every other by ``MARGIN``. A pair
    scores the log-frequency of its two characters plus a bonus for each common word they
    form with each other and with their neighbours."""
    words = common_words()
    before, after = fold_text(left[-1:]), fold_text(right[:1])
    firsts = []
    for trail, char in _completions(lead):
        folded = fold_text(char)
        score = -_cost(char) + _WORD_BONUS * (before + folded in words)
        firsts.append((trail, char, folded, score))
    seconds = []
    for lead_byte, char in _openings(next_byte):
        folded = fold_text(char)
        score = -_cost(char) + _WORD_BONUS * (folded + after in words)
        seconds.append((lead_byte, char, folded, score))
    scored: list[tuple[float, str]] = []
    for trail, first, folded_first, first_score in firsts:
        for lead_byte, second, folded_second, second_score in seconds:
            if _invalid(trail, lead_byte):
                bonus = _WORD_BONUS * (folded_first + folded_second in words)
                scored.append((first_score + second_score + bonus, first + second))
    if not scored:
        return PairChoice(None, 0.0)
    scored.sort(reverse=True)
    best = scored[0]
    margin = best[0] - scored[1][0] if len(scored) > 1 else float("inf")
    return PairChoice(best[1] if margin >= MARGIN else None, margin)


def pending_lead(data: bytes) -> int | None:
    """The lead byte left pending at the end of ``data`` (a GBK prefix), if any."""
    decoder = codecs.getincrementaldecoder(_CODEC)()
    try:
        decoder.decode(data, final=False)
    except UnicodeDecodeError:
        return None
    pending = decoder.getstate()[0]
    return pending[0] if pending else None
