"""Email through smtplib: a multipart text + HTML message (:mod:`alerts.render`), STARTTLS
or SSL, credentials from the environment. SMTP 4xx, refused connections and timeouts are
:class:`Transient`; SMTP 5xx and refused recipients :class:`Permanent`.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from typing import Any

from alerts.channels.base import Permanent, Transient
from alerts.render import email_message
from crawler.config import EmailChannel

__all__ = ["EmailSender", "send_email"]


class EmailSender:
    min_interval = 0.0
    per_minute: int | None = None

    def __init__(self, config: EmailChannel) -> None:
        self.config = config
        self.name = config.name

    def send(self, rule: str, rows: list[dict[str, Any]]) -> None:
        send_email(self.config, email_message(rule, rows))


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
