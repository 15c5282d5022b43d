"""Pages saved in two encodings: a GBK or Big5 template with UTF-8 text pasted into it.

No single codec reads such a page: decoded as a whole it fails, or comes out as mojibake
in one part or the other. ``utf8_runs`` finds the runs that are valid UTF-8
multi-byte sequences and read as common CJK text; ``decode_segments`` then reads the page
character by character, choosing for each stretch the legacy codec or UTF-8, by a
shortest-path search (Viterbi) over byte offsets whose cost is how rare each decoded
character is, plus a cost for every switch between the two. Switching therefore only
pays for runs that read far better as UTF-8, and boundaries land where both halves decode.

Written by hand: no library decodes a page in two encodings. I/O-free.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

from crawler.text.frequency import han_ranks, ranks

__all__ = ["Segmented", "decode_segments", "utf8_runs"]

_CJK_RUN_RE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7a3\uff01-\uff5e]{3,}")
_NON_ASCII_RE = re.compile(rb"[\x80-\xff]")
_SWITCH = 12.0
_UNKNOWN = 11.0
_ODD = 16.0
_PUNCTUATION = 4.0
_MIN_RUN_SHARE = 0.6
_LEGACY = "legacy"
_UTF8 = "utf-8"


@dataclass(frozen=True)
class Segmented:
    text: str
    codec: str
    utf8_segments: int
    cost: float


@lru_cache(maxsize=1)
def _known() -> dict[str, int]:
    table = dict(ranks("ko"))
    for char, rank in ranks("ja").items():
        table[char] = min(rank, table.get(char, rank))
    for char, rank in han_ranks().items():
        table[char] = min(rank, table.get(char, rank))
    return table


@lru_cache(maxsize=65536)
def char_cost(char: str) -> float:
    """How unlikely ``char`` is in CJK news text (lower is likelier)."""
    rank = _known().get(char)
    if rank is not None:
        return math.log(rank + 20)
    code = ord(char)
    if 0x3000 <= code <= 0x303F or 0xFF01 <= code <= 0xFF5E or 0x2010 <= code <= 0x2027:
        return _PUNCTUATION
    if 0x3400 <= code <= 0x9FFF or 0xAC00 <= code <= 0xD7A3 or 0x3040 <= code <= 0x30FF:
        return _UNKNOWN
    if 0x00A0 <= code <= 0x024F:
        return _UNKNOWN
    return _ODD


def utf8_runs(body: bytes) -> list[str]:
    """The runs of ``body`` that are valid UTF-8 CJK text of three characters or more,
    most of them common (so not GBK or Big5 bytes that happen to form valid UTF-8)."""
    table = _known()
    found = []
    # Read leniently, GBK or Big5 bytes become replacement characters and only real
    # UTF-8 sequences stay text: one pass in C instead of a byte-level scan.
    for run in _CJK_RUN_RE.findall(body.decode("utf-8", errors="replace")):
        known = sum(1 for ch in run if ch in table)
        if known >= _MIN_RUN_SHARE * len(run):
            found.append(run)
    return found


def _legacy_char(body: bytes, at: int, codec: str) -> tuple[str, int] | None:
    for size in (1, 2, 4):
        chunk = body[at : at + size]
        if len(chunk) < size:
            return None
        try:
            text = chunk.decode(codec)
        except UnicodeDecodeError:
            continue
        if len(text) == 1:
            return text, size
        return None
    return None


def _utf8_char(body: bytes, at: int) -> tuple[str, int] | None:
    lead = body[at]
    size = 2 if 0xC2 <= lead <= 0xDF else 3 if 0xE0 <= lead <= 0xEF else 4 if lead <= 0xF4 else 0
    if not size:
        return None
    try:
        return body[at : at + size].decode("utf-8"), size
    except UnicodeDecodeError:
        return None


def decode_segments(body: bytes, codec: str) -> Segmented | None:
    """Read ``body`` as ``codec`` with UTF-8 stretches where they read better, or ``None``
    when some byte is neither (then the page is not this kind of mix)."""
    size = len(body)
    inf = math.inf
    # cost[mode][offset]: cheapest reading of body[:offset] whose last non-ASCII character
    # was decoded in that mode; back[mode][offset]: (previous offset, previous mode, char).
    cost = {_LEGACY: [inf] * (size + 1), _UTF8: [inf] * (size + 1)}
    back: dict[str, list[tuple[int, str, str] | None]] = {
        _LEGACY: [None] * (size + 1),
        _UTF8: [None] * (size + 1),
    }
    cost[_LEGACY][0] = 0.0
    cost[_UTF8][0] = _SWITCH
    at = 0
    while at < size:
        if body[at] < 0x80:
            # ASCII reads the same either way: jump to the next non-ASCII byte.
            match = _NON_ASCII_RE.search(body, at)
            end = match.start() if match else size
            for mode in (_LEGACY, _UTF8):
                if cost[mode][at] < cost[mode][end]:
                    cost[mode][end] = cost[mode][at]
                    back[mode][end] = (at, mode, body[at:end].decode("ascii"))
            # A multi-byte character that began before ``at`` may end inside the run
            # (GBK and Big5 trail bytes can be ASCII letters): those offsets go on too.
            at = next(
                (
                    q
                    for q in range(at + 1, min(at + 4, end))
                    if cost[_LEGACY][q] < inf or cost[_UTF8][q] < inf
                ),
                end,
            )
            continue
        options = (
            (_LEGACY, _legacy_char(body, at, codec)),
            (_UTF8, _utf8_char(body, at)),
        )
        for mode, read in options:
            if read is None:
                continue
            char, width = read
            step = char_cost(char)
            for previous in (_LEGACY, _UTF8):
                total = cost[previous][at] + step + (_SWITCH if previous != mode else 0.0)
                if total < cost[mode][at + width]:
                    cost[mode][at + width] = total
                    back[mode][at + width] = (at, previous, char)
        at += 1
        while at < size and cost[_LEGACY][at] == inf and cost[_UTF8][at] == inf:
            at += 1
    mode = _LEGACY if cost[_LEGACY][size] <= cost[_UTF8][size] else _UTF8
    best_cost = cost[mode][size]
    if best_cost == inf:
        return None
    pieces: list[str] = []
    segments = 0
    offset = size
    while offset > 0:
        link = back[mode][offset]
        if link is None:
            return None
        previous_offset, previous_mode, piece = link
        if mode == _UTF8 and previous_mode != _UTF8 and body[previous_offset] >= 0x80:
            segments += 1
        pieces.append(piece)
        offset, mode = previous_offset, previous_mode
    if mode == _UTF8:
        segments += 1
    return Segmented("".join(reversed(pieces)), codec, segments, best_cost)
