"""Decide an article's language as a BCP 47 tag (``zh-Hans``, ``zh-Hant``, ``en``, ...).

Script first: langdetect labels Traditional Chinese as Korean often enough to be useless for
it, so Han, Hangul and kana shares decide Chinese, Korean and Japanese. Simplified versus
Traditional is decided by how much OpenCC's conversion changes the text: Traditional text
changes a lot under Traditional→Simplified and hardly at all the other way. Everything else
goes to langdetect with a fixed seed, so the same text always gets the same label.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

__all__ = ["chinese_script", "detect_language", "script_counts"]

_HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_HANGUL_RE = re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")
_KANA_RE = re.compile(r"[\u3040-\u30ff]")
_LETTER_RE = re.compile(r"[^\W\d_]")

_SAMPLE = 4000


@lru_cache(maxsize=1)
def _script_sets() -> tuple[frozenset[str], frozenset[str]]:
    """Characters OpenCC's character tables change Simplified→Traditional (Simplified-only)
    and Traditional→Simplified (Traditional-only), read once from its dictionaries; per
    character, this is what a full conversion changes, at a fraction of the cost."""
    import opencc

    folder = Path(opencc.__file__).parent / "dictionary"
    sets = []
    for name in ("STCharacters.txt", "TSCharacters.txt"):
        changed = set()
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            key, _, values = line.partition("\t")
            if len(key) == 1 and values.split() and values.split()[0] != key:
                changed.add(key)
        sets.append(frozenset(changed))
    return sets[0], sets[1]


def script_counts(text: str) -> tuple[int, int]:
    """How many Han characters of ``text`` are Simplified-only and Traditional-only: changed
    by OpenCC's Simplified→Traditional and Traditional→Simplified character tables."""
    simplified_only, traditional_only = _script_sets()
    han = _HAN_RE.findall(text[: _SAMPLE * 2])[:_SAMPLE]
    return (
        sum(1 for ch in han if ch in simplified_only),
        sum(1 for ch in han if ch in traditional_only),
    )


def chinese_script(text: str) -> str:
    """``"Hant"`` or ``"Hans"`` for Chinese ``text``, by OpenCC conversion distance."""
    simplified_chars, traditional_chars = script_counts(text)
    return "Hant" if traditional_chars > simplified_chars else "Hans"


def detect_language(text: str, *, hint: str | None = None) -> str:
    """The BCP 47 tag for ``text``; ``hint`` (a source's configured language) is used when
    the text is too short to tell, and to choose between scripts it agrees with."""
    sample = text[:_SAMPLE]
    letters = len(_LETTER_RE.findall(sample))
    if letters == 0:
        return hint or "und"
    han = len(_HAN_RE.findall(sample))
    hangul = len(_HANGUL_RE.findall(sample))
    kana = len(_KANA_RE.findall(sample))
    if kana and kana >= 0.05 * letters:
        return "ja"
    if hangul and hangul >= 0.2 * letters:
        return "ko"
    if han and han >= 0.2 * letters:
        return f"zh-{chinese_script(sample)}"
    if letters < 20 and hint:
        return hint
    if _looks_english(sample):
        return "en"
    # langdetect's cost grows with the text; a thousand characters decide a language.
    return _langdetect(sample[:1000]) or hint or "und"


_ENGLISH_STOPWORDS = frozenset(
    [
        "the",
        "of",
        "and",
        "to",
        "in",
        "a",
        "is",
        "that",
        "for",
        "on",
        "with",
        "as",
        "by",
        "was",
        "it",
        "at",
        "from",
        "said",
        "be",
        "are",
        "has",
        "have",
        "this",
        "will",
        "its",
        "an",
        "were",
        "which",
        "their",
    ]
)
_WORD_RE = re.compile(r"[A-Za-z]+")


def _looks_english(text: str) -> bool:
    """A cheap, deterministic shortcut before langdetect (about 15 ms a call): English
    prose is a quarter function words; French, German or Spanish prose is not."""
    words = _WORD_RE.findall(text[:2000])
    if len(words) < 20:
        return False
    hits = sum(1 for word in words if word.lower() in _ENGLISH_STOPWORDS)
    return hits >= 0.2 * len(words)


def _langdetect(text: str) -> str | None:
    from langdetect import DetectorFactory, LangDetectException, detect

    DetectorFactory.seed = 0
    try:
        code = detect(text)
    except LangDetectException:
        return None
    if code.startswith("zh"):
        return "zh-Hant" if code == "zh-tw" else "zh-Hans"
    return code
