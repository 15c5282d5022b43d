"""The daemon as a service (issue 10): `newswatch run` against the portal simulator with
second-scale intervals, a Slack stand-in that fails first, signals, a second daemon, a
config reload, kill -9 while articles arrive, source-health alarms and `newswatch status`."""

from __future__ import annotations

import json
import os
import random
import signal
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bench.synthetic import common_words, distinct_article
from crawler.demo.portal import PortalServer, Reply
from tests.conftest import run_cli
from tests.daemons import Node, query, wait_until
from tests.servers import SlackReply, SlackWebhook

pytestmark = pytest.mark.slow

WORDS = common_words()


FAILING_SOURCES = (
    Path(__file__).resolve().parent.parent
    / "storage"
    / "datasette_plugin"
    / "queries"
    / "failing_sources.sql"
)


@contextmanager
def daemon(config: Path, log: Path, *, group: bool = False) -> Iterator[Node]:
    """``newswatch run`` (no role), started; killed on the way out if still running."""
    running = Node(config, log, None, group=group)
    try:
        running.started("daemon started")
        yield running
    finally:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait(10)


def feeds_config(portal: PortalServer, db: Path, slack: SlackWebhook, extra: str = "") -> str:
    return f"""
[archive]
path = "{db}"
[[sources]]
name = "feeds"
feeds = ["{portal.base}/feeds/zh.xml"]
interval = "2s"
delay = 0
[[rules]]
name = "h20"
keywords = ["H20"]
[[channels]]
name = "slack"
type = "slack"
webhook_url = "{slack.url}"
timeout = 5
{extra}
"""


@pytest.fixture
def slack() -> Iterator[SlackWebhook]:
    webhook = SlackWebhook()
    yield webhook
    webhook.close()


def titles(slack: SlackWebhook) -> list[str]:
    return [p["blocks"][0]["text"]["text"] for p in slack.delivered]


def test_alert_within_seconds_through_500_and_429_then_sigterm_exits_0(
    portal: PortalServer, slack: SlackWebhook, tmp_path: Path, write_config
) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "a.db"
    config = write_config(feeds_config(portal, db, slack))
    with daemon(config, tmp_path / "log") as running:
        # the demo's own H20 stories go out first
        wait_until(lambda: query(db, "SELECT 1 FROM alerts WHERE status = 'sent'"), 30, "alerts")
        wait_until(
            lambda: not query(db, "SELECT 1 FROM alerts WHERE status != 'sent'"), 30, "quiet"
        )
        rng = random.Random(3)
        for i, script in enumerate(
            (
                [],
                [
                    SlackReply(500, "server_error"),
                    SlackReply(429, "rate_limited", {"Retry-After": "1"}),
                ],
            )
        ):
            slack.script = list(script)
            before = len(slack.delivered)
            article = distinct_article(i, rng, WORDS)
            published = time.time()
            portal.publish(article)
            wait_until(lambda b=before: len(slack.delivered) > b, 20, "the alert")
            latency = slack.delivered_at[before] - published
            # interval 2 s + 3 s, also when Slack first answers 500 and then 429
            assert latency <= 5.0, (latency, script)
            assert titles(slack)[before] == article.title
        took = running.stop_timed()
        assert running.process.returncode == 0 and took < 20
    assert "stopped:" in running.text()
    assert query(db, "SELECT stopped_at FROM daemon")[0][0]


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def test_sigterm_to_the_process_group_twice_still_stops_cleanly(
    portal: PortalServer, slack: SlackWebhook, tmp_path: Path, write_config
) -> None:  # type: ignore[no-untyped-def]
    """A supervisor that signals the daemon and then its whole process group (GNU timeout,
    systemd's control group) sends SIGTERM twice, to the page-stage workers too: the
    daemon still stops as after one, exit 0, its workers not dying under it."""
    db = tmp_path / "a.db"
    config = write_config(feeds_config(portal, db, slack))
    portal.latency = 0.5  # a check is running when the signals come
    with daemon(config, tmp_path / "log", group=True) as running:
        wait_until(lambda: query(db, "SELECT 1 FROM articles"), 30, "an article stored")
        os.killpg(running.pid, signal.SIGTERM)
        time.sleep(0.05)
        os.killpg(running.pid, signal.SIGTERM)
        running.process.wait(30)
        # its page-stage workers and their forkserver end with it: none is left in its group
        wait_until(lambda: not _group_alive(running.pid), 10, "the process group to end")
    log = running.text()
    assert running.process.returncode == 0, log[-3000:]
    assert "SIGTERM while stopping: already stopping" in log and "stopped:" in log
    assert "leaked" not in log and "BrokenProcessPool" not in log and "Traceback" not in log


