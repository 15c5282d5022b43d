"""The CLI commands other than crawl: extract, sources, search, demo, run; and scrapy's own."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crawler.config import parse_config
from crawler.daemon import KEEP_OPEN_UNDER, _gap, trigger_for
from crawler.demo.portal import PortalServer, PortalSite
from tests.conftest import REPO, portal_config, run_cli


def test_extract_prints_json_lines_without_a_config(tmp_path: Path) -> None:
    site = PortalSite("http://portal.test")
    files = []
    for article in site.articles[:3] + site.articles[5:6]:
        path = tmp_path / f"portal.test.{article.slug}.html"
        path.write_bytes(site.article_reply(article).body)
        files.append((path, article))
    result = run_cli("extract", *(str(p) for p, _ in files), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == len(files)
    for record, (path, article) in zip(records, files, strict=True):
        assert record["file"] == str(path)
        assert {"title", "text", "lang", "encoding", "published_at", "repairs"} <= set(record)
        assert record["title"] == article.title
        assert record["lang"] == article.lang


def test_extract_takes_url_and_content_type(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_bytes(
        "<html><body><article><h1>标题</h1><p>".encode("gbk")
        + "美国商务部对英伟达H20芯片实施出口管制，业内人士表示影响有限。".encode("gbk") * 3
        + b"</p></article></body></html>"
    )
    result = run_cli(
        "extract",
        str(path),
        "--url",
        "http://x.test/a.html?utm_source=1",
        "--content-type",
        "text/html; charset=gb2312",
        cwd=tmp_path,
    )
    record = json.loads(result.stdout)
    assert record["encoding"] == "gb18030"
    assert record["canonical_url"] == "http://x.test/a.html"
    assert "H20" in record["text"]


def test_sources_and_search_after_a_crawl(
    portal: PortalServer, tmp_path: Path, write_config
) -> None:  # type: ignore[no-untyped-def]
    config = write_config(portal_config(portal.base, tmp_path / "a.db"))
    before = run_cli("--config", str(config), "sources")
    assert before.returncode == 0 and "never" in before.stdout
    assert run_cli("--config", str(config), "crawl", "--source", "portal-sitemap").returncode == 0
    after = run_cli("--config", str(config), "sources")
    line = next(x for x in after.stdout.splitlines() if x.startswith("portal-sitemap"))
    assert f" {len(portal.site.articles)} " in line and "errors=0" in line
    found = run_cli("--config", str(config), "search", "昇腾")
    titles = [a.title for a in portal.site.articles if "昇腾" in a.title or "昇騰" in a.title]
    assert titles and all(t in found.stdout for t in titles)


def test_demo_runs_offline_and_exits_0(tmp_path: Path) -> None:
    result = run_cli("demo", "--port", "0", "--directory", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "serve --open" in result.stdout
    assert "ascend on 3 stories, h20 on 2 stories" in result.stdout
    # issue 14: the demo's alerts go through the outbox to a type = "log" channel
    assert "5 sent now, through the outbox to log (log)" in result.stdout
    db = tmp_path / "newswatch-demo.db"
    conn = sqlite3.connect(db)
    statuses = conn.execute("SELECT channel, status, count(*) FROM alerts GROUP BY 1, 2")
    assert statuses.fetchall() == [("log", "sent", 5)]
    langs = dict(conn.execute("SELECT lang, count(*) FROM articles GROUP BY lang").fetchall())
    codecs = {row[0] for row in conn.execute("SELECT DISTINCT encoding FROM articles")}
    assert sum(langs.values()) >= 12
    assert {"zh-Hans", "zh-Hant", "en"} <= set(langs)
    assert {"gb18030", "utf-8"} <= codecs and codecs & {"cp950", "big5hkscs"}
    assert (tmp_path / "newswatch-demo.toml").exists()
    # run again: nothing new to send, and it says why the list shows 5 sent
    again = run_cli("demo", "--port", "0", "--directory", str(tmp_path), cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "0 sent now, 5 by an earlier run, through the outbox" in again.stdout


def test_scrapy_list_and_crawl_from_the_repository_root(
    portal: PortalServer,
    tmp_path: Path,
    write_config,  # type: ignore[no-untyped-def]
) -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "scrapy", "list"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == ["feeds", "listings", "sitemaps", "source"]
    db = tmp_path / "a.db"
    config = write_config(portal_config(portal.base, db))
    crawled = subprocess.run(
        [
            sys.executable,
            "-m",
            "scrapy",
            "crawl",
            "feeds",
            "-a",
            "source=portal-feeds",
            "-s",
            "LOG_LEVEL=WARNING",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        env={**__import__("os").environ, "NEWSWATCH_CONFIG": str(config)},
    )
    assert crawled.returncode == 0, crawled.stderr[-3000:]
    count = sqlite3.connect(db).execute("SELECT count(*) FROM articles").fetchone()[0]
    assert count == len(portal.site.articles)


def test_schedule_triggers() -> None:
    config = parse_config(
        """
