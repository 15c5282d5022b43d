"""Feishu/Lark custom bots: an interactive card, signed when the bot checks signatures.

The bot answers HTTP 200 (sometimes 400) with a JSON ``code``: 0 is delivered; 11232
("frequency limited": 100 messages a minute, 5 a second) is :class:`Transient`; 9499 (bad
request), 19001 (bad webhook), 19021 (signature, or a clock over an hour off), 19022 (IP not
allowed) and 19024 (a keyword the bot requires is missing) are :class:`Permanent`. With
``secret``, the body carries ``timestamp`` (seconds) and ``sign``: base64 of HMAC-SHA256 keyed
with ``"{timestamp}\\n{secret}"`` over an empty message. The request body may hold 20 KB.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from alerts.channels.base import MinuteWindow, Permanent, Transient, classify_status, post
from alerts.formats import (
    DIGEST_SNIPPET_MAX,
    TITLE_MAX,
    AlertView,
    Part,
    clip,
    clip_parts,
    digest_header,
    escape_markdown,
    fit_message,
    json_size,
    markdown_url,
    more_line,
)
from crawler.config import FeishuChannel

__all__ = ["FeishuSender", "feishu_card", "feishu_sign"]

BODY_LIMIT = 19_000  # bytes; Feishu takes 20 KB, the signature fields need the rest
# 11232 does not say which limit (5 a second, 100 a minute) was hit: back off as usual.
TRANSIENT_CODES: dict[int, float | None] = {11232: None}
PERMANENT_CODES = {
    9499: "bad request (the card was refused)",
    19001: "the webhook URL is not a valid bot",
    19021: "signature check failed: check secret, and that the clock is within an hour",
    19022: "this address is not on the bot's IP allow list",
    19024: "the message lacks a keyword the bot requires",
}


def feishu_sign(secret: str, timestamp: int) -> str:
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


def _md(parts: list[Part]) -> str:
    return "".join(
        f"**{escape_markdown(t)}**" if marked else escape_markdown(t) for t, marked in parts
    )


def _field(label: str, value: str) -> dict[str, Any]:
    content = f"**{label}**\n{escape_markdown(value) or '-'}"
    return {"is_short": True, "text": {"tag": "lark_md", "content": content}}


def _card(title: str, elements: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "msg_type": "interactive",
        "card": {
            "config": {"wide_screen_mode": True},
            "header": {"title": {"tag": "plain_text", "content": title}, "template": "red"},
            "elements": elements,
        },
    }


def _single(view: AlertView, limit: int) -> dict[str, Any]:
    elements: list[dict[str, Any]] = [
        {
            "tag": "div",
            "fields": [
                _field("Rule", view.rule),
                _field("Matched", view.matched),
                _field("Source", view.source),
                _field("Time", view.when),
            ],
        },
        {"tag": "div", "text": {"tag": "lark_md", "content": _md(clip_parts(view.snippet, limit))}},
    ]
    if view.url:
        elements.append(
            {
                "tag": "action",
                "actions": [
                    {
                        "tag": "button",
                        "text": {"tag": "plain_text", "content": "Open article"},
                        "type": "primary",
                        "url": view.url,
                    }
                ],
            }
        )
    return _card(clip(view.title, min(limit, TITLE_MAX)), elements)


def _item(view: AlertView) -> str:
    title = escape_markdown(clip(view.title, TITLE_MAX))
    link = f"[{title}]({markdown_url(view.url)})" if view.url else f"**{title}**"
    meta = " · ".join(escape_markdown(v) for v in (view.source, view.when) if v)
    return f"{link}\n{meta}\n{_md(clip_parts(view.snippet, DIGEST_SNIPPET_MAX))}"


def _digest(rule: str, views: list[AlertView], shown: int) -> dict[str, Any]:
    elements: list[dict[str, Any]] = []
    for view in views[:shown]:
        if elements:
            elements.append({"tag": "hr"})
        elements.append({"tag": "div", "text": {"tag": "lark_md", "content": _item(view)}})
    more = more_line(shown, len(views))
    if more:
        elements.append({"tag": "note", "elements": [{"tag": "plain_text", "content": more}]})
    return _card(digest_header(rule, len(views)), elements)


def feishu_card(
    rule: str, rows: list[dict[str, Any]], *, limit: int = BODY_LIMIT
) -> dict[str, Any]:
    """An interactive card for ``rows`` (several: a digest), cut to ``limit`` bytes."""
    views = [AlertView.of(rule, row) for row in rows]
    return fit_message(
        views, lambda n: _single(views[0], n), lambda n: _digest(rule, views, n), json_size, limit
    )


class FeishuSender:
    min_interval = 0.2  # 5 messages a second
    per_minute: int | None = 100

    def __init__(self, config: FeishuChannel) -> None:
        self.config = config
        self.name = config.name
        self.window = MinuteWindow("feishu", self.per_minute)

    def send(self, rule: str, rows: list[dict[str, Any]]) -> None:
        payload = feishu_card(rule, rows)
        if self.config.secret:
            timestamp = int(time.time())
            payload = {
                "timestamp": str(timestamp),
                "sign": feishu_sign(self.config.secret, timestamp),
                **payload,
            }
        self.window.check()
        answer = post(
            "feishu",
            self.config.webhook_url,
            json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            timeout=self.config.timeout,
        )
        self.window.record()
        body = answer.json()
        code = body.get("code", body.get("StatusCode")) if isinstance(body, dict) else None
        if isinstance(code, int) and code != 0:
            message = f"feishu: code {code} {body.get('msg') or body.get('StatusMessage') or ''}"
            if code in TRANSIENT_CODES:
                raise Transient(message.rstrip(), retry_after=TRANSIENT_CODES[code])
            if code in PERMANENT_CODES:
                raise Permanent(f"{message.rstrip()}: {PERMANENT_CODES[code]}")
            if answer.status >= 500 or answer.status == 429 or 200 <= answer.status < 300:
                raise Transient(message.rstrip())
            raise Permanent(message.rstrip())
        classify_status("feishu", answer)
