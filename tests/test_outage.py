"""How a cluster node rides out a Redis that does not answer (crawler.cluster.outage)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from redis.exceptions import BusyLoadingError
from redis.exceptions import ConnectionError as RedisConnectionError

from crawler.cluster.outage import Outage


class Flaky:
    """A Redis call that fails ``failures`` times, then answers."""

    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or RedisConnectionError("Connection refused")
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "OK"


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_call_waits_for_redis_and_says_so_once(caplog: pytest.LogCaptureFixture) -> None:
    outage, flaky = Outage(), Flaky(4)
    with caplog.at_level(logging.INFO, logger="crawler.cluster.outage"):
        assert asyncio.run(outage.call(flaky, "handing a page over")) == "OK"
    assert flaky.calls == 5
    said = warnings(caplog)
    assert len(said) == 1 and "while handing a page over" in said[0]
    assert any("answers again" in r.getMessage() for r in caplog.records)
    assert not outage.away and outage.outages == 1


def test_one_failure_the_next_try_gets_past_is_not_an_outage(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A pooled connection Redis closed when it restarted fails once, then works."""
    outage = Outage()
    with caplog.at_level(logging.INFO, logger="crawler.cluster.outage"):
        assert asyncio.run(outage.call(Flaky(1), "reading events")) == "OK"
    assert caplog.records == [] and outage.outages == 0


def test_redis_loading_its_data_is_waited_for() -> None:
    flaky = Flaky(2, BusyLoadingError("Redis is loading the dataset in memory"))
    assert asyncio.run(Outage().call(flaky, "reading events")) == "OK"


def test_other_errors_are_not_an_outage() -> None:
    flaky = Flaky(1, ValueError("a bug"))
    with pytest.raises(ValueError):
        asyncio.run(Outage().call(flaky, "reading events"))
    assert flaky.calls == 1


def test_give_up_after_raises_the_last_error() -> None:
    flaky = Flaky(1000)
    with pytest.raises(RedisConnectionError):
        asyncio.run(Outage().call(flaky, "giving a slot back", give_up_after=0.6))
    assert 2 <= flaky.calls <= 4


def test_synchronous_callers_back_off_while_redis_is_away() -> None:
    now = [100.0]
    outage = Outage(clock=lambda: now[0])
    assert outage.ready()
    waits = []
    for _ in range(7):
        outage.failed(RedisConnectionError("refused"), "reading the request queues")
        assert not outage.ready()
        waits.append(outage.next_try - now[0])
        now[0] = outage.next_try
        assert outage.ready()
    assert waits == sorted(waits) and waits[-1] == 5.0  # doubling, at most 5 s
    outage.answered()
    assert outage.ready() and not outage.away
