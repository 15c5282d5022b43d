"""The archive: migrations recorded, one row per canonical URL, aliases, fetch state."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from storage import MIGRATIONS, Archive, compress_html, decompress_html
from storage.db import Fetch


def article(n: int, **extra: object) -> dict[str, object]:
    return {
        "url": f"http://x.test/{n}",
        "canonical_url": f"http://x.test/{n}",
        "source": "s",
        "title": f"title {n}",
        "text": f"text {n}",
        "html": b"<p>raw</p>",
        **extra,
    }


def test_migrations_recorded_once(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    Archive.open(path).close()
    Archive.open(path).close()
    conn = sqlite3.connect(path)
    names = [row[0] for row in conn.execute("SELECT name FROM _migrations ORDER BY name")]
    assert names == sorted(m.__name__ for m in MIGRATIONS)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    columns = {row[1] for row in conn.execute("PRAGMA table_info(articles)")}
    assert {
        "id",
        "url",
        "canonical_url",
        "source",
        "title",
        "text",
        "html",
        "lang",
        "published_at",
        "fetched_at",
        "story_id",
    } <= columns


def test_article_stored_once_with_story_id(archive: Archive) -> None:
    stored = archive.add_article(article(1))
    again = archive.add_article(article(1, url="http://x.test/1?utm_source=a"))
    assert stored.created and not again.created and stored.id == again.id
    first = stored.id
    assert archive.count_articles() == 1
    row = archive.db["articles"].get(first)
    assert row["story_id"] == first
    assert decompress_html(row["html"]) == b"<p>raw</p>"


def test_a_page_compressed_already_is_stored_as_it_came(archive: Archive) -> None:
    """The page stage sends the page compressed (``html_zlib``): stored as it is, not
    compressed again; a revision's page likewise. Raw ``html`` (an older worker's
    record) is compressed here; a ``html_zlib`` that is not bytes is refused."""
    page, revised = b"<p>first</p>" * 40, b"<p>second</p>" * 40
    first = archive.add_article({**article(7, html=None), "html_zlib": compress_html(page)})
    assert decompress_html(archive.db["articles"].get(first.id)["html"]) == page
    again = archive.add_article(
        {**article(7, html=None, text="text 7, revised"), "html_zlib": compress_html(revised)}
    )
    assert again.revised
    assert decompress_html(archive.db["articles"].get(first.id)["html"]) == revised
    with pytest.raises(TypeError, match="html_zlib holds int"):
        archive.add_article({**article(8), "html_zlib": 12345})
    assert archive.count_articles() == 1


def test_canonical_url_is_unique_in_sql(archive: Archive) -> None:
    archive.add_article(article(1))
    try:
        archive.db["articles"].insert(
            {"url": "u", "canonical_url": "http://x.test/1", "source": "s", "fetched_at": "t"}
        )
    except sqlite3.IntegrityError:
        pass
    else:
        raise AssertionError("a second row with the same canonical_url was accepted")


def test_aliases_make_urls_known(archive: Archive) -> None:
    archive.add_article(article(2, aliases=["http://x.test/old-2"]))
    assert archive.is_known_url("http://x.test/2")
    assert archive.is_known_url("http://x.test/old-2")
    assert not archive.is_known_url("http://x.test/3")
    archive.add_article(article(2, aliases=["http://m.x.test/2"]))
    assert archive.is_known_url("http://m.x.test/2")


def test_fetch_state_keeps_validators_across_304_and_errors(archive: Archive) -> None:
    archive.record_fetch(
        Fetch(
            "http://x.test/feed",
            source="s",
            kind="feed",
            status=200,
            etag='"v1"',
            last_modified="Fri, 20 Mar 2026 00:00:00 GMT",
        )
    )
    archive.record_fetch(Fetch("http://x.test/feed", source="s", kind="feed", status=304))
    state = archive.fetch_state("http://x.test/feed")
    assert state is not None and state.etag == '"v1"' and state.last_status == 304
    archive.record_fetch(
        Fetch("http://x.test/feed", source="s", kind="feed", status=None, error="TimeoutError")
    )
    state = archive.fetch_state("http://x.test/feed")
    assert state is not None and state.etag == '"v1"' and state.last_status is None


def test_crawl_runs_and_source_states(archive: Archive) -> None:
    archive.add_article(article(1))
    archive.record_crawl_run(
        {
            "run_id": "r1",
            "source": "s",
            "started_at": "a",
            "finished_at": "b",
            "new_articles": 1,
            "unchanged": 0,
            "errors": 2,
            "stats": {"x": 1},
        }
    )
    assert archive.crawl_runs("r1")[0]["errors"] == 2
    states = archive.source_states()
    assert states["s"]["articles"] == 1 and states["s"]["errors"] == 2
