"""Regenerate crawler/text/data/common_words.txt: frequent two-character Chinese words.

From jieba's dictionary, by frequency; used to judge which rebuilt span reads like Chinese
(西亞 is a word, 明亞 is not). Run: python tools/make_common_words.py (needs jieba).
"""

from __future__ import annotations

import pathlib

import jieba

TOP = 30000


def main() -> None:
    dict_path = pathlib.Path(jieba.__file__).parent / "dict.txt"
    words = []
    for line in dict_path.read_text(encoding="utf-8").splitlines():
        word, freq, *_ = line.split(" ")
        if len(word) == 2 and all("\u4e00" <= ch <= "\u9fff" for ch in word):
            words.append((int(freq), word))
    words.sort(reverse=True)
    out = pathlib.Path(__file__).parent.parent / "crawler/text/data/common_words.txt"
    header = f"# The {TOP} most frequent two-character words of jieba's dictionary.\n"
    out.write_text(header + "\n".join(w for _, w in words[:TOP]) + "\n", encoding="utf-8")
    print(f"wrote {min(TOP, len(words))} words to {out}")


if __name__ == "__main__":
    main()
