"""End to end: `newswatch crawl` against the portal simulator on 127.0.0.1."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from pathlib import Path

import pytest

from crawler.demo.portal import PortalServer, Reply
from crawler.text.extract import normalize_date
from tests.conftest import loopback_name, portal_config, run_cli

pytestmark = pytest.mark.slow


def rows(db: Path, sql: str, *params: object) -> list[sqlite3.Row]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def crawl(config: Path, *extra: str) -> str:
    result = run_cli("--config", str(config), "crawl", *extra)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_two_passes_store_each_article_once(
    portal: PortalServer, tmp_path: Path, write_config
) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "archive.db"
    config = write_config(portal_config(portal.base, db))
    out = crawl(config)
    assert "portal-feeds" in out and "portal-sitemap" in out and "portal-listings" in out

    stored = {r["canonical_url"]: r for r in rows(db, "SELECT * FROM articles")}
    assert len(stored) == len(portal.site.articles)
    for article in portal.site.articles:
        row = stored[portal.url(article.path)]
        assert row["title"] == article.title
        assert all(p in row["text"] for p in article.paragraphs)
        assert row["lang"] == article.lang
        assert row["story_id"] == row["id"]
        assert row["published_at"] == normalize_date(article.date)
        assert "utm_" not in row["canonical_url"]
        assert json.loads(row["repairs"])["encoding"]["codec"] == row["encoding"]

    runs = rows(db, "SELECT * FROM crawl_runs")
    assert sum(r["new_articles"] for r in runs) == len(portal.site.articles)
    assert all(r["errors"] == 0 for r in runs)
    assert (db.parent / "archive.db-wal").exists() or rows(db, "PRAGMA journal_mode")[0][0] == "wal"

    portal.clear_log()
    crawl(config)
    second = portal.requested()
    article_paths = {a.path for a in portal.site.articles}
    assert not [r for r in second if r["path"].split("?")[0] in article_paths], (
        "second pass downloaded an article again"
    )
    assert len(rows(db, "SELECT id FROM articles")) == len(portal.site.articles)
    # Top-level entry points and the sitemaps of the index are asked again, answered 304;
    # an unchanged first listing page is not paged through again.
    entry_fetches = rows(
        db,
        "SELECT url, last_status FROM fetches WHERE kind != 'article' AND url NOT LIKE '%page=%'",
    )
    assert {r["url"] for r in entry_fetches} == {
        portal.url(p)
        for p in ("/feeds/zh.xml", "/feeds/en.atom", "/sitemap.xml", "/sitemaps/news.xml", "/list/")
    }
    assert all(r["last_status"] == 304 for r in entry_fetches)
    conditional = [r for r in second if r["path"] in ("/feeds/zh.xml", "/sitemap.xml")]
    assert conditional and all("If-None-Match" in r["headers"] for r in conditional)
    last_runs = rows(db, "SELECT * FROM crawl_runs ORDER BY id DESC LIMIT 3")
    assert sum(r["new_articles"] for r in last_runs) == 0
    assert sum(r["not_modified"] for r in last_runs) >= 3


def test_broken_entry_points_are_counted_and_the_rest_goes_on(
    portal: PortalServer,
    tmp_path: Path,
    write_config,  # type: ignore[no-untyped-def]
) -> None:
    db = tmp_path / "archive.db"
    broken = f"""
