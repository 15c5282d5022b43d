"""The archive thread's group commit (storage.connection_thread): calls that wait together
share one transaction, each in its own savepoint, and each caller hears only after the
commit."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from storage import Archive
from storage.connection_thread import ArchiveThread, GroupRolledBack
from storage.transactions import write_transaction


@pytest.fixture
def path(tmp_path: Path) -> Path:
    path = tmp_path / "archive.db"
    archive = Archive.open(path)
    archive.db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT UNIQUE)")
    archive.close()
    return path


def rows(path: Path) -> list[str]:
    """What another connection sees: only what was committed."""
    conn = sqlite3.connect(path)
    try:
        return [r[0] for r in conn.execute("SELECT body FROM notes ORDER BY id")]
    finally:
        conn.close()


def note(body: str, seen: dict[str, bool] | None = None):  # type: ignore[no-untyped-def]
    """A grouped-call body: writes one row; records whether it ran inside a transaction it
    did not start (a group's)."""

    def write(archive: Archive) -> str:
        if seen is not None:
            seen[body] = archive.db.conn.in_transaction
        with write_transaction(archive.db):
            archive.db.execute("INSERT INTO notes (body) VALUES (?)", [body])
        return body

    return write


def add_boom_trigger(path: Path) -> None:
    """Inserting the note 'boom' rolls the whole transaction back (and fails)."""
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TRIGGER boom BEFORE INSERT ON notes WHEN NEW.body = 'boom' "
        "BEGIN SELECT RAISE(ROLLBACK, 'boom'); END"
    )
    conn.commit()
    conn.close()


def held(thread: ArchiveThread) -> tuple[threading.Event, Future[None]]:
    """Keep the thread busy until the returned event is set, so calls queue up behind."""
    release, started = threading.Event(), threading.Event()

    def wait(_: Archive) -> None:
        started.set()
        release.wait(10)

    future = thread.submit(wait)
    assert started.wait(10)
    return release, future


def grouped(thread: ArchiveThread, *functions: Callable[[Archive], Any]) -> list[Future[Any]]:
    """Submit ``functions`` as grouped calls that wait together (one group)."""
    release, _ = held(thread)
    futures = [thread.submit(function, grouped=True) for function in functions]
    release.set()
    return futures


def test_calls_waiting_together_share_one_transaction_and_hear_after_its_commit(
    path: Path,
) -> None:
    thread = ArchiveThread(path, name="test-writer")
    try:
        release, blocker = held(thread)
        seen: dict[str, bool] = {}
        futures = [thread.submit(note(f"n{i}", seen), grouped=True) for i in range(5)]
        committed_when_first_heard: list[list[str]] = []
        futures[0].add_done_callback(lambda _: committed_when_first_heard.append(rows(path)))
        release.set()
        assert [f.result(10) for f in futures] == [f"n{i}" for i in range(5)]
        blocker.result(10)
        # Every call ran inside the group's transaction...
        assert seen == {f"n{i}": True for i in range(5)}
        # ...and the first caller heard only when all five were committed.
        assert committed_when_first_heard == [[f"n{i}" for i in range(5)]]
    finally:
        thread.close()


def test_a_lone_grouped_call_runs_in_its_own_transaction(path: Path) -> None:
    thread = ArchiveThread(path, name="test-writer")
    try:
        seen: dict[str, bool] = {}
        assert thread.call(note("alone", seen)) == "alone"
        assert thread.submit(note("grouped", seen), grouped=True).result(10) == "grouped"
        assert seen == {"alone": False, "grouped": False}
        assert rows(path) == ["alone", "grouped"]
    finally:
        thread.close()


def test_a_failing_call_undoes_only_its_own_writes(path: Path) -> None:
    def half_then_fail(archive: Archive) -> None:
        with write_transaction(archive.db):
            archive.db.execute("INSERT INTO notes (body) VALUES ('half')")
            archive.db.execute("INSERT INTO notes (body) VALUES ('a')")  # UNIQUE: fails

    thread = ArchiveThread(path, name="test-writer")
    try:
        first, failing, last = grouped(thread, note("a"), half_then_fail, note("b"))
        assert first.result(10) == "a" and last.result(10) == "b"
        with pytest.raises(sqlite3.IntegrityError):
            failing.result(10)
        assert rows(path) == ["a", "b"]
    finally:
        thread.close()


