"""Full-text search that finds two-character Chinese words as well as English words.

Why not FTS5's own tokenizers: ``unicode61`` makes a whole run of Han characters one token,
so 昇腾 inside 华为昇腾芯片 is never found; ``trigram`` finds substrings of three or more
characters only, so a two-character word (昇腾, 华为, 芯片) returns nothing.

What we do instead (the bigram indexing Lucene's CJK analyzer uses): the index holds the
text folded for matching (:func:`crawler.text.fold.fold_text`: width, case,
Traditional→Simplified) with every run of Han characters written as its overlapping bigrams
(华为昇腾芯片 → 华为 为昇 昇腾 腾芯 芯片), under ``unicode61``. A query goes through the same
transformation and becomes a phrase of bigrams, so a word of any length matches exactly
where its characters are adjacent. Latin words and numbers are untouched (H20 is a token).

The query language (:func:`parse_query`), as search engines have taught readers: words and
``"quoted phrases"`` must all occur; ``OR`` (upper case) between two terms lets either
do (``H20 OR H200``; it binds tighter than the implicit AND, as on the web); ``-term``
or ``-"a phrase"`` excludes articles that have it. A query with nothing that must occur
matches nothing (FTS5 cannot subtract from everything).

The index ``articles_fts`` is an ordinary FTS5 table that keeps its own copy of what it
indexed (:func:`search_text`), not an external-content table over ``articles``: FTS5's
``rebuild`` (``sqlite-utils rebuild-fts``) then re-indexes that copy and cannot replace the
bigrams with raw text. The copy keeps the letter case and separates bigrams with control
characters, so :func:`readable_snippet` turns an FTS5 ``snippet()`` of it back into
readable text with the hits marked. Datasette finds the index through the ``fts_table`` and
``fts_pk`` metadata of ``articles``; the datasette plugin (:mod:`storage.datasette_plugin`)
routes its search box through :func:`fts_query`.

Python's ``sqlite3`` cannot register an FTS5 tokenizer, so the bigram form is written by
hand here.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from crawler.text.fold import fold_char, fold_text

__all__ = [
    "SEARCH_FORM",
    "SNIPPET_CLOSE",
    "SNIPPET_OPEN",
    "SearchQuery",
    "computed_entry",
    "fts_query",
    "index_text",
    "parse_query",
    "readable_snippet",
    "search_articles",
    "search_entry",
    "search_text",
]

_HAN_CLASS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RUN_RE = re.compile(f"[{_HAN_CLASS}]+")
_TERM_RE = re.compile(r'(-?)"([^"]*)"?|(\S+)')

# In the stored copy: bigrams of one run are joined by UNIT SEPARATOR and each run is framed
# by RECORD SEPARATOR. Both are control characters, which unicode61 treats as separators, so
# the copy tokenizes exactly like the index_text() form; one byte each, they cost little.
# Control characters in the text itself are dropped from the copy.
_JOIN = "\x1f"
_FRAME = "\x1e"
_INVISIBLE_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")

# What snippet() is asked to put around hits (SQL: char(2), char(3)).
SNIPPET_OPEN = "\x02"
SNIPPET_CLOSE = "\x03"
_ELLIPSIS = "…"


def _bigrams(match: re.Match[str]) -> str:
    run = match.group(0)
    if len(run) == 1:
        return f" {run} "
    return " " + " ".join(map(str.__add__, run, run[1:])) + " "


def index_text(text: str | None) -> str:
    """The tokens the full-text index holds for ``text``, space-separated."""
    if not text:
        return ""
    return _HAN_RUN_RE.sub(_bigrams, fold_text(text))


def _framed_bigrams(match: re.Match[str]) -> str:
    run = match.group(0)
    return _FRAME + (_JOIN.join(map(str.__add__, run, run[1:])) if len(run) > 1 else run) + _FRAME


# Characters as stored, filled as they are met (bounded by the characters that exist).
_display_table: dict[int, str] = {}


def _display_fold(ch: str) -> str:
    """One character as stored: letters and digits in their compatibility form (full-width
    Ｈ２０ is H20), Han characters Traditional → Simplified like :func:`fold_text`, other
    letters in their case (unicode61 lower-cases them) unless lower-casing and case folding
    differ; punctuation and spaces as they are."""
    if unicodedata.category(ch)[0] not in "LN":
        return ch
    out = []
    for c in unicodedata.normalize("NFKC", ch):
        if c >= "\u3400":
            out.append(fold_char(c))
        else:
            out.append(c if c.lower() == c.casefold() else c.casefold())
    return "".join(out)


def search_text(text: str | None) -> str:
    """What ``articles_fts`` stores for ``text``: tokenized by unicode61 it gives exactly the
    tokens of :func:`index_text`, while keeping letter case and the characters between
    tokens, so that a snippet of it reads as the text."""
    if not text:
        return ""
    text = _INVISIBLE_RE.sub("", text)
    missing = {ord(ch) for ch in set(text)} - _display_table.keys()
    for code in missing:
        _display_table[code] = _display_fold(chr(code))
    return _HAN_RUN_RE.sub(_framed_bigrams, text.translate(_display_table))


# The version of :func:`search_text`'s form: raise it whenever the form changes, so that
# entries computed by another release (a crawl worker during an upgrade) are recomputed.
SEARCH_FORM = 1


def computed_entry(title: str, text: str) -> dict[str, Any]:
    """The search entry of an article as a processed article carries it (plain data, with
    its form's version), for :func:`search_entry` to take on the archive's side."""
    return {"form": SEARCH_FORM, "title": search_text(title), "text": search_text(text)}


def search_entry(title: str, text: str, given: Any = None) -> tuple[str, str]:
    """The ``articles_fts`` entry (title, text) of an article: ``given`` when it is an
    entry :func:`computed_entry` made in this form (the page stage's, see
    :func:`crawler.page_stage.process_article`), else computed here."""
    if (
        isinstance(given, dict)
        and given.get("form") == SEARCH_FORM
        and isinstance(given.get("title"), str)
        and isinstance(given.get("text"), str)
    ):
        return given["title"], given["text"]
    return search_text(title), search_text(text)


def readable_snippet(snippet: str | None, text: str | None = None) -> str:
    """An FTS5 ``snippet()`` of :func:`search_text` (hits framed by :data:`SNIPPET_OPEN`
    and :data:`SNIPPET_CLOSE`) as readable text, hits in ``<mark>…</mark>``.

    Each bigram run collapses back to its characters; a character is marked when a marked
    bigram covers it. Given the article's ``text`` (what the entry was made from), the
    snippet reads in its characters, not the index's folded ones: a Traditional article
    is quoted in Traditional. The text is not HTML-escaped: escape it, then restore the two
    tags.
    """
    if not snippet:
        return ""
    chars = _snippet_chars(snippet)
    if text:
        chars = _as_written(chars, text)
    return _with_marks(chars)


def _snippet_chars(snippet: str) -> list[tuple[str, bool]]:
    """The snippet's characters, each with whether a hit covers it."""
    marked: list[tuple[str, bool]] = []
    inside = False
    for ch in snippet:
        if ch == SNIPPET_OPEN:
            inside = True
        elif ch == SNIPPET_CLOSE:
            inside = False
        else:
            marked.append((ch, inside))
    out: list[tuple[str, bool]] = []
    segment: list[tuple[str, bool]] = []
    for item in [*marked, (_FRAME, False)]:
        if item[0] != _FRAME:
            segment.append(item)
            continue
        out.extend(_collapse_run(segment) if any(c == _JOIN for c, _ in segment) else segment)
        segment = []
    return out


def _as_written(chars: list[tuple[str, bool]], text: str) -> list[tuple[str, bool]]:
    """``chars`` (a snippet in the index's folded form) as the same stretch of ``text``,
    hits kept; unchanged when the stretch cannot be found (an entry from other text)."""
    missing = {ord(ch) for ch in set(text)} - _display_table.keys()
    for code in missing:
        _display_table[code] = _display_fold(chr(code))
    whole = text.translate(_display_table)  # as search_text folds it, at C speed
    origin: Any = range(len(text))  # for each folded character, its character's index
    if len(whole) != len(text) or _INVISIBLE_RE.search(text):
        # a character folded into several (NFKC) or dropped: map them one by one
        pieces: list[str] = []
        origin = []
        for index, ch in enumerate(text):
            if _INVISIBLE_RE.match(ch):
                continue
            piece = _display_table[ord(ch)]
            pieces.append(piece)
            origin.extend([index] * len(piece))
        whole = "".join(pieces)
    for head in (0, 1):  # snippet()'s ellipses at the ends, or the text's own
        for tail in (0, 1):
            core = chars[head : len(chars) - tail] if len(chars) > head + tail else []
            if (head and chars[0][0] != _ELLIPSIS) or (tail and chars[-1][0] != _ELLIPSIS):
                continue
            at = whole.find("".join(c for c, _ in core)) if core else -1
            if at < 0:
                continue
            marks: dict[int, bool] = {}
            for offset, (_, flag) in enumerate(core):
                index = origin[at + offset]
                marks[index] = marks.get(index, False) or flag
            first, last = origin[at], origin[at + len(core) - 1]
            stretch = [(text[i], marks.get(i, False)) for i in range(first, last + 1)]
            return chars[:head] + stretch + chars[len(chars) - tail :]
    return chars


def _collapse_run(segment: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    tokens: list[list[tuple[str, bool]]] = [[]]
    for item in segment:
        if item[0] == _JOIN:
            tokens.append([])
        else:
            tokens[-1].append(item)
    # snippet() puts its ellipsis before the first or after the last token of a window
    # that starts or ends inside a run.
    head = [item for item in tokens[0] if item[0] == _ELLIPSIS]
    tail = [item for item in tokens[-1] if item[0] == _ELLIPSIS]
    tokens[0] = [item for item in tokens[0] if item[0] != _ELLIPSIS]
    tokens[-1] = [item for item in tokens[-1] if item[0] != _ELLIPSIS]
    tokens = [token for token in tokens if token]
    if not tokens:
        return head + tail
    hit = [any(flag for _, flag in token) for token in tokens]
    chars = [(token[0][0], hit[i] or (i > 0 and hit[i - 1])) for i, token in enumerate(tokens)]
    if len(tokens[-1]) > 1:
        chars.append((tokens[-1][-1][0], hit[-1]))
    return head + chars + tail


def _with_marks(chars: list[tuple[str, bool]]) -> str:
    parts: list[str] = []
    inside = False
    for ch, flag in chars:
        if flag != inside:
            parts.append("<mark>" if flag else "</mark>")
            inside = flag
        parts.append(ch)
    if inside:
        parts.append("</mark>")
    return "".join(parts)


@dataclass(frozen=True)
class SearchQuery:
    """A parsed query: every group in ``required`` must match (a group is one term, or
    several joined by OR); no term of ``excluded`` may."""

    required: list[list[str]] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)

    @property
    def terms(self) -> list[str]:
        """The terms that can match, in the order typed (for highlighting)."""
        return [term for group in self.required for term in group]


def parse_query(query: str) -> SearchQuery:
    """Words, ``"quoted phrases"``, ``OR`` between terms, ``-term`` (see the module
    docstring). A dangling ``OR`` is ignored; an unclosed quote runs to the end."""
    required: list[list[str]] = []
    excluded: list[str] = []
    join_next = False
    for minus, quoted, bare in _TERM_RE.findall(query):
        if bare == "OR":
            join_next = bool(required)
            continue
        negated = bool(minus) or (bare.startswith("-") and len(bare) > 1)
        term = quoted if quoted or minus else bare.removeprefix("-") if negated else bare
        if not _phrase(term):
            join_next = False
            continue
        if negated:
            excluded.append(term)
        elif join_next:
            required[-1].append(term)
        else:
            required.append([term])
        join_next = False
    return SearchQuery(required, excluded)


def _phrase(term: str) -> str | None:
    """The FTS5 phrase for one term: Chinese words as adjacent bigrams, a single Han
    character as a prefix, everything else as the tokens it is made of."""
    folded = fold_text(term)
    if _HAN_RUN_RE.fullmatch(folded) and len(folded) == 1:
        return f'"{folded}"*'
    tokens = index_text(term).replace('"', " ").split()
    return '"' + " ".join(tokens) + '"' if tokens else None


def fts_query(query: str) -> str:
    """An FTS5 MATCH expression for what a reader typed (see :func:`parse_query`):
    each word or "quoted phrase" must occur, ``A OR B`` lets either do, ``-term``
    excludes; Chinese words match as adjacent bigrams, a single Han character as a
    prefix. ``'""'`` (matches nothing) when nothing must occur."""
    parsed = parse_query(query)
    groups = [[p for p in (_phrase(t) for t in group) if p] for group in parsed.required]
    if not groups:
        return '""'
    if all(len(group) == 1 for group in groups):
        expression = " ".join(group[0] for group in groups)
    else:
        expression = " AND ".join(
            group[0] if len(group) == 1 else "(" + " OR ".join(group) + ")" for group in groups
        )
    for term in parsed.excluded:
        phrase = _phrase(term)
        if phrase:
            expression = f"({expression}) NOT {phrase}"
    return expression


def search_articles(
    db: sqlite_utils.Database,
    query: str,
    *,
    limit: int = 20,
    since: str | None = None,
    sources: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Articles matching ``query``, best first, fetched at or after ``since`` (an archive
    timestamp) and from ``sources`` when given. Each row: ``id``, ``story_id``,
    ``source``, ``title``, ``url`` (canonical), ``lang``, ``published_at``, ``fetched_at``, ``text``
    and ``fts_snippet``, FTS5's ``snippet()`` with the match between 【 and 】: right for
    text without Han characters; the index holds Chinese as bigrams, so for the rest
    (and whenever it does not read as the article's own text) the caller builds one."""
    sql = (
        "SELECT a.id, a.story_id, a.source, a.title, coalesce(a.canonical_url, a.url) AS url, "
        "a.lang, a.published_at, "
        "a.fetched_at, a.text, "
        "snippet(articles_fts, -1, '【', '】', '…', 24) AS fts_snippet "
        "FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid "
        "WHERE articles_fts MATCH ?"
    )
    params: list[Any] = [fts_query(query)]
    if since:
        sql += " AND a.fetched_at >= ?"
        params.append(since)
    if sources:
        sql += f" AND a.source IN ({', '.join('?' for _ in sources)})"
        params.extend(sources)
    sql += " ORDER BY articles_fts.rank LIMIT ?"
    params.append(limit)
    return list(db.query(sql, params))
