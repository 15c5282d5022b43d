"""``newswatch serve`` (issue 11): the archive in datasette, read-only, as a reading room.
Tested over HTTP through datasette's own client on a crawled archive, and as a process."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import feedparser
import pytest

from crawler.serve import DATABASE, build_datasette
from storage.datasette_plugin.metadata import HIDDEN_TABLES
from storage.datasette_plugin.words import local_midnight_utc
from tests.conftest import REPO
from tests.reading_room import ARTICLE_COUNT, CrawledArchive

pytestmark = pytest.mark.slow


def fetch(ds: Any, *paths: str, **kwargs: Any) -> list[Any]:
    async def run() -> list[Any]:
        return [await ds.client.get(path, **kwargs) for path in paths]

    return asyncio.run(run())


def get(path: Path, url: str, **kwargs: Any) -> Any:
    return fetch(build_datasette(path, **kwargs), url)[0]


def rows(path: Path, query: str, **params: str) -> list[dict[str, Any]]:
    response = get(path, f"/{DATABASE}/{query}.json?_shape=array&" + _qs(params))
    assert response.status_code == 200, response.text
    return response.json()


def _qs(params: dict[str, str]) -> str:
    from urllib.parse import urlencode

    return urlencode(params)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sql(path: Path, query: str, *params: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(query, params).fetchall()
    finally:
        conn.close()


# -- what datasette shows ------------------------------------------------------------------


def test_metadata_describes_every_table_and_column(crawled_archive: CrawledArchive) -> None:
    metadata = get(crawled_archive.path, "/-/metadata.json").json()
    assert metadata["title"] and "Asia/Shanghai" in metadata["description"]
    tables = metadata["databases"][DATABASE]["tables"]
    found = sql(
        crawled_archive.path,
        "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
        "AND name NOT LIKE 'articles_fts_%' AND name NOT LIKE 'sqlite_%'",
    )
    assert len(found) >= 15
    for (name,) in found:
        assert tables.get(name, {}).get("title"), f"{name} has no title"
        assert tables[name].get("description"), f"{name} has no description"
        columns = [row[1] for row in sql(crawled_archive.path, f"PRAGMA table_info('{name}')")]
        for column in columns:
            assert tables[name]["columns"].get(column), f"{name}.{column} is undescribed"


def test_internal_tables_are_hidden(crawled_archive: CrawledArchive) -> None:
    ds = build_datasette(crawled_archive.path)
    index, database, listing = fetch(ds, "/", f"/{DATABASE}", f"/{DATABASE}.json")
    shown = {t["name"]: t["hidden"] for t in listing.json()["tables"]}
    for name in (*HIDDEN_TABLES, "articles_fts"):
        assert shown[name] is True, name
    assert shown["articles"] is False and shown["stories"] is False
    for page in (index.text, database.text):
        assert "story_bands" not in page and "_migrations" not in page
        assert ">Articles</a>" in page and ">Stories</a>" in page and ">Alerts</a>" in page
    # The reading order: articles before the operational tables.
    assert database.text.index(">Articles</a>") < database.text.index(">Fetches</a>")


def test_articles_table_reads_newest_first_without_raw_columns(
    crawled_archive: CrawledArchive,
) -> None:
    ds = build_datasette(crawled_archive.path)
    page, data = fetch(ds, f"/{DATABASE}/articles", f"/{DATABASE}/articles.json?_shape=array")
    published = [row["published_at"] for row in data.json()]
    assert published == sorted(published, reverse=True)
    html = page.text
    assert "&lt;Binary" not in html and 'class="col-html' not in html
    assert 'class="col-url' not in html and 'class="col-text' not in html
    for header in ('data-column="title"', 'data-column="source"', 'data-column="lang"'):
        assert header in html
    # Times in the configured zone: 2026-03-20T00:00Z is 08:00 in Shanghai.
    assert ">2026-03-20 08:00</time>" in html
    utc = fetch(build_datasette(crawled_archive.path, timezone="UTC"), f"/{DATABASE}/articles")
    assert ">2026-03-20 00:00</time>" in utc[0].text
    full = fetch(ds, f"/{DATABASE}/articles?_all_columns=1")[0].text
    assert 'class="col-text' in full


def _article_id(path: Path, slug: str) -> int:
    return int(sql(path, "SELECT id FROM articles WHERE url LIKE ?", f"%/{slug}.html%")[0][0])


def test_article_page_reads_like_an_article(crawled_archive: CrawledArchive) -> None:
    path = crawled_archive.path
    copy_id = _article_id(path, "h20-wait-copy")
    first_id = _article_id(path, "h20-licence-wait")
    story_id = sql(path, "SELECT story_id FROM articles WHERE id = ?", copy_id)[0][0]
    alert_id = sql(path, "SELECT id FROM alerts WHERE rule = 'h20'")[0][0]
    html = get(path, f"/{DATABASE}/articles/{copy_id}").text
    assert '<h1 class="nw-title">渠道：H20交货推迟到下季度</h1>' in html
    assert "<p>一些互联网公司正在测试其他型号的加速卡" in html
    assert f'href="/{DATABASE}/stories/{story_id}"' in html
    assert f'href="/{DATABASE}/articles/{first_id}"' in html  # the other outlet's copy
    assert f'href="/{DATABASE}/alerts/{alert_id}"' in html
    assert "2 outlets</span>: outlet, wire" in html
    assert "Read the original" in html and "/h20-wait-copy.html" in html
    assert "Decoded as utf-8" in html  # repairs in words
    assert '"encoding":' not in html  # not the raw JSON


def test_foreign_keys_link_alerts_articles_and_stories(crawled_archive: CrawledArchive) -> None:
    path = crawled_archive.path
    alert_id, article_id, story_id = sql(
        path, "SELECT id, article_id, story_id FROM alerts WHERE rule = 'h20'"
    )[0]
    ds = build_datasette(path)
    alert, article_json = fetch(
        ds, f"/{DATABASE}/alerts/{alert_id}", f"/{DATABASE}/articles/{article_id}.json"
    )
    assert f'href="/{DATABASE}/articles/{article_id}"' in alert.text
    assert f'href="/{DATABASE}/stories/{story_id}"' in alert.text
    keys = {(fk[3], fk[2]) for fk in sql(path, "PRAGMA foreign_key_list('articles')")}
    assert ("story_id", "stories") in keys
    assert article_json.status_code == 200


def test_story_page_lists_every_outlet(crawled_archive: CrawledArchive) -> None:
    path = crawled_archive.path
    story_id = sql(path, "SELECT story_id FROM articles WHERE url LIKE '%h20-wait-copy%'")[0][0]
    html = get(path, f"/{DATABASE}/stories/{story_id}").text
    assert "2 outlets</span>: outlet, wire" in html
    assert "H20许可审批迟迟未落地" in html and "渠道：H20交货推迟到下季度" in html
    first_url = sql(path, "SELECT first_url FROM stories WHERE id = ?", story_id)[0][0]
    assert "utm_" not in first_url


# -- canned queries ------------------------------------------------------------------------


def test_latest_alerts(crawled_archive: CrawledArchive) -> None:
    found = rows(crawled_archive.path, "latest_alerts")
    stored = sql(crawled_archive.path, "SELECT id, rule, status, channel FROM alerts")
    assert len(found) == len(stored) == 2
    assert [r["alert_id"] for r in found] == sorted((s[0] for s in stored), reverse=True)
    by_rule = {r["rule"]: r for r in found}
    assert by_rule["h20"]["title"] == "H20许可审批迟迟未落地"
    assert by_rule["ascend"]["title"] == "昇騰叢集新增兩座機房"
    assert {r["status"] for r in found} == {"sent"} and {r["channel"] for r in found} == {"desk"}
    assert {r["source"] for r in found} == {"wire"}
    html = get(crawled_archive.path, f"/{DATABASE}/latest_alerts").text
    assert f'<a href="/{DATABASE}/articles/' in html  # titles link to their article
    assert "<title>Latest alerts</title>" in html


def test_multi_outlet_stories(crawled_archive: CrawledArchive) -> None:
    found = rows(crawled_archive.path, "multi_outlet_stories")
    assert len(found) == 1
    assert found[0]["title"] == "H20许可审批迟迟未落地"
    assert found[0]["outlets"] == 2 and found[0]["sources"] == "wire, outlet"


def test_new_today_articles_and_rule_hits_per_day(crawled_archive: CrawledArchive) -> None:
    path = crawled_archive.path
    midnight = local_midnight_utc(ZoneInfo("Asia/Shanghai"))
    expected = {r[0] for r in sql(path, "SELECT id FROM articles WHERE fetched_at >= ?", midnight)}
    assert {r["article_id"] for r in rows(path, "new_today")} == expected
    per_day = rows(path, "articles_per_day")
    assert sum(r["articles"] for r in per_day) == ARTICLE_COUNT
    assert {(r["day"], r["source"]): r["articles"] for r in per_day} == {
        ("2026-03-20", "wire"): 1,
        ("2026-03-19", "wire"): 2,  # 2026-03-18T21:00Z is the 19th in Shanghai
        ("2026-03-20", "outlet"): 1,
        ("2026-03-17", "outlet"): 1,
    }
    in_utc = fetch(
        build_datasette(path, timezone="UTC"), f"/{DATABASE}/articles_per_day.json?_shape=array"
    )[0].json()
    assert {"day": "2026-03-18", "source": "wire", "articles": 1} in in_utc
    hits = rows(path, "rule_hits_per_day")
    assert {r["rule"] for r in hits} == {"h20", "ascend"}
    assert sum(r["alerts"] for r in hits) == 2 and all(r["stories"] == 1 for r in hits)


def test_failing_sources_joins_health_and_fetches(
    crawled_archive: CrawledArchive, tmp_path: Path
) -> None:
    path = crawled_archive.copy(tmp_path)
    assert [r["source"] for r in rows(path, "failing_sources")] == ["broken-feed"]
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany(
            "INSERT OR REPLACE INTO source_health "
            "(source, state, consecutive_failures, last_error) VALUES (?, ?, ?, ?)",
            [("wire", "failing", 3, "TimeoutError"), ("outlet", "ok", 0, None)],
        )
    conn.close()
    found = rows(path, "failing_sources")
    assert [r["source"] for r in found] == ["wire", "broken-feed"]
    assert found[0]["state"] == "failing" and found[0]["last_error"] == "TimeoutError"
    assert found[1]["failed_fetches"] == 1 and "HTTP 404" in found[1]["last_error"]


def test_search_snippet_highlights_the_word(crawled_archive: CrawledArchive) -> None:
    path = crawled_archive.path
    found = rows(path, "search", q="昇腾")
    assert [r["title"] for r in found] == ["昇騰叢集新增兩座機房"]
    # the Traditional article is quoted in its own characters, found by the Simplified word
    assert "<mark>昇騰</mark>處理器" in found[0]["snippet"]
    html = get(path, f"/{DATABASE}/search?q=昇腾").text
    assert "<mark>昇騰</mark>處理器" in html and "&lt;mark&gt;" not in html
    assert {r["title"] for r in rows(path, "search", q="光伏 OR 液冷")} == {
        "光伏组件出口保持增长",
        "昇騰叢集新增兩座機房",
    }
    assert {r["title"] for r in rows(path, "search", q="H20 -下季度")} == {"H20许可审批迟迟未落地"}
    assert [r["title"] for r in rows(path, "search", q='"entity list"')] == [
        "Commerce adds research institutes to the Entity List"
    ]
    assert "<mark>Entity List</mark>" in rows(path, "search", q='"entity list"')[0]["snippet"]
    assert rows(path, "search", q='"list entity"') == []


def test_search_box_of_the_articles_table(crawled_archive: CrawledArchive) -> None:
    found = rows(crawled_archive.path, "articles", _search="昇腾")
    assert [r["title"] for r in found] == ["昇騰叢集新增兩座機房"]


def test_alerts_atom_feed(crawled_archive: CrawledArchive, tmp_path: Path) -> None:
    response = get(crawled_archive.path, f"/{DATABASE}/latest_alerts.atom")
    assert response.status_code == 200
    feed = feedparser.parse(response.text)
    assert not feed.bozo, feed.bozo_exception
    assert feed.feed.title == "Latest alerts"
    assert sorted(e.title for e in feed.entries) == [
        "[ascend] 昇騰叢集新增兩座機房",
        "[h20] H20许可审批迟迟未落地",
    ]
    assert all(e.link.startswith("http://127.0.0.1:") for e in feed.entries)
    search = feedparser.parse(get(crawled_archive.path, f"/{DATABASE}/search.atom?q=昇腾").text)
    assert [e.title for e in search.entries] == ["昇騰叢集新增兩座機房"]
    empty = crawled_archive.copy(tmp_path)
    conn = sqlite3.connect(empty)
    with conn:
        conn.execute("DELETE FROM alerts")
    conn.close()
    response = get(empty, f"/{DATABASE}/latest_alerts.atom")
    assert response.status_code == 200, response.text
    feed = feedparser.parse(response.text)
    assert not feed.bozo and feed.entries == [] and feed.feed.title == "Latest alerts"


def test_dashboard_page_and_its_queries(crawled_archive: CrawledArchive) -> None:
    from storage.datasette_plugin.metadata import dashboard

    ds = build_datasette(crawled_archive.path)
    page = fetch(ds, "/-/dashboards/newswatch")[0]
    assert page.status_code == 200 and "Articles per day per source" in page.text
    charts = dashboard(DATABASE)["charts"]
    for name in ("articles-per-day", "alerts-per-rule", "articles"):
        query = charts[name]["query"].replace("[[", "").replace("]]", "")
        query = query.replace(":since", "'2026-01-01'").replace(":source", "'wire'")
        response = fetch(ds, f"/{DATABASE}.json?_shape=array&" + _qs({"sql": query}))[0]
        assert response.status_code == 200, response.text
        assert response.json(), name


# -- read-only and access ------------------------------------------------------------------


def test_serving_never_writes(crawled_archive: CrawledArchive, tmp_path: Path) -> None:
    path = crawled_archive.copy(tmp_path)
    before = sha256(path)
    ds = build_datasette(path)
    fetch(
        ds,
        "/",
        f"/{DATABASE}",
        f"/{DATABASE}/articles",
        f"/{DATABASE}/articles/1",
        f"/{DATABASE}/search?q=H20",
        f"/{DATABASE}/latest_alerts.atom",
    )

    async def write() -> None:
        await ds.get_database(DATABASE).execute_write("DELETE FROM articles")

    with pytest.raises(sqlite3.OperationalError, match="readonly|read-only|query_only"):
        asyncio.run(write())
    assert sha256(path) == before
    assert sql(path, "SELECT count(*) FROM articles")[0][0] == ARTICLE_COUNT


def test_password_protects_pages_and_feeds(crawled_archive: CrawledArchive) -> None:
    import base64

    from datasette_auth_passwords.utils import hash_password

    ds = build_datasette(
        crawled_archive.path, login=("analyst", hash_password("s3cret", iterations=1000))
    )
    page, feed, login = fetch(
        ds, f"/{DATABASE}/articles", f"/{DATABASE}/latest_alerts.atom", "/-/login"
    )
    assert page.status_code == 302 and page.headers["location"] == "/-/login"
    assert feed.status_code == 401 and "Basic" in feed.headers["www-authenticate"]
    assert login.status_code == 200
    token = base64.b64encode(b"analyst:s3cret").decode()
    ok = fetch(ds, f"/{DATABASE}/latest_alerts.atom", headers={"Authorization": f"Basic {token}"})
    assert ok[0].status_code == 200 and len(feedparser.parse(ok[0].text).entries) == 2
    wrong = base64.b64encode(b"analyst:nope").decode()
    denied = fetch(ds, f"/{DATABASE}/articles", headers={"Authorization": f"Basic {wrong}"})
    assert denied[0].status_code == 302


def _serve(config: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "crawler.cli", "--config", str(config), "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def started(process: subprocess.Popen[str], timeout: float = 60) -> str:
    """The URL ``newswatch serve`` printed once it listens."""
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("serving "), line + (process.stderr.read() if process.stderr else "")
    url = line.split(" at ", 1)[1].split()[0]
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                assert response.status == 200
                return url
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _non_loopback_address() -> str | None:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            # No packet is sent: connect() on UDP only picks the outgoing interface.
            probe.connect(("192.0.2.1", 9))
            address = str(probe.getsockname()[0])
    except OSError:
        return None
    return None if address.startswith("127.") else address


def test_serve_command_answers_on_loopback_only(
    crawled_archive: CrawledArchive, tmp_path: Path
) -> None:
    path = crawled_archive.copy(tmp_path, "archive.db")
    config = tmp_path / "newswatch.toml"
    config.write_text(
        crawled_archive.config.read_text("utf-8").replace(str(crawled_archive.path), str(path)),
        encoding="utf-8",
    )
    before = sha256(path)
    process = _serve(config, "--port", "0")
    try:
        url = started(process)
        assert url.startswith("http://127.0.0.1:") and url.endswith(f"/{DATABASE}")
        port = int(url.split(":")[2].split("/")[0])
        with urllib.request.urlopen(url.replace(f"/{DATABASE}", "/-/metadata.json")) as r:
            assert b"newswatch archive" in r.read()
        with urllib.request.urlopen(url + "/latest_alerts.atom") as r:
            assert len(feedparser.parse(r.read()).entries) == 2
        other = _non_loopback_address()
        if other is not None:
            with pytest.raises(OSError), socket.create_connection((other, port), timeout=2):
                pass
    finally:
        stop(process)
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""
    assert sha256(path) == before


def test_serve_refuses_a_reachable_host_without_a_password(
    crawled_archive: CrawledArchive, write_config: Callable[..., Path]
) -> None:
    from tests.conftest import run_cli

    config = write_config(f'[archive]\npath = "{crawled_archive.path}"\n')
    refused = run_cli("--config", str(config), "serve", "--host", "0.0.0.0", "--port", "0")
    assert refused.returncode == 2
    assert "password_hash" in refused.stderr and "--public" in refused.stderr
    missing = write_config('[archive]\npath = "nowhere.db"\n', name="missing.toml")
    result = run_cli("--config", str(missing), "serve", "--port", "0")
    assert result.returncode == 2 and "archive.path" in result.stderr


def test_sees_what_a_writer_commits_meanwhile(
    crawled_archive: CrawledArchive, tmp_path: Path
) -> None:
    """Not opened immutable: the daemon's commits show up while serving (WAL)."""
    from storage import Archive

    path = crawled_archive.copy(tmp_path)
    ds = build_datasette(path)
    count = f"/{DATABASE}/articles.json?_shape=array&_size=100"
    search = f"/{DATABASE}/search.json?_shape=array&q=晶圆"

    async def read() -> tuple[int, int]:
        first = await ds.client.get(count)
        found = await ds.client.get(search)
        return len(first.json()), len(found.json())

    assert asyncio.run(read()) == (ARTICLE_COUNT, 0)
    writer = Archive.open(path)
    writer.add_article(
        {
            "url": "https://example.org/wafer.html",
            "canonical_url": "https://example.org/wafer.html",
            "source": "wire",
            "title": "晶圆厂扩产",
            "text": "一家晶圆厂宣布扩产计划。",
        }
    )
    try:
        assert asyncio.run(read()) == (ARTICLE_COUNT + 1, 1)
    finally:
        writer.close()


def test_empty_search_is_an_empty_result(crawled_archive: CrawledArchive) -> None:
    assert rows(crawled_archive.path, "search", q="") == []
    page = get(crawled_archive.path, f"/{DATABASE}/search")
    assert page.status_code == 200 and 'name="q"' in page.text
