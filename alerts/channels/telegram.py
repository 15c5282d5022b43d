"""Telegram bots: ``sendMessage`` with ``parse_mode = "HTML"`` to one chat.

User text is escaped for Telegram's HTML (``<``, ``>``, ``&``; ``"`` too inside ``href``);
the match is bold. The Bot API answers ``{"ok": true}``; 429 carries
``parameters.retry_after`` in the body (and a ``Retry-After`` header), which the retry
honours; 5xx are :class:`Transient`; 400 (chat not found, a group that became a supergroup:
``parameters.migrate_to_chat_id``), 401 (bad token) and 403 (bot blocked or removed) are
:class:`Permanent`. A message may hold 4,096 characters.
"""

from __future__ import annotations

import html
import json
from typing import Any

from alerts.channels.base import (
    MinuteWindow,
    Permanent,
    Transient,
    classify_status,
    post,
    retry_after_seconds,
)
from alerts.formats import (
    DIGEST_SNIPPET_MAX,
    TITLE_MAX,
    AlertView,
    Part,
    clip,
    clip_parts,
    digest_header,
    fit_message,
    more_line,
)
from crawler.config import TelegramChannel

__all__ = ["TelegramSender", "telegram_html"]

TEXT_LIMIT = 4_096  # characters of the HTML as sent (the rendered text is never longer)


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _html(parts: list[Part]) -> str:
    return "".join(f"<b>{_esc(t)}</b>" if marked else _esc(t) for t, marked in parts)


def _link(view: AlertView, text: str) -> str:
    if not view.url:
        return _esc(text)
    return f'<a href="{html.escape(view.url, quote=True)}">{_esc(text)}</a>'


def telegram_html(rule: str, rows: list[dict[str, Any]], *, limit: int = TEXT_LIMIT) -> str:
    """The message text for ``rows`` (several: a digest), within ``limit`` characters."""
    views = [AlertView.of(rule, row) for row in rows]

    def single(n: int) -> str:
        view = views[0]
        lines = [
            f"<b>{_link(view, clip(view.title, min(n, TITLE_MAX)))}</b>",
            f"<b>Rule</b> {_esc(view.rule)}",
            f"<b>Matched</b> {_esc(view.matched) or '-'}",
            f"<b>Source</b> {_esc(view.source) or '-'}",
            f"<b>Time</b> {_esc(view.when) or '-'}",
            "",
            _html(clip_parts(view.snippet, n)),
        ]
        return "\n".join(lines)

    def digest(n: int) -> str:
        lines = [f"<b>{_esc(digest_header(rule, len(views)))}</b>"]
        for view in views[:n]:
            meta = " · ".join(_esc(v) for v in (view.source, view.when) if v)
            lines += [
                "",
                f"• {_link(view, clip(view.title, TITLE_MAX))} ({meta})",
                _html(clip_parts(view.snippet, DIGEST_SNIPPET_MAX)),
            ]
        more = more_line(n, len(views))
        if more:
            lines += ["", _esc(more)]
        return "\n".join(lines)

    return fit_message(views, single, digest, len, limit)


class TelegramSender:
    min_interval = 1.0  # one message a second to a chat
    per_minute: int | None = 20  # to one group

    def __init__(self, config: TelegramChannel) -> None:
        self.config = config
        self.name = config.name
        self.window = MinuteWindow("telegram", self.per_minute)

    def send(self, rule: str, rows: list[dict[str, Any]]) -> None:
        payload = {
            "chat_id": self.config.chat_id,
            "text": telegram_html(rule, rows),
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
        }
        url = f"{self.config.api_url.rstrip('/')}/bot{self.config.bot_token}/sendMessage"
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.window.check()
        answer = post(
            "telegram", url, body, timeout=self.config.timeout, secrets=(self.config.bot_token,)
        )
        self.window.record()
        reply = answer.json()
        if not isinstance(reply, dict) or reply.get("ok") is not False:
            classify_status("telegram", answer)
            return
        code = reply.get("error_code", answer.status)
        message = f"telegram: {code} {reply.get('description') or ''}".rstrip()
        parameters = reply.get("parameters") or {}
        if code == 429 or answer.status == 429:
            wait = parameters.get("retry_after")
            if not isinstance(wait, int | float):
                wait = retry_after_seconds(answer.headers.get("Retry-After"))
            raise Transient(message, retry_after=wait)
        if "migrate_to_chat_id" in parameters:
            raise Permanent(
                f"{message}: the group is now a supergroup, "
                f"set chat_id = {parameters['migrate_to_chat_id']}"
            )
        if isinstance(code, int) and code >= 500:
            raise Transient(message)
        raise Permanent(message)
