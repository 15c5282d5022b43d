"""Scale-out (issue 12), against the real Redis on 127.0.0.1 (a key prefix per test, removed
afterwards): an archive node and workers in child processes crawl the portal simulator."""

from __future__ import annotations

import contextlib
import json
import random
import re
import shutil
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.synthetic import common_words, distinct_article, synthetic_articles
from crawler.cluster import wire
from crawler.demo.portal import PortalServer
from tests.cluster_support import (
    REDIS_URL,
    PrivateRedis,
    drop_prefix,
    fresh_prefix,
    picture,
    redis_or_skip,
)
from tests.conftest import run_cli
from tests.daemons import nodes, query, wait_until
from tests.servers import SlackWebhook

pytestmark = pytest.mark.slow


@pytest.fixture
def redis_prefix() -> Iterator[tuple[Any, str]]:
    client = redis_or_skip()
    prefix = fresh_prefix()
    yield client, prefix
    drop_prefix(client, prefix)
    client.close()


@pytest.fixture
def slack() -> Iterator[SlackWebhook]:
    webhook = SlackWebhook()
    yield webhook
    webhook.close()


def cluster_config(
    prefix: str, *, lease: str = "60s", worker_timeout: str = "30s", url: str = REDIS_URL
) -> str:
    return f"""
[cluster]
redis_url = "{url}"
key_prefix = "{prefix}"
lease = "{lease}"
worker_timeout = "{worker_timeout}"
"""


def sources(base: str, *, interval: str = "3s", delay: float = 0) -> str:
    return f"""
[crawl]
workers = 1
[[sources]]
name = "portal-feeds"
feeds = ["{base}/feeds/zh.xml", "{base}/feeds/en.atom"]
interval = "{interval}"
delay = {delay}
[[sources]]
name = "portal-sitemap"
sitemaps = ["{base}/sitemap.xml"]
interval = "{interval}"
delay = {delay}
[[sources]]
name = "portal-listings"
listings = ["{base}/list/"]
article_links = '/news/[a-z]+/\\d{{4}}/[a-z0-9-]+\\.html$'
listing_depth = 5
interval = "{interval}"
delay = {delay}
"""


def rules(slack: SlackWebhook) -> str:
    return f"""
[[rules]]
name = "h20"
keywords = ["H20"]
[[rules]]
name = "ascend"
keywords = ["昇腾"]
[[channels]]
name = "slack"
type = "slack"
webhook_url = "{slack.url}"
"""


def finished_checks(db: Path) -> set[str]:
    return {row[0] for row in query(db, "SELECT source FROM crawl_runs WHERE "
                                        "finish_reason = 'finished'")}  # fmt: skip


def settled(client: Any, prefix: str) -> bool:
    """Nothing waits in the cluster: no request in a stream, no event for the archive."""
    keys = list(client.scan_iter(match=f"{prefix}:*:requests")) + [f"{prefix}:events"]
    return all(client.xlen(key) == 0 for key in keys if client.exists(key))


def test_an_archive_node_and_two_workers_store_what_one_process_stores(
    portal: PortalServer,
    slack: SlackWebhook,
    redis_prefix: tuple[Any, str],
    tmp_path: Path,
    write_config,
) -> None:  # type: ignore[no-untyped-def]
    client, prefix = redis_prefix
    single_db, cluster_db = tmp_path / "single.db", tmp_path / "cluster.db"
    body = sources(portal.base) + rules(slack)
    single = write_config(f'[archive]\npath = "{single_db}"\n' + body, "single.toml")
    assert run_cli("--config", str(single), "crawl").returncode == 0
    config = write_config(
        f'[archive]\npath = "{cluster_db}"\n' + cluster_config(prefix) + body, "cluster.toml"
    )
    # the workers first, so that both wait for requests when the first check starts
    for *workers, archive in nodes(config, tmp_path, ["worker", "worker", "archive"]):
        wait_until(lambda: len(finished_checks(cluster_db)) == 3, 90, "a check of each source")
        wait_until(lambda: settled(client, prefix), 30, "the cluster to settle")

        def cluster_status() -> dict[str, Any]:
            report = json.loads(run_cli("--config", str(config), "status", "--json").stdout)
            return dict(report["cluster"])

        # both workers worked (their next heartbeats say so)
        wait_until(
            lambda: [w["done"] > 0 for w in cluster_status()["workers"]] == [True, True],
            15,
            "both workers' heartbeats",
        )
        assert cluster_status()["redis"] == "ok"
        for node in [*workers, archive]:
            assert node.stop() == 0
    want, got = picture(single_db), picture(cluster_db)
    assert got["articles"] == want["articles"] and len(got["articles"]) == len(portal.site.articles)
    assert got["stories"] == want["stories"]
    assert got["alerts"] == want["alerts"] and got["alerts"]
    # every alert went out once: the single crawl's and the cluster's to the same stand-in
    titles = Counter(p["blocks"][0]["text"]["text"] for p in slack.delivered)
    assert set(titles.values()) == {2}, titles
    runs = query(cluster_db, "SELECT source, requests, new_articles + unchanged FROM crawl_runs "
                             "WHERE finish_reason = 'finished' ORDER BY id LIMIT 3")  # fmt: skip
    assert all(requests > 1 for _, requests, _ in runs)


