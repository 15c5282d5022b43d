"""`newswatch run` in child processes, as the daemon, cluster and deployment tests start
it, and the two things they do while it runs: wait for a condition, read its archive."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def query(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


class Node:
    """``newswatch run [--role ROLE]`` in a child process, its log in a file."""

    def __init__(self, config: Path, log: Path, role: str | None, *, group: bool = False) -> None:
        """``group``: in a process group of its own, as a service manager starts it (a
        signal to the group reaches its page-stage workers too)."""
        self.log = log
        command = [sys.executable, "-m", "crawler.cli", "--config", str(config), "run"]
        if role:
            command += ["--role", role]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=log.open("ab"), start_new_session=group
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def started(self, what: str = "started") -> None:
        wait_until(lambda: what in self.text() or self.process.poll() is not None, 60, what)
        assert self.process.poll() is None, self.text()[-3000:]

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout)
        return self.process.returncode

    def stop_timed(self, timeout: float = 30) -> float:
        """SIGTERM; returns how long it took to exit."""
        started = time.monotonic()
        self.stop(timeout)
        return time.monotonic() - started

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)


def nodes(config: Path, tmp: Path, roles: list[str | None]) -> Iterator[list[Node]]:
    started: list[Node] = []
    try:
        # one after the other: a node listed after another finds it running
        for i, role in enumerate(roles):
            node = Node(config, tmp / f"{role or 'single'}-{i}.log", role)
            started.append(node)
            node.started()
        yield started
    finally:
        for node in started:
            if node.process.poll() is None:
                node.kill()
