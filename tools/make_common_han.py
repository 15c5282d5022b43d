"""Regenerate crawler/text/data/common_han.txt: the most frequent Chinese characters.

Frequencies come from jieba's dictionary (word counts summed per character); the
Traditional forms are added through OpenCC. Run: python tools/make_common_han.py
(needs `pip install jieba opencc-python-reimplemented`). The file is data, committed.
"""

from __future__ import annotations

import collections
import pathlib

import jieba
from opencc import OpenCC

TOP = 4000


def main() -> None:
    dict_path = pathlib.Path(jieba.__file__).parent / "dict.txt"
    counts: collections.Counter[str] = collections.Counter()
    for line in dict_path.read_text(encoding="utf-8").splitlines():
        word, freq, *_ = line.split(" ")
        for ch in word:
            if "\u4e00" <= ch <= "\u9fff":
                counts[ch] += int(freq)
    simplified = [ch for ch, _ in counts.most_common(TOP)]
    converters = [OpenCC(name) for name in ("s2t", "s2tw", "s2hk")]
    candidates: dict[str, list[str]] = {}
    st_characters = pathlib.Path(OpenCC.__module__ and __import__("opencc").__file__).parent
    for line in (st_characters / "dictionary" / "STCharacters.txt").read_text("utf-8").splitlines():
        key, _, values = line.partition("\t")
        candidates[key] = values.split()
    lines = []
    for ch in simplified:
        forms = dict.fromkeys([ch, *candidates.get(ch, []), *(c.convert(ch) for c in converters)])
        lines.append("".join(f for f in forms if len(f) == 1))
    out = pathlib.Path(__file__).parent.parent / "crawler/text/data/common_han.txt"
    header = (
        f"# The {TOP} most frequent Simplified characters (jieba's dictionary), most frequent\n"
        "# first, one per line, each followed by its Traditional form where that differs.\n"
    )
    out.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} ranks to {out}")


if __name__ == "__main__":
    main()