def test_a_worker_killed_mid_crawl_loses_no_article(
    redis_prefix: tuple[Any, str], tmp_path: Path, write_config
) -> None:  # type: ignore[no-untyped-def]
    client, prefix = redis_prefix
    db = tmp_path / "a.db"
    articles = synthetic_articles(60, seed=3)
    with PortalServer(0, articles=articles) as portal:
        portal.latency = 0.15
        config = write_config(f"""
[archive]
path = "{db}"
{cluster_config(prefix, lease="3s")}
[crawl]
workers = 1
[[sources]]
name = "sitemap"
sitemaps = ["{portal.base}/sitemap.xml"]
interval = "1h"
delay = 0
""")
        for first, second, archive in nodes(config, tmp_path, ["worker", "worker", "archive"]):
            wait_until(lambda: query(db, "SELECT count(*) FROM articles")[0][0] >= 8, 60,
                       "some articles")  # fmt: skip
            first.kill()  # SIGKILL, mid-crawl: it held requests
            wait_until(lambda: query(db, "SELECT count(*) FROM articles")[0][0] == 60, 90,
                       "every article, the killed worker's ones too")  # fmt: skip
            wait_until(lambda: finished_checks(db), 30, "the check to end")
            assert second.stop() == 0 and archive.stop() == 0
        assert "took over" in second.text()  # what the killed worker held
    assert query(db, "SELECT count(DISTINCT canonical_url) FROM articles")[0][0] == 60


def one_sitemap(db: Path, prefix: str, portal: PortalServer, extra: str = "") -> str:
    """A cluster's config of one source, the portal's sitemap, checked once an hour."""
    return f"""
[archive]
path = "{db}"
{cluster_config(prefix)}
[crawl]
workers = 1
[[sources]]
name = "sitemap"
sitemaps = ["{portal.base}/sitemap.xml"]
interval = "1h"
delay = 0
{extra}
"""


def stored(db: Path) -> int:
    return int(query(db, "SELECT count(*) FROM articles")[0][0])


def test_a_restarted_archive_node_loses_no_item(
    slack: SlackWebhook, redis_prefix: tuple[Any, str], tmp_path: Path, write_config
) -> None:  # type: ignore[no-untyped-def]
    client, prefix = redis_prefix
    db = tmp_path / "a.db"
    rng, words = random.Random(5), common_words()
    articles = [distinct_article(i, rng, words) for i in range(40)]
    with PortalServer(0, articles=articles) as portal:
        portal.latency = 0.05
        config = write_config(one_sitemap(db, prefix, portal, rules(slack)))
        for archive, worker in nodes(config, tmp_path, ["archive", "worker"]):
            wait_until(lambda: stored(db) >= 5, 60, "some articles")
            archive.kill()  # SIGKILL: events it read but had not acknowledged stay pending
            time.sleep(2)  # the worker goes on handing articles over
            for again in nodes(config, tmp_path, ["archive"]):
                wait_until(lambda: stored(db) == 40, 90, "every article")
                wait_until(lambda: len(slack.delivered) >= 40, 90, "every alert")
                time.sleep(2)
                assert again[0].stop() == 0
            assert worker.stop() == 0
    titles = Counter(p["blocks"][0]["text"]["text"] for p in slack.delivered)
    assert len(titles) == 40 and max(titles.values()) <= 2  # at most one duplicate (the kill)
    assert sum(titles.values()) - len(titles) <= 1
    assert query(db, "SELECT count(*), count(DISTINCT story_id) FROM alerts")[0] == (40, 40)


