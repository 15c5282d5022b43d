"""WeCom (企业微信) group bots: a markdown message (the key is in the URL; no signature).

The bot answers HTTP 200 with a JSON ``errcode``: 0 is delivered; 45009 (more than 20
messages a minute) and -1 (busy) are :class:`Transient`; 93000 (bad webhook), 40008 (message
type), 40058 (bad field, too long), 44004 (empty) are :class:`Permanent`. The markdown
``content`` may hold 4,096 bytes.
"""

from __future__ import annotations

import json
from typing import Any

from alerts.channels.base import MinuteWindow, classify_status, post
from alerts.channels.dingtalk import markdown_text, raise_for_errcode
from alerts.formats import AlertView
from crawler.config import WeComChannel

__all__ = ["WeComSender", "wecom_markdown"]

CONTENT_LIMIT = 4_000  # bytes; WeCom takes 4,096
TRANSIENT_CODES: dict[int, float | None] = {45009: 60.0, -1: None}
PERMANENT_CODES = {
    93000: "the webhook URL is not a valid group bot (removed, or a wrong key)",
    40008: "bad request (the message type was refused)",
    40058: "bad request (a field was refused or too long)",
    44004: "bad request (empty message)",
}


def wecom_markdown(
    rule: str, rows: list[dict[str, Any]], *, limit: int = CONTENT_LIMIT
) -> dict[str, Any]:
    views = [AlertView.of(rule, row) for row in rows]
    return {"msgtype": "markdown", "markdown": {"content": markdown_text(rule, views, limit)}}


class WeComSender:
    min_interval = 1.0
    per_minute: int | None = 20

    def __init__(self, config: WeComChannel) -> None:
        self.config = config
        self.name = config.name
        self.window = MinuteWindow("wecom", self.per_minute)

    def send(self, rule: str, rows: list[dict[str, Any]]) -> None:
        body = json.dumps(wecom_markdown(rule, rows), ensure_ascii=False).encode("utf-8")
        self.window.check()
        answer = post("wecom", self.config.webhook_url, body, timeout=self.config.timeout)
        self.window.record()
        raise_for_errcode("wecom", answer.json(), TRANSIENT_CODES, PERMANENT_CODES)
        classify_status("wecom", answer)
