"""``newswatch demo``: serve the sample portal, write a config for it, crawl, report.

The config it writes starts with a stamp line holding a checksum of the rest, so a
later run can tell a file the user edited (kept as it is, and crawled with) from one it
wrote (rewritten when the portal's address changes). ``--serve`` keeps the portal up after
the report, so ``crawl`` and ``run`` can be tried against it; without it the closing hints
are only commands that work once the portal has stopped. Hints name newswatch the way the
user can type it (:mod:`crawler.demo.hints`).
"""

from __future__ import annotations

import errno
import hashlib
import re
import signal
import threading
from pathlib import Path
from typing import Any

import click

from crawler.config import Config, ConfigError, load_config
from crawler.demo import hints
from crawler.demo.portal import PortalServer
from crawler.runner import default_progress_stream, run_pass
from storage import Archive

__all__ = ["config_state", "demo_config", "run_demo", "stamped"]

CONFIG_NAME = "newswatch-demo.toml"
ARCHIVE_NAME = "newswatch-demo.db"
DEFAULT_PORT = 8765
STAMP = "# Written by `newswatch demo` (sha256:{digest}); an edited copy is never overwritten."
_STAMP_RE = re.compile(r"^# Written by `newswatch demo` \(sha256:([0-9a-f]{64})\)")
_PORTAL_RE = re.compile(r"http://127\.0\.0\.1:(\d+)/")
EXIT_CONFIG = 2


def demo_config(base: str, archive: str = ARCHIVE_NAME) -> str:
    """The demo's TOML config for a sample portal at ``base``."""
    return f"""# newswatch demo config: the bundled sample portal at {base}
# Edit freely or use it as a starting point.

[archive]
path = "{archive}"

[[sources]]
name = "sample-feeds"
feeds = ["{base}/feeds/zh.xml", "{base}/feeds/en.atom"]
interval = "10m"
delay = 0

[[sources]]
name = "sample-sitemap"
sitemaps = ["{base}/sitemap.xml"]
interval = "1h"
delay = 0

[[sources]]
name = "sample-listings"
listings = ["{base}/list/"]
article_links = '/news/[a-z]+/\\d{{4}}/[a-z0-9-]+\\.html$'
listing_depth = 5
interval = "30m"
delay = 0

[[rules]]
name = "ascend"
keywords = ["昇腾", "Ascend"]

[[rules]]
name = "h20"
keywords = ["H20"]

# Alerts go through the outbox to this channel, which only records them in the log
# (newswatch -v shows the lines). Swap it for feishu, dingtalk, wecom, teams, telegram,
# slack, email or a signed webhook: see the README's Channels section.
[[channels]]
name = "log"
type = "log"
"""


def _show_alerts(archive: Archive, config: Config) -> None:
    """Deliver what the crawl queued (to the demo's ``log`` channel) and show the outbox."""
    from alerts.delivery import deliver_due
    from storage.outbox import list_alerts

    report = deliver_due(archive, config)
    rows = list_alerts(archive.db, limit=200)
    fired: dict[str, set[int]] = {rule.name: set() for rule in config.rules}
    for row in rows:
        fired.setdefault(row["rule"], set()).add(row["story_id"])
    summary = ", ".join(f"{name} on {len(ids)} stories" for name, ids in fired.items())
    channels = ", ".join(f"{c.name} ({c.type})" for c in config.channels)
    earlier = sum(1 for row in rows if row["status"] == "sent") - report.sent
    sent = f"{report.sent} sent now" + (f", {earlier} by an earlier run" if earlier else "")
    click.echo(f"\nalerts: {summary}; {sent}, through the outbox to {channels}")
    for row in reversed(rows):
        click.echo(f"  {row['status']:<7} {row['rule']:<8} {row['channel']:<6} {row['title']}")
    quiet = [name for name, ids in fired.items() if not ids]
    if quiet:  # a rule added since: stored articles are matched by a backtest, not again
        click.echo(
            f"  (no alert yet for {', '.join(quiet)}: rules fire on articles as they are "
            f"stored; `newswatch rules backtest {quiet[0]}` shows what the archive matches)"
        )


def stamped(body: str) -> str:
    """``body`` with the stamp line that lets a later run recognise it unedited."""
    return STAMP.format(digest=hashlib.sha256(body.encode()).hexdigest()) + "\n" + body


