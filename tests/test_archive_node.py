"""The archive node's handling of one batch of events (issue 12), in this process, against
the real Redis on 127.0.0.1 (a key prefix of its own, removed afterwards) and a real
archive: a batch's articles share the writer's transactions, what they stored is
published for the workers, and the requests' ends are counted after the articles, so a
check ends with its numbers whole; an article that cannot be stored ends its request as an
error while the rest are stored."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crawler.cluster import wire
from crawler.cluster.archive import ArchiveNode
from crawler.cluster.keys import Keys
from crawler.config import parse_config
from crawler.runtime import Runtime
from storage import decompress_html
from storage.connection_thread import ArchiveThread
from tests.cluster_support import REDIS_URL, drop_prefix, fresh_prefix, redis_or_skip
from tests.portal_pages import SOURCE, processed


@pytest.fixture
def node(tmp_path: Path) -> Iterator[ArchiveNode]:
    client = redis_or_skip()
    prefix = fresh_prefix()
    config = parse_config(
        f'[archive]\npath = "{tmp_path / "archive.db"}"\n'
        f'[cluster]\nredis_url = "{REDIS_URL}"\nkey_prefix = "{prefix}"\n' + SOURCE,
        path=tmp_path / "newswatch.toml",
    )
    runtime = Runtime.open(config)
    archive_node = ArchiveNode(runtime)
    yield archive_node
    archive_node.sync.close()
    runtime.close()
    drop_prefix(client, prefix)
    client.close()


def run(node: ArchiveNode, scenario: Any) -> Any:
    """Run ``scenario()`` on an event loop of its own, the node's async client with it."""

    async def whole() -> Any:
        try:
            return await scenario()
        finally:
            await node.client.aclose()

    return asyncio.run(whole())


def event(**fields: Any) -> dict[str, Any]:
    """An event as the node reads it from the stream."""
    return wire.loads(wire.dumps(fields))


def done(check: str, url: str, **outcome: Any) -> dict[str, Any]:
    return {"t": "done", "check": check, "source": "portal", "url": url, **outcome}


def article(check: str, rec: dict[str, Any]) -> dict[str, Any]:
    return event(t="article", check=check, record=rec, done=done(check, rec["url"], status=200))


def crawl_events(node: ArchiveNode, check: str, count: int) -> list[dict[str, Any]]:
    """A check's whole crawl in one batch: its feed leads to ``count`` articles."""
    records = [processed(i) for i in range(count)]
    feed = "http://portal.test/feeds/zh.xml"
    return [
        *(event(t="spawn", check=check) for _ in records),
        event(**done(check, feed, status=200)),
        *(article(check, rec) for rec in records),
    ]