def test_a_second_daemon_is_refused_and_status_names_every_source(
    portal: PortalServer, slack: SlackWebhook, tmp_path: Path, write_config
) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "a.db"
    broken = f"""
[[sources]]
name = "broken"
feeds = ["{portal.base}/broken/500"]
interval = "1s"
delay = 0
[crawl]
retries = 0
"""
    config = write_config(feeds_config(portal, db, slack, broken))
    with daemon(config, tmp_path / "log") as running:
        second = run_cli("--config", str(config), "run", timeout=30)
        assert second.returncode == 3
        assert f"PID {running.pid}" in second.stderr and "already" not in second.stdout
        wait_until(
            lambda: query(
                db, "SELECT 1 FROM source_health WHERE source = 'broken' AND state = 'failing'"
            ),  # fmt: skip
            30,
            "the failing source",
        )
        status = run_cli("--config", str(config), "status")
        assert status.returncode == 1, status.stdout
        assert f"running, PID {running.pid}" in status.stdout
        assert "feeds" in status.stdout and "broken" in status.stdout
        assert "source broken is failing" in status.stdout and "HTTP 500" in status.stdout
        report = json.loads(run_cli("--config", str(config), "status", "--json").stdout)
        by_name = {s["name"]: s for s in report["sources"]}
        assert by_name["feeds"]["state"] == "ok" and by_name["broken"]["state"] == "failing"
        assert by_name["feeds"]["next_check_at"] and report["daemon"]["pid"] == running.pid

        # the broken source taken out of the config: no longer in trouble anywhere
        config.write_text(feeds_config(portal, db, slack))
        running.process.send_signal(signal.SIGHUP)
        wait_until(
            lambda: query(
                db, "SELECT 1 FROM source_health WHERE source = 'broken' AND state = 'removed'"
            ),  # fmt: skip
            15,
            "the removed source",
        )
        time.sleep(1.5)  # a check of it that was running when it went ends meanwhile
        assert query(db, "SELECT state FROM source_health WHERE source = 'broken'") == [
            ("removed",)
        ]
        assert query(db, FAILING_SOURCES.read_text(encoding="utf-8")) == []
        healthy = run_cli("--config", str(config), "status")
        assert healthy.returncode == 0 and "broken" not in healthy.stdout, healthy.stdout
        assert "source broken is no longer configured" in running.text()
        assert running.stop_timed() < 20 and running.process.returncode == 0
    after = run_cli("--config", str(config), "status", "--require-daemon")
    assert after.returncode == 1 and "no daemon is running" in after.stdout


def test_a_source_that_keeps_failing_raises_one_alarm_and_one_recovery(
    portal: PortalServer, slack: SlackWebhook, tmp_path: Path, write_config
) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "a.db"
    config = write_config(f"""
[archive]
path = "{db}"
[crawl]
retries = 0
[alarms]
channels = ["slack"]
failures = 2
[[sources]]
name = "flaky"
feeds = ["{portal.base}/feeds/zh.xml"]
interval = "1s"
delay = 0
[[channels]]
name = "slack"
type = "slack"
webhook_url = "{slack.url}"
""")
    with daemon(config, tmp_path / "log") as running:
        wait_until(lambda: query(db, "SELECT 1 FROM crawl_runs"), 30, "a first check")
        # six failures in a row, then the feed answers again
        portal.script["/feeds/zh.xml"] = [Reply(503, b"down", {}) for _ in range(6)]
        wait_until(
            lambda: len(query(db, "SELECT 1 FROM crawl_runs WHERE entry_errors > 0")) >= 6,
            30,
            "six failed checks",
        )
        wait_until(
            lambda: query(db, "SELECT 1 FROM alarms WHERE event = 'recovered'"), 30, "recovery"
        )
        wait_until(lambda: len(slack.delivered) >= 2, 20, "the alarm messages")
        time.sleep(2)  # more successful checks: nothing more is sent
        running.stop()
    alarms = query(db, "SELECT kind, event, status FROM alarms ORDER BY id")
    assert alarms == [("failing", "raised", "sent"), ("failing", "recovered", "sent")]
    texts = [json.dumps(p, ensure_ascii=False) for p in slack.delivered]
    assert len(texts) == 2 and "flaky is failing" in texts[0] and "recovered" in texts[1]
    assert query(db, "SELECT state FROM source_health WHERE source = 'flaky'") == [("ok",)]


