"""``type = "log"``: records the alert as a log line at INFO (rule, title, URL) and succeeds.
For trying rules out, and for the demo, where alerts go through the outbox to the log."""

from __future__ import annotations

import logging
from typing import Any

from crawler.config import LogChannel

__all__ = ["LogSender"]

LOGGER = logging.getLogger(__name__)


class LogSender:
    min_interval = 0.0
    per_minute: int | None = None

    def __init__(self, config: LogChannel) -> None:
        self.config = config
        self.name = config.name

    def send(self, rule: str, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            LOGGER.info(
                "alert %s on %s: %s <%s>",
                rule,
                self.name,
                " ".join(str(row.get("title") or "").split()),
                row.get("url") or "",
            )
