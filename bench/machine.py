"""What a benchmark run cost the machine: wall time, and the CPU of everything it started.

A command's own CPU and its waited-for children's (``RUSAGE_CHILDREN``) miss processes
that nobody waits for, such as the page-stage workers a forkserver starts; the machine's
busy time (``/proc/stat``) counts them. :class:`Spent` takes the machine's busy time over a
run, less this benchmark process's own CPU (the portal simulator's threads), so run the
benchmarks on an otherwise quiet machine.
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

__all__ = ["Spent", "cpu_times"]


def cpu_times() -> tuple[int, int]:
    """(busy, all) jiffies of the whole machine, from /proc/stat (0, 0 elsewhere)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except OSError:
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def _children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Spent:
    """``with Spent() as spent: run()``, then ``spent.seconds`` (wall), ``spent.cpu``
    (CPU seconds of what ran, see the module doc) and ``spent.busy`` (the machine's busy
    share over the run, 0–1)."""

    def __init__(self) -> None:
        self.seconds = self.cpu = self.busy = 0.0

    def __enter__(self) -> Spent:
        self._machine = cpu_times()
        self._own = time.process_time()
        self._children = _children()
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._started
        busy, total = (now - then for now, then in zip(cpu_times(), self._machine, strict=True))
        own = time.process_time() - self._own
        if total:
            self.busy = busy / total
            self.cpu = max(0.0, busy / os.sysconf("SC_CLK_TCK") - own)
        else:  # no /proc/stat: the children this process waited for
            self.cpu = _children() - self._children
