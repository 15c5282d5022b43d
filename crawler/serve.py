"""``newswatch serve``: the archive in datasette, read-only, as a reading room.

The archive is served as the database ``archive`` (``/archive``, ``/archive/articles``,
``/archive/latest_alerts.atom``) with the metadata, canned queries and dashboard of
:mod:`storage.datasette_plugin.metadata` and the templates and hooks of
:mod:`storage.datasette_plugin`.

Read-only, safely beside a writer: every connection is opened ``mode=ro`` with
``PRAGMA query_only``, so neither datasette nor any plugin can write, and no migration
runs. It is not opened ``immutable``: the daemon keeps writing the file (WAL), and an
immutable reader would miss or misread its commits.

Bound to 127.0.0.1 unless ``--host`` says otherwise; a host other machines can reach needs
``[serve] password_hash`` (datasette-auth-passwords: a login page, and HTTP Basic for feed
readers) or an explicit ``--public``.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import signal
import socket
import sqlite3
import threading
import webbrowser
from importlib import resources
from pathlib import Path
from typing import Any

import click

from crawler.config import Config
from storage.migrations import MIGRATIONS

__all__ = ["DATABASE", "SETTINGS", "build_datasette", "pending_migrations", "serve_archive"]

LOGGER = logging.getLogger(__name__)

DATABASE = "archive"
SETTINGS = {
    "truncate_cells_html": 200,
    "default_page_size": 50,
    "sql_time_limit_ms": 3000,
    "facet_time_limit_ms": 500,
    "suggest_facets": False,
    "allow_download": False,
}


def _read_only_uri(path: str | Path) -> str:
    return Path(path).resolve().as_uri() + "?mode=ro"


def _database_class() -> Any:
    from datasette.database import Database

    class ReadOnlyDatabase(Database):  # type: ignore[misc]
        """A datasette database whose every connection, the write one included, is
        ``mode=ro`` and ``query_only``."""

        def connect(self, write: bool = False) -> sqlite3.Connection:
            conn = sqlite3.connect(_read_only_uri(self.path), uri=True, check_same_thread=False)
            conn.execute("PRAGMA query_only = 1")
            self._all_file_connections.append(conn)
            return conn

    return ReadOnlyDatabase


def pending_migrations(path: str | Path) -> list[str]:
    """Migrations this version knows that the archive at ``path`` lacks (read-only)."""
    conn = sqlite3.connect(_read_only_uri(path), uri=True)
    try:
        done = {row[0] for row in conn.execute("SELECT name FROM _migrations")}
    except sqlite3.DatabaseError:
        done = set()
    finally:
        conn.close()
    return [m.__name__ for m in MIGRATIONS if m.__name__ not in done]


def build_datasette(
    path: str | Path,
    *,
    timezone: str = "Asia/Shanghai",
    login: tuple[str, str] | None = None,
) -> Any:
    """A :class:`datasette.app.Datasette` serving the archive at ``path`` read-only as
    ``archive``. ``login``: (username, password hash) required of every visitor."""
    from datasette.app import Datasette

    from storage.datasette_plugin.metadata import archive_metadata

    metadata = archive_metadata(DATABASE, timezone=timezone)
    plugins = metadata["plugins"]
    plugins["newswatch"] = {"databases": [DATABASE], "timezone": timezone, "login": bool(login)}
    if login is not None:
        username, password_hash = login
        plugins["datasette-auth-passwords"] = {f"{username}_password_hash": password_hash}
        metadata["allow"] = {"id": username}
    ds = Datasette(
        metadata=metadata,
        settings=SETTINGS,
        template_dir=str(resources.files("storage.datasette_plugin").joinpath("serve_templates")),
        secret=os.environ.get("DATASETTE_SECRET") or None,
    )
    if "_memory" in ds.databases:
        ds.remove_database("_memory")
    ds.add_database(_database_class()(ds, path=str(path), is_mutable=True), name=DATABASE)
    return ds


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host.strip("[]"), port), family=family)


def serve_archive(
    config: Config,
    *,
    host: str = "127.0.0.1",
    port: int = 8001,
    open_browser: bool = False,
    public: bool = False,
    log_level: str = "WARNING",
) -> int:
    """Serve ``config``'s archive until interrupted; returns the exit code."""
    import uvicorn

    path = config.archive_path
    if not path.is_file():
        click.echo(
            f"newswatch: {config.path}: archive.path: no archive at {path} "
            "(a crawl creates it: newswatch crawl)",
            err=True,
        )
        return 2
    serve = config.serve
    if not _is_loopback(host) and serve.password_hash is None and not public:
        click.echo(
            f"newswatch: --host {host} can be reached from other machines: set "
            f"[serve] password_hash in {config.path} (make one with `datasette hash-password`) "
            "or pass --public to serve without a password",
            err=True,
        )
        return 2
    pending = pending_migrations(path)
    if pending:
        click.echo(
            f"newswatch: {path} predates this version (missing migrations: "
            f"{', '.join(pending)}); links and search may be incomplete until a crawl "
            "upgrades it (serve never writes to the archive)",
            err=True,
        )
    login = (serve.username, serve.password_hash) if serve.password_hash else None
    ds = build_datasette(path, timezone=serve.timezone, login=login)
    try:
        sock = _listen(host, port)
    except OSError as exc:
        click.echo(f"newswatch: cannot listen on {host}:{port}: {exc.strerror or exc}", err=True)
        return 1
    bound = sock.getsockname()
    shown_host = f"[{bound[0]}]" if ":" in str(bound[0]) else bound[0]
    url = f"http://{shown_host}:{bound[1]}/{DATABASE}"
    click.echo(f"serving {path} read-only at {url} (Ctrl-C to stop)")
    if login is None and not _is_loopback(host):
        click.echo("warning: no password: anyone who can reach this host can read the archive")
    if open_browser:
        threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
    server = uvicorn.Server(
        uvicorn.Config(
            ds.app(),
            log_level=log_level.lower(),
            log_config=None,
            access_log=log_level != "WARNING",
            lifespan="off",
        )
    )
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        # uvicorn has shut down cleanly and re-raises the signal that stopped it.
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
