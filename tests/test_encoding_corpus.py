"""Gate: every page of the undeclared encoding corpus decodes to the exact text."""

from __future__ import annotations

import pytest

from bench.encoding_corpus import ACCEPTED, TEXTS, corpus
from crawler.text.encoding import decode_bytes


@pytest.mark.parametrize(("name", "encoding", "body"), list(corpus()), ids=lambda x: str(x)[:20])
def test_undeclared_corpus_decodes_exactly(name: str, encoding: str, body: bytes) -> None:
    decoded = decode_bytes(body)
    text = TEXTS[encoding][int(name.split("-")[-2])]
    assert text in decoded.text, (decoded.encoding, decoded.reason)
    assert (
        decoded.encoding.replace("_", "-") in {c.replace("_", "-") for c in ACCEPTED[encoding]}
        or decoded.encoding == "ascii"
    )
