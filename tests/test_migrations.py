"""Issue 11's migrations carry an archive made before them over: foreign keys by a rebuild
that keeps every column and index (also ones added by later migrations elsewhere), and a
search index that ``sqlite-utils rebuild-fts`` cannot empty."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlite_utils

import storage.migrations
from storage import MIGRATIONS, Archive, index_text, migrate
from storage.search import readable_snippet

BEFORE = [m for m in MIGRATIONS if m.__name__ < "m008"]

ARTICLES = [
    (1, "wire", "华为发布昇腾芯片新品", "美国商务部对英伟达H20芯片实施出口管制。\n第二段。"),
    (2, "outlet", "馬來西亞採用昇騰AI晶片", "據報道，該計畫已暫停。"),
    (3, "wire", "Nvidia H200 shipments resume", "The Entity List grows again."),
]


def old_archive(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An archive as the code before issue 11 wrote it, plus a column another branch added."""
    db = sqlite_utils.Database(path)
    with monkeypatch.context() as patch:
        patch.setattr(storage.migrations, "MIGRATIONS", BEFORE)
        migrate(db)
    for article_id, source, title, text in ARTICLES:
        url = f"https://{source}.example/{article_id}.html"
        db.execute(
            "INSERT INTO articles (id, url, canonical_url, source, title, text, fetched_at, "
            "published_at, story_id, repairs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '{}')",
            [
                article_id,
                url + "?utm_source=rss",
                url,
                source,
                title,
                text,
                "2026-03-20T01:00:00Z",
                f"2026-03-1{article_id}T00:00:00Z",
                article_id,
            ],
        )
        db.execute(
            "INSERT INTO stories (id, first_seen, first_source, first_url, title, "
            "article_count, sources) VALUES (?, ?, ?, ?, ?, 1, ?)",
            [
                article_id,
                "2026-03-20T01:00:00Z",
                source,
                url + "?utm_source=rss",
                title,
                json.dumps([source]),
            ],
        )
        # The old index: external content over articles, holding the bigram form.
        db.execute(
            "INSERT INTO articles_fts (rowid, title, text) VALUES (?, ?, ?)",
            [article_id, index_text(title), index_text(text)],
        )
    db.execute(
        "INSERT INTO alerts (rule, story_id, channel, article_id, status, created_at) "
        "VALUES ('ascend', 1, 'desk', 1, 'sent', '2026-03-20T01:00:00Z')"
    )
    db.execute(
        "INSERT INTO article_revisions (article_id, revision, title, text, fetched_at) "
        "VALUES (1, 1, 'old', 'old text', '2026-03-19T00:00:00Z')"
    )
    db.table("articles").add_column("added_elsewhere", str)
    db.execute("UPDATE articles SET added_elsewhere = 'feed'")
    db.conn.commit()
    db.close()


def test_old_archive_gains_foreign_keys_and_keeps_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.db"
    old_archive(path, monkeypatch)
    before = sqlite_utils.Database(path)
    indexes = {i.name for i in before.table("articles").indexes}
    alert_indexes = {i.name for i in before.table("alerts").indexes}
    before.close()

    archive = Archive.open(path)
    db = archive.db
    applied = {row[0] for row in db.execute("SELECT name FROM _migrations")}
    assert {m.__name__ for m in MIGRATIONS} == applied
    keys = {
        (table, fk.column, fk.other_table)
        for table in ("articles", "alerts", "article_revisions")
        for fk in db.table(table).foreign_keys
    }
    assert keys >= {
        ("articles", "story_id", "stories"),
        ("alerts", "article_id", "articles"),
        ("alerts", "story_id", "stories"),
        ("article_revisions", "article_id", "articles"),
    }
    assert [r[0] for r in db.execute("SELECT added_elsewhere FROM articles ORDER BY id")] == [
        "feed"
    ] * 3
    assert indexes <= {i.name for i in db.table("articles").indexes}
    assert "idx_articles_published_at" in {i.name for i in db.table("articles").indexes}
    assert alert_indexes <= {i.name for i in db.table("alerts").indexes}
    assert db.execute("SELECT count(*) FROM alerts").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM article_revisions").fetchone()[0] == 1
    assert [r[0] for r in db.execute("SELECT first_url FROM stories ORDER BY id")] == [
        "https://wire.example/1.html",
        "https://outlet.example/2.html",
        "https://wire.example/3.html",
    ]
    assert {r["id"] for r in archive.search("昇腾")} == {1, 2}
    snippet = db.execute(
        "SELECT snippet(articles_fts, 1, char(2), char(3), '…', 20) FROM articles_fts "
        "WHERE articles_fts MATCH '\"出口 口管 管制\"'"
    ).fetchone()[0]
    assert "<mark>出口管制</mark>" in readable_snippet(snippet)
    archive.close()


def sqlite_utils_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sqlite_utils", *args], capture_output=True, text=True, check=False
    )


def test_rebuild_fts_keeps_chinese_search(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 11: `sqlite-utils rebuild-fts` used to replace the bigrams with raw text."""
    path = tmp_path / "old.db"
    old_archive(path, monkeypatch)
    Archive.open(path).close()
    rebuilt = sqlite_utils_cli("rebuild-fts", str(path))
    assert rebuilt.returncode == 0, rebuilt.stderr
    rebuilt = sqlite_utils_cli("rebuild-fts", str(path), "articles_fts")
    assert rebuilt.returncode == 0, rebuilt.stderr
    # Asking for the articles table's index fails loudly instead of emptying it.
    misuse = sqlite_utils_cli("rebuild-fts", str(path), "articles")
    assert misuse.returncode != 0
    enable = sqlite_utils_cli("enable-fts", str(path), "articles", "title", "text")
    assert enable.returncode != 0
    archive = Archive.open(path)
    assert {r["id"] for r in archive.search("昇腾")} == {1, 2}
    assert {r["id"] for r in archive.search("芯片")} == {1}
    assert {r["id"] for r in archive.search("entity")} == {3}
    archive.close()


def test_revision_replaces_the_indexed_text(archive: Archive) -> None:
    base = {"url": "http://x/1", "canonical_url": "http://x/1", "source": "s", "title": "t"}
    archive.add_article({**base, "text": "华为发布昇腾芯片"})
    assert archive.add_article({**base, "text": "光伏组件出口增长"}).revised
    assert archive.search("昇腾") == [] and len(archive.search("光伏")) == 1
    rows = archive.db.execute("SELECT count(*) FROM articles_fts").fetchone()[0]
    assert rows == 1