def test_a_call_that_is_not_grouped_runs_after_the_group_and_outside_it(path: Path) -> None:
    thread = ArchiveThread(path, name="test-writer")
    try:
        release, _ = held(thread)
        seen: dict[str, bool] = {}
        grouped = [thread.submit(note(f"g{i}", seen), grouped=True) for i in range(2)]
        plain = thread.submit(note("plain", seen))
        after = thread.submit(note("g2", seen), grouped=True)
        release.set()
        for future in [*grouped, plain, after]:
            future.result(10)
        assert seen == {"g0": True, "g1": True, "plain": False, "g2": False}
        assert rows(path) == ["g0", "g1", "plain", "g2"]
    finally:
        thread.close()


def test_closing_finishes_a_queued_group(path: Path) -> None:
    thread = ArchiveThread(path, name="test-writer")
    release, _ = held(thread)
    futures = [thread.submit(note(f"n{i}"), grouped=True) for i in range(3)]
    closer = threading.Thread(target=thread.close)
    closer.start()
    release.set()
    closer.join(10)
    assert [f.result(0) for f in futures] == ["n0", "n1", "n2"]
    assert rows(path) == ["n0", "n1", "n2"]


def test_a_call_that_destroys_the_transaction_fails_those_before_it_not_after(
    path: Path,
) -> None:
    add_boom_trigger(path)
    thread = ArchiveThread(path, name="test-writer")
    try:
        before, boom, after = grouped(thread, note("a"), note("boom"), note("b"))
        with pytest.raises(GroupRolledBack):
            before.result(10)
        with pytest.raises(sqlite3.IntegrityError, match="boom"):
            boom.result(10)
        assert after.result(10) == "b"
        # What "a" wrote went with the transaction; "b" ran and committed on its own.
        assert rows(path) == ["b"]
    finally:
        thread.close()


# -- the full-text index's writes in a group -------------------------------------------------


def index_segments(path: Path) -> int:
    """How many segments ``articles_fts`` holds: the second varint of FTS5's structure
    record (after a 4-byte cookie and an optional version marker: levels, segments, leaves
    written). With automerge off (:func:`no_merging`) none are merged away, so each write-out
    of FTS5's pending terms adds one."""
    conn = sqlite3.connect(path)
    try:
        row = conn.execute("SELECT block FROM articles_fts_data WHERE id = 10").fetchone()
    finally:
        conn.close()
    block, at = row[0], 4
    if block[at : at + 4] == b"\xff\x00\x00\x01":
        at += 4

    def varint() -> int:
        nonlocal at
        value = 0
        while True:
            byte = block[at]
            at += 1
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                return value

    varint()  # levels
    return varint()


