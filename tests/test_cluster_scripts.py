"""The cluster's Lua steps against the real Redis (a key prefix of their own): a step
repeated after a lost answer, or by a worker whose entry another took after the lease,
never ends a request twice for its check."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from crawler.cluster import wire
from crawler.cluster.keys import WORKER_GROUP, Keys
from crawler.cluster.ledger import _HAND_OVER
from crawler.cluster.queue import _SCHEDULE, ensure_group
from tests.cluster_support import drop_prefix, fresh_prefix, redis_or_skip


@pytest.fixture
def redis_keys() -> Iterator[tuple[Any, Keys]]:
    client = redis_or_skip()
    keys = Keys(fresh_prefix())
    yield client, keys
    drop_prefix(client, keys.prefix)
    client.close()


def events(client: Any, keys: Keys) -> list[dict[str, Any]]:
    return [wire.loads(fields[b"e"]) for _, fields in client.xrange(keys.events)]


def held_entry(client: Any, keys: Keys, consumer: str = "w1") -> str:
    """A request queued and taken by ``consumer``: its stream entry id."""
    stream = keys.requests("portal")
    ensure_group(client, stream)
    client.xadd(stream, {"r": b"request"})
    [(_, [(entry_id, _)])] = client.xreadgroup(WORKER_GROUP, consumer, {stream: ">"}, count=1)
    return entry_id.decode()


def test_a_repeated_hand_over_ends_its_request_once(redis_keys: tuple[Any, Keys]) -> None:
    client, keys = redis_keys
    hand_over = client.register_script(_HAND_OVER)
    entry_id = held_entry(client, keys)
    done = {"t": "done", "check": "c1"}
    record = {"url": "u", "html": b"<p>page</p>", "signature": [1, 2**64 - 1]}
    parts = wire.article_event("c1", record, done)
    call = {"keys": [keys.requests("portal"), keys.events],
            "args": [WORKER_GROUP, entry_id, *parts]}  # fmt: skip
    assert hand_over(**call) == 1
    assert hand_over(**call) == 0  # the answer was lost, the worker tries again
    got = events(client, keys)
    assert got == [
        {"t": "article", "check": "c1", "record": record, "done": done},  # one end,
        {"t": "article", "check": "c1", "record": record},  # the article twice
    ]
    assert client.xlen(keys.requests("portal")) == 0
    assert client.xpending(keys.requests("portal"), WORKER_GROUP)["pending"] == 0


def test_a_finish_without_article_repeated_adds_nothing(redis_keys: tuple[Any, Keys]) -> None:
    client, keys = redis_keys
    hand_over = client.register_script(_HAND_OVER)
    entry_id = held_entry(client, keys)
    done = wire.dumps({"t": "done", "check": "c1"})
    call = {"keys": [keys.requests("portal"), keys.events],
            "args": [WORKER_GROUP, entry_id, done, b"", b"", b""]}  # fmt: skip
    assert hand_over(**call) == 1 and hand_over(**call) == 0
    assert [e["t"] for e in events(client, keys)] == ["done"]


def schedule_call(keys: Keys, fingerprint: bytes, origin: str = "") -> dict[str, list[Any]]:
    stream = keys.requests("portal")
    return {
        "keys": [keys.seen("portal", "c1"), keys.events, stream, stream],
        "args": [fingerprint, 86400, wire.dumps({"t": "spawn", "check": "c1"}), b"request",
                 origin, wire.dumps({"t": "done", "check": "c1", "again": 1}), WORKER_GROUP],
    }  # fmt: skip


def test_a_link_is_queued_once_per_check(redis_keys: tuple[Any, Keys]) -> None:
    client, keys = redis_keys
    ensure_group(client, keys.requests("portal"))
    schedule = client.register_script(_SCHEDULE)
    assert schedule(**schedule_call(keys, b"fp-1")) == 1
    assert schedule(**schedule_call(keys, b"fp-1")) == 0  # a feed and a sitemap list it
    assert schedule(**schedule_call(keys, b"")) == 1  # dont_filter: always queued
    assert client.xlen(keys.requests("portal")) == 2
    assert [e["t"] for e in events(client, keys)] == ["spawn", "spawn"]


def test_a_redirect_settles_its_origin_once(redis_keys: tuple[Any, Keys]) -> None:
    client, keys = redis_keys
    schedule = client.register_script(_SCHEDULE)
    origin = held_entry(client, keys)
    assert schedule(**schedule_call(keys, b"fp-target", origin)) == 1
    # repeated after a lost answer, or by a worker whose entry was taken over: nothing
    assert schedule(**schedule_call(keys, b"fp-target", origin)) == -1
    assert [e["t"] for e in events(client, keys)] == ["spawn", "done"]
    # a redirect to a page the check saw already still ends its origin
    second = held_entry(client, keys)
    assert schedule(**schedule_call(keys, b"fp-target", second)) == 0
    assert [e["t"] for e in events(client, keys)] == ["spawn", "done", "done"]


def test_a_repeated_slot_take_finds_its_own_holder(redis_keys: tuple[Any, Keys]) -> None:
    """A take resent after a lost answer (redis-py resends a pipeline once) must not
    count its own holder against the host: with one request allowed, it still has it."""
    from crawler.cluster.politeness import _TAKE

    client, keys = redis_keys
    take = client.register_script(_TAKE)
    holders = [keys.host_holders("portal.test"), keys.host_next("portal.test")]
    assert take(keys=holders, args=["w1:1", 60_000, 1, 0]) == 0
    assert take(keys=holders, args=["w1:1", 60_000, 1, 0]) == 0  # the same call again
    assert client.zcard(holders[0]) == 1
    assert take(keys=holders, args=["w2:1", 60_000, 1, 0]) == -1  # another request waits


def test_a_take_of_no_source_keeps_the_slots_but_not_the_delay(
    redis_keys: tuple[Any, Keys],
) -> None:
    """robots.txt (delay -1) counts against the host's slots, but neither waits for the
    next start its sources' delay allows nor moves it."""
    from crawler.cluster.politeness import _TAKE

    client, keys = redis_keys
    take = client.register_script(_TAKE)
    holders = [keys.host_holders("portal.test"), keys.host_next("portal.test")]
    assert take(keys=holders, args=["w1:1", 60_000, 2, 30_000]) == 0  # a page, delay 30 s
    assert take(keys=holders, args=["w1:2", 60_000, 2, 30_000]) > 29_000  # the next waits
    next_at = client.get(holders[1])
    assert take(keys=holders, args=["w1:3", 60_000, 2, -1]) == 0  # robots.txt goes
    assert client.get(holders[1]) == next_at  # and the page's next start is where it was
    assert take(keys=holders, args=["w1:4", 60_000, 2, -1]) == -1  # both slots held


