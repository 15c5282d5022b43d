"""What the cluster tests share: a Redis on 127.0.0.1 (skip with a reason when none
answers), a key prefix of their own (removed afterwards), archive nodes and workers in
child processes, and a way to read an archive as a comparable picture."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_or_skip() -> Any:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=5)
    try:
        client.ping()
    except Exception as exc:
        pytest.skip(f"no Redis answers at {REDIS_URL} ({exc}); the cluster tests need one")
    return client


def fresh_prefix() -> str:
    return f"nwtest-{uuid.uuid4().hex[:10]}"


def drop_prefix(client: Any, prefix: str) -> None:
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)


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

    def __init__(self, config: Path, log: Path, role: str | None) -> None:
        self.log = log
        command = [sys.executable, "-m", "crawler.cli", "--config", str(config), "run"]
        if role:
            command += ["--role", role]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log.open("ab"))

    @property
    def pid(self) -> int:
        return self.process.pid

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def started(self, what: str = "started") -> None:
        wait_until(lambda: what in self.text() or self.process.poll() is not None, 60, what)
        assert self.process.poll() is None, self.text()[-3000:]

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(60)
        return self.process.returncode

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


def picture(db: Path) -> dict[str, Any]:
    """What an archive holds, independent of ids and timing: articles (URL, title, text,
    language), stories as groups of canonical URLs, and alerts as (rule, channel, the
    story's URLs)."""
    articles = {
        row[0]: row[1:]
        for row in query(db, "SELECT canonical_url, title, text, lang FROM articles")
    }
    stories: dict[int, set[str]] = {}
    for url, story in query(db, "SELECT canonical_url, story_id FROM articles"):
        stories.setdefault(story, set()).add(url)
    groups = {frozenset(urls) for urls in stories.values()}
    by_story = {story: frozenset(urls) for story, urls in stories.items()}
    alerts = {
        (rule, channel, by_story.get(story, frozenset()))
        for rule, channel, story in query(db, "SELECT rule, channel, story_id FROM alerts")
    }
    return {"articles": articles, "stories": groups, "alerts": alerts}


class PrivateRedis:
    """A redis-server of the test's own on a free port (skip when none is installed), to
    kill and start again: with ``persist`` an append-only file synced on every write."""

    def __init__(self, directory: Path, *, persist: bool) -> None:
        import shutil

        from tests.servers import free_port

        server = shutil.which("redis-server")
        if server is None:
            pytest.skip("redis-server is not installed: no Redis of the test's own to restart")
        self.server = server
        self.directory = directory
        self.persist = persist
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        persistence = (
            ["--appendonly", "yes", "--appendfsync", "always"]
            if self.persist
            else ["--appendonly", "no"]
        )
        self.process = subprocess.Popen(
            [self.server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--dir", str(self.directory), *persistence],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        import redis

        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        try:
            wait_until(lambda: _answers(client), 15, f"redis-server on port {self.port}")
        finally:
            client.close()

    def kill(self) -> None:
        """SIGKILL: what it had not written to its file is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def close(self) -> None:
        self.kill()


def _answers(client: Any) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False
