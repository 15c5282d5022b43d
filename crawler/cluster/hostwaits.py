"""The requests a worker keeps back for their host, and when each host is next asked.

A request whose host has no free slot (every slot held, by any worker) or whose source's
``delay`` has not passed does not wait holding one of the worker's places
(``worker_concurrency``): it comes back to the worker's queue
(:class:`crawler.cluster.queue.SourceStreams`), which keeps it here, with the host's
other requests, until the host is worth asking again; the worker sends requests for
other hosts meanwhile.

- One request of a host asks for its slot at a time: the others wait for its answer,
  or for it to end without asking (refused by robots.txt, say); one that is lost lets
  the next one ask after ``ASK_TIMEOUT``.
- A delay's answer is exact (the Redis server's clock says when the next start is
  allowed), and a slot taken for a source with a delay means the next start is that
  delay away.
- A full host is asked again after 25 ms, then after twice as long each time it is
  still full, up to 200 ms (a download from far away takes about that long), so that
  hosts held for long are not asked hundreds of times a second. When one of this
  worker's own downloads of the host ends, its slot is free: it is asked at once.

I/O-free: the queue wakes the engine at :meth:`WaitingHosts.next_time`.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ASK_TIMEOUT", "FIRST", "MOST", "WaitingHosts"]

FIRST = 0.025  # seconds: the first wait for a full host
MOST = 0.2  # seconds: the longest
ASK_TIMEOUT = 2.0  # seconds a request let out to ask keeps its host's others back at most


@dataclass
class _Host:
    requests: deque[tuple[Any, str]] = field(default_factory=deque)  # (request, source)
    until: float = 0.0  # when to ask again (monotonic); 0: now
    delayed: bool = False  # ``until`` is a delay's (exact), not a full host's (a guess)
    backoff: float = 0.0  # the last wait for the host being full; 0: none
    asking: float | None = None  # when a request was let out to ask, until its answer
    due: float | None = None  # the time in the heap for it, when it has requests


class WaitingHosts:
    def __init__(self) -> None:
        self._hosts: dict[str, _Host] = {}
        self._heap: list[tuple[float, int, str]] = []  # (due, order, host), some stale
        self._order = itertools.count()
        self.by_source: Counter[str] = Counter()  # requests kept back, per source
        self.count = 0

    # -- requests --------------------------------------------------------------------------

    def holds_back(self, host: str, now: float) -> bool:
        """Whether a new request of ``host`` must wait (its host waits, one of its
        requests is asking, or others of it wait already: they go first)."""
        state = self._hosts.get(host)
        if state is None:
            return False
        return bool(state.requests) or state.until > now or self._asking(state, now)

    def let_out(self, host: str, now: float) -> None:
        """A request of ``host`` goes to ask for its slot."""
        self._state(host).asking = now

    def keep(self, host: str, request: Any, source: str, now: float, *, first: bool) -> None:
        """Keep ``request`` back until its host is worth asking (``first``: ahead of the
        host's others, as it was asking)."""
        state = self._state(host)
        if first:
            state.requests.appendleft((request, source))
        else:
            state.requests.append((request, source))
        self.by_source[source] += 1
        self.count += 1
        self._schedule(host, state, now)

    def next_ready(self, now: float) -> Any | None:
        """A request kept back whose host may be asked now, let out to ask."""
        while self._heap and self._heap[0][0] <= now:
            due, _, host = heapq.heappop(self._heap)
            state = self._hosts.get(host)
            if state is None or state.due != due:
                continue  # rescheduled since
            state.due = None
            if not state.requests:
                self._forget(host, state, now)
                continue
            if state.until > now or self._asking(state, now):
                self._schedule(host, state, now)
                continue
            request, source = state.requests.popleft()
            self.by_source[source] -= 1
            if not self.by_source[source]:
                del self.by_source[source]
            self.count -= 1
            state.asking = now
            if state.requests:  # they wait for its answer, or for it to be lost
                self._schedule(host, state, now)
            return request
        return None

    def next_time(self) -> float | None:
        """When a request kept back may next be let out, if any is."""
        while self._heap:
            due, _, host = self._heap[0]
            state = self._hosts.get(host)
            if state is not None and state.due == due:
                return due
            heapq.heappop(self._heap)
        return None

    def drain(self) -> list[Any]:
        """Stopping: every request kept back, no longer kept."""
        requests = [request for state in self._hosts.values() for request, _ in state.requests]
        self._hosts.clear()
        self._heap.clear()
        self.by_source.clear()
        self.count = 0
        return requests

    # -- answers ---------------------------------------------------------------------------

    def took(self, host: str, now: float, delay: float) -> None:
        """A request of ``host`` got its slot; its source's next start is ``delay`` s away."""
        state = self._state(host)
        state.asking = None
        state.backoff = 0.0
        state.until, state.delayed = (now + delay, True) if delay > 0 else (0.0, False)
        self._schedule(host, state, now)

    def full(self, host: str, now: float) -> float:
        """``host`` had no free slot at ``now``: when to ask again."""
        state = self._state(host)
        state.asking = None
        state.backoff = min(state.backoff * 2 if state.backoff else FIRST, MOST)
        if state.until < now + state.backoff:
            state.until, state.delayed = now + state.backoff, False
        self._schedule(host, state, now)
        return state.until

    def delayed(self, host: str, now: float, seconds: float) -> float:
        """``host``'s next start is allowed ``seconds`` after ``now``: when to ask again."""
        state = self._state(host)
        state.asking = None
        state.until, state.delayed = max(state.until, now + seconds), True
        self._schedule(host, state, now)
        return state.until

    def gone(self, host: str, now: float) -> None:
        """A request of ``host`` let out to ask ended before asking (refused by robots.txt
        or an earlier middleware): the next one may ask."""
        state = self._hosts.get(host)
        if state is not None and state.asking is not None:
            state.asking = None
            self._schedule(host, state, now)

    def freed(self, host: str, now: float) -> None:
        """One of this worker's downloads of ``host`` ended: a slot is free (its delay,
        if any, still holds)."""
        state = self._hosts.get(host)
        if state is None:
            return
        state.backoff = 0.0
        if not state.delayed:
            state.until = 0.0
        self._schedule(host, state, now)

    # -- inside ----------------------------------------------------------------------------

    def _state(self, host: str) -> _Host:
        state = self._hosts.get(host)
        if state is None:
            state = self._hosts[host] = _Host()
        return state

    @staticmethod
    def _asking(state: _Host, now: float) -> bool:
        return state.asking is not None and now - state.asking < ASK_TIMEOUT

    def _schedule(self, host: str, state: _Host, now: float) -> None:
        """Put ``host`` in the heap at the time its next request may ask, if it has any;
        forget a host with nothing to remember."""
        if not state.requests:
            state.due = None
            self._forget(host, state, now)
            return
        due = max(state.until, now)
        if self._asking(state, now):
            assert state.asking is not None
            due = max(due, state.asking + ASK_TIMEOUT)
        if state.due != due:
            state.due = due
            heapq.heappush(self._heap, (due, next(self._order), host))

    def _forget(self, host: str, state: _Host, now: float) -> None:
        """Hosts are remembered while they have requests kept back, a time to wait for
        or a request asking (a full host's backoff starts over after that)."""
        if not state.requests and state.until <= now and not self._asking(state, now):
            del self._hosts[host]
