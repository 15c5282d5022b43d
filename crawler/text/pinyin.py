"""Pinyin annotations in Traditional text, and the spans a byte-level replace corrupted.

Some portals run a Simplified→Traditional converter that writes the reading after each
converted character, ``對(duì)``. Worse, some do it with a *byte-level* replace over GBK:
the pattern for 數 (``94 b5``) also matches across the boundary of 當 (``ae 94``) and 地
(``b5 d8``), so ``(shù)`` lands inside a character. Decoding then loses the byte before the
``(`` (shown as ``?``) and shifts the following characters until ASCII resynchronises:
``當地市場`` becomes ``當(dāng)?shù)厥袌?chǎng)``.

The bytes are recoverable: re-encode the paragraph, drop every inserted annotation, and
for each ``?<pinyin>)`` put back the lost byte. That byte is the last byte of the character
whose pattern matched, so its candidates are the last GBK bytes of the characters read
``<pinyin>``; the combination whose bytes decode strictly and most plausibly wins. Where
the shifted bytes also lost a pair the decoder could not read (``?g`` after the span, or
the ``?`` gone), ``lostbytes.py`` rebuilds the pair from the bytes around it and Chinese
word frequencies when one reading clearly wins.

Written here because no library reverses this corruption; readings come from pypinyin.
"""

from __future__ import annotations

import codecs
import math
import re
from dataclasses import dataclass
from functools import lru_cache

from crawler.text.encoding import han_ranks
from crawler.text.fold import fold_text
from crawler.text.lostbytes import (
    PAIR_MARKER,
    LostPair,
    mark_lost_pairs,
    pending_lead,
    placeholder,
    resolve_pair,
)

__all__ = ["PinyinRepair", "remove_annotations", "repair_pinyin"]

_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü"
_SYLLABLE = rf"[a-z{_TONED}]{{1,6}}"
_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_ANNOTATION_RE = re.compile(rf"\(({_SYLLABLE})\)")
_HAN_ANNOTATION_RE = re.compile(rf"([{_HAN}])\(({_SYLLABLE})\)")
_LOST_RE = re.compile(rf"[?\ufffd]({_SYLLABLE})\)")
_HAS_TONE_RE = re.compile(f"[{_TONED}]")
_TONED_ANNOTATION_RE = re.compile(rf"\((?=[a-z{_TONED}]*[{_TONED}])[a-z{_TONED}]{{1,6}}\)")
_BEAM = 64
# What Chinese prose is made of; anything else a rebuilt span decodes to (box drawing,
# Greek, Cyrillic, kana, small forms, private use) counts against that reading.
_ODD_RE = re.compile(
    f"[^\u0020-\u007e\u00b7\u2010-\u2027\u2030-\u203a\u3000-\u303f\uff01-\uff5e{_HAN}\n]"
)
_CODEC = "gbk"
_PUNCTUATION = frozenset("，。、；：？！「」『』（）《》〈〉【】—…·“”‘’％＋－／")


@dataclass
class PinyinRepair:
    text: str
    annotations_removed: int = 0
    spans_reconstructed: int = 0
    spans_left: int = 0


@lru_cache(maxsize=1)
def _readings() -> dict[str, frozenset[str]]:
    from pypinyin.pinyin_dict import pinyin_dict

    return {chr(code): frozenset(value.split(",")) for code, value in pinyin_dict.items()}


@lru_cache(maxsize=1)
def _by_reading() -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    for char, readings in _readings().items():
        for reading in readings:
            index.setdefault(reading, []).append(char)
    return index


@lru_cache(maxsize=4096)
def lost_byte_candidates(reading: str) -> tuple[int, ...]:
    """Last GBK bytes of the characters read ``reading``, most common characters first."""
    from crawler.text.frequency import common_han as _common_han

    common = _common_han()
    found: dict[int, bool] = {}
    for char in _by_reading().get(reading, ()):
        try:
            encoded = char.encode(_CODEC)
        except UnicodeEncodeError:
            continue
        # The lost byte swallowed the "(" as if it were a lead byte, so it is one.
        if len(encoded) == 2 and encoded[-1] >= 0x81:
            found[encoded[-1]] = found.get(encoded[-1], False) or char in common
    return tuple(sorted(found, key=lambda b: not found[b]))


