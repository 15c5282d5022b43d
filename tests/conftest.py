"""Shared fixtures: the sample portal on 127.0.0.1, archives, configs and the CLI."""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.demo.portal import PortalServer
from storage import Archive

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO.parent / "shared" / "seeds"


@pytest.fixture
def portal() -> Iterator[PortalServer]:
    with PortalServer(0) as server:
        yield server


@pytest.fixture
def archive() -> Iterator[Archive]:
    db = Archive.memory()
    yield db
    db.close()


def portal_config(base: str, archive: Path, *, extra: str = "") -> str:
    """A config crawling every kind of entry point of the portal at ``base``."""
    return f"""
[archive]
path = "{archive}"

[crawl]
timeout = 5
retries = 2

[[sources]]
name = "portal-feeds"
feeds = ["{base}/feeds/zh.xml", "{base}/feeds/en.atom"]
delay = 0

[[sources]]
name = "portal-sitemap"
sitemaps = ["{base}/sitemap.xml"]
delay = 0

[[sources]]
name = "portal-listings"
listings = ["{base}/list/"]
article_links = '/news/[a-z]+/\\d{{4}}/[a-z0-9-]+\\.html$'
listing_depth = 5
delay = 0
{extra}
"""


@pytest.fixture
def write_config(tmp_path: Path):  # type: ignore[no-untyped-def]
    def write(text: str, name: str = "newswatch.toml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


def run_cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """Run ``newswatch ARGS`` in a child process (a fresh Twisted reactor each time)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def read_seed(name_prefix: str) -> str:
    if not SEEDS.is_dir():
        pytest.skip(f"seed articles not found at {SEEDS} (../shared/seeds beside the repository)")
    matches = sorted(SEEDS.glob(f"{name_prefix}_*.txt"))
    if not matches:
        pytest.skip(f"seed {name_prefix} not found in {SEEDS}")
    return matches[0].read_text(encoding="utf-8")


def loopback_name() -> str | None:
    """This machine's host name when it resolves to a non-public address (loopback on
    most machines, a private address in most containers), else None."""
    name = socket.gethostname()
    try:
        infos = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    except OSError:
        return None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if name.lower() == "localhost" or not addresses or any(a.is_global for a in addresses):
        return None
    return name


# The crawled archive of the reading-room tests (test_serve.py, test_browser.py), one
# crawl per session.
from tests.reading_room import crawled_archive  # noqa: E402, F401
