"""Nothing listens (issue 15): Scrapy 2.19's RemoteControl extension (an HTTP server that
runs Python sent to it, announced by a job file in the user's profile) and the telnet
console are off in every crawl and in the daemon; so are non-http download handlers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from scrapy.extensions.remote_control import RemoteControl
from scrapy.extensions.telnet import TelnetConsole

from crawler.config import parse_config
from crawler.demo.portal import PortalServer
from crawler.runtime import scrapy_settings
from spiders.source import SourceSpider
from tests.test_components import spider_for


def test_no_listening_extension_in_a_crawl(tmp_path: Path) -> None:
    config_path = tmp_path / "n.toml"
    config_path.write_text(
        f'[archive]\npath = "{tmp_path / "a.db"}"\n'
        '[[sources]]\nname = "portal"\nfeeds = ["https://portal.test/feed.xml"]\n'
    )
    settings = scrapy_settings(parse_config(config_path.read_text(), path=config_path))
    assert settings.getbool("REMOTE_CONTROL_ENABLED") is False
    assert settings.getbool("TELNETCONSOLE_ENABLED") is False
    assert settings.getbool("DOWNLOAD_VERIFY_CERTIFICATES") is True
    handlers = settings.getwithbase("DOWNLOAD_HANDLERS")
    assert {scheme for scheme, handler in handlers.items() if handler} == {"http", "https"}

    spider = spider_for(SourceSpider, {"NEWSWATCH_CONFIG": str(config_path)})
    extensions = spider.crawler.extensions.middlewares
    assert extensions, "no extension was built at all"
    assert not [e for e in extensions if isinstance(e, RemoteControl | TelnetConsole)]


def _listening(process: psutil.Process) -> list[str]:
    found = []
    for proc in [process, *process.children(recursive=True)]:
        try:
            connections = proc.net_connections(kind="inet")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        found += [
            f"pid {proc.pid} {' '.join(proc.cmdline()[-3:])}: {c.laddr}"
            for c in connections
            if c.status == psutil.CONN_LISTEN
        ]
    return found


def _job_files(home: Path) -> list[Path]:
    return [p for p in home.rglob("*") if "scrapy" in p.parts or "job_files" in p.parts]


@pytest.mark.slow
def test_running_daemon_listens_nowhere_and_writes_no_job_file(
    portal: PortalServer, tmp_path: Path, write_config
) -> None:  # type: ignore[no-untyped-def]
    """``newswatch run`` with a check in flight (the entry point answers after seconds):
    the daemon (crawlers included: they run in its process) listens on no socket, and
    the profile a remote-control endpoint would announce a job in stays empty."""
    home = tmp_path / "home"
    home.mkdir()
    profile = {
        "HOME": str(home),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
    }
    config = write_config(f"""
[archive]
path = "{tmp_path / "a.db"}"
[crawl]
timeout = 30
[[sources]]
name = "slow"
feeds = ["{portal.base}/slow/8"]
interval = "1h"
delay = 0
verify_tls = false
""")
    daemon = subprocess.Popen(
        [sys.executable, "-m", "crawler.cli", "--config", str(config), "run"],
        cwd=tmp_path,
        env={**os.environ, **profile},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        process = psutil.Process(daemon.pid)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not portal.requested("/slow/"):
            assert daemon.poll() is None, daemon.stderr.read() if daemon.stderr else ""
            time.sleep(0.2)
        assert portal.requested("/slow/"), "the crawl never started"
        time.sleep(1.0)  # the crawl's engine has been running for a while now
        assert process.net_connections(kind="inet"), "no connection of the check in flight"
        assert _listening(process) == []
        assert _job_files(home) == []
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=60)
    assert _job_files(home) == []
    # The daemon says once, at its start, which source goes unchecked.
    stderr = daemon.stderr.read() if daemon.stderr else ""
    assert stderr.count("verify_tls = false") == 1 and "[slow]" in stderr, stderr
