"""Alert messages: Slack Block Kit payloads and multipart emails, user text escaped.

Pure functions of outbox rows (:mod:`storage.outbox`); one row, or several for a digest.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from email.message import EmailMessage
from typing import Any

from alerts.matching import MARK_CLOSE, MARK_OPEN

__all__ = ["email_message", "escape_mrkdwn", "slack_payload"]


def escape_mrkdwn(text: str) -> str:
    """Escape the three characters Slack's mrkdwn gives meaning (&, <, >)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _terms(row: dict[str, Any]) -> str:
    return ", ".join(json.loads(row.get("terms") or "[]"))


def _snippet_mrkdwn(snippet: str) -> str:
    escaped = escape_mrkdwn(snippet)
    return escaped.replace(MARK_OPEN, " *").replace(MARK_CLOSE, "* ")


def _snippet_html(snippet: str) -> str:
    escaped = html.escape(snippet)
    return escaped.replace(MARK_OPEN, "<mark>").replace(MARK_CLOSE, "</mark>")


def _link(row: dict[str, Any]) -> str:
    url = row.get("url") or ""
    title = escape_mrkdwn(row.get("title") or url)
    return f"<{url}|{title}>" if url.startswith(("http://", "https://")) else title


def slack_payload(rule: str, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A Block Kit message for ``rows`` of ``rule`` (several rows: a digest)."""
    if len(rows) == 1:
        row = rows[0]
        title = row.get("title") or row.get("url") or "(untitled)"
        when = row.get("published_at") or row.get("created_at") or ""
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*Rule*\n{escape_mrkdwn(rule)}"},
                    {"type": "mrkdwn", "text": f"*Matched*\n{escape_mrkdwn(_terms(row))}"},
                    {
                        "type": "mrkdwn",
                        "text": f"*Source*\n{escape_mrkdwn(row.get('source') or '')}",
                    },
                    {"type": "mrkdwn", "text": f"*Time*\n{escape_mrkdwn(when)}"},
                ],
            },
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _snippet_mrkdwn(row.get("snippet") or "")},
            },
            {"type": "context", "elements": [{"type": "mrkdwn", "text": _link(row)}]},
        ]
        return {"text": f"[{rule}] {title}", "blocks": blocks}
    lines = [
        f"• {_link(r)} ({escape_mrkdwn(r.get('source') or '')}): "
        f"{_snippet_mrkdwn(r.get('snippet') or '')}"
        for r in rows
    ]
    header = f"{rule}: {len(rows)} new stories"
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": header[:150]}}]
    for start in range(0, len(lines), 10):
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "\n".join(lines[start : start + 10])[:2900]},
            }
        )
    return {"text": header, "blocks": blocks[:50]}


def email_message(rule: str, rows: Sequence[dict[str, Any]]) -> EmailMessage:
    """A multipart (text + HTML) email for ``rows`` of ``rule``; sender and recipients are
    set by the channel."""
    message = EmailMessage()
    if len(rows) == 1:
        subject = f"[newswatch] {rule}: {rows[0].get('title') or rows[0].get('url')}"
    else:
        subject = f"[newswatch] {rule}: {len(rows)} new stories"
    message["Subject"] = " ".join(subject.split())[:200]
    text_parts, html_parts = [], []
    for row in rows:
        title = row.get("title") or row.get("url") or ""
        url = row.get("url") or ""
        snippet = row.get("snippet") or ""
        meta = (
            f"{row.get('source') or ''} · {row.get('published_at') or row.get('created_at') or ''}"
        )
        text_parts.append(f"{title}\n{meta}\nMatched: {_terms(row)}\n\n{snippet}\n\n{url}\n")
        html_parts.append(
            f'<h3><a href="{html.escape(url, quote=True)}">{html.escape(title)}</a></h3>'
            f"<p><small>{html.escape(meta)} · matched {html.escape(_terms(row))}</small></p>"
            f"<p>{_snippet_html(snippet)}</p>"
        )
    message.set_content(f"Rule: {rule}\n\n" + "\n---\n".join(text_parts))
    message.add_alternative(
        f"<html><body><p>Rule: <b>{html.escape(rule)}</b></p>{''.join(html_parts)}</body></html>",
        subtype="html",
    )
    return message