[[sources]]
name = "fast"
feeds = ["https://a.example/rss"]
interval = "1s"
[[sources]]
name = "nightly"
feeds = ["https://b.example/rss"]
cron = "30 2 * * *"
[[sources]]
name = "off"
feeds = ["https://c.example/rss"]
enabled = false
""",
        path="s.toml",
    )
    fast, nightly, _ = config.sources
    assert trigger_for(fast).interval.total_seconds() == 1  # type: ignore[attr-defined]
    assert "hour='2'" in str(trigger_for(nightly))
    # jitter: 10 % of the interval (at most 5 min); the check's timeout: the interval,
    # at most an hour and at least 30 s
    assert trigger_for(fast).jitter == pytest.approx(0.1)  # type: ignore[attr-defined]
    assert trigger_for(nightly).jitter == 300  # type: ignore[attr-defined]
    assert (fast.timeout_seconds, nightly.timeout_seconds) == (30.0, 3600.0)
    hourly = parse_config(
        '[[sources]]\nname = "h"\nfeeds = ["https://a.example/rss"]\ninterval = "2h"\n'
        'jitter = "5s"\ncrawl_timeout = "90s"',
        path="s.toml",
    ).sources[0]
    assert trigger_for(hourly).jitter == 5  # type: ignore[attr-defined]
    assert hourly.timeout_seconds == 90
    # only sources checked more often than every 10 minutes keep their crawler open
    assert _gap(trigger_for(fast)) == pytest.approx(1) and KEEP_OPEN_UNDER > 1
    assert _gap(trigger_for(nightly)) == 86400 and _gap(trigger_for(hourly)) == 7200


@pytest.mark.slow
def test_daemon_crawls_on_its_interval(portal: PortalServer, tmp_path: Path, write_config) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "a.db"
    text = portal_config(portal.base, db).replace(
        'name = "portal-feeds"', 'name = "portal-feeds"\ninterval = "1s"'
    )
    config = write_config(text)
    daemon = subprocess.Popen(
        [sys.executable, "-m", "crawler.cli", "--config", str(config), "run"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        runs = 0
        while time.monotonic() < deadline and runs < 2:
            time.sleep(1)
            if db.exists():
                conn = sqlite3.connect(db)
                try:
                    runs = conn.execute(
                        "SELECT count(*) FROM crawl_runs WHERE source = 'portal-feeds'"
                    ).fetchone()[0]
                except sqlite3.OperationalError:
                    runs = 0
                finally:
                    conn.close()
        assert runs >= 2, "the 1s source was not crawled twice"
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=60)
    assert daemon.returncode == 0, daemon.stderr.read()[-2000:] if daemon.stderr else ""


def test_rules_test_backtest_and_alerts_commands(
    portal: PortalServer, tmp_path: Path, write_config
) -> None:  # type: ignore[no-untyped-def]
    config = write_config(
        portal_config(portal.base, tmp_path / "a.db")
        + """
[[rules]]
name = "h20"
keywords = ["H20"]
[[rules]]
name = "ascend"
keywords = ["昇腾"]
"""
    )
    result = run_cli("--config", str(config), "rules", "test", "--text", "英伟达Ｈ２０芯片")
    fired = json.loads(result.stdout)["fired"]
    assert [f["rule"] for f in fired] == ["h20"] and fired[0]["terms"] == ["Ｈ２０"]
    assert (
        json.loads(
            run_cli("--config", str(config), "rules", "test", "--text", "H200 and 升腾").stdout
        )["fired"]
        == []
    )
    page = tmp_path / "page.html"
    article = next(a for a in portal.site.articles if a.slug == "ascend-developer-program")
    page.write_bytes(portal.site.article_reply(article).body)
    from_file = json.loads(
        run_cli("--config", str(config), "rules", "test", "--file", str(page)).stdout
    )
    assert [f["rule"] for f in from_file["fired"]] == ["ascend"]  # not the sidebar's H20
    from_url = json.loads(
        run_cli("--config", str(config), "rules", "test", "--url", portal.url(article.path)).stdout
    )
    assert from_url["fired"] == from_file["fired"]

    assert run_cli("--config", str(config), "crawl", "--source", "portal-sitemap").returncode == 0
    backtest = run_cli("--config", str(config), "rules", "backtest", "h20")
    lines = [json.loads(line) for line in backtest.stdout.splitlines()]
    h20_titles = {a.title for a in portal.site.articles if "H20" in a.title + a.text}
    assert {line["title"] for line in lines} == h20_titles
    assert run_cli("--config", str(config), "rules", "backtest", "nope").returncode == 2
    listed = run_cli("--config", str(config), "alerts")
    # no channels: nothing queued, and it says so (issue 14)
    assert listed.returncode == 0 and listed.stdout.startswith("no alerts in the outbox")
    assert "no [[channels]]" in listed.stdout
    retried = run_cli("--config", str(config), "alerts", "retry")
    assert retried.returncode == 0 and "0 alert(s) queued again" in retried.stdout
