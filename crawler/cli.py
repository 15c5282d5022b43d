"""The ``newswatch`` command line.

Every command's docstring carries an example; ``tests/test_docs.py`` checks that each
command is documented in the README.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import click

from crawler import __version__
from crawler.config import Config, ConfigError, config_path_from, load_config

EXIT_CONFIG = 2


def _setup_logging(verbose: int, log_file: str | None) -> str:
    level = "WARNING" if verbose == 0 else "INFO" if verbose == 1 else "DEBUG"
    handler: logging.Handler = (
        logging.FileHandler(log_file, encoding="utf-8") if log_file else logging.StreamHandler()
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    # Scrapy lowers the root logger's level when it starts; the handler keeps ours.
    handler.setLevel(level)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    return level


def _config(ctx: click.Context) -> Config:
    """Load the config named by --config / $NEWSWATCH_CONFIG / ./newswatch.toml, or exit 2."""
    path = config_path_from(ctx.obj["config"])
    try:
        return load_config(path)
    except ConfigError as exc:
        click.echo(f"newswatch: config error: {exc}", err=True)
        ctx.exit(EXIT_CONFIG)
        raise  # unreachable; ctx.exit raises


@click.group()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="TOML config file (default: $NEWSWATCH_CONFIG, else ./newswatch.toml).",
)
@click.option("-v", "--verbose", count=True, help="More logging: -v info, -vv debug.")
@click.option("--log-file", type=click.Path(dir_okay=False), default=None, help="Log to a file.")
@click.version_option(__version__, prog_name="newswatch")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: int, log_file: str | None) -> None:
    """Crawl news portals into a SQLite archive and watch for keywords.

    Example: newswatch --config newswatch.toml crawl
    """
    ctx.ensure_object(dict)
    ctx.obj["config"] = config_path
    ctx.obj["log_level"] = _setup_logging(verbose, log_file)


@cli.command()
@click.option("--source", "sources", multiple=True, help="Crawl only this source (repeatable).")
@click.option(
    "--alert-budget",
    type=float,
    default=None,
    help="Seconds the pass may spend delivering alerts (default: [delivery] budget, 30 s); "
    "the rest waits for the next pass.",
)
@click.pass_context
def crawl(ctx: click.Context, sources: tuple[str, ...], alert_budget: float | None) -> None:
    """One pass over the sources: fetch, extract, store, then deliver due alerts.

    Exits 0 when the pass ran, even if a source failed; prints a summary per source.

    Example: newswatch crawl --source caixin --source mofcom
    """
    from crawler.runner import default_progress_stream, run_pass

    config = _config(ctx)
    if not config.sources:
        click.echo(f"newswatch: {config.path}: no [[sources]] configured", err=True)
        ctx.exit(EXIT_CONFIG)
    try:
        result = run_pass(
            config,
            sources or None,
            log_level=ctx.obj["log_level"],
            progress=default_progress_stream(),
        )
    except KeyError as exc:
        click.echo(f"newswatch: {config.path}: sources: {exc.args[0]}", err=True)
        ctx.exit(EXIT_CONFIG)
    _print_summary(result.runs, result.run_id)
    if config.rules and config.channels:
        _deliver(config, budget=alert_budget)


def _deliver(config: Config, *, budget: float | None) -> None:
    from alerts.delivery import deliver_due
    from storage import Archive

    archive = Archive.open(config.archive_path)
    try:
        report = deliver_due(archive, config, budget=budget)
    finally:
        archive.close()
    line = f"alerts: {report.sent} sent, {report.failed} to retry, {report.dead} dead"
    if report.deferred:
        line += f", {report.deferred} left for the next pass"
    click.echo(line)


def _print_summary(runs: list[dict[str, Any]], run_id: str) -> None:
    click.echo(f"crawl pass {run_id}")
    header = f"{'source':<28} {'new':>6} {'unchanged':>10} {'failed':>7} {'requests':>9}  finish"
    click.echo(header)
    for run in runs:
        click.echo(
            f"{run['source']:<28} {run['new_articles']:>6} "
            f"{run['unchanged'] + run['not_modified']:>10} {run['errors']:>7} "
            f"{run['requests']:>9}  {run['finish_reason']}"
        )


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--url", default=None, help="The URL the page was served at.")
@click.option("--content-type", default=None, help="The Content-Type header it was served with.")
@click.option("--encoding", default=None, help="Force a codec (like a source's encoding).")
@click.option("--language", default=None, help="Language hint (like a source's language).")
def extract(
    files: tuple[str, ...],
    url: str | None,
    content_type: str | None,
    encoding: str | None,
    language: str | None,
) -> None:
    """Run the page pipeline on saved pages; print one JSON object per file.

    Needs no config file.

    Example: newswatch extract saved/article.html --url https://example.com/a.html
    """
    from crawler.text.page import process_page

    for name in files:
        body = Path(name).read_bytes()
        page = process_page(
            body, url=url, content_type=content_type, encoding=encoding, language=language
        )
        record = {"file": name, **page.to_dict()}
        click.echo(json.dumps(record, ensure_ascii=False))


@cli.command()
@click.pass_context
def sources(ctx: click.Context) -> None:
    """List the configured sources with their last crawl state.

    Example: newswatch sources
    """
    from storage import Archive

    config = _config(ctx)
    states: dict[str, dict[str, Any]] = {}
    if config.archive_path.exists():
        archive = Archive.open(config.archive_path)
        try:
            states = archive.source_states()
        finally:
            archive.close()
    click.echo(f"{'source':<28} {'schedule':<16} {'articles':>8}  last crawl")
    for source in config.sources:
        state = states.get(source.name, {})
        schedule = f"cron {source.cron}" if source.cron else f"every {source.interval or '1h'}"
        if not source.enabled:
            schedule = "disabled"
        last = "never"
        if state.get("finished_at"):
            last = (
                f"{state['finished_at']} new={state['new_articles']} "
                f"unchanged={state['unchanged']} errors={state['errors']}"
            )
        click.echo(f"{source.name:<28} {schedule:<16} {state.get('articles', 0):>8}  {last}")


@cli.command()
@click.argument("query")
@click.option("--limit", default=20, show_default=True, help="How many results.")
@click.pass_context
def search(ctx: click.Context, query: str, limit: int) -> None:
    """Full-text search of the archive (Chinese words of any length, English words).

    Example: newswatch search 昇腾
    """
    from storage import Archive

    config = _config(ctx)
    archive = Archive.open(config.archive_path)
    try:
        for row in archive.search(query, limit=limit):
            click.echo(f"{row['id']:>6}  {row['source']:<20} {row['lang'] or '':<8} {row['title']}")
    finally:
        archive.close()


@cli.command()
@click.pass_context
def check(ctx: click.Context) -> None:
    """Validate the config and exit (0 valid, 2 invalid).

    Example: newswatch --config newswatch.toml check
    """
    config = _config(ctx)
    click.echo(
        f"{config.path}: ok ({len(config.sources)} sources, {len(config.rules)} rules, "
        f"{len(config.channels)} channels)"
    )


@cli.command()
@click.pass_context
def run(ctx: click.Context) -> None:
    """Run as a daemon: crawl each source on its own interval or cron schedule.

    Each pass runs in a child process; stop with Ctrl-C or SIGTERM.

    Example: newswatch --config newswatch.toml --log-file newswatch.log run
    """
    from crawler.daemon import run_daemon

    config = _config(ctx)
    run_daemon(config, verbose=ctx.obj["log_level"] != "WARNING")


@cli.command()
@click.option("--port", default=8765, show_default=True, help="Port of the sample portal.")
@click.option(
    "--directory",
    type=click.Path(file_okay=False),
    default=".",
    show_default=True,
    help="Where to write the config and the archive.",
)
@click.pass_context
def demo(ctx: click.Context, port: int, directory: str) -> None:
    """Offline demo: serve a sample portal on 127.0.0.1, crawl it, show what was stored.

    Writes newswatch-demo.toml and newswatch-demo.db in the directory.

    Example: newswatch demo
    """
    from crawler.demo.run import run_demo

    code = run_demo(Path(directory), port=port, log_level=ctx.obj["log_level"])
    ctx.exit(code)


@cli.group()
def rules() -> None:
    """Try alert rules without sending anything.

    Example: newswatch rules test --text "英伟达H20芯片"
    """


@rules.command("test")
@click.option("--text", default=None, help="Text to match (as an article's text).")
@click.option("--title", default="", help="A title to match with --text.")
@click.option(
    "--file",
    "file_",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="A saved page: run the page pipeline, then match.",
)
@click.option("--url", default=None, help="Fetch a page, run the page pipeline, then match.")
@click.pass_context
def rules_test(
    ctx: click.Context, text: str | None, title: str, file_: str | None, url: str | None
) -> None:
    """Which rules fire on a text, file or URL, and why (JSON).

    Example: newswatch rules test --url https://example.com/news/1.html
    """
    from alerts.matching import RuleSet
    from crawler.text.page import process_page

    config = _config(ctx)
    if sum(x is not None for x in (text, file_, url)) != 1:
        raise click.UsageError("give exactly one of --text, --file, --url")
    lang = source = None
    if text is None:
        if file_:
            body, content_type, page_url = Path(file_).read_bytes(), None, None
        else:
            body, content_type = _fetch(url or "")
            page_url = url
        page = process_page(body, url=page_url, content_type=content_type)
        title, text, lang = page.title, page.text, page.lang
    matches = RuleSet(config.rules).match(title=title, text=text, source=source, lang=lang)
    click.echo(
        json.dumps(
            {"title": title, "lang": lang, "fired": [m.to_dict() for m in matches]},
            ensure_ascii=False,
            indent=2,
        )
    )


def _fetch(url: str) -> tuple[bytes, str | None]:
    from urllib.request import Request, urlopen

    from crawler.settings import USER_AGENT

    with urlopen(Request(url, headers={"User-Agent": USER_AGENT}), timeout=30) as response:
        return response.read(16 * 1024 * 1024), response.headers.get("Content-Type")


@rules.command("backtest")
@click.argument("rule")
@click.option("--since", default=None, help="Only articles fetched on or after this date.")
@click.pass_context
def rules_backtest(ctx: click.Context, rule: str, since: str | None) -> None:
    """What RULE would have fired over the archive, one line per story, without sending.

    Example: newswatch rules backtest ascend --since 2026-01-01
    """
    from alerts.matching import RuleSet
    from storage import Archive

    config = _config(ctx)
    chosen = [r for r in config.rules if r.name == rule]
    if not chosen:
        known = ", ".join(r.name for r in config.rules) or "none"
        raise click.BadParameter(f"no rule named {rule!r} (configured: {known})")
    ruleset = RuleSet(chosen)
    archive = Archive.open(config.archive_path)
    seen: set[int] = set()
    try:
        for row in archive.articles_since(since):
            if row["story_id"] in seen:
                continue
            matches = ruleset.match(
                title=row["title"], text=row["text"], source=row["source"], lang=row["lang"]
            )
            if matches:
                seen.add(row["story_id"])
                click.echo(
                    json.dumps(
                        {
                            "story_id": row["story_id"],
                            "article_id": row["id"],
                            "title": row["title"],
                            "url": row["url"],
                            **matches[0].to_dict(),
                        },
                        ensure_ascii=False,
                    )
                )
    finally:
        archive.close()
    click.echo(f"{len(seen)} stories", err=True)


@cli.group(invoke_without_command=True)
@click.option(
    "--status",
    type=click.Choice(["pending", "sent", "failed", "dead"]),
    default=None,
    help="Only alerts with this status.",
)
@click.option("--limit", default=50, show_default=True, help="How many, newest first.")
@click.pass_context
def alerts(ctx: click.Context, status: str | None, limit: int) -> None:
    """The alert outbox: what was sent, what waits, what failed and why.

    Example: newswatch alerts --status failed
    """
    if ctx.invoked_subcommand is not None:
        return
    from storage import Archive
    from storage.outbox import list_alerts

    config = _config(ctx)
    archive = Archive.open(config.archive_path)
    try:
        rows = list_alerts(archive.db, status=status, limit=limit)
    finally:
        archive.close()
    for row in rows:
        click.echo(
            f"{row['id']:>6} {row['status']:<8} {row['rule']:<16} {row['channel']:<14} "
            f"story {row['story_id']:<6} tries {row['attempts']} "
            f"{row['title'] or ''}  {row['last_error'] or ''}"
        )


@alerts.command("retry")
@click.argument("alert_id", required=False, type=int)
@click.pass_context
def alerts_retry(ctx: click.Context, alert_id: int | None) -> None:
    """Queue failed and dead alerts (or the one given) again, then deliver.

    Example: newswatch alerts retry 42
    """
    from storage import Archive, utc_now
    from storage.outbox import retry_alerts

    config = _config(ctx)
    archive = Archive.open(config.archive_path)
    try:
        count = retry_alerts(archive.db, alert_id=alert_id, now=utc_now())
    finally:
        archive.close()
    click.echo(f"{count} alert(s) queued again")
    _deliver(config, budget=None)


def main() -> None:
    cli(prog_name="newswatch")


if __name__ == "__main__":
    main()
