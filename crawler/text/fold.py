"""Fold text for matching: width, case and Traditional/Simplified differences removed.

Used wherever two spellings of the same word must compare equal (search, fingerprints,
alert rules) and never for the stored text itself. Characters are folded Traditional →
Simplified one by one with OpenCC, *except* characters that the Simplified standard
(GB2312) itself contains: 昇 stays 昇 (OpenCC would make it 升, so 升腾 would match 昇腾),
while 騰 becomes 腾 and 後 becomes 后.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

__all__ = ["KEEP_DISTINCT", "fold_char", "fold_text"]

# Characters of the 2013 General Standard Chinese Characters table that OpenCC's t2s
# folds into a different character; written by hand because no library lists them.
KEEP_DISTINCT = frozenset("昇乾甦蒐瞭堃喆邨仝淼陞")

_fold_table: dict[int, str] = {}


@lru_cache(maxsize=1)
def _t2s():  # type: ignore[no-untyped-def]
    from opencc import OpenCC

    return OpenCC("t2s")


def fold_char(ch: str) -> str:
    """The folded form of one (NFKC-normalised, case-folded) character."""
    if ch < "\u3400" or ch in KEEP_DISTINCT:
        return ch
    converted = _t2s().convert(ch)
    return converted if len(converted) == 1 else ch


def fold_text(text: str) -> str:
    """NFKC (full-width → ASCII), case-folded, Traditional characters folded to Simplified."""
    text = unicodedata.normalize("NFKC", text).casefold()
    missing = {ord(ch) for ch in set(text) if ord(ch) not in _fold_table}
    for code in missing:
        _fold_table[code] = fold_char(chr(code))
    return text.translate(_fold_table)
