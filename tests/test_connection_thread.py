"""The archive thread's group commit (storage.connection_thread): calls that wait together
share one transaction, each in its own savepoint, and each caller hears only after the
commit."""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import Future
from pathlib import Path

import pytest

from storage import Archive
from storage.connection_thread import ArchiveThread
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


def held(thread: ArchiveThread) -> tuple[threading.Event, Future[None]]:
    """Keep the thread busy until the returned event is set, so calls queue up behind."""
    release, started = threading.Event(), threading.Event()

    def wait(_: Archive) -> None:
        started.set()
        release.wait(10)

    future = thread.submit(wait)
    assert started.wait(10)
    return release, future


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
        release, _ = held(thread)
        first = thread.submit(note("a"), grouped=True)
        failing = thread.submit(half_then_fail, grouped=True)
        last = thread.submit(note("b"), grouped=True)
        release.set()
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
    from storage.connection_thread import GroupRolledBack

    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TRIGGER boom BEFORE INSERT ON notes WHEN NEW.body = 'boom' "
        "BEGIN SELECT RAISE(ROLLBACK, 'boom'); END"
    )
    conn.commit()
    conn.close()
    thread = ArchiveThread(path, name="test-writer")
    try:
        release, _ = held(thread)
        before = thread.submit(note("a"), grouped=True)
        boom = thread.submit(note("boom"), grouped=True)
        after = thread.submit(note("b"), grouped=True)
        release.set()
        with pytest.raises(GroupRolledBack):
            before.result(10)
        with pytest.raises(sqlite3.IntegrityError, match="boom"):
            boom.result(10)
        assert after.result(10) == "b"
        # What "a" wrote went with the transaction; "b" ran and committed on its own.
        assert rows(path) == ["b"]
    finally:
        thread.close()