def test_an_archive_node_stopped_mid_check_counts_what_comes_after(
    redis_prefix: tuple[Any, str], tmp_path: Path, write_config
) -> None:  # type: ignore[no-untyped-def]
    """SIGTERM of the archive node mid-check: the check is recorded as cut short, neither
    a failure of its source nor a success, and the articles its workers hand over after
    that (stored by the next node) are added to its row: the rows add up to the archive."""
    client, prefix = redis_prefix
    db = tmp_path / "a.db"
    rng, words = random.Random(6), common_words()
    articles = [distinct_article(i, rng, words) for i in range(80)]
    with PortalServer(0, articles=articles) as portal:
        portal.latency = 0.5  # the check (20 s) outlasts the node's 10 s to stop
        config = write_config(one_sitemap(db, prefix, portal))
        for archive, worker in nodes(config, tmp_path, ["archive", "worker"]):
            wait_until(lambda: stored(db) >= 5, 60, "some articles")
            assert archive.stop() == 0
            cut = query(db, "SELECT run_id, finish_reason, new_articles FROM crawl_runs")
            assert len(cut) == 1 and cut[0][1] == "shutdown" and cut[0][2] < 80, cut
            health = query(db, "SELECT consecutive_failures, last_success_at FROM source_health")
            assert health == [(0, None)]  # neither a failure nor a success
            # what the worker hands over meanwhile waits, and status says so
            wait_until(lambda: client.xlen(f"{prefix}:events"), 30, "an event waiting")
            status = run_cli("--config", str(config), "status")
            assert status.returncode == 1, status.stdout
            assert "wait for the archive node, which is not running" in status.stdout
            for again in nodes(config, tmp_path, ["archive"]):
                wait_until(lambda: stored(db) == 80, 90, "every article")
                wait_until(
                    lambda: query(db, "SELECT sum(new_articles) FROM crawl_runs")[0][0] == 80,
                    30,
                    "the articles counted in their check's row",
                )
                # (the new node's own first check may still hold its entry point a moment)
                wait_until(
                    lambda: (
                        "queues: 1, all empty" in run_cli("--config", str(config), "status").stdout
                    ),
                    30,
                    "status saying every queue is empty",
                )
                assert again[0].stop() == 0
            assert worker.stop() == 0
    rows = query(db, "SELECT new_articles FROM crawl_runs WHERE run_id = ?", (cut[0][0],))
    assert rows[0][0] > cut[0][2]  # its late articles were added to it
    log = archive.text()
    assert "check sitemap cut short (shutdown): " in log and "check sitemap failed" not in log


REPUBLISHED = re.compile(r"published [1-9]\d* archived URLs")


@pytest.mark.parametrize("persist", [True, False], ids=["append-only-file", "no-persistence"])
def test_a_redis_restart_loses_no_article(
    persist: bool, slack: SlackWebhook, tmp_path: Path, write_config
) -> None:  # type: ignore[no-untyped-def]
    """Redis killed mid-check and started again. With an append-only file synced on each
    write it comes back with every stream, group and pending entry: the check goes on and
    finishes. Without persistence it comes back empty: the nodes make their groups again,
    the archive node publishes what it holds again, the open check ends at its timeout and
    the next check finds the articles that were on their way."""
    (tmp_path / "redis").mkdir()
    server = PrivateRedis(tmp_path / "redis", persist=persist)
    db = tmp_path / "a.db"
    rng, words = random.Random(11), common_words()
    articles = [distinct_article(i, rng, words) for i in range(24)]
    try:
        with PortalServer(0, articles=articles) as portal:
            portal.latency = 0.1
            config = write_config(f"""
[archive]
path = "{db}"
{cluster_config(fresh_prefix(), url=server.url)}
[crawl]
workers = 1
[[sources]]
name = "sitemap"
sitemaps = ["{portal.base}/sitemap.xml"]
interval = "20s"
crawl_timeout = "12s"
delay = 0
{rules(slack)}
""")
            for archive, worker in nodes(config, tmp_path, ["archive", "worker"]):
                wait_until(lambda: query(db, "SELECT count(*) FROM articles")[0][0] >= 5, 60,
                           "some articles")  # fmt: skip
                server.kill()
                time.sleep(2)  # both nodes meet a Redis that does not answer
                server.start()
                wait_until(lambda: query(db, "SELECT count(*) FROM articles")[0][0] == 24, 120,
                           "every article")  # fmt: skip
                wait_until(lambda: len(slack.delivered) >= 24, 60, "every alert")
                if persist:
                    wait_until(lambda: finished_checks(db), 30, "the check to finish")
                else:  # what the archive holds, to the new Redis, within RESYNC_EVERY
                    wait_until(lambda log=archive.text: REPUBLISHED.search(log()), 45,
                               "a new publication")  # fmt: skip
                time.sleep(1)
                assert worker.stop() == 0 and archive.stop() == 0
    finally:
        server.close()
    # the streams' groups came back with the file, or were made again
    assert ("lost its group" in archive.text()) is not persist
    assert ("lost their group" in worker.text()) is not persist
    titles = Counter(p["blocks"][0]["text"]["text"] for p in slack.delivered)
    assert len(titles) == 24 and set(titles.values()) == {1}, titles
    assert query(db, "SELECT count(DISTINCT canonical_url), count(*) FROM articles")[0] == (24, 24)


