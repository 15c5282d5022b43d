"""Issue 14, CLI friction seen in a fresh clone: each item run through the CLI in a child
process (the demo and its hints, network failures, check, --since, search, alerts, a
missing archive, failed deliveries logged once)."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from alerts.delivery import deliver_due
from crawler.config import parse_config
from crawler.demo.portal import PortalServer, Reply, load_articles
from crawler.demo.run import config_state, stamped
from crawler.failures import describe_failure
from storage import Archive
from tests.conftest import REPO, run_cli
from tests.servers import SlackReply, SlackWebhook, free_port

# -- the demo ---------------------------------------------------------------------------


def _hint_lines(output: str, after: str) -> list[str]:
    """The indented command lines that follow the line containing ``after``."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if after in line) + 1
    hints = []
    for line in lines[start:]:
        if not line.startswith("  "):
            break
        hints.append(line.strip())
    return hints


def _run_as_typed(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        shlex.split(command), cwd=cwd, capture_output=True, text=True, timeout=180, check=False
    )


@pytest.mark.slow
def test_demo_serve_then_an_edited_config_is_kept_and_every_hint_runs_as_typed(
    tmp_path: Path,
) -> None:
    served = subprocess.Popen(
        [sys.executable, "-m", "crawler.cli", "demo", "--serve", "--port", "0"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert served.stdout is not None
        output = ""
        for line in served.stdout:
            output += line
            if "until Ctrl-C" in line:
                break
        output += "".join(next(served.stdout) for _ in range(4))
        hints = _hint_lines(output, "until Ctrl-C")
        crawl, daemon, search, browse = hints
        assert crawl.endswith(" crawl") and daemon.endswith(" run")
        # the portal is still up: crawl runs as typed, finds everything archived, fails nothing
        crawled = _run_as_typed(crawl, tmp_path)
        assert crawled.returncode == 0, crawled.stderr[-2000:]
        assert "Traceback" not in crawled.stderr + crawled.stdout
        rows = [line.split() for line in crawled.stdout.splitlines() if line.startswith("sample-")]
        assert len(rows) == 3 and all(row[3] == "0" for row in rows), crawled.stdout
        assert sum(int(row[2]) for row in rows) > 0  # unchanged: already archived, or 304
        found = _run_as_typed(search, tmp_path)
        assert found.returncode == 0 and "【昇" in found.stdout, found.stderr
        assert shlex.split(browse)[-2:] == ["serve", "--open"]  # the reading room
    finally:
        served.send_signal(signal.SIGTERM)
        served.wait(timeout=60)
    assert served.returncode == 0

    # edit the config the demo wrote: a rule of our own
    config = tmp_path / "newswatch-demo.toml"
    assert config_state(config) == "written"
    edited = (
        config.read_text(encoding="utf-8") + '\n[[rules]]\nname = "gallium"\nkeywords = ["镓"]\n'
    )
    config.write_text(edited, encoding="utf-8")
    again = run_cli("demo", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "edited since the demo wrote it" in again.stdout
    assert "kept as it is and crawled with" in again.stdout
    assert config.read_text(encoding="utf-8") == edited
    # crawled with the edited config (its rule fires on new articles only: none are new)
    assert "gallium on 0 stories" in again.stdout
    hints = _hint_lines(again.stdout, "the sample portal has stopped")
    assert len(hints) == 4
    for hint in hints[:3]:  # search, alerts, sources
        result = _run_as_typed(hint, tmp_path)
        assert result.returncode == 0, (hint, result.stderr[-2000:])
        assert "Traceback" not in result.stderr
    # the reading room: the hint names the demo's config (run with --help: it would serve)
    reading_room = _run_as_typed(hints[3].replace(" --open", " --help"), tmp_path)
    assert reading_room.returncode == 0 and "serve" in reading_room.stdout
    assert "newswatch-demo.toml" in (REPO / ".gitignore").read_text().split()


def test_demo_config_stamp(tmp_path: Path) -> None:
    path = tmp_path / "newswatch-demo.toml"
    assert config_state(path) == "missing"
    path.write_text(stamped("[archive]\npath = 'x.db'\n"), encoding="utf-8")
    assert config_state(path) == "written"
    path.write_text(path.read_text() + "# mine\n", encoding="utf-8")
    assert config_state(path) == "edited"
    path.write_text("[archive]\npath = 'x.db'\n", encoding="utf-8")  # not written by the demo
    assert config_state(path) == "edited"


# -- network failures -------------------------------------------------------------------


def _feed(links: list[str]) -> bytes:
    items = "".join(
        f"<item><title>{i}</title><link>{url}</link></item>" for i, url in enumerate(links)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"<link>http://x/</link><description>d</description>{items}</channel></rss>"
    ).encode()


@pytest.mark.slow
def test_refused_dns_and_tls_failures_are_one_line_per_source(
    portal: PortalServer, tmp_path: Path, write_config
) -> None:  # type: ignore[no-untyped-def]
    closed = free_port()  # nothing listens there: connection refused
    tls = f"https://127.0.0.1:{portal.port}"  # TLS to a plain HTTP server: handshake fails
    portal.script["/bad-articles.xml"] = [
        Reply(
            200,
            _feed(
                [
                    f"http://127.0.0.1:{closed}/a.html",
                    "http://no-such-host.invalid/b.html",
                    f"{tls}/c.html",
                ]
            ),
            {"Content-Type": "application/rss+xml"},
        )
    ]
    config = write_config(
        f"""
[archive]
path = "{tmp_path / "a.db"}"
[crawl]
timeout = 5
retries = 0
[[sources]]
name = "refused"
feeds = ["http://127.0.0.1:{closed}/feed.xml"]
delay = 0
[[sources]]
name = "unresolvable"
feeds = ["http://no-such-host.invalid/feed.xml"]
delay = 0
[[sources]]
name = "bad-tls"
feeds = ["{tls}/feeds/zh.xml"]
delay = 0
[[sources]]
name = "bad-articles"
feeds = ["{portal.base}/bad-articles.xml"]
delay = 0
"""
    )
    result = run_cli("crawl", "--config", str(config))
    assert result.returncode == 0, result.stderr[-3000:]
    # robots.txt, entry points and articles: nothing on stderr, no traceback anywhere
    assert result.stderr == "", result.stderr
    assert "Traceback" not in result.stdout
    lines = [line for line in result.stdout.splitlines() if line.startswith("  ")]
    assert len(lines) == 4, result.stdout
    by_source = {line.split()[0].rstrip(":"): line for line in lines}
    assert "connection refused" in by_source["refused"]
    assert "DNS lookup failed" in by_source["unresolvable"]
    assert "TLS handshake failed" in by_source["bad-tls"]
    assert "3 article(s) failed" in by_source["bad-articles"]
    # more logging shows more, and still no traceback
    portal.script["/bad-articles.xml"] = [Reply(200, _feed([f"{tls}/d.html"]))]
    verbose = run_cli("crawl", "--config", str(config), "-v")
    assert verbose.returncode == 0 and "Traceback" not in verbose.stderr
    assert "robots.txt of no-such-host.invalid could not be read (DNS lookup failed" in (
        verbose.stderr
    )


def test_failures_are_described_in_a_few_words() -> None:
    from OpenSSL import SSL
    from scrapy.exceptions import (
        CannotResolveHostError,
        DownloadConnectionRefusedError,
        DownloadFailedError,
        DownloadTimeoutError,
    )
    from twisted.python.failure import Failure
    from twisted.web.client import ResponseFailed

    try:
        try:
            raise ResponseFailed(
                [Failure(SSL.Error([("SSL routines", "", "wrong version number")]))]
            )
        except ResponseFailed as inner:
            raise DownloadFailedError(str(inner)) from inner
    except DownloadFailedError as exc:
        tls = exc
    assert describe_failure(tls) == "TLS handshake failed (wrong version number)"
    assert describe_failure(DownloadConnectionRefusedError("111")) == "connection refused"
    assert describe_failure(CannotResolveHostError("x")).startswith("DNS lookup failed")
    timeout = DownloadTimeoutError("Getting http://x/ took longer than 5.0 seconds.")
    assert describe_failure(timeout) == "timed out after 5 s"
    assert describe_failure(ValueError("odd  thing")) == "ValueError: odd thing"


# -- check --------------------------------------------------------------------------------


def test_check_warns_about_an_empty_config(write_config) -> None:  # type: ignore[no-untyped-def]
    empty = write_config("", name="empty.toml")
    result = run_cli("check", "--config", str(empty))
    assert result.returncode == 0
    assert "nothing will be crawled" in result.stderr
    disabled = write_config(
        '[[sources]]\nname = "a"\nfeeds = ["https://a.example/rss"]\nenabled = false\n'
        '[[rules]]\nname = "r"\nkeywords = ["x"]\n',
        name="disabled.toml",
    )
    result = run_cli("check", "--config", str(disabled))
    assert result.returncode == 0 and "nothing will be crawled" in result.stderr
    assert "no alert is sent" in result.stderr


def test_check_reports_every_error_at_once(write_config) -> None:  # type: ignore[no-untyped-def]
    path = write_config(
        """
[archive]
path = "${NEWSWATCH_TEST_UNSET_A}"
[crawl]
timout = 3
[[sources]]
name = "a"
feeds = ["${NEWSWATCH_TEST_UNSET_B}"]
intervl = "1h"
[[sources]]
name = "b"
feeds = ["https://b.example/rss"]
delay = -1
[[rules]]
name = "r"
keywords = ["x"]
channels = ["nowhere"]
""",
        name="bad.toml",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_TEST_UNSET")}
    checked = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "check", "--config", str(path)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert checked.returncode == 2
    errors = [line for line in checked.stderr.splitlines() if "config error" in line]
    keys = [line.split(": ")[3] for line in errors]
    assert keys == [
        "archive.path",
        "sources[0].feeds[0]",
        "crawl.timout",
        "sources[0].intervl",
        "sources[1].delay",
        "rules[0].channels",
    ], checked.stderr
    assert "NEWSWATCH_TEST_UNSET_A" in errors[0] and "NEWSWATCH_TEST_UNSET_B" in errors[1]
    assert "6 error(s)" in checked.stderr
    # other commands stop at the first, with the same message
    listed = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "sources", "--config", str(path)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert listed.returncode == 2
    assert listed.stderr.strip() == errors[0]


# -- an archive of our own for the reading commands ---------------------------------------


def _archive_with_articles(path: Path) -> None:
    archive = Archive.open(path)
    try:
        for i, article in enumerate(load_articles()):
            archive.add_article(
                {
                    "url": f"http://portal.test{article.path}?utm_source=rss",  # as fetched
                    "canonical_url": f"http://portal.test{article.path}",
                    "source": "portal-a" if i % 2 else "portal-b",
                    "title": article.title,
                    "text": article.text,
                    "lang": article.lang,
                    "published_at": article.date,
                    # the first half fetched long ago, the rest now
                    "fetched_at": "2025-01-01T00:00:00Z" if i < 7 else None,
                }
            )
    finally:
        archive.close()


CONFIG = """
[archive]
path = "{db}"
[[sources]]
name = "portal-a"
feeds = ["http://portal.test/feeds/zh.xml"]
[[sources]]
name = "portal-b"
feeds = ["http://portal.test/feeds/en.atom"]
[[rules]]
name = "ascend"
keywords = ["昇腾", "Ascend"]
"""


def test_backtest_since_accepts_dates_and_durations_only(tmp_path: Path, write_config) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "a.db"
    _archive_with_articles(db)
    config = write_config(CONFIG.format(db=db))
    refused = run_cli(
        "rules", "backtest", "ascend", "--since", "yesterday", "--config", str(config)
    )
    assert refused.returncode == 2
    assert (
        "'yesterday'" in refused.stderr
        and "7d" in refused.stderr
        and "2026-01-01" in refused.stderr
    )
    everything = run_cli("rules", "backtest", "ascend", "--config", str(config))
    recent = run_cli("rules", "backtest", "ascend", "--since", "7d", "--config", str(config))
    dated = run_cli("rules", "backtest", "ascend", "--since", "2025-06-01", "--config", str(config))
    iso = run_cli(
        "rules",
        "backtest",
        "ascend",
        "--since",
        "2024-12-31T18:00:00-05:00",
        "--config",
        str(config),
    )
    future = run_cli(
        "rules", "backtest", "ascend", "--since", "2999-01-01", "--config", str(config)
    )
    all_ids = {json.loads(line)["article_id"] for line in everything.stdout.splitlines()}
    recent_ids = {json.loads(line)["article_id"] for line in recent.stdout.splitlines()}
    assert recent_ids and recent_ids < all_ids and all(i > 7 for i in recent_ids)
    assert {json.loads(x)["article_id"] for x in dated.stdout.splitlines()} == recent_ids
    assert {json.loads(x)["article_id"] for x in iso.stdout.splitlines()} == all_ids
    assert future.returncode == 0 and future.stdout == ""
    assert "0 stories" in future.stderr


# -- search ---------------------------------------------------------------------------------


def test_search_shows_date_source_url_and_marked_snippet_and_exports(
    tmp_path: Path, write_config
) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "a.db"
    _archive_with_articles(db)
    config = str(write_config(CONFIG.format(db=db)))
    articles = load_articles()
    ascend = [a for a in articles if "昇腾" in a.text or "昇騰" in a.text]
    shown = run_cli("search", "昇腾", "--config", config)
    assert shown.returncode == 0, shown.stderr
    for article in ascend:
        assert article.title in shown.stdout
        assert f"http://portal.test{article.path}" in shown.stdout
        assert article.date[:10] in shown.stdout
    assert shown.stdout.count("【昇腾】") + shown.stdout.count("【昇騰】") >= len(ascend)
    assert "portal-a" in shown.stdout or "portal-b" in shown.stdout

    exported = json.loads(run_cli("search", "昇腾 OR Ascend", "--json", "--config", config).stdout)
    assert {"id", "date", "source", "title", "url", "snippet"} <= set(exported[0])
    assert all("utm_" not in row["url"] for row in exported)  # the canonical URL
    either = {a.title for a in articles if "昇腾" in a.text + a.title or "昇騰" in a.text + a.title}
    either |= {a.title for a in articles if "Ascend" in a.text + a.title}
    assert {row["title"] for row in exported} == either
    # unquoted, as typed in a shell: -Nvidia is a word to exclude, not -N -v -i...
    narrowed = json.loads(
        run_cli("search", "昇腾", "OR", "Ascend", "-Nvidia", "--json", "--config", config).stdout
    )
    assert {r["title"] for r in narrowed} == {
        a.title for a in articles if a.title in either and "Nvidia" not in a.title + a.text
    }
    table = run_cli("search", '"export controls"', "--csv", "--config", config).stdout
    rows = list(csv.DictReader(io.StringIO(table)))
    assert rows and all("【export controls】" in r["snippet"].lower() for r in rows), table

    nothing = run_cli("search", "量子计算机", "--config", config)
    assert nothing.returncode == 0
    assert "no articles match '量子计算机'" in nothing.stdout
    empty_json = run_cli("search", "量子计算机", "--json", "--config", config)
    assert json.loads(empty_json.stdout) == [] and "no articles match" in empty_json.stderr
    only_excluded = run_cli("search", "-华为", "--config", config)
    assert only_excluded.returncode == 2 and "must occur" in only_excluded.stderr


# -- a missing archive ------------------------------------------------------------------------


def test_reading_commands_on_a_missing_archive_create_nothing(tmp_path: Path, write_config) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "not-yet" / "a.db"
    config = str(write_config(CONFIG.format(db=db)))
    for args in (
        ["search", "昇腾"],
        ["alerts"],
        ["alerts", "retry"],
        ["rules", "backtest", "ascend"],
    ):
        result = run_cli(*args, "--config", config)
        assert result.returncode == 1, (args, result.stderr)
        assert f"no archive yet at {db}" in result.stderr, args
    listed = run_cli("sources", "--config", config)
    assert listed.returncode == 0 and f"no archive yet at {db}" in listed.stderr
    status = run_cli("status", "--config", config)
    assert status.returncode == 0 and f"no archive yet at {db}" in status.stdout
    assert not db.exists() and not db.parent.exists()


def test_reading_commands_need_no_channel_secrets(tmp_path: Path, write_config) -> None:  # type: ignore[no-untyped-def]
    """An analyst's shell has none of the daemon's secrets: the commands that only read the
    archive or the config run; the ones that send still name the missing variable."""
    db = tmp_path / "a.db"
    _archive_with_articles(db)
    channels = (
        '[[channels]]\nname = "desk"\ntype = "webhook"\nwebhook_url = "${NW_TEST_HOOK}"\n'
        'secret = "${NW_TEST_HOOK_SECRET}"\n'
        '[[channels]]\nname = "bot"\ntype = "dingtalk"\nwebhook_url = "${NW_TEST_DINGTALK}"\n'
    )
    config = str(write_config(CONFIG.format(db=db) + 'channels = ["desk", "bot"]\n' + channels))
    env = {k: v for k, v in os.environ.items() if not k.startswith("NW_TEST_")}
    for args in (
        ["status"],
        ["search", "昇腾"],
        ["sources"],
        ["alerts"],
        ["entities", "昇腾"],
        ["rules", "backtest", "ascend"],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "crawler.cli", "--config", config, *args],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert result.returncode in (0, 1), (args, result.stderr)
        assert "environment variable" not in result.stderr, (args, result.stderr)
    for args in (["crawl"], ["check"], ["alerts", "retry"]):
        result = subprocess.run(
            [sys.executable, "-m", "crawler.cli", "--config", config, *args],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert result.returncode == 2, (args, result.stderr)
        assert "expected environment variable NW_TEST_HOOK to be set" in result.stderr, args


# -- alerts -----------------------------------------------------------------------------------


def test_alerts_shows_headers_and_when_a_failed_alert_is_retried(
    tmp_path: Path, write_config
) -> None:  # type: ignore[no-untyped-def]
    slack = SlackWebhook()
    slack.script = [SlackReply(500, "server_error")]
    try:
        db = tmp_path / "a.db"
        text = CONFIG.format(db=db) + (
            '[delivery]\nfast_retries = 0\nbase_backoff = "10m"\n'
            f'[[channels]]\nname = "desk"\ntype = "slack"\nwebhook_url = "{slack.url}"\n'
        )
        config_path = write_config(text)
        config = parse_config(text, path=config_path)
        archive = Archive.open(db)
        try:
            archive.add_article(
                {
                    "url": "http://portal.test/a",
                    "canonical_url": "http://portal.test/a",
                    "source": "portal-a",
                    "title": "华为昇腾集群扩容",
                    "text": "华为昇腾集群扩容。",
                },
                alerts=[
                    {
                        "rule": "ascend",
                        "channels": ["desk"],
                        "terms": ["昇腾"],
                        "spans": [],
                        "snippet": "华为【昇腾】集群扩容",
                    }
                ],
            )
            assert deliver_due(archive, config).failed == 1
        finally:
            archive.close()
    finally:
        slack.close()
    listed = run_cli("alerts", "--config", str(config_path))
    assert listed.returncode == 0, listed.stderr
    header, row, error = listed.stdout.splitlines()[:3]
    assert header.split()[:7] == ["id", "status", "rule", "channel", "story", "tries", "next"]
    assert "failed" in row and "desk" in row and "华为昇腾集群扩容" in row
    assert re.search(r"in (9m \d+s|10m) \(\d\d:\d\d:\d\dZ\)", row), row
    assert "last error: slack: 500" in error
    none = run_cli("alerts", "--status", "dead", "--config", str(config_path))
    assert none.returncode == 0 and none.stdout.startswith("no dead alerts in the outbox")


# -- a failed delivery is logged once ---------------------------------------------------------


def test_a_failed_delivery_is_logged_once_per_channel(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    closed = free_port()
    config = parse_config(
        f"""
[delivery]
fast_retries = 0
[[rules]]
name = "h20"
keywords = ["H20"]
[[channels]]
name = "slack"
type = "slack"
webhook_url = "http://127.0.0.1:{closed}/services/T/B/x"
timeout = 2
[[channels]]
name = "hook"
type = "webhook"
webhook_url = "http://127.0.0.1:{closed}/hook"
secret = "0123456789abcdef0123"
timeout = 2
[[channels]]
name = "feishu"
type = "feishu"
webhook_url = "http://127.0.0.1:{closed}/open-apis/bot/v2/hook/x"
timeout = 2
[[channels]]
name = "mail"
type = "email"
host = "127.0.0.1"
port = {closed}
sender = "a@example.org"
recipients = ["b@example.org"]
timeout = 2
"""
    )
    archive = Archive.open(tmp_path / "a.db")
    try:
        archive.add_article(
            {
                "url": "http://x.test/1",
                "canonical_url": "http://x.test/1",
                "source": "s",
                "title": "英伟达H20",
                "text": "英伟达H20芯片。",
            },
            alerts=[
                {
                    "rule": "h20",
                    "channels": ["slack", "hook", "feishu", "mail"],
                    "terms": ["H20"],
                    "spans": [],
                    "snippet": "英伟达【H20】",
                }
            ],
        )
        with caplog.at_level(logging.DEBUG):
            report = deliver_due(archive, config)
    finally:
        archive.close()
    assert report.failed == 4
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(loud) == 4, [f"{r.name}: {r.getMessage()}" for r in loud]
    for channel in ("slack", "hook", "feishu", "mail"):
        assert sum(f"→ {channel} failed" in r.getMessage() for r in loud) == 1, channel
    assert not any(r.name.startswith("slack_sdk") for r in loud)


def test_next_try_in_words() -> None:
    from datetime import UTC, datetime

    from crawler.outbox_view import next_try

    now = datetime(2026, 3, 20, 8, 0, tzinfo=UTC)
    assert next_try({"status": "failed", "next_attempt_at": "2026-03-20T08:01:30Z"}, now) == (
        "in 1m 30s (08:01:30Z)"
    )
    assert next_try({"status": "failed", "next_attempt_at": "2026-03-20T07:59:00Z"}, now) == (
        "due now"
    )
    assert next_try({"status": "pending", "next_attempt_at": None}, now) == "due now"
    assert next_try({"status": "pending", "mode": "digest"}, now) == "with the next digest"
    assert next_try({"status": "sending", "lease_until": "2026-03-20T08:00:45Z"}, now) == (
        "sending (lease 45s left)"
    )
    assert next_try({"status": "sent"}, now) == next_try({"status": "dead"}, now) == "-"
    assert next_try({"status": "failed", "next_attempt_at": "2026-03-22T10:00:00Z"}, now) == (
        "in 2d 2h (10:00:00Z)"
    )


def test_the_sample_portal_has_a_front_page(portal: PortalServer) -> None:
    """The first link the demo prints opens a page, not a 404."""
    import urllib.request

    with urllib.request.urlopen(portal.base + "/") as answer:
        page = answer.read().decode("utf-8")
    assert answer.status == 200
    for path in ("/feeds/zh.xml", "/sitemap.xml", "/list/", portal.site.articles[-1].path):
        assert f'href="{path}"' in page or f"href='{path}'" in page


def test_status_says_now_for_a_check_whose_time_has_come() -> None:
    from datetime import UTC, datetime

    from crawler.status import _next

    now = datetime(2026, 12, 7, 12, 0, 0, tzinfo=UTC)
    assert _next("2026-12-07T12:03:00Z", now) == "in 3 min"
    assert _next("2026-12-07T11:59:59Z", now) == "now"  # running, or about to
    assert _next("2026-12-07T10:00:00Z", now) == "overdue 2.0 h"  # no daemon checks it
    assert _next(None, now) == "-"