[[sources]]
name = "broken"
feeds = ["{portal.base}/broken/404", "{portal.base}/feeds/malformed.xml"]
sitemaps = ["{portal.base}/broken/500"]
listings = ["{portal.base}/slow/4"]
article_links = "/news/"
delay = 0
"""
    config = write_config(
        portal_config(portal.base, db, extra=broken).replace("timeout = 5", "timeout = 1")
    )
    started = time.monotonic()
    out = crawl(config)
    assert time.monotonic() - started < 60
    runs = {r["source"]: r for r in rows(db, "SELECT * FROM crawl_runs")}
    stats = json.loads(runs["broken"]["stats"])
    assert runs["broken"]["errors"] == 4, stats
    assert stats["newswatch/errors/http_404"] == 1
    assert stats["newswatch/errors/http_500"] == 1
    assert stats["newswatch/errors/malformed_feed"] == 1
    assert any("Timeout" in key for key in stats), stats
    assert "broken" in out
    assert len(rows(db, "SELECT id FROM articles")) == len(portal.site.articles)
    failed = rows(db, "SELECT url, last_status, last_error FROM fetches WHERE source='broken'")
    assert {r["last_status"] for r in failed} >= {404, 500}


def test_retry_after_is_honoured(portal: PortalServer, tmp_path: Path, write_config) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "archive.db"
    target = portal.site.articles[0]
    portal.script[target.path] = [
        Reply(429, b"slow down", {"Retry-After": "2", "Content-Type": "text/plain"}),
        Reply(503, b"busy", {"Content-Type": "text/plain"}),
    ]
    config = write_config(portal_config(portal.base, db))
    crawl(config, "--source", "portal-feeds")
    hits = [r["at"] for r in portal.requested(target.path)]
    assert len(hits) == 3
    assert hits[1] - hits[0] >= 1.9, "Retry-After: 2 was not honoured"
    assert (
        rows(db, "SELECT title FROM articles WHERE canonical_url = ?", portal.url(target.path))[0][
            "title"
        ]
        == target.title
    )


def test_robots_txt_is_obeyed(portal: PortalServer, tmp_path: Path, write_config) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "archive.db"
    portal.robots = "User-agent: *\nDisallow: /news/policy/\n"
    config = write_config(portal_config(portal.base, db))
    crawl(config, "--source", "portal-sitemap")
    assert not portal.requested("/news/policy/")
    stored = {r["url"] for r in rows(db, "SELECT url FROM articles")}
    expected = {portal.url(a.path) for a in portal.site.articles if a.section != "policy"}
    assert stored == expected
    agents = {r["headers"].get("User-Agent", "") for r in portal.requested("/news/")}
    assert agents and all(a.startswith("newswatch/") and "+http" in a for a in agents)


def test_redirected_article_is_stored_once_and_remembered(
    portal: PortalServer,
    tmp_path: Path,
    write_config,  # type: ignore[no-untyped-def]
) -> None:
    db = tmp_path / "archive.db"
    slugs = [a.slug for a in portal.site.articles[:2]]
    listing = "".join(f'<a href="/redirect/{s}">x</a>' for s in slugs).encode()
    listing += f'<a href="{portal.site.articles[0].path}?from=home">same</a>'.encode()
    portal.script["/list/"] = [Reply(200, listing, {"Content-Type": "text/html"})] * 2
    config = write_config(
        portal_config(portal.base, db).replace(
            "article_links = '/news/[a-z]+/\\d{4}/[a-z0-9-]+\\.html$'",
            "article_links = '/(redirect|news)/'",
        )
    )
    crawl(config, "--source", "portal-listings")
    assert len(rows(db, "SELECT id FROM articles")) == 2
    aliases = {r["url"] for r in rows(db, "SELECT url FROM article_aliases")}
    assert {portal.url(f"/redirect/{s}") for s in slugs} <= aliases
    portal.clear_log()
    crawl(config, "--source", "portal-listings")
    assert not portal.requested("/redirect/")
    assert not portal.requested("/news/")


def test_links_and_redirects_into_unnamed_private_addresses_are_refused(
    portal: PortalServer,
    tmp_path: Path,
    write_config,  # type: ignore[no-untyped-def]
) -> None:
    """A listing on the configured portal (127.0.0.1) links to a service on 127.0.0.2, to
    localhost, to cloud metadata and to a private range, directly and through a redirect:
    none of them is asked, each is counted; the portal's own article is archived."""
    db = tmp_path / "archive.db"
    with PortalServer(0, host="127.0.0.2") as inside:
        secret = inside.site.articles[0].path
        own = portal.site.articles[0]
        refused = [
            inside.url(secret),
            f"http://localhost:{inside.port}{secret}",
            f"http://[::1]:{inside.port}{secret}",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.1/news/a.html",
            "/out",
        ]
        name = loopback_name()  # a name that resolves inside: refused before connecting
        if name is not None:
            refused.append(f"http://{name}:{inside.port}/news/by-name.html")
        listing = "".join(f'<a href="{url}">x</a>' for url in [own.path, *refused]).encode()
        portal.script["/list/"] = [Reply(200, listing, {"Content-Type": "text/html"})] * 2
        # The redirect leads elsewhere than the direct link (a repeat would be filtered).
        hidden = inside.site.articles[1].path
        portal.script["/out"] = [Reply(302, b"", {"Location": inside.url(hidden)})] * 2
        text = portal_config(portal.base, db).replace(
            "article_links = '/news/[a-z]+/\\d{4}/[a-z0-9-]+\\.html$'",
            "article_links = '/(news|out|latest)'",
        )
        assert "'/(news|out|latest)'" in text
        started = time.monotonic()
        crawl(write_config(text), "--source", "portal-listings")
        assert time.monotonic() - started < 60
        assert inside.requested() == []
        assert [r["url"] for r in rows(db, "SELECT url FROM articles")] == [portal.url(own.path)]
        [run] = rows(db, "SELECT errors, stats FROM crawl_runs")
        stats = json.loads(run["stats"])
        assert stats["newswatch/errors/blocked_address"] == len(refused), json.dumps(stats)
        assert run["errors"] == len(refused)
        assert portal.requested("/out")

        # Allowed explicitly, the inside service is reached directly and by the redirect.
        allowed = text.replace("[crawl]\n", "[crawl]\nallow_private_addresses = true\n")
        assert allowed != text
        portal.script["/list/"] = [
            Reply(200, f'<a href="{inside.url(secret)}">x</a><a href="/out">y</a>'.encode())
        ]
        crawl(write_config(allowed), "--source", "portal-listings")
        assert inside.requested(secret) and inside.requested(hidden)
        assert portal.url(own.path) in {r["url"] for r in rows(db, "SELECT url FROM articles")}
        assert inside.url(secret) in {r["url"] for r in rows(db, "SELECT url FROM articles")}


