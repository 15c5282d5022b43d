"""Turn a page's bytes into text with the right codec, and say why that codec.

Decision chain (first that holds wins):

1. an explicit per-source ``encoding`` override;
2. a byte-order mark;
3. bytes that are valid UTF-8 and contain multi-byte sequences: UTF-8, whatever a header
   or meta tag claims (a gb2312 meta on a UTF-8 page is common, and the reverse cannot
   decode strictly);
4. the HTTP header charset, then the meta/XML declaration, each only when the bytes decode
   strictly under it and the result is plausible (Chinese bytes read as cp1252 are not);
5. a guess: Chinese codecs are scored by how common the decoded Han characters are (short
   pages included, where a statistical detector picks cp949 or Shift_JIS for Chinese);
   anything else goes to charset-normalizer restricted to codecs news pages use.

Labels are mapped the way browsers map them: GB2312/GBK decode as GB18030 (a superset),
Big5 as cp950 or Big5-HKSCS, whichever decodes cleanly, ISO-8859-1 and ASCII as cp1252.
Everything here is I/O-free.
"""

from __future__ import annotations

import codecs
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from charset_normalizer import from_bytes

__all__ = [
    "Decoded",
    "decode_bytes",
    "find_declared_charset",
    "han_commonness",
    "han_ranks",
    "normalize_label",
]

LOGGER = logging.getLogger(__name__)

_META_CHARSET_RE = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE
)
_XML_DECL_RE = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.:-]+)["']""")
_HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_MOJIBAKE_RE = re.compile(r"[\u00c0-\u00ff][\u0080-\u00ff\u2018-\u203a\u0152-\u0192]")

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

# WHATWG-style label mapping: the decoder a browser actually uses for a label.
_LABEL_MAP = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "gb18030": "gb18030",
    "hz": "gb18030",
    "big5": "big5",
    "big5hkscs": "big5",
    "cp950": "big5",
    "latin_1": "cp1252",
    "iso8859_1": "cp1252",
    "ascii": "cp1252",
    "cp1252": "cp1252",
    "shift_jis": "cp932",
    "cp932": "cp932",
    "euc_kr": "cp949",
    "cp949": "cp949",
    "utf_8": "utf-8",
    "utf_16": "utf-16",
}

# Labels browsers accept that Python's codec registry does not know.
_LABEL_ALIASES = {
    "x-gbk": "gbk",
    "gb_2312-80": "gb2312",
    "chinese": "gb2312",
    "csgb2312": "gb2312",
    "iso-ir-58": "gb2312",
    "x-x-big5": "big5",
    "cn-big5": "big5",
    "csbig5": "big5",
    "x-sjis": "shift_jis",
    "windows-31j": "cp932",
    "ks_c_5601-1987": "euc_kr",
    "ks_c_5601-1989": "euc_kr",
    "unicode-1-1-utf-8": "utf-8",
    "unicode11utf8": "utf-8",
    "x-unicode20utf8": "utf-8",
}

# What a news page plausibly uses, for the statistical fallback.
_GUESS_CODECS = [
    "utf_8",
    "gb18030",
    "big5",
    "cp950",
    "big5hkscs",
    "cp932",
    "euc_jp",
    "cp949",
    "cp1252",
    "iso8859_15",
    "cp1251",
    "koi8_r",
    "cp1250",
    "iso8859_2",
]

_CJK_CODECS = ("gb18030", "cp950", "big5hkscs")
_LATIN_NEIGHBOURS = {"cp1250", "iso8859_2", "iso8859_15", "latin_1", "iso8859_1", "cp1252"}
_SINGLE_BYTE = {"cp1252", "iso8859_15", "cp1251", "koi8_r", "cp1250", "iso8859_2", "latin_1"}


@dataclass(frozen=True)
class Decoded:
    """Decoded text with the codec used (a Python codec name) and why it was chosen."""

    text: str
    encoding: str
    reason: str
    declared: str | None = None
    replaced: int = 0


COMMON_RANKS = 1500


@lru_cache(maxsize=1)
def han_ranks() -> dict[str, int]:
    """Frequency rank of the 4,000 most frequent Chinese characters, Traditional forms
    sharing the rank of their Simplified form (0 = most frequent)."""
    data = resources.files("crawler.text").joinpath("data/common_han.txt").read_text("utf-8")
    lines = [line for line in data.splitlines() if line and not line.startswith("#")]
    return {char: rank for rank, line in enumerate(lines) for char in line}


@lru_cache(maxsize=1)
def _common_han() -> frozenset[str]:
    return frozenset(char for char, rank in han_ranks().items() if rank < COMMON_RANKS)


def han_commonness(text: str) -> tuple[float, int]:
    """Share of Han characters in ``text`` that are among the most frequent Chinese
    characters, and how many Han characters there are. Real Chinese prose scores
    about 0.8; bytes decoded with the wrong CJK codec score below 0.35."""
    han = _HAN_RE.findall(text)
    if not han:
        return 0.0, 0
    common = _common_han()
    return sum(1 for ch in han if ch in common) / len(han), len(han)


def normalize_label(label: str) -> str | None:
    """Map a declared charset label to the codec to decode with, or ``None`` if unknown."""
    label = label.strip().strip("\"'").lower()
    label = _LABEL_ALIASES.get(label, label)
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    key = name.replace("-", "_")
    return _LABEL_MAP.get(key, name)


