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

__all__ = ["chinese_script", "detect_language"]

_HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_HANGUL_RE = re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")
_KANA_RE = re.compile(r"[\u3040-\u30ff]")
_LETTER_RE = re.compile(r"[^\W\d_]")

_SAMPLE = 4000


@lru_cache(maxsize=2)
def _opencc(config: str):  # type: ignore[no-untyped-def]
    from opencc import OpenCC

    return OpenCC(config)


def chinese_script(text: str) -> str:
    """``"Hant"`` or ``"Hans"`` for Chinese ``text``, by OpenCC conversion distance."""
    han = "".join(_HAN_RE.findall(text[: _SAMPLE * 2]))[:_SAMPLE]
    if not han:
        return "Hans"
    to_simplified = _opencc("t2s").convert(han)
    to_traditional = _opencc("s2t").convert(han)
    traditional_chars = sum(1 for a, b in zip(han, to_simplified, strict=False) if a != b)
    simplified_chars = sum(1 for a, b in zip(han, to_traditional, strict=False) if a != b)
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
    return _langdetect(sample) or hint or "und"


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
