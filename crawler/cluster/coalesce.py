"""A worker's small Redis calls, sent together: several calls, one round trip.

Each page costs a worker several small Redis calls at different moments: its host's slot
taken before the download and given back after it, the fetch record, the hand-over of
the processed article. Over a connection to a Redis nearby, a round trip costs the
client far more CPU (redis-py's asyncio client: a fifth of a millisecond on a small
machine) than the server's work. :class:`Coalescer` puts the calls made close together
in one pipeline (not a transaction: each call keeps its own atomicity, a script or one
command, and its own answer or error):

- an *urgent* call (a host's slot, which a download waits for) goes out with everything
  waiting at the event loop's next turn;
- any other call waits up to :data:`WAIT` seconds for company, usually the next urgent
  call.

A connection error fails every call of the pipeline, each of which its caller tries
again as before (:meth:`crawler.cluster.outage.Outage.call`); a call whose caller gave up
(cancelled) is left out of its answer; a command that cannot be added to the pipeline
(bad arguments) fails its own call only.

Calls that nothing waits for (a slot given back, a fetch record) run as
:meth:`Coalescer.background` tasks, which a stopping worker waits for
(:meth:`Coalescer.close`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any

__all__ = ["WAIT", "Coalescer"]

LOGGER = logging.getLogger(__name__)

WAIT = 0.02  # seconds a call that nothing waits on may wait for others
MOST = 500  # calls in one pipeline at most

Command = Callable[[Any], Any]  # adds one command to a pipeline


class Coalescer:
    def __init__(self, client: Any, *, wait: float = WAIT) -> None:
        self.client = client
        self.wait = wait
        self._waiting: list[tuple[Command, asyncio.Future[Any]]] = []
        self._timer: asyncio.Handle | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._background: set[asyncio.Task[Any]] = set()
        self.round_trips = 0
        self.calls = 0

    async def call(self, command: Command, *, urgent: bool = False) -> Any:
        """``command(pipeline)`` adds one command to a pipeline: its answer, or its error
        raised here."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._waiting.append((command, future))
        if urgent or len(self._waiting) >= MOST:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = loop.call_soon(self._flush)
        elif self._timer is None:
            self._timer = loop.call_later(self.wait, self._flush)  # (at once when closed)
        return await future

    def background(self, work: Coroutine[Any, Any, Any], failed: str) -> None:
        """Run ``work`` (calls that nothing waits for) in a task kept until it ends; its
        error is logged after ``failed`` (what its failure means)."""
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(functools.partial(self._background_done, failed))

    def _background_done(self, failed: str, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            LOGGER.warning("%s: %s", failed, task.exception())

    def _flush(self) -> None:
        self._timer = None
        batch, self._waiting = self._waiting, []
        batch = [(command, future) for command, future in batch if not future.done()]
        if not batch:
            return
        task = asyncio.ensure_future(self._send(batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[tuple[Command, asyncio.Future[Any]]]) -> None:
        added: list[asyncio.Future[Any]] = []
        try:
            pipe = self.client.pipeline(transaction=False)
            for command, future in batch:
                try:
                    command(pipe)
                except Exception as exc:  # this call's own arguments: it fails alone
                    future.set_exception(exc)
                    continue
                added.append(future)
            if not added:
                return
            self.round_trips += 1
            self.calls += len(added)
            answers = await pipe.execute(raise_on_error=False)
        except asyncio.CancelledError:
            for future in added:
                future.cancel()
            raise
        except BaseException as exc:
            for future in added:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for future, answer in zip(added, answers, strict=True):
            if future.done():
                continue
            if isinstance(answer, Exception):
                future.set_exception(answer)
            else:
                future.set_result(answer)

    async def close(self, *, timeout: float | None = None) -> None:
        """Wait (at most ``timeout`` seconds) for the background tasks, then send what
        waits and wait (as long again at most) for what is being sent; what is sent
        after waits for nothing."""
        if self._background:
            await asyncio.wait(set(self._background), timeout=timeout)
        self.wait = 0.0
        if self._timer is not None:
            self._timer.cancel()
            self._flush()
        if self._sending:
            await asyncio.wait(set(self._sending), timeout=timeout)
