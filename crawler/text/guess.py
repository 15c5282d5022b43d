"""Reading undeclared or doubtful bytes: every codec a news page may use, and the reading a
person could have written.

``guess`` reads the bytes with GB18030, Big5, EUC-KR/cp949, Shift_JIS/cp932, EUC-JP,
cp1252, ISO-8859-1, cp1250, ISO-8859-2, cp1251 and KOI8-R, judges each reading
(``plausible.py``) and keeps the best; of readings that score alike, the codec made for the
language the reading yields wins, and a close call names the runner-up. When nothing
reads plausibly it falls back to lenient readings with a few replacement characters.
``clearly_chinese`` decides the common case without reading every codec, and
``declared_fits`` checks a declared codec's reading. I/O-free.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from crawler.text.frequency import han_commonness
from crawler.text.plausible import Judgement, judge, word_pairs

__all__ = ["Guess", "clearly_chinese", "decode_as", "declared_fits", "guess", "strict"]

# What a news page plausibly uses, in the order preferred when two readings are the same
# text or score alike: the web's defaults first.
_GUESS_CODECS = (
    "gb18030",
    "big5",
    "cp949",
    "cp932",
    "euc_jp",
    "cp1252",
    "latin_1",
    "cp1250",
    "iso8859_2",
    "cp1251",
    "koi8_r",
)
# The codecs written for each language: of two readings that score alike, the one read
# with a codec made for the language it yields wins (EUC-JP katakana read as GB18030,
# whose rows hold the same kana, is Japanese in a Chinese codec).
_NATIVE = {
    "zh": ("gb18030", "cp950", "big5hkscs"),
    "ja": ("cp932", "euc_jp"),
    "ko": ("cp949",),
    "cyrillic": ("cp1251", "koi8_r"),
    **{lang: ("cp1252", "latin_1") for lang in ("fr", "de", "es", "pt", "it", "nl", "ca")},
    **{lang: ("cp1252", "latin_1") for lang in ("sv", "da", "no", "fi", "is", "ga", "sq")},
    **{lang: ("cp1250", "iso8859_2") for lang in ("pl", "cs", "sk", "sl", "hr", "hu", "ro")},
}
_FIRST_SINGLE_BYTE = "cp1252"
_SETTLED = 0.95
_MULTI_BYTE = ("gb18030", "big5", "cp949", "cp932", "euc_jp")
# A reading at least this believable is text a person wrote.
_PLAUSIBLE = 0.6
# Chinese that is this clearly Chinese needs no comparison with other codecs.
_CLEARLY_CHINESE = 0.7
_NOT_CHINESE_RE = re.compile(r"[\u3041-\u30ff\uac00-\ud7a3\u3130-\u318f\uff61-\uff9f]")
_HAN_RUNS_RE = re.compile(r"[\u4e00-\u9fff]{2,}[^\u4e00-\u9fff]?")
_CLEARLY_CHINESE_WORDS = 0.15
_SPACED_HAN_RE = re.compile(r"[\u4e00-\u9fff] +[\u4e00-\u9fff]")
_CLEARLY_CHINESE_HAN = 20
# Characters read to judge a declared codec or a clearly Chinese page.
_DECLARED_SAMPLE = 1500
# Readings closer than this are reported as a close call.
_CLOSE = 0.15
_TIE = 0.02
# How much one replacement character in a hundred costs a reading.
_REPLACEMENT_COST = 5.0


@dataclass(frozen=True)
class Guess:
    """The reading kept: text, codec, why, replacement characters, the runner-up."""

    text: str
    codec: str
    reason: str
    replaced: int = 0
    runner_up: str | None = None


def strict(body: bytes, codec: str) -> str | None:
    try:
        return body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _big5_either(error: UnicodeError) -> tuple[str, int]:
    """Decode error handler for cp950: a pair cp950 lacks is read with Big5-HKSCS (Hong
    Kong characters), so a page using both tables decodes."""
    assert isinstance(error, UnicodeDecodeError)
    pair = error.object[error.start : error.start + 2]
    try:
        return bytes(pair).decode("big5hkscs"), error.start + len(pair)
    except UnicodeDecodeError:
        raise error from None


codecs.register_error("newswatch-big5", _big5_either)


def _decode_big5(body: bytes) -> tuple[str, str] | None:
    for codec in ("cp950", "big5hkscs"):
        text = strict(body, codec)
        if text is not None:
            return text, codec
    try:
        return body.decode("cp950", errors="newswatch-big5"), "cp950"
    except UnicodeDecodeError:
        return None


def decode_as(body: bytes, codec: str) -> tuple[str, str] | None:
    if codec == "big5":
        return _decode_big5(body)
    text = strict(body, codec)
    return None if text is None else (text, codec)


def _lenient(body: bytes, codec: str) -> tuple[str, str, int]:
    """``body`` under ``codec`` with undecodable bytes replaced, and how many."""
    if codec == "big5":
        codec = "cp950"
        text = body.decode(codec, errors="replace")
    else:
        text = body.decode(codec, errors="replace")
    return text, codec, text.count("\ufffd")


@dataclass(frozen=True)
class _Reading:
    codec: str
    text: str
    judgement: Judgement
    replaced: int = 0

    @property
    def score(self) -> float:
        penalty = _REPLACEMENT_COST * self.replaced / max(1, len(self.text) // 100 or 1)
        return self.judgement.score - penalty / 100

    def describe(self) -> str:
        return f"{self.codec} ({self.judgement.note}; score {self.score:.2f})"


def _read(body: bytes, codec: str) -> _Reading | None:
    decoded = decode_as(body, codec)
    if decoded is None:
        return None
    return _Reading(decoded[1], decoded[0], judge(decoded[0]))


def _settled(readings: list[_Reading]) -> bool:
    """A multi-byte reading that is plainly the language its codec is made for."""
    return any(
        r.score >= _SETTLED and r.codec in _NATIVE.get(r.judgement.language, ()) for r in readings
    )


def _choose(readings: list[_Reading]) -> tuple[_Reading, _Reading | None]:
    """The best reading (earlier codecs win ties) and the closest one with another text."""
    ordered = sorted(
        enumerate(readings),
        key=lambda item: (
            -round(item[1].score / _TIE),
            item[1].codec not in _NATIVE.get(item[1].judgement.language, ()),
            item[0],
        ),
    )
    best = ordered[0][1]
    runner_up = next((r for _, r in ordered[1:] if r.text != best.text), None)
    return best, runner_up


def guess(body: bytes) -> Guess | None:
    """Read ``body`` with every guessable codec and keep the most plausible reading."""
    readings: list[_Reading] = []
    for codec in _GUESS_CODECS:
        if codec == _FIRST_SINGLE_BYTE and _settled(readings):
            break  # CJK text read well: single-byte codecs cannot read it better
        reading = _read(body, codec)
        if reading is not None:
            readings.append(reading)
    if not readings or max(r.score for r in readings) < _PLAUSIBLE:
        for codec in _MULTI_BYTE:
            text, name, replaced = _lenient(body, codec)
            if replaced and replaced * 5 < len(text):
                readings.append(_Reading(name, text, judge(text), replaced))
    if not readings:
        return None
    best, runner_up = _choose(readings)
    why = f"guessed: {best.judgement.note}"
    close = None
    if runner_up is not None and best.score - runner_up.score < _CLOSE:
        close = runner_up.describe()
        why += f"; closest other reading {close}"
    same = sorted({r.codec for r in readings if r.text == best.text and r.codec != best.codec})
    if same:
        why += f" (same text as {', '.join(same)})"
    if best.replaced:
        why += f", {best.replaced} undecodable bytes replaced"
    return Guess(best.text, best.codec, why, best.replaced, close)


def declared_fits(text: str, codec: str) -> bool:
    """Whether a declared codec's reading is plausible: Chinese codecs by how common the
    Han characters are (cheap, and the common case), the others by ``judge``."""
    if codec in ("gb18030", "cp950", "big5hkscs"):
        sample = text[:_DECLARED_SAMPLE]
        score, count = han_commonness(sample)
        spaced = len(_SPACED_HAN_RE.findall(sample)) > count * 0.05
        if count == 0 or (
            (score >= 0.45 or (count < 8 and score >= 0.25))
            and not spaced
            and not _NOT_CHINESE_RE.search(sample)
        ):
            return True
    return judge(text, sample_size=_DECLARED_SAMPLE).score >= _PLAUSIBLE


def _dense_han(text: str) -> str:
    return "".join(_HAN_RUNS_RE.findall(text)[:30])


def clearly_chinese(body: bytes) -> tuple[str, str, str] | None:
    """The common case, decided without reading the page in every codec: GB18030 or Big5
    text whose Han characters are common, with no kana or Hangul among them and no
    spaces between them (which is how Korean and Japanese bytes read in these codecs)."""
    for codec in ("gb18030", "big5"):
        decoded = decode_as(body, codec)
        if decoded is None:
            continue
        sample = decoded[0][:2500]
        common, count = han_commonness(sample)
        if count < _CLEARLY_CHINESE_HAN or common < _CLEARLY_CHINESE:
            continue  # a headline or two words, or not Chinese: compare with other codecs
        if _NOT_CHINESE_RE.search(sample) or len(_SPACED_HAN_RE.findall(sample)) > count * 0.05:
            continue
        pairs, hits = word_pairs(_dense_han(sample))
        if hits < _CLEARLY_CHINESE_WORDS * pairs:
            continue  # common characters that form no words: another language's bytes
        why = f"Chinese, {common:.0%} common Han characters, {hits}/{pairs} word pairs"
        return decoded[0], decoded[1], why
    return None
