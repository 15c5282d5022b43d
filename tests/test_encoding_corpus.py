"""Gate: every item of the undeclared encoding corpus decodes to exactly its text."""

from __future__ import annotations

import pytest

from bench.encoding_corpus import CODECS, Item, corpus
from crawler.text.encoding import decode_bytes

ITEMS = list(corpus())


@pytest.mark.parametrize("item", ITEMS, ids=lambda item: item.name)
def test_undeclared_corpus_decodes_exactly(item: Item) -> None:
    decoded = decode_bytes(item.body)
    assert decoded.text == item.body.decode(item.encoding), (decoded.encoding, decoded.reason)
    for text in item.texts:
        assert text in decoded.text


def test_corpus_covers_every_codec_short_and_long() -> None:
    names = {item.name for item in ITEMS}
    for encoding, languages in CODECS.items():
        for language in languages:
            assert f"{encoding}-{language}-long" in names
        assert any(n.startswith(f"{encoding}-") and n.endswith("-feed") for n in names)
        short = [i for i in ITEMS if i.encoding == encoding and len(i.texts[0]) <= 12]
        assert short, f"no short text in {encoding}"
