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


def test_refused_credentials_are_an_error_said_at_once(caplog: pytest.LogCaptureFixture) -> None:
    """A password changed under a running node is not a blip: the first refusal is an
    ERROR that names the setting to check, said once; the node waits, and goes on when
    Redis takes its credentials again (an ACL fixed on the server)."""
    from redis.exceptions import AuthenticationError

    outage = Outage()
    refused = Flaky(3, AuthenticationError("invalid username-password pair"))
    with caplog.at_level(logging.INFO, logger="crawler.cluster.outage"):
        assert asyncio.run(outage.call(refused, "reading events")) == "OK"
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "refuses this node's credentials" in errors[0]
    assert "[cluster] redis_url" in errors[0] and "while reading events" in errors[0]
    assert len(warnings(caplog)) == 1  # the error, and no outage warning besides
    assert any("answers again" in r.getMessage() for r in caplog.records)
    assert outage.outages == 1 and not outage.away


def test_credentials_refused_after_an_outage_was_said_are_still_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Redis restarted with a new password: first it does not answer (a WARNING), then it
    refuses the credentials (an ERROR all the same); one outage in all."""
    from redis.exceptions import AuthenticationError

    outage = Outage()
    with caplog.at_level(logging.INFO, logger="crawler.cluster.outage"):
        with pytest.raises(RedisConnectionError):
            asyncio.run(outage.call(Flaky(9), "reading events", give_up_after=0.5))
        refused = Flaky(2, AuthenticationError("invalid username-password pair"))
        assert asyncio.run(outage.call(refused, "reading events")) == "OK"
    said = [(r.levelno, r.getMessage()) for r in caplog.records if r.levelno >= logging.WARNING]
    assert [level for level, _ in said] == [logging.WARNING, logging.ERROR], said
    assert "refuses this node's credentials" in said[1][1]
    assert outage.outages == 1 and not outage.away and not outage.refused_said


def test_a_password_changed_on_a_real_redis_is_said_and_ridden_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """On the real Redis: a user of the test's own, its password changed and its
    connections killed while a node's client works; the client's calls wait with one
    ERROR and go on once the password is set back."""
    import uuid

    import redis
    import redis.asyncio as aioredis

    from tests.cluster_support import REDIS_URL, redis_or_skip

    admin = redis_or_skip()
    user, password = f"nwtest-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    try:
        admin.acl_setuser(user, enabled=True, passwords=[f"+{password}"], commands=["+ping"])
    except redis.ResponseError as exc:  # a Redis without ACLs (before 6.0)
        pytest.skip(f"this Redis has no ACL users ({exc})")

    async def scenario() -> None:
        client = aioredis.Redis.from_url(
            REDIS_URL.replace("redis://", f"redis://{user}:{password}@"), socket_timeout=2
        )
        outage = Outage()
        try:
            assert await outage.call(client.ping, "pinging")
            admin.acl_setuser(
                user, enabled=True, reset_passwords=True, passwords=["+another-password"],
                commands=["+ping"],
            )  # fmt: skip
            admin.client_kill_filter(user=user)

            async def fix_later() -> None:
                await asyncio.sleep(1.0)
                admin.acl_setuser(
                    user, enabled=True, reset_passwords=True, passwords=[f"+{password}"],
                    commands=["+ping"],
                )  # fmt: skip

            fixer = asyncio.create_task(fix_later())
            assert await outage.call(client.ping, "pinging")
            await fixer
        finally:
            await client.aclose()

    try:
        with caplog.at_level(logging.INFO, logger="crawler.cluster.outage"):
            asyncio.run(asyncio.wait_for(scenario(), 30))
    finally:
        admin.acl_deluser(user)
        admin.close()
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "refuses this node's credentials" in errors[0], errors
    assert password not in caplog.text
    assert any("answers again" in r.getMessage() for r in caplog.records)
