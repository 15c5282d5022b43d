"""Turn a page's bytes into text with the right codec, and say why that codec.

Decision chain (first that holds wins):

1. an explicit per-source ``encoding`` override;
2. a byte-order mark;
3. 7-bit encodings recognised by their escape sequences (ISO-2022-JP, ISO-2022-KR, HZ);
4. bytes that are valid UTF-8 and contain multi-byte sequences: UTF-8, whatever a header
   or meta tag claims (a gb2312 meta on a UTF-8 page is common, and the reverse cannot
   decode strictly);
5. the HTTP header charset, then the meta/XML declaration, each only when the bytes decode
   under it and the result is plausible (Chinese bytes read as cp1252 are not);
6. GB18030 or Big5 that reads clearly as Chinese (common characters forming words);
7. a page in two encodings, which no codec reads whole (UTF-8 runs pasted into a GBK or
   Big5 page, ``segments.py``): decoded in segments;
8. a guess: the bytes are read with every codec news pages use (GB18030, Big5, EUC-KR/
   cp949, Shift_JIS/cp932, EUC-JP, cp1252, ISO-8859-1, cp1250, ISO-8859-2, cp1251,
   KOI8-R) and the reading a person could have written wins (``plausible.py``: common
   characters of the language it yields, script mix, letters of one alphabet). Where two
   readings score close, the reason names the runner-up and why it lost;
9. when no codec reads every byte, the most plausible reading with the fewest
   replacement characters, never one whose text is implausible when another is not.

Labels are mapped the way browsers map them: GB2312/GBK decode as GB18030 (a superset),
Big5 as cp950 or Big5-HKSCS (per character when a page needs both), ISO-8859-1 and ASCII
as cp1252, Shift_JIS as cp932, EUC-KR as cp949. Everything here is I/O-free.
"""

from __future__ import annotations

import codecs
import logging
import re
from dataclasses import dataclass, replace

from crawler.text.frequency import COMMON_RANKS, han_commonness, han_ranks
from crawler.text.guess import clearly_chinese, declared_fits, decode_as, guess, strict
from crawler.text.plausible import judge
from crawler.text.segments import decode_segments, utf8_runs

__all__ = [
    "COMMON_RANKS",
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

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# 7-bit encodings: the escape sequence that announces each, and the codecs to try.
_ESCAPED = (
    (
        (b"\x1b$B", b"\x1b$@", b"\x1b(J", b"\x1b(I"),
        ("iso2022_jp", "iso2022_jp_ext", "iso2022_jp_2"),
    ),
    ((b"\x1b$)C",), ("iso2022_kr",)),
    ((b"~{",), ("hz",)),
)

# WHATWG-style label mapping: the decoder a browser actually uses for a label.
_LABEL_MAP = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "gb18030": "gb18030",
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
    "x-euc-jp": "euc_jp",
    "ks_c_5601-1987": "euc_kr",
    "ks_c_5601-1989": "euc_kr",
    "unicode-1-1-utf-8": "utf-8",
    "unicode11utf8": "utf-8",
    "x-unicode20utf8": "utf-8",
}

_LEGACY_FOR_SEGMENTS = ("gb18030", "big5")
# A reading at least this believable is text a person wrote.
_PLAUSIBLE = 0.6


@dataclass(frozen=True)
class Decoded:
    """Decoded text with the codec used (a Python codec name) and why it was chosen.
    ``runner_up`` names the closest other reading when the statistics were close;
    ``utf8_segments`` counts the UTF-8 runs of a page in two encodings."""

    text: str
    encoding: str
    reason: str
    declared: str | None = None
    replaced: int = 0
    runner_up: str | None = None
    utf8_segments: int = 0


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


