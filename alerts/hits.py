"""Folded text and the hits found in it: the primitives every scan of an article shares.

Folding (:func:`fold_with_offsets`) makes matching width-insensitive (Ｈ２０ is H20), Latin
case-insensitive unless asked, and script-insensitive without merging distinct characters
(:func:`crawler.text.fold.fold_char`), and maps every folded character back to the text's
own, so a :class:`Hit` is a span of the article as written. I/O-free.
"""

from __future__ import annotations

import unicodedata
from typing import NamedTuple

from crawler.text.fold import fold_char

__all__ = ["WORD_CHARS", "Hit", "fold_term", "fold_with_offsets", "same_case"]

WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


# Per case mode: code point -> folded text (for str.translate), and the characters that
# do not fold to exactly one character (their presence needs an offset map).
_TABLES: dict[bool, dict[int, str]] = {False: {}, True: {}}
_NOT_ONE_TO_ONE: dict[bool, set[str]] = {False: set(), True: set()}


def _fold_one(char: str, keep_case: bool) -> str:
    normal = unicodedata.normalize("NFKC", char)
    if not keep_case:
        normal = normal.casefold()
    return "".join(fold_char(piece) for piece in normal)


def fold_with_offsets(text: str, *, keep_case: bool = False) -> tuple[str, list[int] | None]:
    """The folded text and, for each of its characters, the index of the character of
    ``text`` it came from (folding can turn one character into several); ``None`` when
    every character folded to exactly one, so positions are the same."""
    table = _TABLES[keep_case]
    odd = _NOT_ONE_TO_ONE[keep_case]
    chars = set(text)
    for char in chars:
        if ord(char) not in table:
            folded = _fold_one(char, keep_case)
            table[ord(char)] = folded
            if len(folded) != 1:
                odd.add(char)
    if not (chars & odd):
        return text.translate(table), None
    pieces = [table[ord(char)] for char in text]
    offsets = [index for index, piece in enumerate(pieces) for _ in piece]
    return "".join(pieces), offsets


def fold_term(term: str, *, keep_case: bool = False) -> str:
    return fold_with_offsets(term.strip(), keep_case=keep_case)[0]


class Hit(NamedTuple):
    """Where a term occurred: ``field`` and the span ``start:end`` in that field's text;
    for an entity, which entity and which of its aliases."""

    term: str
    field: str
    start: int
    end: int
    entity: str | None = None
    alias: str | None = None


def same_case(text: str, hit: Hit, original: str) -> bool:
    return unicodedata.normalize("NFKC", text[hit.start : hit.end]) == unicodedata.normalize(
        "NFKC", original
    )
