"""``newswatch demo``: serve the sample portal, write a config for it, crawl, report."""

from __future__ import annotations

import errno
from pathlib import Path

import click

from crawler.config import Config, load_config
from crawler.demo.portal import PortalServer
from crawler.runner import default_progress_stream, run_pass
from storage import Archive

__all__ = ["demo_config", "run_demo"]

CONFIG_NAME = "newswatch-demo.toml"
ARCHIVE_NAME = "newswatch-demo.db"


def demo_config(base: str, archive: str = ARCHIVE_NAME) -> str:
    """The demo's TOML config for a sample portal at ``base``."""
    return f"""# newswatch demo config: the bundled sample portal at {base}
# Written by `newswatch demo`; edit freely or use it as a starting point.

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
"""


def _show_rules(archive: Archive, config: Config) -> None:
    """What the demo's rules would alert on (it has no channels, so nothing is sent)."""
    from alerts.matching import RuleSet

    ruleset = RuleSet(config.rules)
    fired: dict[str, set[int]] = {rule.name: set() for rule in config.rules}
    for row in archive.articles_since(None):
        for match in ruleset.match(
            title=row["title"], text=row["text"], source=row["source"], lang=row["lang"]
        ):
            fired[match.rule].add(row["story_id"])
    summary = ", ".join(f"{name} on {len(ids)} stories" for name, ids in fired.items())
    click.echo(f"rules (no channels configured, nothing sent): {summary}")


def _start_portal(port: int) -> PortalServer:
    try:
        return PortalServer(port).start()
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE or port == 0:
            raise
        click.echo(f"port {port} is busy; serving the sample portal on a free port instead")
        return PortalServer(0).start()


def run_demo(directory: Path, *, port: int = 8765, log_level: str = "WARNING") -> int:
    directory.mkdir(parents=True, exist_ok=True)
    with _start_portal(port) as portal:
        click.echo(f"sample portal: {portal.base}/ ({len(portal.site.articles)} articles)")
        config_path = directory / CONFIG_NAME
        config_path.write_text(demo_config(portal.base), encoding="utf-8")
        click.echo(f"config:        {config_path}")
        config = load_config(config_path)
        result = run_pass(config, log_level=log_level, progress=default_progress_stream())

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
        _show_rules(archive, config)
    finally:
        archive.close()
    click.echo("\nbrowse and search it (the search box finds 昇腾, H20, 出口管制):")
    click.echo(f"  datasette {config.archive_path}")
    click.echo(
        f"crawl it again (nothing new is downloaded):\n  newswatch --config {config_path} crawl"
    )
    return 0
