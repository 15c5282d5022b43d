"""How believable a decoded text is as writing in the language its characters suggest.

The decoder reads undeclared bytes with every codec a news page may use and keeps the
reading a person could have written. A wrong codec still yields characters, but not the
ones a language is written with: Korean EUC-KR read as GB18030 gives common Chinese
characters in short runs separated by spaces, which Chinese never has; Shift_JIS read as
GB18030 gives rare characters; Polish cp1250 read as cp1252 gives ``³`` and ``¹`` inside
words; Russian cp1251 read as KOI8-R gives words in upper case after a lower-case first
letter. ``judge`` scores a text under each script's hypothesis (Chinese, Japanese, Korean,
Latin-script languages, Cyrillic) and returns the best, in [0, 1], with a note that says why.

The alphabets below are written by hand: they are each language's letters, and no library
the project uses lists them (charset-normalizer's tables hold only the 26 most frequent
letters). Everything here is I/O-free.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from crawler.text.frequency import common_han, common_words, han_ranks, ranks

__all__ = ["Judgement", "judge", "word_pairs"]

_SAMPLE = 3000
_DENSE_RE = re.compile(r"[^\x00-\x7f][^<>]{0,400}")
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_NON_ASCII_RE = re.compile(r"[^\x00-\x7f]")
_HAN_RE = re.compile(f"[{_HAN}]")
_HAN_RUN_RE = re.compile(f"[{_HAN}]+")
_SPACED_HAN_RE = re.compile(f"(?<=[{_HAN}]) +(?=[{_HAN}])")
_KANA_RE = re.compile(r"[\u3041-\u309f\u30a0-\u30ff]")
_HANGUL_RE = re.compile(r"[\uac00-\ud7a3]")
# Characters real prose in these languages hardly ever holds, though CJK codecs and
# single-byte codecs can produce them: Hangul jamo, half-width katakana, box drawing,
# private use, C1 controls, enclosed and compatibility forms, replacement characters.
_ODD_RE = re.compile(
    r"[\u0080-\u009f\u1100-\u11ff\u3130-\u318f\uff61-\uff9f\u2500-\u25ff\ue000-\uf8ff"
    r"\u2460-\u24ff\u3200-\u33ff\ufe30-\ufe4f\ufffd\u2160-\u217f\u2190-\u21ff\u2200-\u22ff]"
)
_CYRILLIC_RE = re.compile(r"[\u0400-\u04ff]")
_LATIN_EXTRA_RE = re.compile(r"[\u00c0-\u024f]")
_SANDWICHED_RE = re.compile(
    r"(?<=[A-Za-z\u00c0-\u024f])[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7a3]+(?=[A-Za-z\u00c0-\u024f])"
)
_HIGH_RUN_RE = re.compile(r"[^\x00-\x7f\u00a0]{3,}")
_CYRILLIC_WORD_RE = re.compile(r"[\u0400-\u04ff]+")
_MIXED_CYRILLIC_RE = re.compile(r"(?<=[A-Za-z])[\u0400-\u04ff]|[\u0400-\u04ff](?=[A-Za-z])")
_WORD_RE = re.compile(r"[^\W\d_][^\W\d_’'-]*")
_TAG_RE = re.compile(r"<[^>]*>")
_DETECT_SAMPLE = 600
# Word-internal punctuation: apostrophes, hyphens, the Catalan middle dot.
_WORD_INTERNAL = frozenset("’‘'‐-·")

# The non-ASCII letters of each language written in a Latin single-byte codec (lower case).
ALPHABETS: dict[str, str] = {
    "fr": "àâæçéèêëîïôœùûüÿ",
    "de": "äöüß",
    "es": "áéíñóúü",
    "pt": "áâãàçéêíóôõú",
    "it": "àèéìíîòóùú",
    "nl": "äëïöüéèêóáíú",
    "ca": "àçéèíïòóúü",
    "sv": "åäöé",
    "da": "æøåé",
    "no": "æøåéô",
    "fi": "äöåšž",
    "is": "áðéíóúýþæö",
    "ga": "áéíóú",
    "sq": "çë",
    "pl": "ąćęłńóśźż",
    "cs": "áčďéěíňóřšťúůýž",
    "sk": "áäčďéíĺľňóôŕšťúýž",
    "sl": "čšžćđ",
    "hr": "čćđšž",
    "hu": "áéíóöőúüű",
    "ro": "ăâîșțşţ",
    "et": "äöõüšž",
    "tr": "çğıöşüâî",
}
_ALPHABET_SETS = {lang: frozenset(letters) for lang, letters in ALPHABETS.items()}
# The most frequent letters of Cyrillic-script languages (charset-normalizer's tables).
_CYRILLIC_LANGUAGES = ("Russian", "Ukrainian", "Bulgarian", "Serbian", "Kazakh")


@dataclass(frozen=True)
class Judgement:
    """The language a text reads as (``zh``, ``ja``, ``ko``, a Latin-script language code,
    ``cyrillic``, ``ascii``), how believable it is (0–1) and why."""

    language: str
    score: float
    note: str


@lru_cache(maxsize=1)
def _cyrillic_frequent() -> dict[str, frozenset[str]]:
    from charset_normalizer.constant import FREQUENCIES

    return {
        name: frozenset(ch for ch in FREQUENCIES[name][:15] if "\u0400" <= ch <= "\u04ff")
        for name in _CYRILLIC_LANGUAGES
        if name in FREQUENCIES
    }


def word_pairs(text: str) -> tuple[int, int]:
    """Adjacent Han pairs in ``text`` and how many of them are common Chinese words."""
    from crawler.text.fold import fold_text

    words = common_words()
    pairs = hits = 0
    for run in _HAN_RUN_RE.findall(fold_text(text)):
        for i in range(len(run) - 1):
            pairs += 1
            hits += run[i : i + 2] in words
    return pairs, hits


def _chinese(text: str, han: list[str], letters: int) -> Judgement:
    common = common_han()
    known = han_ranks()
    # The 1,500 commonest characters count fully, the next 2,500 half.
    share = sum(1.0 if ch in common else 0.5 if ch in known else 0.0 for ch in han) / len(han)
    pairs, hits = word_pairs(text)
    # A word pair or two says little either way; a sentence's pairs say a lot.
    words = min(1.0, hits / pairs / 0.3) if pairs >= 3 else max(share, hits / max(1, pairs))
    spaced = len(_SPACED_HAN_RE.findall(text)) / len(han)
    score = (0.6 * share + 0.4 * words) * len(han) / letters - 2.0 * spaced
    note = f"Chinese, {share:.0%} common Han characters, {hits}/{pairs} word pairs"
    if spaced > 0.05:
        note += f", spaces between {spaced:.0%} of characters"
    return Judgement("zh", score, note)


def _japanese(han: list[str], kana: list[str], letters: int) -> Judgement:
    table = ranks("ja")
    chars = han + kana
    share = sum(1 for ch in chars if ch in table) / len(chars)
    kana_share = len(kana) / len(chars)
    # Japanese prose is a third kana; a headline may be all kanji, so kanji alone counts
    # for half.
    score = share * (0.5 + 0.5 * min(1.0, kana_share / 0.15)) * len(chars) / letters
    return Judgement("ja", score, f"Japanese, {share:.0%} common kanji and kana")


def _korean(hangul: list[str], han: list[str], letters: int) -> Judgement:
    table = ranks("ko")
    share = sum(1 for ch in hangul if ch in table) / len(hangul)
    # Hanja appear in Korean headlines (韓, 美, 中), a few per text.
    score = share * (len(hangul) + 0.5 * min(len(han), len(hangul) * 0.1)) / letters
    return Judgement("ko", score, f"Korean, {share:.0%} common Hangul syllables")


def _cyrillic(text: str, cyrillic: int, letters: int) -> Judgement:
    # Latin text read with a Cyrillic codec: single Cyrillic letters inside Latin words.
    mixed = len(_MIXED_CYRILLIC_RE.findall(text)) / cyrillic
    natural = total = 0
    counts: Counter[str] = Counter()
    for word in _CYRILLIC_WORD_RE.findall(text):
        counts.update(word.lower())
        if len(word) < 2:
            continue
        tail = word[1:]
        total += len(tail)
        if tail.islower() or word.isupper():
            natural += len(tail)
    case = natural / total if total else 0.5
    letters_seen = sum(counts.values()) or 1
    best_name, best_share = "Russian", 0.0
    for name, frequent in _cyrillic_frequent().items():
        share = sum(n for ch, n in counts.items() if ch in frequent) / letters_seen
        if share > best_share:
            best_name, best_share = name, share
    score = (0.5 * case + 0.5 * min(1.0, best_share / 0.6)) * cyrillic / letters - 2.0 * mixed
    return Judgement("cyrillic", score, f"Cyrillic ({best_name}), {case:.0%} natural case")


def _latin(text: str, non_ascii: list[str]) -> Judgement:
    """Western and Central European text: every accented letter from one language's
    alphabet, no symbols or control characters inside words, no runs of three or more
    non-ASCII characters (which is how CJK bytes look in a single-byte codec)."""
    # A run of accented letters all from one alphabet ("żółć") is a word; CJK bytes read
    # this way give symbols among the letters ("ÖÐ¹ú").
    bad = sum(len(run) for run in _HIGH_RUN_RE.findall(text) if not _one_alphabet(run))
    bad += sum(1 for ch in non_ascii if "\u0080" <= ch <= "\u009f")
    for match in _NON_ASCII_RE.finditer(text):
        ch = match.group()
        if ch.isalpha() or ch in _WORD_INTERNAL:
            continue
        start = match.start()
        before = text[start - 1 : start]
        after = text[start + 1 : start + 2]
        if (before.isalpha() and after.isalpha()) or after.islower():
            bad += 1  # "mo¿e", "£añcuch": a symbol inside or at the start of a word
    letters = [ch.lower() for ch in non_ascii if ch.isalpha()]
    clean = 1.0 - min(1.0, bad / max(1, len(non_ascii)))
    if not letters:
        return Judgement("latin", clean, "no accented letters")
    if clean < 0.5:
        # CJK bytes in a single-byte codec: no need to ask which language it is.
        return Judgement("latin", 0.0, "runs of accented letters and symbols")
    tokens = Counter(letters)
    coverage = {
        lang: 0.5 * sum(n for ch, n in tokens.items() if ch in alphabet) / len(letters)
        + 0.5 * sum(1 for ch in tokens if ch in alphabet) / len(tokens)
        for lang, alphabet in _ALPHABET_SETS.items()
    }
    best_lang = max(coverage, key=coverage.__getitem__)
    best = coverage[best_lang]
    # langdetect says which language the words are in (mostly from their unaccented
    # letters, the same under every Latin codec); the accented letters must then be that
    # language's. For a language with no accents of its own (English), or too few words,
    # the best-covering alphabet counts.
    words = _WORD_RE.findall(_TAG_RE.sub(" ", text))
    spoken = _language_of_words(" ".join(words)[:_DETECT_SAMPLE])
    note = f"{best_lang} letters, {best:.0%} of accented letters"
    if spoken in coverage:
        fit = max(coverage[spoken], best - 0.15)
        note = f"{spoken} words, {coverage[spoken]:.0%} of accented letters {spoken}"
        best_lang, best = spoken, fit
    return Judgement(best_lang, best * clean, note)


@lru_cache(maxsize=64)
def _language_of_words(words: str) -> str | None:
    if len(words) < 8:
        return None
    from crawler.text.language import _langdetect

    return _langdetect(words)


def _one_alphabet(run: str) -> bool:
    letters = set(run.lower())
    return run.isalpha() and any(letters <= alphabet for alphabet in _ALPHABET_SETS.values())


def judge(text: str, *, sample_size: int = _SAMPLE) -> Judgement:
    """The most believable reading of ``text``: its language, a score in [0, 1] and a
    note. Pure ASCII scores 1 (``ascii``). About ``sample_size`` characters around the
    non-ASCII ones are read."""
    sample = text if len(text) <= sample_size else _dense_sample(text, sample_size)
    non_ascii = _NON_ASCII_RE.findall(sample)
    if not non_ascii:
        return Judgement("ascii", 1.0, "ASCII only")
    han = _HAN_RE.findall(sample)
    kana = _KANA_RE.findall(sample)
    hangul = _HANGUL_RE.findall(sample)
    cyrillic = len(_CYRILLIC_RE.findall(sample))
    odd = len(_ODD_RE.findall(sample))
    latin_extra = len(_LATIN_EXTRA_RE.findall(sample))
    letters = len(han) + len(kana) + len(hangul) + cyrillic + latin_extra + odd
    if letters == 0:
        return _latin(sample, non_ascii)
    candidates: list[Judgement] = []
    if han:
        candidates.append(_chinese(sample, han, letters))
    if kana or (han and not hangul):
        candidates.append(_japanese(han, kana, letters))
    if hangul:
        candidates.append(_korean(hangul, han, letters))
    if cyrillic:
        candidates.append(_cyrillic(sample, cyrillic, letters))
    if latin_extra or not candidates:
        latin = _latin(sample, non_ascii)
        candidates.append(
            Judgement(latin.language, latin.score * (latin_extra + 0.0) / letters, latin.note)
        )
    best = max(candidates, key=lambda j: j.score)
    score = best.score
    if best.language in ("zh", "ja", "ko"):
        # A CJK character with Latin letters on both sides ("Za짹ół") is Latin text read
        # with a CJK codec; "H20芯片" and "SK하이닉스" touch Latin on one side only.
        sandwiched = len(_SANDWICHED_RE.findall(sample))
        score -= 3.0 * sandwiched / max(1, len(han) + len(kana) + len(hangul))
    return Judgement(best.language, max(0.0, min(1.0, score)), best.note)


def _dense_sample(text: str, size: int) -> str:
    """About ``size`` characters around the text's non-ASCII characters: the markup of
    a page is the same under every codec, so the sample holds what differs."""
    parts: list[str] = []
    taken = 0
    for match in _DENSE_RE.finditer(text):
        parts.append(" " + match.group())
        taken += len(match.group())
        if taken >= size:
            break
    return "".join(parts) or text[:size]
