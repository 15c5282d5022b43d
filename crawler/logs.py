"""Logging for the command line and the daemon.

One handler on the root logger (stderr or ``--log-file``), one line per record: text
(``2026-05-14 08:00:01 INFO crawler.daemon: …``) or JSON objects (``--log-format json``,
for journald, Loki and friends: ``time``, ``level``, ``logger``, ``message`` and, for an
exception, ``error``). Scrapy's own loggers stay at WARNING unless ``-vv``: a daemon's
checks say what happened in their own one-line summaries. Secrets (webhook URLs,
passwords, tokens) are redacted from every line, exception text included
(:mod:`crawler.redact`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime

from crawler.redact import RedactingFilter, Redactor

__all__ = ["JsonFormatter", "setup_logging"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
NOISY = ("scrapy", "twisted", "apscheduler", "urllib3", "slack_sdk", "asyncio", "trafilatura")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["error"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(
    level: str = "WARNING",
    *,
    log_file: str | None = None,
    fmt: str = "text",
    secrets: Iterable[str] = (),
    verbose_libraries: bool = False,
) -> RedactingFilter:
    """Configure the root logger; returns the redacting filter (add secrets to its
    ``redactor`` later, e.g. once the config is loaded or reloaded)."""
    handler: logging.Handler = (
        logging.FileHandler(log_file, encoding="utf-8") if log_file else logging.StreamHandler()
    )
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    # Scrapy lowers the root logger's level when it starts; the handler keeps ours.
    handler.setLevel(level)
    redactor = RedactingFilter(Redactor(secrets))
    handler.addFilter(redactor)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in NOISY:
        logging.getLogger(name).setLevel(level if verbose_libraries else "WARNING")
    if not verbose_libraries:
        # "skipped: maximum number of running instances reached": a check still running
        # at its next time; the daemon counts those in its summary.
        logging.getLogger("apscheduler.scheduler").setLevel("ERROR")
    return redactor
