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

TOP = 1500


def main() -> None:
    dict_path = pathlib.Path(jieba.__file__).parent / "dict.txt"
    counts: collections.Counter[str] = collections.Counter()
    for line in dict_path.read_text(encoding="utf-8").splitlines():
        word, freq, *_ = line.split(" ")
        for ch in word:
            if "\u4e00" <= ch <= "\u9fff":
                counts[ch] += int(freq)
    simplified = [ch for ch, _ in counts.most_common(TOP)]
    s2t = OpenCC("s2t")
    chars = dict.fromkeys(simplified)
    for ch in simplified:
        for variant in s2t.convert(ch):
            chars.setdefault(variant)
    out = pathlib.Path(__file__).parent.parent / "crawler/text/data/common_han.txt"
    header = (
        f"# {TOP} most frequent Simplified characters (jieba dict) and their Traditional forms\n"
    )
    out.write_text(header + "".join(chars) + "\n", encoding="utf-8")
    print(f"wrote {len(chars)} characters to {out}")


if __name__ == "__main__":
    main()