def config_state(path: Path) -> str:
    """``missing``, ``written`` (as the demo wrote it) or ``edited`` (changed since, or
    not written by the demo at all)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return "missing"
    except (OSError, UnicodeDecodeError):
        return "edited"
    first, _, body = text.partition("\n")
    stamp = _STAMP_RE.match(first)
    if stamp and stamp.group(1) == hashlib.sha256(body.encode()).hexdigest():
        return "written"
    return "edited"


def _port_in(path: Path) -> int | None:
    """The sample portal's port named in an existing demo config."""
    try:
        found = _PORTAL_RE.search(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None
    return int(found.group(1)) if found else None


def _start_portal(port: int) -> PortalServer:
    try:
        return PortalServer(port).start()
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE or port == 0:
            raise
        click.echo(f"port {port} is busy; serving the sample portal on a free port instead")
        return PortalServer(0).start()


def _prepare_config(config_path: Path, portal: PortalServer) -> None:
    """Write the demo config unless the user edited it; say which."""
    state = config_state(config_path)
    if state == "edited":
        click.echo(
            f"config:        {config_path} (edited since the demo wrote it, or written by an "
            "older newswatch: kept as it is and crawled with; delete it for a fresh one)"
        )
        named = _port_in(config_path)
        if named is not None and named != portal.port:
            click.echo(
                f"  note: it names the sample portal at port {named}, which now runs at "
                f"{portal.base}; its sources there will fail"
            )
        return
    text = stamped(demo_config(portal.base))
    if state == "written" and config_path.read_text(encoding="utf-8") == text:
        click.echo(f"config:        {config_path}")
        return
    config_path.write_text(text, encoding="utf-8")
    click.echo(f"config:        {config_path}" + (" (rewritten)" if state == "written" else ""))


def run_demo(
    directory: Path,
    *,
    port: int | None = None,
    serve: bool = False,
    log_level: str = "WARNING",
) -> int:
    """The demo; ``port`` None: the port the existing config names, else 8765."""
    directory.mkdir(parents=True, exist_ok=True)
    config_path = directory / CONFIG_NAME
    wanted = port if port is not None else (_port_in(config_path) or DEFAULT_PORT)
    portal = _start_portal(wanted)
    running = True
    try:
        click.echo(f"sample portal: {portal.base}/ ({len(portal.site.articles)} articles)")
        _prepare_config(config_path, portal)
        try:
            config = load_config(config_path)
        except ConfigError as exc:
            click.echo(f"newswatch: config error: {exc}", err=True)
            return EXIT_CONFIG
        result = run_pass(config, log_level=log_level, progress=default_progress_stream())
        if not serve:
            portal.stop()
            running = False
        _report(config, result)
        if serve:
            _serve_hints(config_path, config, portal)
            _wait_for_signal()
            click.echo("\nsample portal stopped")
        else:
            _hints(config_path, config, directory=directory, port=port)
    finally:
        if running:
            portal.stop()
    return 0


def _report(config: Config, result: Any) -> None:
    click.echo("")
    click.echo(f"{'source':<20} {'new':>5} {'unchanged':>10} {'failed':>7}")
    for run in result.runs:
        unchanged = run["unchanged"] + run["not_modified"]
        click.echo(
            f"{run['source']:<20} {run['new_articles']:>5} {unchanged:>10} {run['errors']:>7}"
        )

    archive = Archive.open(config.archive_path)
    try:
        total = archive.count_articles()
        click.echo(f"\narchive: {config.archive_path} ({total} articles)")
        click.echo(f"{'id':>4}  {'lang':<8} {'codec':<9} title")
        for row in archive.recent_articles(limit=50):
            click.echo(
                f"{row['id']:>4}  {row['lang'] or '':<8} {row['encoding'] or '':<9} {row['title']}"
            )
        hits = archive.search("昇腾")
        click.echo(
            f"\nsearch 昇腾 → {len(hits)} article(s): " + "; ".join(h["title"] for h in hits)
        )
        stories = archive.db["stories"].count
        click.echo(f"stories: {stories} (copies of one article at other URLs join its story)")
        if config.channels:
            _show_alerts(archive, config)
    finally:
        archive.close()


def _with_config(config_path: Path) -> str:
    return f"{hints.program()} --config {hints.shown_path(config_path)}"


def _hints(config_path: Path, config: Config, *, directory: Path, port: int | None) -> None:
    """Commands that work now that the sample portal has stopped, as the user can type them."""
    newswatch = _with_config(config_path)
    click.echo("\nthe sample portal has stopped; these read what the demo stored:")
    click.echo(f"  {newswatch} search 昇腾")
    click.echo(f"  {newswatch} alerts")
    click.echo(f"  {newswatch} sources")
    click.echo(f"  {newswatch} serve --open")
    again = [hints.program(), "demo", "--serve"]
    if directory.resolve() != Path.cwd().resolve():
        again += ["--directory", hints.shown_path(directory)]
    if port is not None:
        again += ["--port", str(port)]
    click.echo("to crawl it again or run the daemon against it, keep the sample portal up:")
    click.echo(f"  {' '.join(again)}")


def _serve_hints(config_path: Path, config: Config, portal: PortalServer) -> None:
    newswatch = _with_config(config_path)
    click.echo(f"\nthe sample portal stays up at {portal.base}/ until Ctrl-C; in another terminal:")
    click.echo(f"  {newswatch} crawl")
    click.echo(f"  {newswatch} run")
    click.echo(f"  {newswatch} search 昇腾")
    click.echo(f"  {newswatch} serve --open")


def _wait_for_signal() -> None:
    """Block until SIGINT (Ctrl-C) or SIGTERM."""
    stop = threading.Event()
    previous = {
        signum: signal.signal(signum, lambda *_: stop.set())
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        while not stop.wait(0.5):
            pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
