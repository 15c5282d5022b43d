"""Delivery channels: Slack, email, Feishu/Lark, DingTalk, WeCom, Microsoft Teams, Telegram, a
signed generic webhook, and the log.

:func:`build_channel` turns a ``[[channels]]`` entry into a :class:`Channel`, whose ``send``
renders the alert (one outbox row) or digest (several) in the service's rich format and
either returns (delivered) or raises :class:`Transient` (try again later, after
``retry_after`` seconds when the service said so) or :class:`Permanent` (will never work as
configured: the alert goes dead with the reason). ``min_interval`` and ``per_minute`` tell
the delivery engine how fast the service lets it send.

Why direct clients and not Apprise. Apprise (2.3, read from its source) has plugins for
Feishu, Lark, DingTalk, WeCom bots, Teams Workflows, Telegram and JSON webhooks, but each
plugin's ``send`` returns only True or False after logging: the outbox could not tell a
revoked webhook (dead now) from a rate limit (retry), and it reads no ``Retry-After``, no
Telegram ``parameters.retry_after``. Its DingTalk plugin checks only the HTTP status, so a
refused message (``errcode`` 310000, 130101 in an HTTP 200 body) counts as sent; its
Feishu plugin reads ``code`` but cannot sign (no ``secret``); its JSON webhook has no HMAC
signature. So each service here is a small client over httpx, written by hand only where
no library does it: the payload of each rich format and the sorting of each service's
answers (HTTP status, ``code``/``errcode`` in 200 bodies, retry hints) into
transient and permanent failures.
"""

from __future__ import annotations

from typing import Any

from alerts.channels.base import Channel, DeliveryError, MinuteWindow, Permanent, Transient
from alerts.channels.dingtalk import DingTalkSender
from alerts.channels.feishu import FeishuSender
from alerts.channels.log import LogSender
from alerts.channels.slack import SlackSender, send_slack
from alerts.channels.smtp import EmailSender, send_email
from alerts.channels.teams import TeamsSender
from alerts.channels.telegram import TelegramSender
from alerts.channels.webhook import WebhookSender
from alerts.channels.wecom import WeComSender
from crawler.config import ChannelConfig

__all__ = [
    "Channel",
    "DeliveryError",
    "MinuteWindow",
    "Permanent",
    "SENDERS",
    "Transient",
    "build_channel",
    "send_email",
    "send_slack",
]

SENDERS: dict[str, Any] = {
    "slack": SlackSender,
    "email": EmailSender,
    "feishu": FeishuSender,
    "dingtalk": DingTalkSender,
    "wecom": WeComSender,
    "teams": TeamsSender,
    "telegram": TelegramSender,
    "webhook": WebhookSender,
    "log": LogSender,
}


def build_channel(config: ChannelConfig) -> Channel:
    """The :class:`Channel` for a ``[[channels]]`` entry."""
    sender = SENDERS[config.type]
    channel: Channel = sender(config)
    return channel