def test_two_workers_keep_one_sources_delay_together(
    redis_prefix: tuple[Any, str], tmp_path: Path, write_config
) -> None:  # type: ignore[no-untyped-def]
    client, prefix = redis_prefix
    db = tmp_path / "a.db"
    articles = synthetic_articles(8, seed=11)
    with PortalServer(0, articles=articles) as portal:
        config = write_config(f"""
[archive]
path = "{db}"
{cluster_config(prefix)}
[crawl]
workers = 1
[[sources]]
name = "slow-site"
sitemaps = ["{portal.base}/sitemap.xml"]
interval = "1h"
delay = 1.0
""")
        # the workers first, so that both wait for requests when the first check starts
        for *workers, archive in nodes(config, tmp_path, ["worker", "worker", "archive"]):
            wait_until(lambda: query(db, "SELECT count(*) FROM articles")[0][0] == 8, 60,
                       "every article")  # fmt: skip
            for node in [*workers, archive]:
                assert node.stop() == 0
        served = sorted(r["at"] for r in portal.requested() if r["path"] != "/robots.txt")
    assert len(served) >= 10  # index, sitemap, 8 articles
    gaps = [b - a for a, b in zip(served, served[1:], strict=False)]
    assert min(gaps) >= 0.9, gaps  # one request a second to the site, both workers together


def sites_config(
    db: Path, prefix: str, concurrency: int, sites: list[tuple[PortalServer, float]]
) -> str:
    """An archive and a worker of ``concurrency`` requests in flight; one source a site,
    its sitemap checked hourly, with the site's ``delay``."""
    sources = "".join(
        f'[[sources]]\nname = "{site.host}"\nsitemaps = ["{site.base}/sitemap.xml"]\n'
        f'interval = "1h"\ndelay = {delay}\n'
        for site, delay in sites
    )
    return f"""
[archive]
path = "{db}"
{cluster_config(prefix)}
worker_concurrency = {concurrency}
[crawl]
workers = 1
{sources}"""


@pytest.mark.parametrize("concurrency", [1, 3])
def test_a_worker_keeps_worker_concurrency_requests_in_flight(
    redis_prefix: tuple[Any, str], tmp_path: Path, write_config, concurrency: int
) -> None:  # type: ignore[no-untyped-def]
    """Eight sites with one article each, answering it in 1 s: the most article requests
    in flight together, from the times they reached the sites, is the worker's
    ``worker_concurrency``.

    One article a site, so that no request waits in the worker for its host (a host's
    delay or slot) while holding one of the worker's places: with several a site, the
    count depends on the order requests come out of the queue."""
    client, prefix = redis_prefix
    db = tmp_path / "a.db"
    latency = 1.0
    with contextlib.ExitStack() as stack:
        sites = [
            stack.enter_context(
                PortalServer(0, articles=synthetic_articles(1, seed=20 + i), host=f"127.0.0.{i}")
            )
            for i in range(1, 9)
        ]
        for site in sites:
            site.latency = latency
        config = write_config(sites_config(db, prefix, concurrency, [(s, 0) for s in sites]))
        for worker, archive in nodes(config, tmp_path, ["worker", "archive"]):
            wait_until(lambda: query(db, "SELECT count(*) FROM articles")[0][0] == 8, 90,
                       "every article")  # fmt: skip
            assert worker.stop() == 0 and archive.stop() == 0
        started = sorted(r["at"] for site in sites for r in site.requested("/news/"))
    assert len(started) == 8
    # a request is in flight from its arrival for the latency at least (less a margin
    # for the clock's grain); the next one a worker sends starts after an answer came
    busy = latency - 0.1
    in_flight = [sum(1 for other in started if other <= at < other + busy) for at in started]
    assert max(in_flight) == concurrency, (in_flight, started)


