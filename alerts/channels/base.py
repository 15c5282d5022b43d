"""What every channel shares: the outcome of a send, the :class:`Channel` shape, a guard
for services that cap messages per minute, and one HTTP POST with failures sorted into
:class:`Transient` and :class:`Permanent`.

The HTTP client is httpx; what is written here by hand is only the sorting of each
service's answers, which no client library does (see :mod:`alerts.channels`).
"""

from __future__ import annotations

import collections
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx

from crawler import __version__

__all__ = [
    "Channel",
    "DeliveryError",
    "HttpAnswer",
    "MinuteWindow",
    "Permanent",
    "Transient",
    "classify_status",
    "post",
    "retry_after_seconds",
]

USER_AGENT = f"newswatch/{__version__}"

# httpx logs every request's full URL at INFO, and webhook URLs are secrets (DingTalk's
# access_token, Teams' sig, the Telegram bot token): keep its request lines out of our logs.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)


class DeliveryError(Exception):
    """A delivery did not happen."""


class Transient(DeliveryError):
    """Try again later; ``retry_after`` seconds when the service said how long."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Permanent(DeliveryError):
    """Will never work as configured: the alert is dead, with this reason."""


class Channel(Protocol):
    """A configured destination. ``send`` returns on success or raises
    :class:`Transient`/:class:`Permanent`; ``rows`` are outbox rows (one: an immediate
    alert; several: a digest)."""

    name: str
    min_interval: float
    per_minute: int | None

    def send(self, rule: str, rows: list[dict[str, Any]]) -> None: ...


class MinuteWindow:
    """Refuses, before anything is sent, a message that would exceed ``per_minute``
    messages in any 60 s (DingTalk locks a robot for ten minutes when it gets a 21st).
    Remembers at most ``per_minute`` send times."""

    def __init__(
        self, service: str, per_minute: int | None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.service = service
        self.per_minute = per_minute
        self.clock = clock
        self.sent: collections.deque[float] = collections.deque(maxlen=per_minute or 1)

    def check(self) -> None:
        if not self.per_minute or len(self.sent) < self.per_minute:
            return
        wait = self.sent[0] + 60.0 - self.clock()
        if wait > 0:
            raise Transient(
                f"{self.service}: {self.per_minute} messages in the last minute, "
                "the service's limit; waiting",
                retry_after=wait,
            )

    def record(self) -> None:
        if self.per_minute:
            self.sent.append(self.clock())


@dataclass
class HttpAnswer:
    status: int
    headers: Mapping[str, str]
    text: str

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.text)
        except ValueError:
            return None


def post(
    service: str,
    url: str,
    body: bytes,
    *,
    timeout: float,
    headers: Mapping[str, str] | None = None,
    secrets: tuple[str, ...] = (),
) -> HttpAnswer:
    """POST ``body`` (JSON) to ``url``; network failures and timeouts are
    :class:`Transient`. ``secrets`` (the URL, tokens) are never put in an error message."""
    sent_headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT}
    sent_headers.update(headers or {})
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            response = client.post(url, content=body, headers=sent_headers)
            return HttpAnswer(response.status_code, response.headers, response.text)
    except httpx.InvalidURL as exc:
        raise Permanent(f"{service}: invalid URL ({_redact(str(exc), url, secrets)})") from None
    except httpx.HTTPError as exc:
        detail = _redact(str(exc), url, secrets) or type(exc).__name__
        raise Transient(f"{service}: {type(exc).__name__}: {detail}") from None


def _redact(text: str, url: str, secrets: tuple[str, ...]) -> str:
    for secret in (url, *secrets):
        if secret:
            text = text.replace(secret, "***")
    return text


def retry_after_seconds(value: str | None) -> float | None:
    """A ``Retry-After`` header (seconds or an HTTP date) as seconds from now."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def classify_status(service: str, answer: HttpAnswer, detail: str = "") -> None:
    """Return for 2xx; raise :class:`Transient` for 408, 425, 429 (with its
    ``Retry-After``) and 5xx, :class:`Permanent` for the rest."""
    status = answer.status
    if 200 <= status < 300:
        return
    detail = detail or " ".join(answer.text.split())[:300]
    message = f"{service}: HTTP {status} {detail}".rstrip()
    if status in (408, 425, 429) or status >= 500:
        raise Transient(message, retry_after=retry_after_seconds(answer.headers.get("Retry-After")))
    raise Permanent(message)
