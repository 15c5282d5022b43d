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
``<pinyin>``; the combination whose bytes decode strictly and most plausibly wins.

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

__all__ = ["PinyinRepair", "remove_annotations", "repair_pinyin"]

_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü"
_SYLLABLE = rf"[a-z{_TONED}]{{1,6}}"
_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_ANNOTATION_RE = re.compile(rf"\(({_SYLLABLE})\)")
_HAN_ANNOTATION_RE = re.compile(rf"([{_HAN}])\(({_SYLLABLE})\)")
_LOST_RE = re.compile(rf"[?\ufffd]({_SYLLABLE})\)")
_HAS_TONE_RE = re.compile(f"[{_TONED}]")
_BEAM = 64
# What Chinese prose is made of; anything else a rebuilt span decodes to (box drawing,
# Greek, Cyrillic, kana, small forms, private use) counts against that reading.
_ODD_RE = re.compile(
    f"[^\u0020-\u007e\u00b7\u2010-\u2027\u2030-\u203a\u3000-\u303f\uff01-\uff5e{_HAN}\n]"
)
_CODEC = "gbk"


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
    from crawler.text.encoding import _common_han

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


def _template(paragraph: str) -> tuple[list[bytes | _Lost], int] | None:
    """The paragraph as bytes with annotations dropped and a candidate set for every lost
    byte, or ``None`` when part of it cannot be GBK (then it cannot be rebuilt)."""
    parts: list[bytes | _Lost] = []
    removed = 0
    position = 0
    pattern = re.compile(f"{_LOST_RE.pattern}|{_ANNOTATION_RE.pattern}")
    for match in pattern.finditer(paragraph):
        lost, annotation = match.group(1), match.group(2)
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
    # by turning a character into a comma.
    cost = sum(
        math.log(ranks.get(ch, 1000 if not re.match(f"[{_HAN}]", ch) else 20000) + 10)
        for ch in wide
    )
    return -cost / han + 2.0 * hits / han - 2.0 * min(simplified_only, traditional_only) - 3.0 * odd


@lru_cache(maxsize=1)
def _common_words() -> frozenset[str]:
    from importlib import resources

    data = resources.files("crawler.text").joinpath("data/common_words.txt").read_text("utf-8")
    return frozenset(line for line in data.splitlines() if line and not line.startswith("#"))


def _solve(parts: list[bytes | _Lost]) -> tuple[str, int] | None:
    """Beam search over the lost bytes: keep the prefixes that decode strictly, ranked by
    how common their characters are. Returns the text and how many of the rebuilt spans
    still hold a rare character (bytes the corruption destroyed, not only shifted)."""
    beams: list[bytes] = [b""]
    for part in parts:
        if isinstance(part, bytes):
            extended = [prefix + part for prefix in beams]
        else:
            extended = [prefix + bytes([byte]) for prefix in beams for byte in part.candidates]
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
    offsets = []
    position = 0
    for part in parts:
        position += len(part) if isinstance(part, bytes) else 1
        if isinstance(part, _Lost):
            offsets.append(position - 1)
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
            if any(re.match(f"[{_HAN}]", ch) and ch not in ranks for ch in window):
                doubtful += 1
        return text, doubtful
    return None


def repair_pinyin(text: str) -> PinyinRepair:
    """Remove inserted readings and rebuild corrupted spans, paragraph by paragraph."""
    if "(" not in text or not _looks_annotated(text):
        return PinyinRepair(text)
    result = PinyinRepair("")
    paragraphs = []
    for paragraph in text.split("\n"):
        if _LOST_RE.search(paragraph):
            template = _template(paragraph)
            solved = _solve(template[0]) if template else None
            lost = len(_LOST_RE.findall(paragraph))
            if solved is not None and template is not None:
                paragraph, doubtful = solved
                result.spans_reconstructed += lost - doubtful
                result.spans_left += doubtful
                result.annotations_removed += template[1] - lost
            else:
                result.spans_left += lost
                paragraph = _LOST_RE.sub("", paragraph)
        paragraph, removed = remove_annotations(paragraph)
        result.annotations_removed += removed
        paragraphs.append(paragraph)
    result.text = "\n".join(paragraphs)
    return result