def no_merging(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO articles_fts (articles_fts, rank) VALUES ('automerge', 0)")
    conn.commit()
    conn.close()


def found(path: Path, word: str) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [
            r[0]
            for r in conn.execute(
                "SELECT a.canonical_url FROM articles_fts JOIN articles a "
                "ON a.id = articles_fts.rowid WHERE articles_fts MATCH ? ORDER BY a.id",
                [word],
            )
        ]
    finally:
        conn.close()


def index_is_whole(path: Path) -> None:
    """FTS5's own check that the index holds exactly what the table holds (raises if not)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("INSERT INTO articles_fts (articles_fts) VALUES ('integrity-check')")
    finally:
        conn.close()


def story(n: int, words: str) -> dict[str, object]:
    return {
        "url": f"http://x.test/{n}",
        "canonical_url": f"http://x.test/{n}",
        "source": "s",
        "title": f"headline {n}",
        "text": f"{words} paragraph {n} of a report long enough to be indexed.",
    }


def store(article: dict[str, object]):  # type: ignore[no-untyped-def]
    return lambda archive: archive.add_article(article)


def test_a_groups_index_writes_make_one_segment_of_the_index(path: Path) -> None:
    no_merging(path)
    thread = ArchiveThread(path, name="test-writer")
    try:
        thread.submit(store(story(0, "alpha")), grouped=True).result(10)
        before = index_segments(path)
        futures = grouped(thread, *(store(story(n, "alpha")) for n in range(1, 9)))
        assert all(f.result(10).created for f in futures)
    finally:
        thread.close()
    # Each call runs in a savepoint, where FTS5 would write a segment of its own: eight
    # articles, one segment.
    assert index_segments(path) - before == 1
    assert found(path, "alpha") == [f"http://x.test/{n}" for n in range(9)]
    index_is_whole(path)


def test_a_failing_calls_index_writes_go_with_its_savepoint(path: Path) -> None:
    def store_then_fail(archive: Archive) -> None:
        archive.add_article(story(2, "beta"))
        raise RuntimeError("after the article was stored")

    thread = ArchiveThread(path, name="test-writer")
    try:
        first, failing, last = grouped(
            thread, store(story(1, "beta")), store_then_fail, store(story(3, "beta"))
        )
        first.result(10), last.result(10)
        with pytest.raises(RuntimeError):
            failing.result(10)
    finally:
        thread.close()
    assert found(path, "beta") == ["http://x.test/1", "http://x.test/3"]
    index_is_whole(path)


def test_a_revision_in_the_same_group_leaves_the_index_on_its_text(path: Path) -> None:
    thread = ArchiveThread(path, name="test-writer")
    try:
        first, revised = grouped(thread, store(story(1, "gamma")), store(story(1, "delta")))
        assert first.result(10).created and revised.result(10).revised
    finally:
        thread.close()
    assert found(path, "gamma") == [] and found(path, "delta") == ["http://x.test/1"]
    index_is_whole(path)


def test_index_writes_held_for_a_destroyed_transaction_are_dropped(path: Path) -> None:
    add_boom_trigger(path)
    thread = ArchiveThread(path, name="test-writer")
    try:
        before, boom, after = grouped(
            thread, store(story(1, "epsilon")), note("boom"), store(story(2, "epsilon"))
        )
        with pytest.raises(GroupRolledBack):
            before.result(10)
        with pytest.raises(sqlite3.IntegrityError, match="boom"):
            boom.result(10)
        assert after.result(10).created
    finally:
        thread.close()
    # The first article went with the transaction, its index entry with it; the last ran
    # on its own and was indexed at once.
    assert found(path, "epsilon") == ["http://x.test/2"]
    index_is_whole(path)


def test_a_nested_write_that_fails_undoes_its_own_writes_only(path: Path) -> None:
    """Every savepoint has one name: a failure rolls back to the innermost, and the writes
    of the savepoints around it stay."""
    archive = Archive.open(path, migrate=False)
    try:
        with write_transaction(archive.db):
            archive.db.execute("INSERT INTO notes (body) VALUES ('outer')")
            with write_transaction(archive.db):  # a savepoint
                archive.db.execute("INSERT INTO notes (body) VALUES ('middle')")
                with pytest.raises(sqlite3.IntegrityError), write_transaction(archive.db):
                    archive.db.execute("INSERT INTO notes (body) VALUES ('inner')")
                    archive.db.execute("INSERT INTO notes (body) VALUES ('outer')")  # UNIQUE
                archive.db.execute("INSERT INTO notes (body) VALUES ('after inner')")
            with pytest.raises(sqlite3.IntegrityError), write_transaction(archive.db):
                archive.db.execute("INSERT INTO notes (body) VALUES ('second')")
                with write_transaction(archive.db):
                    archive.db.execute("INSERT INTO notes (body) VALUES ('second inner')")
                archive.db.execute("INSERT INTO notes (body) VALUES ('middle')")  # UNIQUE
            archive.db.execute("INSERT INTO notes (body) VALUES ('last')")
    finally:
        archive.close()
    assert rows(path) == ["outer", "middle", "after inner", "last"]


def test_an_article_write_whose_failure_its_caller_catches_leaves_no_index_entry(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def store_catching(archive: Archive) -> str:
        try:  # the alert has no rule: the article's transaction fails after its indexing
            archive.add_article(story(2, "zeta"), alerts=[{"channels": ["ops"]}])
        except KeyError:
            return "caught"
        return "stored"

    thread = ArchiveThread(path, name="test-writer")
    try:
        first, catching, last = grouped(
            thread, store(story(1, "zeta")), store_catching, store(story(3, "zeta"))
        )
        assert first.result(10).created and last.result(10).created
        assert catching.result(10) == "caught"
    finally:
        thread.close()
    # The group committed as one: the caught failure's index entry went with its savepoint.
    assert "failed at its commit" not in caplog.text
    assert found(path, "zeta") == ["http://x.test/1", "http://x.test/3"]
    index_is_whole(path)


def test_a_group_whose_commit_fails_runs_its_calls_again_one_by_one(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def bad_index_write(archive: Archive) -> None:
        archive._index_write("INSERT INTO no_such_table VALUES (?)", [99])

    thread = ArchiveThread(path, name="test-writer")
    try:
        first, bad, last = grouped(thread, store(story(1, "eta")), bad_index_write, note("n"))
        assert first.result(10).created and last.result(10) == "n"
        with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
            bad.result(10)
    finally:
        thread.close()
    assert "a group of 3 archive writes failed at its commit" in caplog.text
    assert found(path, "eta") == ["http://x.test/1"] and rows(path) == ["n"]
    index_is_whole(path)
