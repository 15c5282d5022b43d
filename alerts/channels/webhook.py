"""A generic JSON webhook whose body is signed, so the receiver can verify it and reject
replays.

Each POST carries ``X-Newswatch-Timestamp`` (Unix seconds), ``X-Newswatch-Signature``
(``sha256=`` and the hex HMAC-SHA256, keyed with ``secret``, of the timestamp, a dot and the
raw body: ``b"1767225600." + body``) and ``X-Newswatch-Delivery`` (the same for every retry
of the same alerts, for de-duplication). The receiver recomputes the HMAC, compares it in
constant time and refuses a timestamp more than five minutes from its clock (the README has
an example). Any 2xx is delivered; 408, 425, 429 (with ``Retry-After``) and 5xx are
:class:`Transient`; other 4xx :class:`Permanent`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from alerts.channels.base import classify_status, post
from alerts.formats import AlertView
from crawler.config import WebhookChannel

__all__ = [
    "DELIVERY_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "WebhookSender",
    "webhook_body",
    "webhook_signature",
]

TIMESTAMP_HEADER = "X-Newswatch-Timestamp"
SIGNATURE_HEADER = "X-Newswatch-Signature"
DELIVERY_HEADER = "X-Newswatch-Delivery"


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def delivery_id(rule: str, rows: list[dict[str, Any]]) -> str:
    key = f"{rule}:" + ",".join(str(row.get("id")) for row in rows)
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def webhook_body(rule: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON sent: the rule and each alert's story, title, URL, source, time, matched
    terms and snippet (as archived, the match in 【】, and as parts)."""
    alerts = []
    for row in rows:
        view = AlertView.of(rule, row)
        alerts.append(
            {
                "id": row.get("id"),
                "story_id": row.get("story_id"),
                "title": row.get("title"),
                "url": row.get("url"),
                "source": row.get("source"),
                "published_at": row.get("published_at"),
                "created_at": row.get("created_at"),
                "terms": list(view.terms),
                "snippet": row.get("snippet") or "",
                "snippet_parts": [{"text": t, "match": m} for t, m in view.snippet],
            }
        )
    return {
        "type": "newswatch.alert" if len(rows) == 1 else "newswatch.digest",
        "delivery": delivery_id(rule, rows),
        "rule": rule,
        "alerts": alerts,
    }


class WebhookSender:
    min_interval = 0.0
    per_minute: int | None = None

    def __init__(self, config: WebhookChannel) -> None:
        self.config = config
        self.name = config.name

    def send(self, rule: str, rows: list[dict[str, Any]]) -> None:
        payload = webhook_body(rule, rows)
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        timestamp = int(time.time())
        headers = {
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: webhook_signature(self.config.secret, timestamp, body),
            DELIVERY_HEADER: payload["delivery"],
        }
        answer = post(
            "webhook",
            self.config.webhook_url,
            body,
            timeout=self.config.timeout,
            headers=headers,
            secrets=(self.config.secret,),
        )
        classify_status("webhook", answer)