def _is_reading_of(char: str, syllable: str) -> bool:
    return syllable in _readings().get(char, ())


def _looks_annotated(text: str) -> bool:
    """Whether the text is converter output with readings after characters, rather than a
    page that mentions a reading now and then (a language lesson)."""
    hits = [m for m in _HAN_ANNOTATION_RE.finditer(text) if _is_reading_of(m[1], m[2])]
    if len(hits) >= 3:
        han = len(re.findall(f"[{_HAN}]", text))
        return len(hits) >= 0.02 * han
    return bool(_LOST_RE.search(text)) and len(hits) >= 1


def remove_annotations(text: str) -> tuple[str, int]:
    """Drop ``(reading)`` after a character when it is that character's reading."""
    count = 0

    def drop(match: re.Match[str]) -> str:
        nonlocal count
        if _is_reading_of(match[1], match[2]):
            count += 1
            return match[1]
        return match[0]

    return _HAN_ANNOTATION_RE.sub(drop, text), count


@dataclass(frozen=True)
class _Lost:
    """A byte the decoder swallowed with the ``(`` of the annotation ``reading``."""

    reading: str
    candidates: tuple[int, ...]


_Part = bytes | _Lost | LostPair
_TEMPLATE_RE = re.compile(f"{_LOST_RE.pattern}|{_ANNOTATION_RE.pattern}|({PAIR_MARKER})")


def _template(paragraph: str) -> tuple[list[_Part], int] | None:
    """The paragraph as bytes with annotations dropped and a candidate set for every lost
    byte, or ``None`` when part of it cannot be GBK (then it cannot be rebuilt)."""
    parts: list[_Part] = []
    removed = 0
    position = 0
    for match in _TEMPLATE_RE.finditer(paragraph):
        lost, annotation, pair = match.group(1), match.group(2), match.group(3)
        if pair:
            try:
                parts.append(paragraph[position : match.start()].encode(_CODEC))
            except UnicodeEncodeError:
                return None
            following = paragraph[match.end() : match.end() + 1]
            parts.append(LostPair(ord(following), had_marker=True))
            position = match.end()
            continue
        syllable = lost or annotation
        if annotation and not _HAS_TONE_RE.search(annotation):
            before = paragraph[match.start() - 1 : match.start()]
            if not before or not _is_reading_of(before, annotation):
                continue  # "(a)" in prose, not an inserted reading
        try:
            parts.append(paragraph[position : match.start()].encode(_CODEC))
        except UnicodeEncodeError:
            return None
        if lost:
            candidates = lost_byte_candidates(syllable)
            if not candidates:
                return None
            parts.append(_Lost(syllable, candidates))
        removed += 1
        position = match.end()
    try:
        parts.append(paragraph[position:].encode(_CODEC))
    except UnicodeEncodeError:
        return None
    return parts, removed


def _prefix_text(data: bytes) -> str | None:
    """``data`` decoded as far as it goes, or ``None`` if it is not a valid GBK prefix."""
    decoded = _prefix_decode(data)
    return None if decoded is None else decoded[0]


def _prefix_decode(data: bytes) -> tuple[str, bool] | None:
    """``(text, complete)``: the decoded prefix and whether no byte is left pending."""
    decoder = codecs.getincrementaldecoder(_CODEC)()
    try:
        text = decoder.decode(data, final=False)
    except UnicodeDecodeError:
        return None
    return text, not decoder.getstate()[0]


