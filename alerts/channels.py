"""Delivery channels: Slack incoming webhooks (slack_sdk) and email (smtplib).

Each ``send_*`` either returns (delivered) or raises :class:`Transient` (try again later,
maybe after ``retry_after`` seconds: 429, 5xx, timeouts, refused connections, SMTP 4xx) or
:class:`Permanent` (will never work as configured: Slack 4xx other than 429, SMTP 5xx).
Messages are built by :mod:`alerts.render`.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from typing import Any
from urllib.error import URLError

from crawler.config import EmailChannel, SlackChannel

__all__ = ["DeliveryError", "Permanent", "Transient", "send_email", "send_slack"]


class DeliveryError(Exception):
    """A delivery did not happen."""


class Transient(DeliveryError):
    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Permanent(DeliveryError):
    pass


def send_slack(channel: SlackChannel, payload: dict[str, Any]) -> None:
    """POST a Block Kit message to the channel's incoming webhook."""
    from slack_sdk.webhook import WebhookClient

    # No retries inside the client: the outbox schedules them, with backoff, across passes.
    client = WebhookClient(
        channel.webhook_url, timeout=int(max(1, channel.timeout)), retry_handlers=[]
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


def send_email(channel: EmailChannel, message: EmailMessage) -> None:
    """Send ``message`` through the channel's SMTP server."""
    message["From"] = channel.sender
    message["To"] = ", ".join(channel.recipients)
    try:
        smtp: smtplib.SMTP
        if channel.ssl:
            smtp = smtplib.SMTP_SSL(
                channel.host,
                channel.port,
                timeout=channel.timeout,
                context=ssl.create_default_context(),
            )
        else:
            smtp = smtplib.SMTP(channel.host, channel.port, timeout=channel.timeout)
        with smtp:
            if channel.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if channel.username:
                smtp.login(channel.username, channel.password or "")
            refused = smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        _raise_for_code(min(codes) if codes else 550, f"recipients refused: {exc.recipients}")
    except smtplib.SMTPResponseException as exc:
        detail = (
            exc.smtp_error.decode("utf-8", "replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        _raise_for_code(exc.smtp_code, detail)
    except (smtplib.SMTPException, OSError) as exc:
        raise Transient(f"smtp: {type(exc).__name__}: {exc}") from exc
    else:
        if refused:
            raise Permanent(f"smtp: some recipients refused: {refused}")


def _raise_for_code(code: int, detail: str) -> None:
    if 400 <= code < 500:
        raise Transient(f"smtp: {code} {detail}")
    raise Permanent(f"smtp: {code} {detail}")
