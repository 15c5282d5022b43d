"""Full-text search that finds two-character Chinese words as well as English words.

Why not FTS5's own tokenizers: ``unicode61`` makes a whole run of Han characters one token,
so 昇腾 inside 华为昇腾芯片 is never found; ``trigram`` finds substrings of three or more
characters only, so a two-character word (昇腾, 华为, 芯片) returns nothing.

What we do instead (the bigram indexing Lucene's CJK analyzer uses): the index holds the
folded text (:func:`crawler.text.fold.fold_text`: width, case, Traditional→Simplified)
with every run of Han characters written as its overlapping bigrams, space-separated
(华为昇腾芯片 → 华为 为昇 昇腾 腾芯 芯片), under ``unicode61``. A query goes through the same
transformation and becomes a phrase of bigrams, so a word of any length matches exactly
where its characters are adjacent. Latin words and numbers are untouched (H20 is a token).

The index is an FTS5 table with ``content="articles"`` so datasette finds it for the
``articles`` table; the datasette plugin in :mod:`storage.datasette_plugin` routes the
search box through :func:`fts_query`. Without the plugin, two-character words and English
still match in datasette, since they are single tokens either way.
"""

from __future__ import annotations

import re

from crawler.text.fold import fold_text

__all__ = ["fts_query", "index_text"]

_HAN_RUN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_TERM_RE = re.compile(r'"([^"]*)"|(\S+)')


def _bigrams(match: re.Match[str]) -> str:
    run = match.group(0)
    if len(run) == 1:
        return f" {run} "
    return " " + " ".join(run[i : i + 2] for i in range(len(run) - 1)) + " "


def index_text(text: str | None) -> str:
    """The form of ``text`` that goes into the full-text index."""
    if not text:
        return ""
    return _HAN_RUN_RE.sub(_bigrams, fold_text(text))


def fts_query(query: str) -> str:
    """An FTS5 MATCH expression for what a reader typed: each word or "quoted phrase"
    must occur; Chinese words match as adjacent bigrams; a single Han character matches
    as a prefix."""
    parts: list[str] = []
    for quoted, bare in _TERM_RE.findall(query):
        term = quoted or bare
        folded = fold_text(term)
        if _HAN_RUN_RE.fullmatch(folded) and len(folded) == 1:
            parts.append(f'"{folded}"*')
            continue
        tokens = index_text(term).replace('"', " ").split()
        if tokens:
            parts.append('"' + " ".join(tokens) + '"')
    return " ".join(parts) if parts else '""'