def _plausibility(text: str) -> float:
    """Common characters, in one script: a rebuilt Traditional span that decodes to a
    Simplified-only character (发 among 將付出) is less likely than one that stays Traditional."""
    from crawler.text.language import script_counts

    simplified_only, traditional_only = script_counts(text)
    odd = len(_ODD_RE.findall(text))
    folded = fold_text(text)
    words = _common_words()
    hits = sum(1 for i in range(len(folded) - 1) if folded[i : i + 2] in words)
    wide = [ch for ch in text if ord(ch) > 0x7F]
    han = max(1, len(wide))
    ranks = han_ranks()
    # Punctuation costs like a middling character, so a rebuilt span does not "improve"
    # by turning a character into a comma; other symbols (｛, ┐) cost like rare characters.
    cost = sum(math.log(ranks.get(ch, 1000 if ch in _PUNCTUATION else 20000) + 10) for ch in wide)
    return -cost / han + 2.0 * hits / han - 2.0 * min(simplified_only, traditional_only) - 3.0 * odd


@lru_cache(maxsize=1)
def _common_words() -> frozenset[str]:
    from importlib import resources

    data = resources.files("crawler.text").joinpath("data/common_words.txt").read_text("utf-8")
    return frozenset(line for line in data.splitlines() if line and not line.startswith("#"))


@dataclass(frozen=True)
class _Solved:
    text: str
    doubtful: int
    pairs_rebuilt: int = 0
    pairs_left: int = 0


def _extend(beams: list[bytes], part: _Part) -> list[bytes]:
    if isinstance(part, bytes):
        return [prefix + part for prefix in beams]
    if isinstance(part, _Lost):
        return [prefix + bytes([byte]) for prefix in beams for byte in part.candidates]
    extended = []
    for prefix in beams:
        lead = pending_lead(prefix)
        filler = None if lead is None else placeholder(lead, part.next_byte)
        if filler is not None:
            extended.append(prefix + filler)
    return extended


def _resolve_pairs(data: bytes, offsets: list[int]) -> tuple[bytes, int, int]:
    """Put back each lost pair (at ``offsets``, last first) that clearly wins; cut out the
    two characters of the others. Returns the bytes and the counts rebuilt and left."""
    rebuilt = left = 0
    for offset in reversed(offsets):
        lead, following = data[offset - 1], data[offset + 2]
        before = data[: offset - 1].decode(_CODEC, errors="replace")
        after = data[offset + 3 :].decode(_CODEC, errors="replace")
        choice = resolve_pair(lead, following, before, after)
        if choice.chars is not None:
            first, second = (ch.encode(_CODEC) for ch in choice.chars)
            data = data[:offset] + first[1:] + second[:1] + data[offset + 2 :]
            rebuilt += 1
        else:
            data = data[: offset - 1] + data[offset + 3 :]
            left += 1
    return data, rebuilt, left


def _solve(parts: list[_Part]) -> _Solved | None:
    """Beam search over the lost bytes: keep the prefixes that decode strictly, ranked by
    how common their characters are. Returns the text and how many of the rebuilt spans
    still hold a rare character (bytes the corruption destroyed, not only shifted)."""
    beams: list[bytes] = [b""]
    for part in parts:
        extended = _extend(beams, part)
        if isinstance(part, bytes):
            # Surviving bytes add no choice and no beam: keep the ones that still decode,
            # in order, and rank them when the next lost byte (or the end) asks.
            beams = [data for data in extended if _prefix_decode(data) is not None]
            if not beams:
                return None
            continue
        scored = []
        for rank, data in enumerate(extended):
            decoded = _prefix_decode(data)
            if decoded is None:
                continue
            text, complete = decoded
            # A lost byte that completes a character was that character's own last byte:
            # the annotation was inserted after it, so it must be read as annotated.
            if isinstance(part, _Lost) and complete and not _is_reading_of(text[-1:], part.reading):
                continue
            scored.append((_plausibility(text[-40:]), -rank, data))
        if not scored:
            return None
        scored.sort(reverse=True)
        beams = [data for _, _, data in scored[:_BEAM]]
    if parts and isinstance(parts[-1], bytes):
        ranked = []
        for rank, data in enumerate(beams):
            decoded = _prefix_decode(data)
            if decoded is not None:
                ranked.append((_plausibility(decoded[0][-40:]), -rank, data))
        ranked.sort(reverse=True)
        beams = [data for _, _, data in ranked]
    offsets = []
    pairs = []
    position = 0
    for part in parts:
        position += len(part) if isinstance(part, bytes) else 2 if isinstance(part, LostPair) else 1
        if isinstance(part, _Lost):
            offsets.append(position - 1)
        elif isinstance(part, LostPair):
            pairs.append(position - 2)
    for data in beams:
        try:
            text = codecs.decode(data, _CODEC)
        except UnicodeDecodeError:
            continue
        ranks = han_ranks()
        doubtful = 0
        for offset in offsets:
            at = len(_prefix_text(data[:offset]) or "")
            window = text[max(0, at - 1) : at + 4]
            if any(_doubtful(ch, ranks) for ch in window):
                doubtful += 1
        if not pairs:
            return _Solved(text, doubtful)
        data, rebuilt, left = _resolve_pairs(data, pairs)
        return _Solved(codecs.decode(data, _CODEC), doubtful, rebuilt, left)
    return None


