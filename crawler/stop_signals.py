"""Signals while a long-lived process (``newswatch run``, any role) stops.

The first SIGTERM or SIGINT starts a stop that is bounded already (running work gets a
grace period). A second one meanwhile, from a supervisor that signals the process and then
its process group (GNU ``timeout``, systemd's control group, ``tini -g``) or an impatient
Ctrl-C, is logged and changes nothing, and once the stop is done the process ignores both
while it exits: neither may turn a clean stop into a death by signal (exit 143). SIGKILL
stops at once, as ever.
"""

from __future__ import annotations

import asyncio
import logging
import signal

__all__ = ["hold_while_stopping", "release"]

LOGGER = logging.getLogger(__name__)

_STOPS = (signal.SIGTERM, signal.SIGINT)


def hold_while_stopping(loop: asyncio.AbstractEventLoop, grace: float) -> None:
    """From now on, SIGTERM, SIGINT and SIGHUP only say that the process is stopping."""
    for signum in (*_STOPS, signal.SIGHUP):
        loop.add_signal_handler(signum, _already_stopping, signum, grace)


def release(loop: asyncio.AbstractEventLoop) -> None:
    """The stop is done: the loop lets go of SIGTERM, SIGINT and SIGHUP, and the process,
    which only exits now, ignores them (SIGKILL still ends it)."""
    for signum in (*_STOPS, signal.SIGHUP):
        loop.remove_signal_handler(signum)  # (which restores the default action)
        signal.signal(signum, signal.SIG_IGN)


def _already_stopping(signum: int, grace: float) -> None:
    LOGGER.info(
        "%s while stopping: already stopping (running work gets up to %.0f s; SIGKILL "
        "stops at once)",
        signal.Signals(signum).name,
        grace,
    )
