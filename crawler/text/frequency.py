"""Character and word frequency tables, read once from ``crawler/text/data``.

Chinese characters and two-character words come from jieba's dictionary
(``tools/make_common_han.py``, ``tools/make_common_words.py``); Japanese kanji and kana and
Korean Hangul syllables from wordfreq's word lists (``tools/make_common_cjk.py``). They
let the decoder and the repairs judge whether a reading is text a person wrote. I/O-free
apart from reading the package's own data files once.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

__all__ = ["COMMON_RANKS", "common_han", "common_words", "han_commonness", "han_ranks", "ranks"]

COMMON_RANKS = 1500
_HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def _lines(name: str) -> list[str]:
    data = resources.files("crawler.text").joinpath(f"data/{name}").read_text("utf-8")
    return [line for line in data.splitlines() if line and not line.startswith("#")]


@lru_cache(maxsize=1)
def han_ranks() -> dict[str, int]:
    """Frequency rank of the 4,000 most frequent Chinese characters, Traditional forms
    sharing the rank of their Simplified form (0 = most frequent)."""
    return {char: rank for rank, line in enumerate(_lines("common_han.txt")) for char in line}


@lru_cache(maxsize=1)
def common_han() -> frozenset[str]:
    """The Chinese characters ranked below ``COMMON_RANKS`` (both scripts)."""
    return frozenset(char for char, rank in han_ranks().items() if rank < COMMON_RANKS)


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """The 30,000 most frequent two-character Chinese words (Simplified)."""
    return frozenset(_lines("common_words.txt"))


@lru_cache(maxsize=4)
def ranks(language: str) -> dict[str, int]:
    """Frequency rank of the characters of ``language`` (``"ja"``: kanji and kana, ``"ko"``:
    Hangul syllables; 0 = most frequent)."""
    return {char: rank for rank, char in enumerate(_lines(f"common_{language}.txt"))}


def han_commonness(text: str) -> tuple[float, int]:
    """Share of Han characters in ``text`` that are among the most frequent Chinese
    characters, and how many Han characters there are. Real Chinese prose scores
    about 0.8; bytes decoded with the wrong CJK codec score below 0.35."""
    han = _HAN_RE.findall(text)
    if not han:
        return 0.0, 0
    common = common_han()
    return sum(1 for ch in han if ch in common) / len(han), len(han)
