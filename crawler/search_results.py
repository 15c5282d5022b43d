"""What ``newswatch search`` shows: per article its date, source, title, URL and a snippet
with the matches marked 【like this】, as text, JSON or CSV.

The snippet is FTS5's ``snippet()`` where that is right (text without Han characters: the
index holds Chinese as bigrams, so for Chinese text FTS5's offsets point at the wrong
characters). Otherwise it is built here from the article's own text: the query's terms are
found with the alert rules' matcher (:class:`alerts.matching.RuleSet`: the same folding of
width, case and script, the same word boundaries), and the window around the first match
is cut with every match in it marked. I/O-free.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Iterable
from typing import Any

import click

from alerts.matching import Hit, RuleSet
from crawler.config import RuleConfig
from storage.search import SearchQuery

__all__ = [
    "EXPORT_FIELDS",
    "build_snippet",
    "present",
    "render_csv",
    "render_json",
    "render_text",
]

MARK_OPEN, MARK_CLOSE = "【", "】"
# Columns of context before the first match, and of the whole window (a Han character
# takes two columns on a terminal).
BEFORE, WINDOW = 40, 160
EXPORT_FIELDS = (
    "id",
    "date",
    "source",
    "title",
    "url",
    "snippet",
    "lang",
    "published_at",
    "fetched_at",
    "story_id",
)


def _has_han(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in text)


def _columns(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _back(text: str, index: int, columns: int) -> int:
    """The index ``columns`` display columns before ``index``."""
    while index > 0 and columns > 0:
        index -= 1
        columns -= _columns(text[index])
    return index


def _forward(text: str, index: int, columns: int) -> int:
    """The index ``columns`` display columns after ``index``."""
    while index < len(text) and columns > 0:
        columns -= _columns(text[index])
        index += 1
    return index


def _hits(terms: list[str], title: str, text: str) -> list[Hit]:
    """Where ``terms`` occur in ``text`` (a phrase whose words FTS5 matched across
    punctuation falls back to its words)."""
    for candidates in (terms, [w for t in terms for w in t.split()]):
        words = [t for t in dict.fromkeys(candidates) if t.strip()]
        if not words:
            return []
        matches = RuleSet([RuleConfig(name="search", keywords=words)]).match(title=title, text=text)
        hits = [h for m in matches for h in m.evidence if h.field == "text"]
        if hits:
            return sorted(hits, key=lambda h: (h.start, -h.end))
    return []


def build_snippet(text: str, terms: list[str], *, title: str = "") -> str:
    """A window of ``text`` around the first match of ``terms``, each match in it marked
    【like this】, whitespace collapsed; the start of the text when nothing matches there
    (the match was in the title)."""
    text = text or ""
    hits = _hits(terms, title, text)
    start = _back(text, hits[0].start, BEFORE) if hits else 0
    end = _forward(text, start, WINDOW)
    pieces: list[str] = ["…" if start > 0 else ""]
    cursor = start
    for hit in hits:
        if hit.start < cursor or hit.end > end:
            continue  # overlaps a marked match, or runs past the window
        pieces += [text[cursor : hit.start], MARK_OPEN, text[hit.start : hit.end], MARK_CLOSE]
        cursor = hit.end
    pieces += [text[cursor:end], "…" if end < len(text) else ""]
    return " ".join("".join(pieces).split())


def _fts_snippet_fits(snippet: str | None, title: str, text: str) -> bool:
    """FTS5's snippet is used only when it marks something and reads as the article's
    own words (not the folded or bigram form an index may hold)."""
    if not snippet or MARK_OPEN not in snippet or _has_han(title + text):
        return False
    plain = " ".join(snippet.replace(MARK_OPEN, "").replace(MARK_CLOSE, "").split()).strip("…")
    return plain.strip() in " ".join(f"{title} {text}".split())


def present(rows: Iterable[dict[str, Any]], query: SearchQuery) -> list[dict[str, Any]]:
    """Search rows (:func:`storage.search.search_articles`) as shown and exported."""
    shown = []
    for row in rows:
        title, text = row.get("title") or "", row.get("text") or ""
        snippet = row.get("fts_snippet")
        if _fts_snippet_fits(snippet, title, text):
            snippet = " ".join(str(snippet).split())
        else:
            snippet = build_snippet(text, query.terms, title=title)
        date = row.get("published_at") or row.get("fetched_at") or ""
        shown.append(
            {
                "id": row["id"],
                "date": date[:10],
                "source": row.get("source"),
                "title": title,
                "url": row.get("url"),
                "snippet": snippet,
                "lang": row.get("lang"),
                "published_at": row.get("published_at"),
                "fetched_at": row.get("fetched_at"),
                "story_id": row.get("story_id"),
            }
        )
    return shown


def _styled(snippet: str) -> str:
    """Matches in bold on a terminal (click drops the styling when output is piped; the
    【】 marks stay)."""
    out, rest = [], snippet
    while MARK_OPEN in rest and MARK_CLOSE in rest.split(MARK_OPEN, 1)[1]:
        before, after = rest.split(MARK_OPEN, 1)
        match, rest = after.split(MARK_CLOSE, 1)
        out += [before, click.style(f"{MARK_OPEN}{match}{MARK_CLOSE}", bold=True, fg="yellow")]
    return "".join(out) + rest


def render_text(results: list[dict[str, Any]]) -> str:
    """Three lines per article: date, source and title; URL; snippet."""
    blocks = []
    for row in results:
        blocks.append(
            f"{row['date'] or '----------':<10}  {row['source']}  "
            f"{click.style(row['title'] or '(no title)', bold=True)}\n"
            f"            {row['url']}\n"
            f"            {_styled(row['snippet'])}"
        )
    return "\n\n".join(blocks)


def render_json(results: list[dict[str, Any]]) -> str:
    return json.dumps(results, ensure_ascii=False, indent=2)


def render_csv(results: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in results:
        writer.writerow({key: row.get(key) for key in EXPORT_FIELDS})
    return buffer.getvalue().rstrip("\n")