def _segmented(body: bytes, label_codec: str | None, declared: str | None) -> Decoded | None:
    """A legacy page with UTF-8 runs pasted into it, decoded in segments."""
    if not utf8_runs(body):
        return None
    legacy = (
        (label_codec,)
        if label_codec in _LEGACY_FOR_SEGMENTS + ("cp949", "cp932", "euc_jp")
        else _LEGACY_FOR_SEGMENTS
    )
    best = None
    for codec in legacy:
        name = "cp950" if codec == "big5" else codec
        result = decode_segments(body, name)
        if (
            result is not None
            and result.utf8_segments
            and (best is None or result.cost < best.cost)
        ):
            best = result
    if best is None:
        return None
    why = f"mixed: {best.utf8_segments} UTF-8 run(s) in a {best.codec} page, decoded in segments"
    if declared:
        why += f" (declared {declared})"
    return Decoded(best.text, best.codec, why, declared, utf8_segments=best.utf8_segments)


# Where Python's cp950 and browsers (the WHATWG Big5 index) read a Big5 byte pair as
# different characters: 0xA241, the slash of every Taiwanese byline (記者…／台北), is
# U+FF0F to a browser and U+2215 to cp950; 0xA242 likewise.
_CP950_AS_BROWSERS = str.maketrans({"\u2215": "\uff0f", "\ufe68": "\uff3c"})


def decode_bytes(
    body: bytes,
    *,
    http_charset: str | None = None,
    override: str | None = None,
) -> Decoded:
    """Decode ``body`` (a page, feed or sitemap) following the chain in the module doc;
    Big5 punctuation as browsers show it."""
    decoded = _decode_bytes(body, http_charset=http_charset, override=override)
    if decoded.encoding == "cp950":
        return replace(decoded, text=decoded.text.translate(_CP950_AS_BROWSERS))
    return decoded


def _decode_bytes(
    body: bytes,
    *,
    http_charset: str | None,
    override: str | None,
) -> Decoded:
    declared_label, declared_where = find_declared_charset(body)
    declared = http_charset or declared_label

    if override:
        codec = normalize_label(override) or override
        decoded = decode_as(body, codec)
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

    if body.isascii():
        for escapes, candidates in _ESCAPED:
            if any(escape in body for escape in escapes):
                for codec in candidates:
                    escaped = strict(body, codec)
                    if escaped is not None and judge(escaped).score >= _PLAUSIBLE:
                        return Decoded(escaped, codec, f"{codec} escape sequences", declared)
        return Decoded(body.decode("ascii"), "ascii", "ASCII only", declared)

    utf8 = strict(body, "utf-8")
    if utf8 is not None:
        why = "valid multi-byte UTF-8"
        if declared and normalize_label(declared) not in ("utf-8", None):
            why += f" (overrides declared {declared})"
        return Decoded(utf8, "utf-8", why, declared)

    labels = ((http_charset, "HTTP header"), (declared_label, declared_where))
    label_codecs = [normalize_label(label) for label, _ in labels if label]
    for label, where in labels:
        if not label:
            continue
        label_codec = normalize_label(label)
        if label_codec is None or label_codec == "utf-8":
            continue
        decoded = decode_as(body, label_codec)
        if decoded is not None and declared_fits(decoded[0], decoded[1]):
            return Decoded(decoded[0], decoded[1], f"declared {label} in {where}", declared)
        LOGGER.debug("declared charset %s (%s) rejected", label, where)

    chinese = clearly_chinese(body)
    if chinese is not None:
        why = f"guessed: {chinese[2]}"
        if declared:
            why += f" (declared {declared} does not fit)"
        return Decoded(chinese[0], chinese[1], why, declared)

    # No codec reads every byte as Chinese: a page in two encodings?
    mixed = _segmented(body, next((c for c in label_codecs if c), None), declared)
    if mixed is not None:
        return mixed

    guessed = guess(body)
    if guessed is not None:
        why = guessed.reason
        if declared:
            why += f" (declared {declared} does not fit)"
        return Decoded(
            guessed.text, guessed.codec, why, declared, guessed.replaced, guessed.runner_up
        )
    text = body.decode("utf-8", errors="replace")
    return Decoded(
        text, "utf-8", "undecodable: UTF-8 with replacements", declared, text.count("\ufffd")
    )