def test_a_request_waiting_for_its_host_leaves_the_worker_its_place(
    redis_prefix: tuple[Any, str], tmp_path: Path, write_config
) -> None:  # type: ignore[no-untyped-def]
    """A worker with one place (``worker_concurrency = 1``) and three sites: one whose
    source waits 300 s between two requests, two answering each article in 0.2 s. The
    slow site's second request (the sitemap its sitemap index names) waits for the delay
    kept back in the worker's queue, not in the worker's one place: the other two sites'
    articles are all stored meanwhile (held there, the worker would fetch nothing else
    for 300 s), and a worker stopping then gives the waiting request back at once (not
    after its stop's 10 s of grace for requests in flight). That kept-back requests go
    once their delay has passed: ``test_two_workers_keep_one_sources_delay_together``."""
    client, prefix = redis_prefix
    db = tmp_path / "a.db"
    with contextlib.ExitStack() as stack:
        slow, *quick = [
            stack.enter_context(
                PortalServer(0, articles=synthetic_articles(n, seed=40 + i), host=f"127.0.0.{i}")
            )
            for i, n in [(1, 1), (2, 6), (3, 6)]
        ]
        for site in quick:
            site.latency = 0.2
        config = write_config(
            sites_config(db, prefix, 1, [(slow, 300), *[(site, 0) for site in quick]])
        )
        for worker, archive in nodes(config, tmp_path, ["worker", "archive"]):
            wait_until(lambda: query(db, "SELECT count(*) FROM articles")[0][0] == 12, 60,
                       "the quick sites' articles")  # fmt: skip
            asked = [r["path"] for r in slow.requested() if r["path"] != "/robots.txt"]
            assert asked == ["/sitemap.xml"], asked  # the index; what it names waits

            def beat() -> dict[str, Any]:
                report = json.loads(run_cli("--config", str(config), "status", "--json").stdout)
                return dict(report["cluster"]["workers"][0])

            # a heartbeat after the last quick article's end (one written while it was
            # in flight says so: the heartbeat is up to 5 s old); were the waiting request
            # held in the worker's one place, none would ever say 0 in flight
            def settled() -> bool:
                report = beat()
                return report.get("waiting_for_host") == 1 and report.get("in_flight") == 0

            wait_until(settled, 15, "a heartbeat with 1 waiting for its host, 0 in flight")
            assert (
                "0 in flight, 1 waiting for their host"
                in run_cli("--config", str(config), "status").stdout
            )
            assert worker.stop_timed() < 9  # not after the grace for requests in flight
            assert archive.stop() == 0 and worker.stop() == 0
            log = worker.text()
    assert "stopping: no new requests; 0 in flight" in log, log[-2000:]
    assert "gave back 1 request(s) to the other workers" in log, log[-2000:]


