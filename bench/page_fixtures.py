"""The fixture pages of ``tests/fixtures/pages``: pages written for newswatch in the layouts
real portals use, each saved as served (``<domain>.<slug>.html``) with the expected article
text beside it (``.txt``) and what is known about it (``.json``: URL, Content-Type,
language, title, layout, which extractor should produce the text and, where the page
dates itself, the publication time it resolves to). And the measure the
text is judged by: character-bigram F1 against the expected text."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

FOLDER = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "pages"


@dataclass(frozen=True)
class FixturePage:
    name: str
    body: bytes
    expected: str
    url: str
    content_type: str
    lang: str
    title: str
    layout: str
    extractor: str
    published_at: str | None = None  # when given, what the page's date must resolve to


def load_fixtures(folder: Path = FOLDER) -> list[FixturePage]:
    pages = []
    for html in sorted(folder.glob("*.html")):
        meta = json.loads(html.with_suffix(".json").read_text(encoding="utf-8"))
        pages.append(
            FixturePage(
                name=html.stem,
                body=html.read_bytes(),
                expected=html.with_suffix(".txt").read_text(encoding="utf-8").strip(),
                url=meta["url"],
                content_type=meta["content_type"],
                lang=meta["lang"],
                title=meta["title"],
                layout=meta["layout"],
                extractor=meta["extractor"],
                published_at=meta.get("published_at"),
            )
        )
    return pages


def _bigrams(text: str) -> Counter[str]:
    text = "".join(text.split())
    return Counter(text[i : i + 2] for i in range(len(text) - 1))


def bigram_f1(text: str, expected: str) -> float:
    """Character-bigram F1 of ``text`` against ``expected`` (whitespace ignored)."""
    got, want = _bigrams(text), _bigrams(expected)
    overlap = sum((got & want).values())
    if not overlap:
        return 0.0
    precision = overlap / sum(got.values())
    recall = overlap / sum(want.values())
    return 2 * precision * recall / (precision + recall)
