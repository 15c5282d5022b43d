"""What the chat formats share: an alert's content read from an outbox row, the snippet cut
into plain and marked parts, escapers, and cutting a message down to a service's size limit.

Messages are cut on the user's raw text, before it is escaped, so a cut never falls inside an
escape (``&lt;``, ``&#42;``) or between a match's opening and closing markup. I/O-free.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from alerts.matching import MARK_CLOSE, MARK_OPEN, fold_term

__all__ = [
    "AlertView",
    "Part",
    "clip",
    "clip_parts",
    "escape_markdown",
    "fit_message",
    "largest_fitting",
    "markdown_url",
    "snippet_parts",
    "utf8_size",
    "json_size",
]

T = TypeVar("T")
Part = tuple[str, bool]  # (text, is the match)

TITLE_MAX = 200
DIGEST_SNIPPET_MAX = 160
_MARKED_RE = re.compile(f"{MARK_OPEN}([^{MARK_OPEN}{MARK_CLOSE}]+){MARK_CLOSE}")
# Characters that markdown dialects (CommonMark, lark_md, DingTalk's, WeCom's) give meaning
# anywhere in a line, plus WeCom's <@userid> mentions and HTML; and those that start a block
# (heading, list, numbered list) at the start of a line. A numeric character reference shows
# the character itself and never starts markup, in CommonMark and in the HTML these
# renderers accept.
_MARKDOWN_INLINE = re.compile(r"[\\`*_\[\]()<>&~|]")
_MARKDOWN_LINE_START = re.compile(r"^(\s*(?:\d+(?=[.)]))?)([#+\-=.)])", re.MULTILINE)


@dataclass(frozen=True)
class AlertView:
    """The content every channel shows: title, rule, matched terms, source, time, snippet
    with the match marked, link (``url`` is empty unless it is http(s))."""

    rule: str
    title: str
    url: str
    source: str
    when: str
    terms: tuple[str, ...]
    snippet: tuple[Part, ...]

    @classmethod
    def of(cls, rule: str, row: dict[str, Any]) -> AlertView:
        url = str(row.get("url") or "")
        terms = row.get("terms") or "[]"
        terms = tuple(json.loads(terms) if isinstance(terms, str) else terms)
        return cls(
            rule=rule,
            title=" ".join(str(row.get("title") or url or "(untitled)").split()),
            url=url if url.startswith(("http://", "https://")) else "",
            source=str(row.get("source") or ""),
            when=str(row.get("published_at") or row.get("created_at") or ""),
            terms=terms,
            snippet=tuple(snippet_parts(str(row.get("snippet") or ""), terms)),
        )

    @property
    def matched(self) -> str:
        return ", ".join(self.terms)

    @property
    def longest(self) -> int:
        return max(len(self.title), sum(len(text) for text, _ in self.snippet), 1)


def snippet_parts(snippet: str, terms: Sequence[str] = ()) -> list[Part]:
    """Split a snippet (``…英伟达【H20】芯片…``) into plain and matched parts. Brackets
    that were in the article itself (``【独家】``) stay text: when a bracketed span folds to
    one of ``terms``, only such spans are the match; with no terms, every bracketed span is."""
    folded_terms = {fold_term(t) for t in terms}
    spans = list(_MARKED_RE.finditer(snippet))
    matching = [m for m in spans if fold_term(m.group(1)) in folded_terms]
    chosen = {m.start() for m in (matching or spans)}
    parts: list[Part] = []
    position = 0
    for match in spans:
        if match.start() not in chosen:
            continue
        if match.start() > position:
            parts.append((snippet[position : match.start()], False))
        parts.append((match.group(1), True))
        position = match.end()
    if position < len(snippet):
        parts.append((snippet[position:], False))
    return parts


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, an ellipsis marking the cut."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return "…"[:limit]
    return text[: limit - 1].rstrip() + "…"


def clip_parts(parts: Sequence[Part], limit: int) -> list[Part]:
    """The first ``limit`` characters of a snippet's parts, an ellipsis marking a cut; a
    match cut short stays one marked part, so its markup stays balanced."""
    if sum(len(text) for text, _ in parts) <= limit:
        return list(parts)
    kept: list[Part] = []
    left = max(0, limit - 1)
    for text, marked in parts:
        if left <= 0:
            break
        piece = text[:left]
        kept.append((piece, marked))
        left -= len(piece)
    if limit > 0:
        kept.append(("…", False))
    return [part for part in kept if part[0]]


def largest_fitting(
    render: Callable[[int], T], size: Callable[[T], int], limit: int, *, high: int
) -> T:
    """``render(n)`` for the largest ``0 <= n <= high`` whose ``size`` is within ``limit``
    (``render`` grows with ``n``: characters of user text, or items of a digest); ``render(0)``
    when nothing fits."""
    best = render(high)
    if size(best) <= limit:
        return best
    low, top = 0, high - 1
    best = render(0)
    while low <= top:
        middle = (low + top) // 2
        candidate = render(middle)
        if size(candidate) <= limit:
            best, low = candidate, middle + 1
        else:
            top = middle - 1
    return best


def fit_message(
    views: Sequence[AlertView],
    single: Callable[[int], T],
    digest: Callable[[int], T],
    size: Callable[[T], int],
    limit: int,
) -> T:
    """The message for ``views`` within ``limit`` (by ``size``): one alert as ``single(n)``
    with as many characters of its text as fit, several as ``digest(n)`` with as many of
    them as fit (:func:`largest_fitting`)."""
    if len(views) == 1:
        return largest_fitting(single, size, limit, high=views[0].longest)
    return largest_fitting(digest, size, limit, high=len(views))


def utf8_size(text: str) -> int:
    return len(text.encode("utf-8"))


def json_size(payload: Any) -> int:
    """Bytes of ``payload`` as sent (UTF-8 JSON, CJK unescaped)."""
    return utf8_size(json.dumps(payload, ensure_ascii=False))


def escape_markdown(text: str) -> str:
    """``text`` shown as itself in markdown: markup characters as numeric character
    references (``*`` → ``&#42;``; ``#``, ``-``, ``+`` only where they start a line)."""
    text = _MARKDOWN_INLINE.sub(lambda m: f"&#{ord(m.group())};", text)
    return _MARKDOWN_LINE_START.sub(
        lambda m: m.group(1) + "".join(f"&#{ord(c)};" for c in m.group(2)), text
    )


def markdown_url(url: str) -> str:
    """A URL safe inside ``[text](url)``: spaces, parentheses and quotes percent-encoded."""
    return quote(url, safe=":/?#[]@!$&*+,;=%~-._'")


def digest_header(rule: str, count: int) -> str:
    return f"{rule}: {count} new {'story' if count == 1 else 'stories'}"


def more_line(shown: int, total: int) -> str:
    return f"… and {total - shown} more" if shown < total else ""