def test_a_cautious_sources_backlog_stays_in_its_stream(
    redis_prefix: tuple[Any, str], tmp_path: Path, write_config
) -> None:  # type: ignore[no-untyped-def]
    """A source that waits 300 s between requests and lists 10 articles: a worker keeps
    back 4 of them for their host (``KEPT_PER_SOURCE``), not as many as it may keep in
    all (8 for 2 places), and leaves the other 6 unread in the source's stream, for any
    worker."""
    from crawler.cluster.keys import WORKER_GROUP, Keys
    from crawler.cluster.queue import KEPT_PER_SOURCE

    client, prefix = redis_prefix
    db = tmp_path / "a.db"
    with PortalServer(0, articles=synthetic_articles(10, seed=60)) as site:
        source = (f'[[sources]]\nname = "cautious"\n'
                  f'sitemaps = ["{site.base}/sitemaps/news.xml"]\n'
                  'interval = "1h"\ndelay = 300\n')  # fmt: skip
        config = write_config(sites_config(db, prefix, 2, []) + source)
        stream = Keys(prefix).requests("cautious")

        def beat() -> dict[str, Any]:
            report = json.loads(run_cli("--config", str(config), "status", "--json").stdout)
            workers = report["cluster"]["workers"]
            return dict(workers[0]) if workers else {}

        for worker, archive in nodes(config, tmp_path, ["worker", "archive"]):
            wait_until(lambda: client.xlen(stream) == 10, 30, "the sitemap's 10 articles")

            def settled() -> bool:  # a heartbeat after the sitemap's end, too
                report = beat()
                return (report.get("waiting_for_host") == KEPT_PER_SOURCE
                        and report.get("in_flight") == 0)  # fmt: skip

            wait_until(settled, 15, "a heartbeat with the kept-back requests, 0 in flight")
            time.sleep(1)  # the worker goes on asking for requests meanwhile
            groups = client.xinfo_groups(stream)
            group = next(g for g in groups if g["name"].decode() == WORKER_GROUP)
            assert group["pending"] == KEPT_PER_SOURCE
            assert group["lag"] == 10 - KEPT_PER_SOURCE  # unread, for any worker
            text = run_cli("--config", str(config), "status").stdout
            assert f"0 in flight, {KEPT_PER_SOURCE} waiting for their host" in text, text
            assert f"6 waiting, {KEPT_PER_SOURCE} held by workers" in text, text
            assert worker.stop() == 0 and archive.stop() == 0
        assert [r["path"] for r in site.requested("/news/")] == []  # the delay held


def test_a_new_article_is_alerted_within_its_interval_plus_5_s(
    portal: PortalServer,
    slack: SlackWebhook,
    redis_prefix: tuple[Any, str],
    tmp_path: Path,
    write_config,
) -> None:  # type: ignore[no-untyped-def]
    client, prefix = redis_prefix
    db = tmp_path / "a.db"
    config = write_config(f"""
[archive]
path = "{db}"
{cluster_config(prefix)}
[crawl]
workers = 1
[[sources]]
name = "feeds"
feeds = ["{portal.base}/feeds/zh.xml"]
interval = "3s"
delay = 0
{rules(slack)}
""")
    rng, words = random.Random(7), common_words()
    # the workers first, so that both wait for requests when the first check starts
    for *workers, archive in nodes(config, tmp_path, ["worker", "worker", "archive"]):
        wait_until(lambda: finished_checks(db), 60, "a first check")
        wait_until(lambda: not query(db, "SELECT 1 FROM alerts WHERE status != 'sent'"), 30,
                   "the first alerts")  # fmt: skip
        for i in range(2):
            before = len(slack.delivered)
            article = distinct_article(i, rng, words)
            published = time.time()
            portal.publish(article)
            wait_until(lambda b=before: len(slack.delivered) > b, 30, "the alert")
            latency = slack.delivered_at[before] - published
            assert latency <= 3 + 5, latency
        for node in [*workers, archive]:
            assert node.stop() == 0


def test_a_worker_that_stops_heart_beating_raises_one_alarm(
    portal: PortalServer,
    slack: SlackWebhook,
    redis_prefix: tuple[Any, str],
    tmp_path: Path,
    write_config,
) -> None:  # type: ignore[no-untyped-def]
    client, prefix = redis_prefix
    db = tmp_path / "a.db"
    config = write_config(f"""
[archive]
path = "{db}"
{cluster_config(prefix, worker_timeout="2s", lease="4s")}
[alarms]
channels = ["slack"]
[[sources]]
name = "feeds"
feeds = ["{portal.base}/feeds/zh.xml"]
interval = "1h"
delay = 0
[[channels]]
name = "slack"
type = "slack"
webhook_url = "{slack.url}"
""")
    for archive, worker in nodes(config, tmp_path, ["archive", "worker"]):
        wait_until(lambda: finished_checks(db), 60, "a first check")
        # as if it died mid-download: a slot it holds on a host, for the next minute
        holders = f"{prefix}:host:portal.test:holders"
        beat = wire.loads(client.hget(f"{prefix}:workers", f"{socket.gethostname()}:{worker.pid}"))
        client.zadd(holders, {f"{beat['slots']}:7": time.time() * 1000 + 6e4})
        client.zadd(holders, {"another-worker:1": time.time() * 1000 + 6e4})
        worker.kill()
        wait_until(
            lambda: query(db, "SELECT 1 FROM alarms WHERE kind = 'worker' AND event = 'raised'"),
            30,
            "the alarm",
        )
        status = run_cli("--config", str(config), "status")
        assert status.returncode == 1 and f":{worker.pid} has not heart-beaten" in status.stdout
        wait_until(lambda: slack.delivered, 20, "the alarm message")
        # once silent for the lease, its slot goes back (the other worker's stays)
        wait_until(lambda h=holders: client.zcard(h) == 1, 20, "its host slot given back")
        assert client.zrange(holders, 0, -1) == [b"another-worker:1"]
        time.sleep(3)
        assert archive.stop() == 0
    assert len(query(db, "SELECT 1 FROM alarms WHERE kind = 'worker'")) == 1  # once, not per look
    delivered = json.dumps(slack.delivered, ensure_ascii=False)
    assert "stopped heart-beating" in delivered and "no other worker is heart-beating" in delivered
    assert "gave back 1 host slot(s) of worker" in archive.text()