def _doubtful(char: str, ranks: dict[str, int]) -> bool:
    """A rebuilt character that is rare: a Han character outside the 4,000 commonest, or
    a symbol Chinese prose does not use (｛, Ｂ) where a comma or a character was."""
    if char.isascii() or char in ranks or char in _PUNCTUATION:
        return False
    return bool(re.match(f"[{_HAN}\uff01-\uff5e]", char))


def _rebuild(paragraph: str) -> tuple[_Solved, int] | None:
    """Rebuild the corrupted spans of ``paragraph``. Where the page still shows a lost
    pair's ``?`` after a span, first with the pair (``lostbytes.py``); else, or when that
    leaves something unknown, without, and when that leaves a rare character or fails,
    the better of the two."""
    marked = paragraph
    shown = False
    for match in reversed(list(_LOST_RE.finditer(paragraph))):
        marked, showing = mark_lost_pairs(marked, match.end())
        shown = shown or showing
    retemplate = _template(marked) if marked != paragraph else None
    resolved = None
    if shown and retemplate is not None:
        resolved = _solve(retemplate[0])
        if resolved is not None and not resolved.doubtful and not resolved.pairs_left:
            return resolved, retemplate[1]
    template = _template(paragraph)
    solved = _solve(template[0]) if template else None
    if solved is not None and template is not None and not solved.doubtful:
        return solved, template[1]
    if retemplate is None:
        return None if solved is None or template is None else (solved, template[1])
    if resolved is None and not shown:
        resolved = _solve(retemplate[0])
    if resolved is None:
        return None if solved is None or template is None else (solved, template[1])
    better = solved is not None and solved.doubtful < resolved.doubtful + resolved.pairs_left
    if better and solved is not None and template is not None:
        return solved, template[1]
    return resolved, retemplate[1]


def repair_pinyin(text: str) -> PinyinRepair:
    """Remove inserted readings and rebuild corrupted spans, paragraph by paragraph."""
    if "(" not in text or not _looks_annotated(text):
        return PinyinRepair(text)
    result = PinyinRepair("")
    paragraphs = []
    for paragraph in text.split("\n"):
        if _LOST_RE.search(paragraph):
            rebuilt = _rebuild(paragraph)
            lost = len(_LOST_RE.findall(paragraph))
            if rebuilt is not None:
                solved, removed = rebuilt
                paragraph = solved.text
                # A span whose lost pair stays unknown is not rebuilt.
                left = min(lost, solved.doubtful + solved.pairs_left)
                result.spans_reconstructed += lost - left
                result.spans_left += left
                result.annotations_removed += removed - lost
            else:
                result.spans_left += lost
                paragraph = _LOST_RE.sub("", paragraph)
                # The shifted bytes no longer spell the annotated characters, so a toned
                # reading follows whatever the shift made of them: drop it all the same.
                paragraph, dropped = _TONED_ANNOTATION_RE.subn("", paragraph)
                result.annotations_removed += dropped
        paragraph, removed = remove_annotations(paragraph)
        result.annotations_removed += removed
        paragraphs.append(paragraph)
    result.text = "\n".join(paragraphs)
    return result
