"""Generators of the corruptions real portals apply, for property tests.

Each takes clean text and returns it broken the way it reaches us: decoded with the wrong
codec (once or twice), or annotated with pinyin by a byte-level replace over GBK and then
decoded by a decoder that turns an invalid byte pair into one ``?``.
"""

from __future__ import annotations

from collections.abc import Iterable

from pypinyin import Style, pinyin


def wrong_codec(text: str, *, written: str, read_as: str) -> str:
    """``text`` stored in ``written`` and decoded as ``read_as`` (errors replaced, as a
    browser does; cp1252's unassigned bytes become C1 controls, as WHATWG decoders do)."""
    data = text.encode(written)
    if read_as == "cp1252":
        return "".join(
            chr(b) if b in (0x81, 0x8D, 0x8F, 0x90, 0x9D) else bytes([b]).decode("cp1252")
            for b in data
        )
    return data.decode(read_as, errors="replace")


def reading(char: str) -> str:
    return pinyin(char, style=Style.TONE, heteronym=False)[0][0]


def lossy_gbk_decode(data: bytes) -> str:
    """GBK decoding that turns a lead byte with an invalid partner into one ``?``,
    consuming both bytes (how the pages in the wild were decoded)."""
    out: list[str] = []
    i = 0
    while i < len(data):
        byte = data[i]
        if byte < 0x80:
            out.append(chr(byte))
            i += 1
            continue
        pair = data[i : i + 2]
        try:
            out.append(pair.decode("gbk"))
        except UnicodeDecodeError:
            out.append("?")
        i += 2
    return "".join(out)


def pinyin_byte_replace(text: str, chars: Iterable[str]) -> str:
    """Annotate each of ``chars`` (in that order) by replacing its GBK bytes everywhere in
    the encoded text, boundaries between characters included, then decode lossily."""
    data = text.encode("gbk")
    for char in chars:
        pattern = char.encode("gbk")
        data = data.replace(pattern, pattern + f"({reading(char)})".encode("gbk"))
    return lossy_gbk_decode(data)


def boundary_chars(text: str) -> list[str]:
    """Characters whose GBK bytes occur across the boundary of two neighbours in ``text``
    (the second byte of one and the first of the next): the patterns that make a
    byte-level replace corrupt a span."""
    found = []
    data = [ch.encode("gbk") for ch in text]
    for left, right in zip(data, data[1:], strict=False):
        if len(left) == 2 and len(right) == 2:
            try:
                char = (left[1:] + right[:1]).decode("gbk")
            except UnicodeDecodeError:
                continue
            if "\u4e00" <= char <= "\u9fff" and reading(char) and char not in found:
                found.append(char)
    return found
