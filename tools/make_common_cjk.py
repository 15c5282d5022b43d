"""Regenerate crawler/text/data/common_ja.txt and common_ko.txt: the most frequent
characters of Japanese (kanji and kana) and Korean (Hangul syllables).

Frequencies come from wordfreq's word lists (word frequencies summed per character);
they let the decoder judge whether bytes read as Japanese or Korean give the characters
those languages are written with. Run: python tools/make_common_cjk.py (needs
`pip install wordfreq`; wordfreq's data is CC BY-SA 4.0, Robyn Speer et al.). The files
are data, committed.
"""

from __future__ import annotations

import collections
import pathlib

from wordfreq import get_frequency_dict

TOPS = {"ja": 3000, "ko": 1500}


def _wanted(lang: str, ch: str) -> bool:
    if lang == "ja":
        return "\u3041" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff"
    return "\uac00" <= ch <= "\ud7a3"


def main() -> None:
    folder = pathlib.Path(__file__).parent.parent / "crawler/text/data"
    for lang, top in TOPS.items():
        counts: collections.Counter[str] = collections.Counter()
        for word, freq in get_frequency_dict(lang, wordlist="best").items():
            for ch in word:
                if _wanted(lang, ch):
                    counts[ch] += freq
        chars = [ch for ch, _ in counts.most_common(top)]
        header = (
            f"# The {len(chars)} most frequent characters of written {lang} (wordfreq's word\n"
            "# frequencies summed per character; data CC BY-SA 4.0), most frequent first.\n"
        )
        out = folder / f"common_{lang}.txt"
        out.write_text(header + "\n".join(chars) + "\n", encoding="utf-8")
        print(f"wrote {len(chars)} characters to {out}")


if __name__ == "__main__":
    main()
