"""Slack incoming webhooks through slack_sdk's webhook client (Block Kit, :mod:`alerts.render`).

429 (with ``Retry-After``), 5xx, timeouts and refused connections are :class:`Transient`;
other 4xx (``no_service``, ``invalid_payload``) :class:`Permanent`.

A failed send is logged once, by the delivery engine, with the outcome (retry when, or
dead): slack_sdk's client also logs an ERROR of its own for a request that fails
("Failed to send a request to Slack API server: ..."), so the client gets a logger that
drops those (its debug lines stay, for ``-vv``).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.error import URLError

from alerts.channels.base import Permanent, Transient
from alerts.render import slack_payload
from crawler.config import SlackChannel

__all__ = ["SDK_LOGGER", "SlackSender", "send_slack"]


class _DropSdkErrors(logging.Filter):
    """The error is raised to us as well, and the outbox logs it with what happens next."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno < logging.ERROR


SDK_LOGGER = logging.getLogger("slack_sdk.webhook.newswatch")
SDK_LOGGER.addFilter(_DropSdkErrors())


class SlackSender:
    min_interval = 1.0  # Slack allows about one message per second per webhook
    per_minute: int | None = None

    def __init__(self, config: SlackChannel) -> None:
        self.config = config
        self.name = config.name

    def send(self, rule: str, rows: list[dict[str, Any]]) -> None:
        send_slack(self.config, slack_payload(rule, rows))


def send_slack(channel: SlackChannel, payload: dict[str, Any]) -> None:
    """POST a Block Kit message to the channel's incoming webhook."""
    from slack_sdk.webhook import WebhookClient

    # No retries inside the client: the outbox schedules them, with backoff, across passes.
    client = WebhookClient(
        channel.webhook_url,
        timeout=int(max(1, channel.timeout)),
        retry_handlers=[],
        logger=SDK_LOGGER,
    )
    try:
        response = client.send_dict(payload)
    except (TimeoutError, URLError, ConnectionError, OSError) as exc:
        raise Transient(f"slack: {type(exc).__name__}: {exc}") from exc
    status = response.status_code
    body = (response.body or "").strip()
    if status == 200:
        return
    if status == 429:
        retry_after = _seconds(
            (response.headers or {}).get("Retry-After")
            or (response.headers or {}).get("retry-after")
        )
        raise Transient(f"slack: 429 {body}", retry_after=retry_after)
    if status >= 500:
        raise Transient(f"slack: {status} {body}")
    raise Permanent(f"slack: {status} {body}")


def _seconds(value: Any) -> float | None:
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
