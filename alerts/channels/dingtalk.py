"""DingTalk custom robots: a markdown message, signed (加签) when the robot has a secret.

The robot answers HTTP 200 with a JSON ``errcode``: 0 is delivered; 130101 and 410100 ("send
too fast": more than 20 messages a minute, after which the robot is held back for ten
minutes) and -1 (busy) are :class:`Transient`; 310000 (signature, keyword or IP check
failed), 300001/400101 (no such token), 400102 (robot stopped), 40035/40044 (bad message) are
:class:`Permanent`. With ``secret``, the URL gets ``timestamp`` (milliseconds) and ``sign``:
base64 of HMAC-SHA256 keyed with the secret over ``"{timestamp}\\n{secret}"``, URL-encoded.
The markdown text is kept under 18 KB (the robot takes 20,000 bytes).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

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
    markdown_url,
    more_line,
    utf8_size,
)
from crawler.config import DingTalkChannel

__all__ = ["DingTalkSender", "dingtalk_markdown", "dingtalk_sign", "markdown_text"]

TEXT_LIMIT = 18_000  # bytes of markdown text
TRANSIENT_CODES = {130101: 600.0, 410100: 600.0, -1: None}
PERMANENT_CODES = {
    310000: "security check failed (signature, keyword or IP allow list): check secret",
    300001: "no robot has this access_token",
    400101: "no robot has this access_token",
    400102: "the robot has been stopped",
    40035: "bad request (the message was refused)",
    40044: "bad request (the message type was refused)",
}


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """The ``sign`` query parameter (before URL-encoding)."""
    digest = hmac.new(
        secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def _md(parts: list[Part]) -> str:
    return "".join(
        f"**{escape_markdown(t)}**" if marked else escape_markdown(t) for t, marked in parts
    )


def _link(view: AlertView) -> str:
    title = escape_markdown(clip(view.title, TITLE_MAX))
    return f"[{title}]({markdown_url(view.url)})" if view.url else title


def markdown_text(rule: str, views: list[AlertView], limit: int) -> str:
    """The markdown DingTalk and WeCom share: one alert in full, or a digest list, cut to
    ``limit`` bytes (``limit`` characters of snippet for one alert, items for a digest)."""

    def single(n: int) -> str:
        view = views[0]
        paragraphs = [
            f"### {escape_markdown(clip(view.title, min(n, TITLE_MAX)))}",
            f"**Rule** {escape_markdown(view.rule)}",
            f"**Matched** {escape_markdown(view.matched) or '-'}",
            f"**Source** {escape_markdown(view.source) or '-'}",
            f"**Time** {escape_markdown(view.when) or '-'}",
            f"> {_md(clip_parts(view.snippet, n))}",
        ]
        if view.url:
            paragraphs.append(f"[Open article]({markdown_url(view.url)})")
        return "\n\n".join(paragraphs)

    def digest(n: int) -> str:
        lines = [f"### {escape_markdown(digest_header(rule, len(views)))}", ""]
        for view in views[:n]:
            meta = " · ".join(escape_markdown(v) for v in (view.source, view.when) if v)
            snippet = _md(clip_parts(view.snippet, DIGEST_SNIPPET_MAX))
            lines += [f"- {_link(view)} ({meta})", f"  {snippet}"]
        more = more_line(n, len(views))
        if more:
            lines += ["", escape_markdown(more)]
        return "\n".join(lines)

    return fit_message(views, single, digest, utf8_size, limit)


def dingtalk_markdown(
    rule: str, rows: list[dict[str, Any]], *, limit: int = TEXT_LIMIT
) -> dict[str, Any]:
    views = [AlertView.of(rule, row) for row in rows]
    title = views[0].title if len(views) == 1 else digest_header(rule, len(views))
    return {
        "msgtype": "markdown",
        # the title is what the conversation list and notifications show
        "markdown": {
            "title": clip(f"[{rule}] {title}", 60),
            "text": markdown_text(rule, views, limit),
        },
    }


class DingTalkSender:
    min_interval = 1.0
    per_minute: int | None = 20

    def __init__(self, config: DingTalkChannel) -> None:
        self.config = config
        self.name = config.name
        self.window = MinuteWindow("dingtalk", self.per_minute)

    def _url(self) -> str:
        if not self.config.secret:
            return self.config.webhook_url
        timestamp = int(time.time() * 1000)
        query = urlencode(
            {"timestamp": timestamp, "sign": dingtalk_sign(self.config.secret, timestamp)}
        )
        return f"{self.config.webhook_url}&{query}"

    def send(self, rule: str, rows: list[dict[str, Any]]) -> None:
        body = json.dumps(dingtalk_markdown(rule, rows), ensure_ascii=False).encode("utf-8")
        self.window.check()
        secrets = (self.config.webhook_url, self.config.secret or "")
        answer = post("dingtalk", self._url(), body, timeout=self.config.timeout, secrets=secrets)
        self.window.record()
        raise_for_errcode("dingtalk", answer.json(), TRANSIENT_CODES, PERMANENT_CODES)
        classify_status("dingtalk", answer)


def raise_for_errcode(
    service: str,
    body: Any,
    transient: dict[int, float | None],
    permanent: dict[int, str],
) -> None:
    """Raise for a non-zero ``errcode`` in an answer's JSON body (DingTalk, WeCom): known
    transient codes with their wait, known permanent ones with a reason, others transient
    (the outbox gives up after ``max_attempts``)."""
    if not isinstance(body, dict):
        return
    code = body.get("errcode")
    if not isinstance(code, int) or code == 0:
        return
    message = f"{service}: errcode {code} {body.get('errmsg') or ''}".rstrip()
    if code in permanent:
        raise Permanent(f"{message}: {permanent[code]}")
    raise Transient(message, retry_after=transient.get(code))