def spy_on_groups(writer: ArchiveThread, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    sizes: list[int] = []
    run_group = writer._run_group

    def recorded(archive: Any, group: list[Any]) -> None:
        sizes.append(len(group))
        run_group(archive, group)

    monkeypatch.setattr(writer, "_run_group", recorded)
    return sizes


async def handle_held(node: ArchiveNode, events: list[dict[str, Any]], writes: int) -> None:
    """Handle ``events`` while the writer is held busy until ``writes`` calls wait for it
    (as when articles arrive faster than they commit)."""
    gate = threading.Event()
    node.runtime.writer.submit(lambda _archive: gate.wait(10))
    handled = asyncio.create_task(node._handle(events))
    for _ in range(500):
        if node.runtime.writer.backlog() >= writes:
            break
        await asyncio.sleep(0.01)
    gate.set()
    await handled


def checked(node: ArchiveNode, check: str, events: list[dict[str, Any]], *, held: int = 0) -> Any:
    """Open check ``check`` of the portal, handle ``events`` as one batch (with the writer
    held until ``held`` writes wait, when given) and return the check's result."""

    async def scenario() -> Any:
        result = asyncio.create_task(node.run_check("portal", check, "test", 30))
        while check not in node.tallies:
            await asyncio.sleep(0.01)
        if held:
            await handle_held(node, events, writes=held)
        else:
            await node._handle(events)
        return await asyncio.wait_for(result, 10)

    return run(node, scenario)


def test_a_batch_of_articles_shares_transactions_and_its_check_ends_whole(
    node: ArchiveNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = spy_on_groups(node.runtime.writer, monkeypatch)

    result = checked(node, "c1", crawl_events(node, "c1", 6), held=6)
    assert max(sizes) == 6, sizes  # the six articles: one transaction
    assert result.finish_reason == "finished"
    assert result.stats["newswatch/pages"] == 6
    assert result.stats["newswatch/articles_new"] == 6
    assert result.stats["downloader/request_count"] == 7
    stored = node.runtime.reader.call(lambda a: a.count_articles())
    assert stored == 6
    known = node.sync.hkeys(Keys(node.runtime.config.cluster.key_prefix).known)
    urls = node.runtime.reader.call(
        lambda a: [r[0] for r in a.db.execute("SELECT canonical_url FROM articles")]
    )
    assert set(urls) <= {k.decode() for k in known}


def test_a_version_1_record_from_an_older_worker_is_stored_with_its_page(
    node: ArchiveNode,
) -> None:
    """During an upgrade an older worker sends version-1 records, the raw page as
    ``html``: the node stores them as it stores its own release's records."""
    events = crawl_events(node, "c6", 2)
    old = events[-1]["record"]
    old["v"] = 1
    old["html"] = decompress_html(old.pop("html_zlib"))
    result = checked(node, "c6", events)
    assert result.stats["newswatch/articles_new"] == 2
    rows = node.runtime.reader.call(
        lambda a: a.db.execute("SELECT url, html FROM articles").fetchall()
    )
    pages = {url: decompress_html(html) for url, html in rows}
    assert pages[old["url"]] == old["html"]
    assert pages[events[-2]["record"]["url"]].startswith(b"<")


def test_an_article_that_cannot_be_stored_ends_its_request_as_an_error(
    node: ArchiveNode,
) -> None:
    events = crawl_events(node, "c2", 3)
    del events[-2]["record"]["canonical_url"]  # a record this node cannot read
    result = checked(node, "c2", events)
    assert result.finish_reason == "finished"
    assert result.stats["newswatch/articles_new"] == 2
    assert result.stats["newswatch/errors/archive"] == 1
    assert node.runtime.reader.call(lambda a: a.count_articles()) == 2


def test_a_duplicate_in_the_same_batch_is_stored_once(node: ArchiveNode) -> None:
    events = crawl_events(node, "c3", 2)
    events.insert(1, event(t="spawn", check="c3"))
    events.append(article("c3", events[-1]["record"]))  # handed over twice
    result = checked(node, "c3", events, held=3)
    assert result.stats["newswatch/articles_new"] == 2
    assert result.stats["newswatch/articles_duplicate"] == 1
    assert node.runtime.reader.call(lambda a: a.count_articles()) == 2


def test_an_article_the_writer_fails_on_undoes_only_its_own_writes(
    node: ArchiveNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = spy_on_groups(node.runtime.writer, monkeypatch)

    events = crawl_events(node, "c4", 3)
    events[-2]["record"]["html_zlib"] = 12345  # fails inside the writer, in its savepoint
    result = checked(node, "c4", events, held=3)
    assert max(sizes) == 3, sizes  # the three articles shared one transaction
    assert result.finish_reason == "finished"
    assert result.stats["newswatch/articles_new"] == 2
    assert result.stats["newswatch/errors/archive"] == 1
    assert node.runtime.reader.call(lambda a: a.count_articles()) == 2


def test_malformed_events_and_a_refusing_redis_stop_nothing(
    node: ArchiveNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    from redis.exceptions import ResponseError

    from crawler.cluster import archive

    async def refused(self: Any, client: Any, keys: Any) -> Any:
        raise ResponseError("OOM command not allowed when used memory > 'maxmemory'")

    monkeypatch.setattr(archive._Published, "send", refused)

    events = crawl_events(node, "c5", 2)
    events.insert(0, event(t="spawn", check="c5"))
    events += [
        event(t="fetch", source="portal", status=200),  # no URL
        event(t="article", check="c5", done=done("c5", "http://portal.test/x")),  # no record
        event(t="article", check="c5", record=events[-1]["record"], done="junk"),
    ]
    result = checked(node, "c5", events)
    assert result.finish_reason == "finished"
    assert result.stats["newswatch/articles_new"] == 2
    assert result.stats["newswatch/errors/archive"] == 1
    assert node.runtime.reader.call(lambda a: a.count_articles()) == 2


def test_what_comes_after_a_recorded_check_is_added_to_its_row(node: ArchiveNode) -> None:
    """A check ended (the node stopping) before its requests were all done: the articles
    and request ends that come after it are counted in its row as they would have been
    while it was open, so the row adds up to what its crawl stored."""
    records = [processed(i) for i in range(6)]
    feed = "http://portal.test/feeds/zh.xml"
    first = [
        *(event(t="spawn", check="c1") for _ in range(len(records) + 3)),
        event(**done("c1", feed, status=200)),
        *(article("c1", rec) for rec in records[:2]),
    ]
    after = [
        *(article("c1", rec) for rec in records[2:]),
        event(**done("c1", "http://portal.test/e.html", status=200, empty=True)),
        event(**done("c1", "http://portal.test/k.html", status=200, known=1)),
        event(**done("c1", "http://portal.test/x.html", error="http")),
        event(**done("c1", "http://portal.test/x.html", again=1)),  # a repeat: not counted
        event(**done("c9", "http://portal.test/y.html", status=200)),  # no row: nothing
    ]

    async def scenario() -> Any:
        result = asyncio.create_task(node.run_check("portal", "c1", "test", 30))
        while "c1" not in node.tallies:
            await asyncio.sleep(0.01)
        await node._handle(first)
        node.end_checks("portal", "shutdown")
        ended = await asyncio.wait_for(result, 10)
        await node._handle(after)
        await node.runtime.writer.run(lambda _archive: None)  # what was posted is done
        return ended

    ended = run(node, scenario)
    assert ended.finish_reason == "shutdown" and ended.counts["new_articles"] == 2
    row = node.runtime.reader.call(lambda a: a.crawl_runs("c1"))[0]
    counted = {c: row[c] for c in ("requests", "responses", "new_articles", "unchanged", "errors",
                                   "pages", "empty_pages")}  # fmt: skip
    assert counted == {
        "requests": 10,  # the feed, six articles, three ends
        "responses": 9,
        "new_articles": 6,
        "unchanged": 1,
        "errors": 2,  # the empty page, the failed request
        "pages": 7,  # six articles and the empty page
        "empty_pages": 1,
    }
    assert node.runtime.reader.call(lambda a: a.crawl_runs("c9")) == []


@pytest.mark.parametrize(
    ("beat_age", "reason"),
    [(None, "worker_lost"), (60.0, "worker_lost"), (0.0, "check_timeout")],
    ids=["no-heartbeat", "silent", "heart-beating"],
)
def test_a_check_whose_requests_a_lost_worker_holds_is_cut_short(
    node: ArchiveNode, beat_age: float | None, reason: str
) -> None:
    """A check that times out while a worker that stopped heart-beating holds its requests
    ends as cut short by the lost worker (its requests are done again after the lease),
    not as a failure of its source; held by a live worker, it is a timeout as before."""
    from crawler.cluster.keys import WORKER_GROUP

    keys = Keys(node.runtime.config.cluster.key_prefix)
    worker = "ghost:4242"

    async def scenario() -> Any:
        result = asyncio.create_task(node.run_check("portal", "c1", "test", 1.0))
        while "c1" not in node.tallies:
            await asyncio.sleep(0.01)
        # the worker took the check's entry point, then went silent (or not)
        await node.client.xreadgroup(WORKER_GROUP, worker, {keys.requests("portal"): ">"})
        if beat_age is not None:
            beat = wire.dumps({"heartbeat_at": "2026-12-07T00:00:00Z"})  # its clock: no matter
            await node.client.hset(keys.workers, worker, beat)
            # the heartbeat as this node last saw it change, beat_age seconds ago
            node.silences.seen[worker] = (beat, time.monotonic() - beat_age)
        return await asyncio.wait_for(result, 10)

    ended = run(node, scenario)
    assert ended.finish_reason == reason
    assert ended.failed is (reason == "check_timeout")


def test_a_workers_silence_is_timed_on_this_nodes_clock(
    node: ArchiveNode, caplog: pytest.LogCaptureFixture
) -> None:
    """A worker whose clock is ten minutes behind but whose heartbeat keeps changing is
    alive: no alarm, its slots kept, still listed. One whose heartbeat stops changing is
    silent from when this node saw it last change, whatever the time it carries."""
    keys = Keys(node.runtime.config.cluster.key_prefix)
    holders = keys.host_holders("a.test")

    async def scenario() -> tuple[Any, ...]:
        for n in range(3):  # three looks, a new heartbeat each, dated ten minutes ago
            beat = {"heartbeat_at": "2026-12-07T00:00:00Z", "done": n, "slots": "w:1:ab"}
            await node.client.hset(keys.workers, "w:1", wire.dumps(beat))
            await node.client.zadd(holders, {"w:1:ab:0": time.time() * 1000 + 60_000})
            await node._look_at_workers()
        alive = (sorted(node.stale_workers), await node.client.zcard(holders),
                 await node.client.hexists(keys.workers, "w:1"))  # fmt: skip
        seen = node.silences.seen["w:1"]
        node.silences.seen["w:1"] = (seen[0], seen[1] - 100)  # then silent for 100 s
        await node._look_at_workers()
        return alive, sorted(node.stale_workers), await node.client.zcard(holders)

    alive, stale, slots = run(node, scenario)
    assert alive == ([], 1, True)
    assert (stale, slots) == (["w:1"], 0)  # past the lease (60 s): its slots went back
    alarms = [r.getMessage() for r in caplog.records if r.getMessage().startswith("alarm worker")]
    assert len(alarms) == 1 and alarms[0].startswith("alarm worker raised: worker w:1 stopped")


def test_status_reads_heartbeat_ages_on_redis_clock(node: ArchiveNode) -> None:
    """Workers date their heartbeats by Redis' clock and status reads their ages on it: run
    on a machine whose clock is an hour ahead, status still sees a worker that beat 3 s ago
    as alive and one silent for 5 min as silent (on its own clock both would be an hour
    old)."""
    from datetime import UTC, datetime, timedelta

    from crawler.cluster.connection import server_time
    from crawler.status import collect_status
    from storage import utc_stamp

    keys = Keys(node.runtime.config.cluster.key_prefix)
    redis_now = server_time(node.sync.time())
    for worker, ago in (("w:1", 3), ("w:2", 300)):
        beat = {"heartbeat_at": utc_stamp(redis_now - timedelta(seconds=ago)), "done": 1}
        node.sync.hset(keys.workers, worker, wire.dumps(beat))
    report = collect_status(node.runtime.config, now=datetime.now(UTC) + timedelta(hours=1))
    ages = {w["id"]: w["heartbeat_age"] for w in report["cluster"]["workers"]}
    assert 2 <= ages["w:1"] <= 6 and 299 <= ages["w:2"] <= 303
    silent = [line for line in report["attention"] if "heart-beaten" in line]
    assert len(silent) == 1 and silent[0].startswith("worker w:2 has not heart-beaten for 30")
