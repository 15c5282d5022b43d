"""One thread owning one connection to the archive, fed through a bounded queue.

SQLite work never runs on the reactor thread: components submit a function of the open
:class:`~storage.db.Archive` and await its result (:meth:`ArchiveThread.run`, an asyncio
awaitable) or get a :class:`concurrent.futures.Future` (:meth:`ArchiveThread.submit`).
The archive writer is one such thread, so writes are serialised in one place and in the
order they were submitted; readers can have their own thread and connection (WAL lets them
read while the writer writes).
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

__all__ = ["ArchiveThread"]

LOGGER = logging.getLogger(__name__)

T = TypeVar("T")

_STOP = object()


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
            while True:
                task = self._queue.get()
                if task is _STOP:
                    break
                future, function = task
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    result = function(archive)
                except BaseException as exc:
                    future.set_exception(exc)
                else:
                    future.set_result(result)
        finally:
            archive.close()

    def submit(self, function: Callable[[Archive], T]) -> Future[T]:
        """Run ``function(archive)`` on the thread; its result or exception in a Future."""
        if self._closed:
            raise RuntimeError(f"the {self.name} thread is closed")
        future: Future[T] = Future()
        self._queue.put((future, function))
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

    async def run(self, function: Callable[[Archive], T]) -> T:
        """Await ``function(archive)`` from a coroutine on the event loop."""
        return await asyncio.wrap_future(self.submit(function))

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
