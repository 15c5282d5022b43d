"""Riding out a Redis that does not answer for a while (a restart, a network cut).

A node never treats Redis being away as the failure of the work in hand: a download does
not fail because its host slot could not be asked, an article is not dropped because it
could not be handed over. What needs Redis waits and tries again (:meth:`Outage.call`),
and the node says so once per outage, at WARNING, and once when Redis answers again, at
INFO. A single failure that the next try gets past (a pooled connection that Redis closed
when it restarted) is not worth a warning. Redis refusing the node's credentials (a
password changed under a running node) is said at once, at ERROR, then waited for like an
outage. What is synchronous and polled (the scheduler's queue) asks :meth:`Outage.ready`
first, so a node does not block its reactor on a Redis it knows to be away.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.exceptions import AuthenticationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

__all__ = ["REDIS_AWAY", "Outage"]

LOGGER = logging.getLogger(__name__)

# Redis closed, refused, timed out, or still loading its data after a restart
# (``BusyLoadingError`` is a ``ConnectionError``).
REDIS_AWAY = (RedisConnectionError, RedisTimeoutError, OSError)

T = TypeVar("T")

FIRST_WAIT = 0.25
LONGEST_WAIT = 5.0


class Outage:
    """One node's view of whether Redis answers."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.since: float | None = None
        self.wait = FIRST_WAIT
        self.next_try = 0.0
        self.outages = 0
        self.said = False  # whether this outage was logged
        self.refused_said = False  # whether this outage's refused credentials were logged
        # When Redis last answered again after an outage: leases were not kept during it,
        # so what live workers hold looks abandoned for a while.
        self.recovered_at = float("-inf")

    @property
    def away(self) -> bool:
        return self.since is not None

    def failed(self, exc: BaseException, what: str) -> None:
        """Redis did not answer while ``what``: say so on the first failure of an outage,
        and wait longer before the next synchronous try."""
        now = self.clock()
        if isinstance(exc, AuthenticationError) and not self.refused_said:
            # Not a blip: the password changed under a running node (perhaps while Redis
            # restarted, an outage already said). Said at once, and as an error, though the
            # node still waits (an ACL fixed on the server is enough).
            self.refused_said = True
            if not self.said:
                self.said = True
                self.outages += 1
            LOGGER.error(
                "Redis refuses this node's credentials (%s) while %s: waiting for it; check "
                "the password in [cluster] redis_url (or the variable it names) and Redis' "
                "ACL",
                exc,
                what,
            )
        if self.since is None:
            self.since = now
            self.wait = FIRST_WAIT
        else:
            if not self.said:
                self.said = True
                self.outages += 1
                LOGGER.warning("Redis does not answer (%s) while %s: waiting for it", exc, what)
            self.wait = min(self.wait * 2, LONGEST_WAIT)
        self.next_try = now + self.wait

    def answered(self) -> None:
        if self.since is not None:
            if self.said:
                LOGGER.info("Redis answers again, after %.1f s", self.clock() - self.since)
                self.recovered_at = self.clock()
            self.since = None
            self.said = False
            self.refused_said = False
            self.wait = FIRST_WAIT
            self.next_try = 0.0

    def ready(self) -> bool:
        """Whether a synchronous caller should try Redis now."""
        return self.since is None or self.clock() >= self.next_try

    async def call(
        self, make: Callable[[], Awaitable[T]], what: str, *, give_up_after: float | None = None
    ) -> T:
        """``await make()`` until Redis answers (``make`` builds the call afresh each try);
        with ``give_up_after`` seconds, the last error is raised after that long."""
        deadline = None if give_up_after is None else self.clock() + give_up_after
        wait = FIRST_WAIT
        while True:
            try:
                result = await make()
            except REDIS_AWAY as exc:
                self.failed(exc, what)
                if deadline is not None and self.clock() + wait > deadline:
                    raise
                await asyncio.sleep(wait)
                wait = min(wait * 2, LONGEST_WAIT)
                continue
            self.answered()
            return result
