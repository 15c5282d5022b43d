"""One thread owning one connection to the archive, fed through a bounded queue.

SQLite work never runs on the reactor thread: components submit a function of the open
:class:`~storage.db.Archive` and await its result (:meth:`ArchiveThread.run`, an asyncio
awaitable) or get a :class:`concurrent.futures.Future` (:meth:`ArchiveThread.submit`).
The archive writer is one such thread, so writes are serialised in one place and in the
order they were submitted; readers can have their own thread and connection (WAL lets them
read while the writer writes).

Group commit: calls submitted with ``grouped=True`` (storing an article) that are
waiting together run in one transaction, each in a savepoint of its own, up to
:data:`GROUP_MAX`; each caller's result arrives once the whole group is committed. A
call that fails rolls back its own savepoint only; should the commit itself fail, the
calls that had succeeded run again, each in a transaction of its own. Nothing waits for
a group to fill: a lone call is committed at once, so grouping only happens when calls
arrive faster than they commit, and then saves the commit of all but one of them. The
full-text index's writes of the group are held back and made together before the commit
(:meth:`storage.db.Archive.hold_index`): FTS5 would write a segment of its index at
every savepoint.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from storage.db import Archive
from storage.transactions import savepoint

__all__ = ["ArchiveThread"]

LOGGER = logging.getLogger(__name__)

T = TypeVar("T")

_STOP = object()

GROUP_MAX = 32


class GroupRolledBack(RuntimeError):
    """The transaction of a group of calls was rolled back after this call had run: what
    it wrote is not in the archive."""


class _Task:
    __slots__ = ("future", "function", "grouped")

    def __init__(self, future: Future[Any], function: Callable[[Archive], Any], grouped: bool):
        self.future = future
        self.function = function
        self.grouped = grouped


class ArchiveThread:
    """A thread with its own :class:`Archive` connection running submitted calls in order.

    ``queue_size`` bounds the backlog: a producer that outruns the database waits for room
    (back-pressure) rather than growing memory without limit.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        name: str = "archive",
        queue_size: int = 10_000,
        busy_timeout: float = 60.0,
    ) -> None:
        self.path = Path(path)
        self.name = name
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._ready: Future[None] = Future()
        self._closed = False
        self._thread = threading.Thread(
            target=self._serve, args=(busy_timeout,), name=f"newswatch-{name}", daemon=True
        )
        self._thread.start()
        self._ready.result()  # raises what opening the archive raised

    def _serve(self, busy_timeout: float) -> None:
        try:
            archive = Archive.open(self.path, busy_timeout=busy_timeout, migrate=False)
        except BaseException as exc:  # reported to the constructor
            self._ready.set_exception(exc)
            return
        self._ready.set_result(None)
        try:
            task = None
            while True:
                if task is None:
                    task = self._queue.get()
                if task is _STOP:
                    break
                if task.grouped:
                    group, task = self._gather(task)
                    self._run_group(archive, group)
                    continue
                self._run_one(archive, task)
                task = None
        finally:
            archive.close()

    def _gather(self, first: _Task) -> tuple[list[_Task], Any]:
        """``first`` and the grouped calls queued right behind it; the next call that is
        not one of them (or ``None``) comes back to run after the group."""
        group = [first]
        while len(group) < GROUP_MAX:
            try:
                task = self._queue.get_nowait()
            except queue.Empty:
                return group, None
            if task is _STOP or not task.grouped:
                return group, task
            group.append(task)
        return group, None

    @classmethod
    def _run_one(cls, archive: Archive, task: _Task) -> None:
        if task.future.set_running_or_notify_cancel():
            cls._call(archive, task)

    @staticmethod
    def _call(archive: Archive, task: _Task) -> None:
        try:
            result = task.function(archive)
        except BaseException as exc:
            task.future.set_exception(exc)
        else:
            task.future.set_result(result)

    def _run_group(self, archive: Archive, group: list[_Task]) -> None:
        group = [task for task in group if task.future.set_running_or_notify_cancel()]
        if len(group) <= 1:
            for task in group:
                self._call(archive, task)
            return
        conn = archive.db.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except BaseException as exc:
            for task in group:
                task.future.set_exception(exc)
            return
        done: list[tuple[_Task, bool, Any]] = []
        again: list[_Task] = []
        hold = archive.hold_index()  # the index's writes, made together before the commit
        try:
            for task in group:
                if not conn.in_transaction:
                    # A call destroyed the transaction (and the savepoints of those before
                    # it): the rest run as calls of their own.
                    self._call(archive, task)
                    continue
                mark = hold.mark()
                try:
                    with savepoint(archive.db):  # a failure undoes this call only
                        result = task.function(archive)
                except BaseException as exc:
                    hold.undo(mark)
                    done.append((task, False, exc))
                else:
                    done.append((task, True, result))
                if not conn.in_transaction:
                    archive.release_index(write=False)
                    lost = GroupRolledBack("a later call of its group rolled the transaction back")
                    done = [(t, False, v if not ok else lost) for t, ok, v in done]
                    for t, _, value in done:
                        t.future.set_exception(value)
                    done = []
            if done and conn.in_transaction:
                try:
                    archive.release_index(write=True)
                    conn.execute("COMMIT")
                except BaseException as exc:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    # Nothing was committed: the calls that had succeeded run again, each
                    # on its own, so that one bad write fails its own call only.
                    again = [t for t, ok, _ in done if ok]
                    done = [(t, ok, v) for t, ok, v in done if not ok]
                    LOGGER.warning(
                        "a group of %d archive writes failed at its commit (%s: %s); "
                        "each runs again on its own",
                        len(again) + len(done),
                        type(exc).__name__,
                        exc,
                    )
        finally:
            archive.release_index(write=False)
        for task, ok, value in done:
            if ok:
                task.future.set_result(value)
            else:
                task.future.set_exception(value)
        for task in again:
            self._call(archive, task)

    def submit(self, function: Callable[[Archive], T], *, grouped: bool = False) -> Future[T]:
        """Run ``function(archive)`` on the thread; its result or exception in a Future.

        ``grouped``: the call may share its transaction with other grouped calls (module
        docstring); it must make its writes inside :func:`storage.transactions.write_transaction`
        and not commit or roll back itself."""
        if self._closed:
            raise RuntimeError(f"the {self.name} thread is closed")
        future: Future[T] = Future()
        self._queue.put(_Task(future, function, grouped))
        return future

    def post(self, function: Callable[[Archive], object], *, what: str) -> None:
        """Run ``function(archive)`` without waiting for it; a failure is logged."""

        def report(future: Future[object]) -> None:
            exc = future.exception()
            if exc is not None:
                LOGGER.error("archive %s failed: %s: %s", what, type(exc).__name__, exc)

        self.submit(function).add_done_callback(report)

    def call(self, function: Callable[[Archive], T], timeout: float | None = None) -> T:
        """Run ``function(archive)`` on the thread and wait for it (never on the reactor)."""
        return self.submit(function).result(timeout)

    async def run(self, function: Callable[[Archive], T], *, grouped: bool = False) -> T:
        """Await ``function(archive)`` from a coroutine on the event loop."""
        return await asyncio.wrap_future(self.submit(function, grouped=grouped))

    def backlog(self) -> int:
        return self._queue.qsize()

    def close(self, timeout: float = 30.0) -> None:
        """Finish what was submitted, then close the connection."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join(timeout)
        if self._thread.is_alive():
            LOGGER.warning("the %s thread did not finish within %.0f s", self.name, timeout)
