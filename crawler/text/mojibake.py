"""Undo mojibake paragraph by paragraph: text decoded with the wrong codec, once or twice.

The kinds Chinese portals produce: UTF-8 read as GBK (``涓枃``, ``鍥藉``), GBK read as
latin-1/cp1252 (``ÖÐ¹ú``), UTF-8 read as cp1252 (``ä¸­å›½``), and double-encoded UTF-8. A
paragraph is re-encoded with the codec it was wrongly read as and decoded with the right
one; the result is kept only when every byte round-trips strictly and the text becomes
more plausible (fewer characters, commoner Han characters, no Latin-1 letter pairs).
Every reversal is a strict byte round trip, so Chinese punctuation (：，（）“”) is never
touched (ftfy's ``fix_text`` defaults would turn it into ASCII). Paragraphs are independent:
half a page can be broken and the other half fine.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

from crawler.text.encoding import han_ranks

__all__ = ["MojibakeRepair", "drop_replacement_characters", "repair_mojibake"]

# (codec the bytes were wrongly decoded with, codec they really are in)
_REVERSALS = (
    ("gb18030", "utf-8"),
    ("cp1252", "utf-8"),
    ("latin-1", "utf-8"),
    ("cp1252", "gb18030"),
    ("latin-1", "gb18030"),
    ("latin-1", "big5"),
    ("cp1252", "big5"),
    ("big5", "utf-8"),
)
_LATIN_PAIR_RE = re.compile(
    r"[\u00a1-\u00ff\u0152-\u0192\u02c6-\u02dc\u2013-\u203a][\u0080-\u00ff\u0152-\u0192\u02c6-\u02dc\u2013-\u203a]"
)
_HAN_RE = re.compile(r"[\u3400-\u9fff]")
_ODD_RE = re.compile(r"[\u0080-\u009f\ue000-\uf8ff\ufffd]")
_REPLACEMENT_RUN_RE = re.compile(r"(?:锟斤拷)+|\ufffd+")
_MAX_ROUNDS = 3
_RARE = 3000


@dataclass
class MojibakeRepair:
    text: str
    fixed: dict[str, int] = field(default_factory=dict)


def _badness(text: str) -> float:
    """Lower is better: Latin-1 letter pairs, C1 controls and rare Han characters."""
    if not text:
        return 0.0
    pairs = len(_LATIN_PAIR_RE.findall(text))
    odd = len(_ODD_RE.findall(text))
    ranks = han_ranks()
    rare = sum(1 for ch in _HAN_RE.findall(text) if ranks.get(ch, _RARE) >= _RARE)
    return (3.0 * pairs + 5.0 * odd + 2.0 * rare) / len(text)


def _latin_bytes(error: UnicodeError) -> tuple[bytes, int]:
    """Encode error handler: characters below U+0100 that cp1252 lacks (C1 controls, which
    is how browsers decode cp1252's five unassigned bytes) go back to their byte."""
    assert isinstance(error, UnicodeEncodeError)
    chunk = error.object[error.start : error.end]
    if all(ord(ch) < 0x100 for ch in chunk):
        return chunk.encode("latin-1"), error.end
    raise error


codecs.register_error("newswatch-latin", _latin_bytes)


def _reversals(paragraph: str) -> list[tuple[str, str]]:
    out = []
    # Bytes the wrong decoding could not read are gone; decode around them.
    lost = paragraph.count("\ufffd")
    readable = paragraph.replace("\ufffd", "")
    for wrong, right in _REVERSALS:
        try:
            raw = readable.encode(wrong, errors="newswatch-latin")
        except UnicodeEncodeError:
            continue
        try:
            candidate = raw.decode(right)
        except UnicodeDecodeError:
            # A byte or two lost at the edges of the wrong decoding (odd byte counts) or
            # where it failed: accept a reading with a few replacement characters.
            candidate = raw.decode(right, errors="replace")
            if candidate.count("\ufffd") > 2 + 2 * lost:
                continue
        if candidate != paragraph and len(candidate) < len(paragraph):
            out.append((candidate, f"{right} read as {wrong}"))
    return out


_SUSPICIOUS_RE = re.compile(r"[\u0080-\u024f\u02c6-\u02dc\u2013-\u203a\ue000-\uf8ff\ufffd]")


def _suspicious(paragraph: str) -> bool:
    """Cheap test: Latin-1 or C1 characters, private use, replacement characters, or more
    than a few rare Han characters. Clean Chinese and English paragraphs skip the search."""
    if _SUSPICIOUS_RE.search(paragraph):
        return True
    ranks = han_ranks()
    han = _HAN_RE.findall(paragraph)
    rare = sum(1 for ch in han if ranks.get(ch, _RARE) >= _RARE)
    return rare > 2 and rare > 0.1 * len(han)


def _repair_paragraph(paragraph: str, fixed: dict[str, int]) -> str:
    """Search up to three reversals deep; keep the least bad reading, the original
    included, and only when it is clearly better."""
    if paragraph.isascii() or not _suspicious(paragraph):
        return paragraph
    original = _badness(paragraph)
    best: tuple[float, str, tuple[str, ...]] = (original, paragraph, ())
    frontier: list[tuple[str, tuple[str, ...]]] = [(paragraph, ())]
    for _ in range(_MAX_ROUNDS):
        next_frontier = []
        for text, path in frontier:
            for candidate, kind in _reversals(text):
                score = _badness(candidate)
                next_frontier.append((candidate, (*path, kind)))
                if score < best[0]:
                    best = (score, candidate, (*path, kind))
        frontier = next_frontier[:16]
    if best[2] and best[0] < original * 0.7:
        for kind in best[2]:
            fixed[kind] = fixed.get(kind, 0) + 1
        return best[1]
    return paragraph


def repair_mojibake(text: str) -> MojibakeRepair:
    """Reverse wrong-codec decoding, paragraph by paragraph."""
    result = MojibakeRepair("")
    result.text = "\n".join(_repair_paragraph(p, result.fixed) for p in text.split("\n"))
    return result


def drop_replacement_characters(text: str) -> tuple[str, int]:
    """Remove ``锟斤拷`` runs (U+FFFD encoded as UTF-8 and read as GBK) and U+FFFD; return
    the text and how many replacement characters were dropped."""
    dropped = 0

    def drop(match: re.Match[str]) -> str:
        nonlocal dropped
        run = match.group(0)
        dropped += len(run) // 3 * 2 if run.startswith("锟") else len(run)
        return ""

    return _REPLACEMENT_RUN_RE.sub(drop, text), dropped
