"""What the cluster tests share: a Redis on 127.0.0.1 (skip with a reason when none
answers), a key prefix of their own (removed afterwards), a Redis of their own to kill and
restart, and a way to read an archive as a comparable picture. The nodes themselves run
as child processes (:mod:`tests.daemons`)."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.daemons import query, wait_until

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