def test_sighup_keeps_the_running_config_when_broken_and_takes_a_fixed_one(
    portal: PortalServer, slack: SlackWebhook, tmp_path: Path, write_config
) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "a.db"
    good = feeds_config(portal, db, slack)
    config = write_config(good)
    rng = random.Random(5)
    with daemon(config, tmp_path / "log") as running:
        wait_until(lambda: query(db, "SELECT 1 FROM crawl_runs"), 30, "a first check")
        config.write_text(good.replace('interval = "2s"', 'interval = "soon"'))
        running.process.send_signal(signal.SIGHUP)
        wait_until(lambda: "config reload refused" in running.text(), 10, "the refusal")
        assert "sources[0].interval" in running.text()
        # still checking and alerting on the running config
        before = len(slack.delivered)
        article = distinct_article(100, rng, WORDS)
        portal.publish(article)
        wait_until(lambda: article.title in titles(slack)[before:], 20, "an alert after it")
        assert running.process.poll() is None

        added = (
            good
            + f"""
[[sources]]
name = "sitemap"
sitemaps = ["{portal.base}/sitemap.xml"]
interval = "1s"
delay = 0
"""
        )
        config.write_text(added)
        running.process.send_signal(signal.SIGHUP)
        wait_until(lambda: "config reloaded: 2 source(s) (1 added" in running.text(), 10, "reload")
        wait_until(
            lambda: query(db, "SELECT 1 FROM crawl_runs WHERE source = 'sitemap'"),
            20,
            "the added source's check",
        )
        assert running.stop_timed() < 20 and running.process.returncode == 0


def test_kill_9_while_articles_arrive_loses_no_alert_and_duplicates_at_most_one_per_kill(
    portal: PortalServer, slack: SlackWebhook, tmp_path: Path, write_config
) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "a.db"
    config = write_config(feeds_config(portal, db, slack).replace('"2s"', '"1s"'))
    slack.delay = 0.4  # each send is in flight for a while: a kill can land mid-send
    rng = random.Random(9)
    published = []
    kills = 4
    log = tmp_path / "log"
    for _ in range(kills):
        running = Node(config, log, None)
        running.started("daemon started")
        for _ in range(2):
            article = distinct_article(len(published), rng, WORDS)
            portal.publish(article)
            published.append(article.title)
            time.sleep(rng.uniform(0.2, 1.2))
        time.sleep(rng.uniform(0.0, 1.5))
        os.kill(running.pid, signal.SIGKILL)
        running.process.wait(10)
    with daemon(config, log) as running:
        wait_until(
            lambda: set(published) <= set(titles(slack)), 60, "every published article's alert"
        )
        wait_until(
            lambda: not query(db, "SELECT 1 FROM alerts WHERE status != 'sent'"), 30, "quiet"
        )
        running.stop()
    counts = Counter(titles(slack))
    duplicates = sum(n - 1 for n in counts.values())
    assert all(counts[title] >= 1 for title in published)  # nothing lost
    assert duplicates <= kills, counts
    sent = query(db, "SELECT count(*) FROM alerts WHERE status = 'sent'")[0][0]
    assert sent == len(counts)  # one outbox row per story, each sent


def test_scheduled_checks_record_their_numbers_and_next_time(
    portal: PortalServer, slack: SlackWebhook, tmp_path: Path, write_config
) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "a.db"
    config = write_config(feeds_config(portal, db, slack))
    with daemon(config, tmp_path / "log") as running:
        wait_until(lambda: len(query(db, "SELECT 1 FROM crawl_runs")) >= 3, 30, "three checks")
        running.stop()
    runs = query(
        db, "SELECT trigger, new_articles, not_modified, duration FROM crawl_runs ORDER BY id"
    )
    assert {r[0] for r in runs} == {"daemon"}
    assert runs[0][1] > 0 and all(r[1] == 0 and r[2] == 1 for r in runs[1:])  # then 304s
    assert all(r[3] is not None and r[3] < 5 for r in runs)
    assert len({r for r in query(db, "SELECT run_id FROM crawl_runs")}) == len(runs)
    requests = portal.requested("/feeds/zh.xml")
    assert len(requests) == len(runs)  # one conditional GET per check, no more
    assert all("If-None-Match" in r["headers"] for r in requests[1:])
