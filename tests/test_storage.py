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


def test_what_comes_after_a_recorded_check_is_added_to_its_row(archive: Archive) -> None:
    from crawler.extensions import summarize_stats
    from storage.db import CHECK_COUNTS

    assert set(summarize_stats({})) == set(CHECK_COUNTS)  # every count of a row, no other
    for run_id, source in [("r1", "s"), ("r1", "t"), ("r2", "s")]:
        archive.record_crawl_run(
            {"run_id": run_id, "source": source, "new_articles": 3, "pages": 4, "errors": None}
        )
    late = {
        ("r1", "s"): {"pages": 2, "new_articles": 1, "unchanged": 1, "errors": 1, "requests": 3},
        ("gone", "s"): {"pages": 5},  # a check never recorded: no row to add to
    }
    assert archive.add_late_counts(late) == 1
    rows = {(r["run_id"], r["source"]): r for r in archive.db.table("crawl_runs").rows}
    picked = ("pages", "new_articles", "unchanged", "errors", "requests")
    assert [rows["r1", "s"][c] for c in picked] == [6, 4, 1, 1, 3]
    assert [rows["r1", "t"][c] for c in picked] == [4, 3, None, None, None]
    assert [rows["r2", "s"][c] for c in picked] == [4, 3, None, None, None]
    plan = archive.db.execute(
        "EXPLAIN QUERY PLAN UPDATE crawl_runs SET pages = 1 WHERE run_id = ? AND source = ?",
        ["r1", "s"],
    ).fetchall()
    assert "USING INDEX" in " ".join(str(step) for step in plan), plan


def test_a_check_cut_short_by_a_stop_is_neither_a_failure_nor_a_success(
    archive: Archive,
) -> None:
    from storage.health import AlarmPolicy

    policy = AlarmPolicy(failures=3)

    def check(reason: str, *, failed: bool, at: str) -> object:
        row = {"run_id": at, "source": "s", "finished_at": at, "finish_reason": reason}
        cut_short = reason == "shutdown"
        return archive.record_check(row, policy=policy, failed=failed, cut_short=cut_short)

    check("finished", failed=False, at="2026-12-01T00:00:00Z")
    check("check_timeout", failed=True, at="2026-12-01T01:00:00Z")
    check("check_timeout", failed=True, at="2026-12-01T02:00:00Z")
    report = check("shutdown", failed=False, at="2026-12-01T03:00:00Z")
    health = archive.db.execute(
        "SELECT consecutive_failures, last_success_at, last_failure_at FROM source_health"
    ).fetchone()
    assert report.consecutive_failures == 2  # type: ignore[attr-defined]
    assert health == (2, "2026-12-01T00:00:00Z", "2026-12-01T02:00:00Z")
    check("check_timeout", failed=True, at="2026-12-01T04:00:00Z")  # the third in a row
    assert archive.db.execute("SELECT state FROM source_health").fetchone() == ("failing",)


def test_a_source_taken_out_of_the_config_stays_removed_until_it_is_back(
    archive: Archive,
) -> None:
    """Retired, a failing source is ``removed`` (its history kept, its alarm ended); the
    last check that ends after that raises nothing; configured again, it is ``unknown``
    until its next check."""
    from storage.health import AlarmPolicy, retire_sources, set_next_check

    policy = AlarmPolicy(failures=1)

    def check(source: str, at: str) -> object:
        row = {"run_id": at, "source": source, "finished_at": at, "finish_reason": "error"}
        return archive.record_check(row, policy=policy, failed=True)

    check("gone", "2026-12-01T00:00:00Z")
    check("kept", "2026-12-01T00:00:00Z")
    assert retire_sources(archive.db, ["kept"]) == ["gone"]
    assert retire_sources(archive.db, ["kept"]) == []  # once
    late = check("gone", "2026-12-01T01:00:00Z")
    assert late.state == "removed" and late.alarms == []  # type: ignore[attr-defined]
    states = dict(archive.db.execute("SELECT source, state FROM source_health").fetchall())
    assert states == {"gone": "removed", "kept": "failing"}
    assert retire_sources(archive.db, []) == ["kept"]  # every source disabled
    set_next_check(archive.db, "gone", "2026-12-02T00:00:00Z")
    assert archive.db.execute(
        "SELECT state, alarm FROM source_health WHERE source = 'gone'"
    ).fetchone() == ("unknown", None)


def test_a_check_result_cut_short_by_the_stop_has_not_failed() -> None:
    from crawler.extensions import CheckResult

    result = CheckResult(source="s", run_id="r", trigger="daemon", started_at="a")
    for reason, failed, cut_short in [
        ("finished", False, False),
        ("shutdown", False, True),
        ("retired", False, True),
        ("worker_lost", False, True),
        ("check_timeout", True, False),
        ("error: boom", True, False),
    ]:
        result.finish_reason = reason
        assert (result.failed, result.cut_short) == (failed, cut_short), reason
