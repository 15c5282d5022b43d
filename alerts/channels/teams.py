"""Microsoft Teams through a Workflows webhook (the replacement for Office 365 connectors):
an Adaptive Card in a ``message`` envelope.

User text goes into ``TextRun`` elements of ``RichTextBlock``s, which Teams shows as plain
text (no markdown), the match as a bold, highlighted run: nothing to escape. The workflow
answers 202 (or 200); 408, 429 (with ``Retry-After``) and 5xx are :class:`Transient`, other
4xx (a deleted or disabled flow, a refused card) :class:`Permanent`. A message may hold 28 KB.
"""

from __future__ import annotations

import json
from typing import Any

from alerts.channels.base import classify_status, post
from alerts.formats import (
    DIGEST_SNIPPET_MAX,
    TITLE_MAX,
    AlertView,
    Part,
    clip,
    clip_parts,
    digest_header,
    fit_message,
    json_size,
    more_line,
)
from crawler.config import TeamsChannel

__all__ = ["TeamsSender", "teams_message"]

BODY_LIMIT = 26_000  # bytes; Teams takes about 28 KB


def _runs(parts: list[Part]) -> list[dict[str, Any]]:
    return [
        {"type": "TextRun", "text": text, "weight": "Bolder", "highlight": True}
        if marked
        else {"type": "TextRun", "text": text}
        for text, marked in parts
    ]


def _rich(*runs: dict[str, Any], spacing: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "RichTextBlock", "inlines": list(runs)}
    if spacing:
        block["spacing"] = spacing
    return block


def _fact(label: str, value: str) -> dict[str, Any]:
    return _rich(
        {"type": "TextRun", "text": f"{label}: ", "weight": "Bolder"},
        {"type": "TextRun", "text": value or "-"},
        spacing="None",
    )


def _envelope(body: list[dict[str, Any]], actions: list[dict[str, Any]]) -> dict[str, Any]:
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "msteams": {"width": "Full"},
        "body": body,
    }
    if actions:
        card["actions"] = actions
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def _title(text: str) -> dict[str, Any]:
    return _rich({"type": "TextRun", "text": text, "size": "Large", "weight": "Bolder"})


def _single(view: AlertView, n: int) -> dict[str, Any]:
    body = [
        _title(clip(view.title, min(n, TITLE_MAX))),
        _fact("Rule", view.rule),
        _fact("Matched", view.matched),
        _fact("Source", view.source),
        _fact("Time", view.when),
        _rich(*_runs(clip_parts(view.snippet, n)), spacing="Medium"),
    ]
    actions = (
        [{"type": "Action.OpenUrl", "title": "Open article", "url": view.url}] if view.url else []
    )
    return _envelope(body, actions)


def _digest(rule: str, views: list[AlertView], n: int) -> dict[str, Any]:
    body: list[dict[str, Any]] = [_title(digest_header(rule, len(views)))]
    for view in views[:n]:
        title: dict[str, Any] = {
            "type": "TextRun",
            "text": clip(view.title, TITLE_MAX),
            "weight": "Bolder",
        }
        if view.url:
            title["selectAction"] = {"type": "Action.OpenUrl", "url": view.url}
        meta = " · ".join(v for v in (view.source, view.when) if v)
        body.append(
            _rich(
                title, {"type": "TextRun", "text": f"  {meta}", "isSubtle": True}, spacing="Medium"
            )
        )
        body.append(_rich(*_runs(clip_parts(view.snippet, DIGEST_SNIPPET_MAX)), spacing="None"))
    more = more_line(n, len(views))
    if more:
        body.append(_rich({"type": "TextRun", "text": more, "isSubtle": True}))
    return _envelope(body, [])


def teams_message(
    rule: str, rows: list[dict[str, Any]], *, limit: int = BODY_LIMIT
) -> dict[str, Any]:
    """The Workflows payload for ``rows`` (several: a digest), cut to ``limit`` bytes."""
    views = [AlertView.of(rule, row) for row in rows]
    return fit_message(
        views, lambda n: _single(views[0], n), lambda n: _digest(rule, views, n), json_size, limit
    )


class TeamsSender:
    min_interval = 0.5
    per_minute: int | None = None

    def __init__(self, config: TeamsChannel) -> None:
        self.config = config
        self.name = config.name

    def send(self, rule: str, rows: list[dict[str, Any]]) -> None:
        body = json.dumps(teams_message(rule, rows), ensure_ascii=False).encode("utf-8")
        answer = post("teams", self.config.webhook_url, body, timeout=self.config.timeout)
        detail = ""
        error = answer.json()
        if isinstance(error, dict) and isinstance(error.get("error"), dict):
            detail = f"{error['error'].get('code', '')} {error['error'].get('message', '')}".strip()
        classify_status("teams", answer, detail)
