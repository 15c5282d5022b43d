"""A worker's Redis calls sent together (:mod:`crawler.cluster.coalesce`), against the
real Redis (a key prefix of its own), and the hand-over's article event sent in parts."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from redis.exceptions import ResponseError

from crawler.cluster import wire
from crawler.cluster.coalesce import Coalescer
from tests.cluster_support import REDIS_URL, drop_prefix, fresh_prefix, redis_or_skip


@pytest.fixture
def prefix() -> Iterator[str]:
    client = redis_or_skip()
    name = fresh_prefix()
    yield name
    drop_prefix(client, name)
    client.close()


def run(prefix: str, body: Any) -> Any:
    import redis.asyncio

    async def main() -> Any:
        client = redis.asyncio.Redis.from_url(REDIS_URL)
        batch = Coalescer(client, wait=0.05)
        try:
            return await body(batch, client)
        finally:
            await batch.close()
            await client.aclose()

    return asyncio.run(main())


def test_calls_made_together_go_in_one_round_trip_each_with_its_answer(prefix: str) -> None:
    async def body(batch: Coalescer, client: Any) -> Any:
        key = f"{prefix}:set"
        answers = await asyncio.gather(
            batch.call(lambda pipe: pipe.sadd(key, "a")),
            batch.call(lambda pipe: pipe.sadd(key, "a")),
            batch.call(lambda pipe: pipe.eval("return ARGV[1] .. ARGV[2]", 0, "x", "y")),
            batch.call(lambda pipe: pipe.scard(key)),
        )
        return answers, batch.round_trips, batch.calls

    answers, round_trips, calls = run(prefix, body)
    assert answers == [1, 0, b"xy", 1]  # in order: the second add found it there
    assert (round_trips, calls) == (1, 4)


def test_a_failing_command_fails_its_caller_alone(prefix: str) -> None:
    async def body(batch: Coalescer, client: Any) -> Any:
        key = f"{prefix}:text"
        await client.set(key, "not a set")
        return await asyncio.gather(
            batch.call(lambda pipe: pipe.sadd(key, "a")),  # wrong type
            batch.call(lambda pipe: pipe.get(key)),
            return_exceptions=True,
        )

    failed, answered = run(prefix, body)
    assert isinstance(failed, ResponseError) and "WRONGTYPE" in str(failed)
    assert answered == b"not a set"


def test_an_urgent_call_goes_at_once_and_takes_what_waits_along(prefix: str) -> None:
    async def body(batch: Coalescer, client: Any) -> Any:
        key = f"{prefix}:n"
        loop = asyncio.get_running_loop()
        started = loop.time()
        waiting = asyncio.ensure_future(batch.call(lambda pipe: pipe.incr(key)))
        await asyncio.sleep(0)
        urgent = await batch.call(lambda pipe: pipe.incr(key), urgent=True)
        took = loop.time() - started
        return urgent, await waiting, took, batch.round_trips

    urgent, waited, took, round_trips = run(prefix, body)
    assert (waited, urgent) == (1, 2)  # the one that waited went first, in the same trip
    assert round_trips == 1
    assert took < 0.04  # not held for the 0.05 s a call that nothing waits on may wait


def test_a_call_that_nothing_waits_on_waits_for_company(prefix: str) -> None:
    async def body(batch: Coalescer, client: Any) -> Any:
        key = f"{prefix}:n"
        first = asyncio.ensure_future(batch.call(lambda pipe: pipe.incr(key)))
        await asyncio.sleep(0.01)
        second = asyncio.ensure_future(batch.call(lambda pipe: pipe.incr(key)))
        return await first, await second, batch.round_trips

    assert run(prefix, body) == (1, 2, 1)


def test_redis_away_fails_every_call_of_the_trip() -> None:
    import redis.asyncio
    from redis.exceptions import ConnectionError as RedisConnectionError

    async def main() -> Any:
        client = redis.asyncio.Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=1)
        batch = Coalescer(client)
        try:
            return await asyncio.gather(
                batch.call(lambda pipe: pipe.get("a"), urgent=True),
                batch.call(lambda pipe: pipe.get("b")),
                return_exceptions=True,
            )
        finally:
            await client.aclose()

    answers = asyncio.run(main())
    assert all(isinstance(a, RedisConnectionError) for a in answers), answers


def test_an_article_event_in_parts_joins_into_the_event_itself() -> None:
    record = {"url": "u", "html": b"\x00\xffpage", "signature": [0, 2**64 - 1], "text": "昇腾"}
    done = {"t": "done", "check": "c1", "status": 200}
    head, packed, tail, head_alone = wire.article_event("c1", record, done)
    whole = {"t": "article", "check": "c1", "record": record, "done": done}
    assert head + packed + tail == wire.dumps(whole)
    assert head_alone + packed == wire.dumps({"t": "article", "check": "c1", "record": record})
    assert wire.loads(head + packed + tail) == whole


def test_a_request_is_recorded_as_scrapy_records_it() -> None:
    """A queued request's record names its callbacks from the spider's methods looked up
    once, and is what Scrapy's ``to_dict`` makes; Scrapy's refusal of a callback that is no
    method of the spider stands, and the request keeps its callbacks either way."""
    from scrapy import Request
    from scrapy.utils.request import request_from_dict

    from spiders.source import SourceSpider

    spider = SourceSpider(source="s")
    names = wire.method_names(spider)
    requests = [
        Request("https://a.test/1", callback=spider.parse_article, errback=spider.on_error,
                meta={"newswatch_source": "s"}, headers={"If-None-Match": '"x"'}, priority=3),
        Request("https://a.test/2", callback=spider.parse_sitemap, dont_filter=True),
        Request("https://a.test/3"),
    ]  # fmt: skip
    for request in requests:
        record = wire.request_dict(request, spider, names)
        assert record == request.to_dict(spider=spider)
        assert (request.callback, request.errback) == (
            request_from_dict(record, spider=spider).callback,
            request_from_dict(record, spider=spider).errback,
        )
    assert wire.request_dict(requests[0], spider, names)["callback"] == "parse_article"
    stray = Request("https://a.test/4", callback=print)
    with pytest.raises(ValueError, match="not an instance method"):
        wire.request_dict(stray, spider, names)
    assert stray.callback is print


def test_a_command_that_cannot_be_added_fails_alone(prefix: str) -> None:
    async def body(batch: Coalescer, client: Any) -> Any:
        key = f"{prefix}:n"

        def broken(pipe: Any) -> Any:
            raise ValueError("no such argument")

        return await asyncio.gather(
            batch.call(broken),
            batch.call(lambda pipe: pipe.incr(key)),
            return_exceptions=True,
        )

    failed, answered = run(prefix, body)
    assert isinstance(failed, ValueError) and answered == 1


def test_closing_sends_what_waits_and_a_caller_that_gave_up_is_left_out(prefix: str) -> None:
    async def body(batch: Coalescer, client: Any) -> Any:
        key = f"{prefix}:n"
        gave_up = asyncio.ensure_future(batch.call(lambda pipe: pipe.incr(key)))
        kept = asyncio.ensure_future(batch.call(lambda pipe: pipe.incr(key)))
        await asyncio.sleep(0)
        gave_up.cancel()
        await batch.close(timeout=5)  # well before the 0.05 s a call may wait
        return await kept, int(await client.get(key)), batch.round_trips

    assert run(prefix, body) == (1, 1, 1)


class _Ledger:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    async def schedule(self, requests: list[Any]) -> list[bool]:
        if requests:
            self.calls.append(("schedule", [r.url for r in requests]))
        return [True] * len(requests)

    async def finish(self, meta: Any, url: str, outcome: dict[str, Any]) -> None:
        self.calls.append(("finish", outcome.get("error")))


class _Runtime:
    def __init__(self) -> None:
        self.cluster_ledger = _Ledger()
        self.cluster_batch = Coalescer(None)


def test_a_failed_callback_queues_the_links_it_yielded_then_ends_its_request() -> None:
    """As Scrapy runs them: the exception handlers (``process_spider_exception``, which
    must return None or an iterable) run before the output's reader sees the error."""
    from scrapy import Request
    from scrapy.http import HtmlResponse

    from crawler.cluster.ledger import FinishSpiderMiddleware

    async def main() -> Any:
        runtime = _Runtime()
        middleware = FinishSpiderMiddleware(runtime)  # type: ignore[arg-type]
        list_page = Request("http://portal.test/list/")
        response = HtmlResponse(list_page.url, body=b"", request=list_page)

        async def callback() -> Any:
            yield Request("http://portal.test/a.html")
            yield Request("http://portal.test/b.html")
            raise ValueError("broken page")

        async def as_scrapy_runs_it() -> Any:
            try:
                async for entry in callback():
                    yield entry
            except ValueError as exc:
                assert middleware.process_spider_exception(response, exc) is None
                raise

        with pytest.raises(ValueError):
            [e async for e in middleware.process_spider_output(response, as_scrapy_runs_it())]
        await runtime.cluster_batch.close(timeout=5)  # waits for its background tasks
        return runtime.cluster_ledger.calls, middleware.waiting

    calls, waiting = asyncio.run(main())
    assert calls == [
        ("schedule", ["http://portal.test/a.html", "http://portal.test/b.html"]),
        ("finish", "ValueError"),
    ]
    assert waiting == {}


def test_closing_waits_for_background_calls_and_a_failure_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def main() -> list[str]:
        batch = Coalescer(None)
        done: list[str] = []

        async def slow() -> None:
            await asyncio.sleep(0.05)
            done.append("slow")

        async def broken() -> None:
            raise RuntimeError("Redis said no")

        batch.background(slow(), "the slow one failed")
        batch.background(broken(), "a fetch record did not reach the archive node")
        await batch.close(timeout=5)
        return done

    with caplog.at_level("WARNING", logger="crawler.cluster.coalesce"):
        assert asyncio.run(main()) == ["slow"]
    assert caplog.messages == ["a fetch record did not reach the archive node: Redis said no"]
