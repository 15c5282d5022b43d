"""Folding for matching with whichever OpenCC package is installed: the C++ wheel
(``opencc``) or the pure-Python one (``opencc-python-reimplemented``). Both install the
module ``opencc``, so never both at once: run this in two virtual environments and
compare. Measures loading a converter, converting every CJK character one by one (what
``fold_char`` asks of OpenCC, once per distinct character) and a long text at once, and
``fold_text`` over the demo articles in both scripts, first and warm pass.

Run: python bench/opencc_fold.py
"""

from __future__ import annotations

import importlib.metadata
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.text import fold  # noqa: E402


def _converter(name: str):  # type: ignore[no-untyped-def]
    from opencc import OpenCC

    try:
        return OpenCC(name)
    except Exception:  # the C++ wheel wants the configuration file's name
        return OpenCC(f"{name}.json")


def main() -> None:
    package = next(
        d
        for d in importlib.metadata.distributions()
        if d.metadata["Name"].lower().startswith("opencc")
    )
    started = time.perf_counter()
    t2s = _converter("t2s")
    load = time.perf_counter() - started
    chars = [chr(code) for code in range(0x4E00, 0x9FA6)]
    started = time.perf_counter()
    for char in chars:
        t2s.convert(char)
    one_by_one = time.perf_counter() - started
    text = "華為宣布昇騰開發者計畫上線一年以來，已有超過一千家企業和研究機構加入。" * 400
    started = time.perf_counter()
    t2s.convert(text)
    whole = time.perf_counter() - started

    data = tomllib.loads((ROOT / "crawler/demo/articles.toml").read_text(encoding="utf-8"))
    texts = [
        a.get("title", "") + "\n" + "\n".join(a.get("paragraphs", [])) for a in data["articles"]
    ]
    s2t = _converter("s2t")
    texts = (texts + [s2t.convert(t) for t in texts]) * 50
    passes = []
    for _ in range(2):
        started = time.perf_counter()
        for item in texts:
            fold.fold_text(item)
        passes.append(time.perf_counter() - started)
    print(f"{package.metadata['Name']} {package.version}")
    print(f"  load t2s converter            {load * 1000:8.1f} ms")
    print(f"  {len(chars)} characters one by one {one_by_one * 1000:8.1f} ms")
    print(f"  one {len(text)}-character text   {whole * 1000:8.2f} ms")
    print(
        f"  fold_text, {len(texts)} texts: first pass {passes[0] * 1000:.1f} ms, warm pass "
        f"{passes[1] * 1000:.1f} ms ({len(fold._fold_table)} distinct characters folded)"
    )


if __name__ == "__main__":
    main()