def test_unknown_source_exits_2(portal: PortalServer, tmp_path: Path, write_config) -> None:  # type: ignore[no-untyped-def]
    config = write_config(portal_config(portal.base, tmp_path / "a.db"))
    result = run_cli("--config", str(config), "crawl", "--source", "nope")
    assert result.returncode == 2
    assert "nope" in result.stderr


def test_seeds_served_with_wrong_and_missing_declarations(tmp_path: Path, write_config) -> None:  # type: ignore[no-untyped-def]
    from crawler.demo.portal import DemoArticle
    from tests.conftest import read_seed

    served = [
        ("000", "gbk", "wrong-header", "zh-Hant"),
        ("001", "utf-8", "wrong-meta", "zh-Hans"),
        ("002", "big5", "none", "zh-Hant"),
        ("003", "gbk", "none", "zh-Hans"),
        ("004", "utf-8", "wrong-header", "zh-Hant"),
    ]
    articles = []
    for seed, charset, declare, lang in served:
        lines = read_seed(seed).splitlines()
        paragraphs = tuple(line for line in lines[1:] if line.strip())
        if charset == "big5":  # Big5 lacks a few characters; portals write them as entities
            paragraphs = tuple(p.encode("big5", "ignore").decode("big5") for p in paragraphs)
        articles.append(
            DemoArticle(
                slug=f"seed-{seed}",
                section="seeds",
                lang=lang,
                charset=charset,
                declare=declare,
                date="2025-05-20T08:00:00Z",
                title=lines[0][:60],
                paragraphs=paragraphs,
            )
        )
    db = tmp_path / "archive.db"
    with PortalServer(0, articles=articles) as seeds_portal:
        config = write_config(portal_config(seeds_portal.base, db))
        crawl(config, "--source", "portal-sitemap")
    stored = {r["url"].rsplit("/", 1)[-1]: r for r in rows(db, "SELECT * FROM articles")}
    assert len(stored) == len(served)
    for seed, _, _, lang in served:
        row = stored[f"seed-{seed}.html"]
        assert row["lang"] == lang, seed
        text = row["text"]
        assert not re.search(r"[?(][a-zāáǎàēéěèīíǐìōóǒòūúǔù]{1,6}\)", text), seed
        assert "發表評論於" not in text and "網易號" not in text and "微信扫一扫" not in text
    assert "當地市場" in stored["seed-000.html"]["text"]
    assert "因為馬來" in stored["seed-004.html"]["text"]
    assert "昇騰" in stored["seed-004.html"]["text"]


def test_revisit_window_turns_an_edit_into_a_revision(
    portal: PortalServer, tmp_path: Path, write_config
) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    db = tmp_path / "archive.db"
    config = write_config(
        portal_config(portal.base, db).replace(
            'name = "portal-sitemap"', 'name = "portal-sitemap"\nrevisit = "1h"'
        )
    )
    crawl(config, "--source", "portal-sitemap")
    target = portal.site.articles[2]
    # An edit changes the page and the time the news sitemap lists, so the sitemap is
    # answered 200 again and lists the article.
    edited = replace(
        target,
        date=target.date.replace(":00+", ":30+"),
        paragraphs=(*target.paragraphs, "更正：本文第二段的企业数量有误，现已更正。"),
    )
    portal.site.articles[2] = edited
    portal.site.by_path[edited.path] = edited
    portal.clear_log()
    crawl(config, "--source", "portal-sitemap")
    assert len(portal.requested("/news/")) == len(portal.site.articles)  # asked again
    [row] = rows(
        db,
        "SELECT id, revision, text, story_id FROM articles WHERE canonical_url = ?",
        portal.url(target.path),
    )
    assert row["revision"] == 2 and "更正" in row["text"] and row["story_id"] == row["id"]
    assert len(rows(db, "SELECT * FROM article_revisions")) == 1
    assert len(rows(db, "SELECT id FROM articles")) == len(portal.site.articles)
    # A source without a revisit window never asks for an archived article again.
    portal.clear_log()
    crawl(config, "--source", "portal-listings")
    assert not portal.requested("/news/")