def find_declared_charset(body: bytes) -> tuple[str | None, str | None]:
    """The charset declared in the document itself: ``(label, where)`` with ``where``
    ``"meta"`` or ``"xml-declaration"``."""
    head = body[:4096]
    match = _XML_DECL_RE.match(head)
    if match:
        return match.group(1).decode("ascii", "replace"), "xml-declaration"
    match = _META_CHARSET_RE.search(head)
    if match:
        return match.group(1).decode("ascii", "replace"), "meta"
    return None, None


def _strict(body: bytes, codec: str) -> str | None:
    try:
        return body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _has_multibyte_utf8(body: bytes) -> bool:
    return any(b >= 0x80 for b in body)


def _decode_big5(body: bytes) -> tuple[str, str] | None:
    for codec in ("cp950", "big5hkscs"):
        text = _strict(body, codec)
        if text is not None:
            return text, codec
    return None


def _decode_as(body: bytes, codec: str) -> tuple[str, str] | None:
    if codec == "big5":
        return _decode_big5(body)
    text = _strict(body, codec)
    return None if text is None else (text, codec)


def _plausible(text: str, codec: str, body: bytes) -> bool:
    """Whether ``text`` is a believable reading of ``body`` under ``codec``."""
    if codec in _SINGLE_BYTE:
        # Chinese, Japanese or Korean bytes read as a Western codec: pairs of accented
        # letters and symbols with no spaces between them.
        high = sum(1 for b in body if b >= 0x80)
        if high == 0:
            return True
        pairs = len(_LATIN_MOJIBAKE_RE.findall(text))
        return pairs * 2 < high * 0.5
    if codec in _CJK_CODECS:
        score, count = han_commonness(text)
        return count == 0 or score >= 0.45 or (count < 8 and score >= 0.25)
    return True


def _best_chinese(body: bytes) -> tuple[str, str, float] | None:
    best: tuple[str, str, float] | None = None
    for codec in ("gb18030", "big5"):
        decoded = _decode_as(body, codec)
        if decoded is None:
            continue
        score, count = han_commonness(decoded[0])
        if count < 2:
            continue
        if best is None or score > best[2]:
            best = (decoded[0], decoded[1], score)
    return best


def decode_bytes(
    body: bytes,
    *,
    http_charset: str | None = None,
    override: str | None = None,
) -> Decoded:
    """Decode ``body`` (a page, feed or sitemap) following the chain in the module doc."""
    declared_label, declared_where = find_declared_charset(body)
    declared = http_charset or declared_label

    if override:
        codec = normalize_label(override) or override
        decoded = _decode_as(body, codec)
        if decoded is not None:
            return Decoded(decoded[0], decoded[1], "source override", declared)
        codec = "cp950" if codec == "big5" else codec
        text = body.decode(codec, errors="replace")
        return Decoded(
            text, codec, "source override (with replacements)", declared, text.count("\ufffd")
        )

    for bom, codec in _BOMS:
        if body.startswith(bom):
            return Decoded(body.decode(codec, errors="replace"), codec, "byte-order mark", declared)

    if _has_multibyte_utf8(body):
        utf8 = _strict(body, "utf-8")
        if utf8 is not None:
            why = "valid multi-byte UTF-8"
            if declared and normalize_label(declared) not in ("utf-8", None):
                why += f" (overrides declared {declared})"
            return Decoded(utf8, "utf-8", why, declared)
    else:
        return Decoded(body.decode("ascii"), "ascii", "ASCII only", declared)

    for label, where in ((http_charset, "HTTP header"), (declared_label, declared_where)):
        if not label:
            continue
        label_codec = normalize_label(label)
        if label_codec is None or label_codec == "utf-8":
            continue
        decoded = _decode_as(body, label_codec)
        if decoded is not None and _plausible(decoded[0], decoded[1], body):
            return Decoded(decoded[0], decoded[1], f"declared {label} in {where}", declared)
        LOGGER.debug("declared charset %s (%s) rejected", label, where)

    chinese = _best_chinese(body)
    if chinese is not None and chinese[2] >= 0.45:
        why = f"guessed: Chinese, {chinese[2]:.0%} common Han characters"
        if declared:
            why += f" (declared {declared} does not fit)"
        return Decoded(chinese[0], chinese[1], why, declared)

    match = from_bytes(body, cp_isolation=_GUESS_CODECS).best()
    if match is not None:
        codec = codecs.lookup(match.encoding).name
        if codec.replace("-", "_") in _LATIN_NEIGHBOURS:
            # Undeclared Western pages are cp1252 (the web's default); statistics on a
            # few accented letters cannot tell it from its Central European neighbours.
            western = _strict(body, "cp1252")
            if western is not None and _plausible(western, "cp1252", body):
                why = "guessed: Western (cp1252)"
                if declared:
                    why += f" (declared {declared} does not fit)"
                return Decoded(western, "cp1252", why, declared)
        why = "guessed by charset-normalizer"
        if declared:
            why += f" (declared {declared} does not fit)"
        return Decoded(str(match), codec, why, declared)

    text = body.decode("utf-8", errors="replace")
    return Decoded(
        text, "utf-8", "undecodable: UTF-8 with replacements", declared, text.count("\ufffd")
    )