def test_a_dead_workers_host_slots_are_given_back(redis_keys: tuple[Any, Keys]) -> None:
    """Every slot held under a worker process's name, on every host, goes back at once;
    those of a name it begins, of other workers and of another cluster stay."""
    import asyncio

    import redis.asyncio

    from crawler.cluster.politeness import _TAKE, free_slots_of, slot_holder
    from tests.cluster_support import REDIS_URL

    client, keys = redis_keys
    other = Keys(keys.prefix + "-other")
    take = client.register_script(_TAKE)
    dead = slot_holder("vm:12")
    assert dead.startswith("vm:12:") and dead != slot_holder("vm:12")  # a nonce each
    alive = dead + "f"  # a name the dead one's begins
    hosts = ["a.test", "b.test", "[::1]", "c.test"]
    for i, host in enumerate(hosts):
        for holder in [dead, alive] if i < 3 else [alive]:
            args = [f"{holder}:{i}", 60_000, 4, 0]
            assert take(keys=[keys.host_holders(host), keys.host_next(host)], args=args) == 0
    take(
        keys=[other.host_holders("a.test"), other.host_next("a.test")],
        args=[f"{dead}:9", 60_000, 4, 0],
    )

    async def free(holder: str) -> int:
        async_client = redis.asyncio.Redis.from_url(REDIS_URL)
        try:
            return await free_slots_of(async_client, keys, holder)
        finally:
            await async_client.aclose()

    try:
        assert asyncio.run(free(dead)) == 3
        assert asyncio.run(free(dead)) == 0  # nothing left of it
        remaining = sorted(
            m.decode() for h in hosts for m in client.zrange(keys.host_holders(h), 0, -1)
        )
        assert remaining == [f"{alive}:{i}" for i in range(4)]
        assert client.zrange(other.host_holders("a.test"), 0, -1) == [f"{dead}:9".encode()]
    finally:
        drop_prefix(client, other.prefix)