def test_a_rediss_url_works(portal: PortalServer, tmp_path: Path, write_config) -> None:  # type: ignore[no-untyped-def]
    trustme = pytest.importorskip("trustme")
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed: no TLS Redis to start")
    from tests.servers import free_port

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.private_key_pem.write_to_path(tmp_path / "key.pem")
    cert.cert_chain_pems[0].write_to_path(tmp_path / "cert.pem")
    ca.cert_pem.write_to_path(tmp_path / "ca.pem")
    port = free_port()
    process = subprocess.Popen(
        [server, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
         "--tls-cert-file", str(tmp_path / "cert.pem"), "--tls-key-file", str(tmp_path / "key.pem"),
         "--tls-ca-cert-file", str(tmp_path / "ca.pem"), "--tls-auth-clients", "no",
         "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        time.sleep(0.5)
        if process.poll() is not None:
            pytest.skip(f"this redis-server cannot serve TLS: {process.stdout.read()[-300:]}")  # type: ignore[union-attr]
        db = tmp_path / "a.db"
        url = f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={tmp_path / 'ca.pem'}"
        config = write_config(f"""
[archive]
path = "{db}"
{cluster_config(fresh_prefix(), url=url)}
[crawl]
workers = 0
[[sources]]
name = "feeds"
feeds = ["{portal.base}/feeds/zh.xml"]
interval = "1h"
delay = 0
""")
        for archive, worker in nodes(config, tmp_path, ["archive", "worker"]):
            wait_until(lambda: finished_checks(db), 60, "a check over TLS")
            assert worker.stop() == 0 and archive.stop() == 0
        assert query(db, "SELECT count(*) FROM articles")[0][0] > 0
        # and plain text to a TLS port is refused, not half-working
        plain = url.replace("rediss://", "redis://")
        bad = write_config(f'[archive]\npath = "{db}"\n' + cluster_config("x", url=plain)
                           + '[[sources]]\nname = "f"\nfeeds = ["https://a.example/f"]\n',
                           "plain.toml")  # fmt: skip
        refused = run_cli("--config", str(bad), "run", "--role", "worker", timeout=60)
        assert refused.returncode != 0
    finally:
        process.terminate()
        process.wait(10)


@pytest.mark.parametrize("role", ["archive", "worker"])
def test_a_node_that_cannot_reach_redis_says_so_in_one_line(
    role: str, tmp_path: Path, write_config
) -> None:  # type: ignore[no-untyped-def]
    from tests.servers import free_port

    url = f"redis://:hunter2-secret@127.0.0.1:{free_port()}/0"  # nothing listens there
    source = '[[sources]]\nname = "f"\nfeeds = ["https://a.example/f"]\n'
    archive = f'[archive]\npath = "{tmp_path / "a.db"}"\n'
    config = write_config(archive + cluster_config("x", url=url) + source)
    result = run_cli("--config", str(config), "run", "--role", role, timeout=60)
    assert result.returncode == 1  # not a config error: a restart may find Redis
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach Redis at redis://127.0.0.1:" in lines[0], lines
    assert str(config) in lines[0] and "Traceback" not in result.stderr
    assert "hunter2" not in result.stderr + result.stdout
