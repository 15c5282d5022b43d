"""The ``newswatch`` command line.

Every command's docstring carries an example; ``tests/test_docs.py`` checks that each
command is documented in the README.
"""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from crawler import __version__
from crawler.cli_common import (
    NewswatchGroup,
    QueryCommand,
    complete_rules,
    complete_sources,
    shared,
)
from crawler.config import Config, ConfigError, config_path_from, load_config
from crawler.redact import config_warnings, secret_values
from crawler.times import SINCE_HELP, TimeParam

if TYPE_CHECKING:
    from alerts.delivery import Deliverer, DeliveryReport

EXIT_CONFIG = 2


EXIT_ATTENTION = 1
EXIT_RUNNING = 3
EXIT_NO_ARCHIVE = 1


def _config(ctx: click.Context, *, sends: bool = True) -> Config:
    """Load the config named by --config / $NEWSWATCH_CONFIG / ./newswatch.toml, or exit 2.
    A command that sends nothing (``sends=False``) needs no channel's secrets set."""
    path = config_path_from(shared(ctx)["config"])
    try:
        config = load_config(path, channel_secrets=sends)
    except ConfigError as exc:
        click.echo(f"newswatch: config error: {exc}", err=True)
        ctx.exit(EXIT_CONFIG)
        raise  # unreachable; ctx.exit raises
    ctx.obj["redact"].redactor.add(secret_values(config))
    return config


@click.group(cls=NewswatchGroup)
@click.version_option(__version__, prog_name="newswatch")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Crawl news portals into a SQLite archive and watch for keywords.

    --config, -v, --log-file and --log-format go before or after any command's name.

    Example: newswatch --config newswatch.toml crawl
    """
    ctx.ensure_object(dict)


@cli.command()
@click.option(
    "--source",
    "sources",
    multiple=True,
    shell_complete=complete_sources,
    help="Crawl only this source (repeatable).",
)
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
    config = _config(ctx)
    if config.sources and config.crawl.page_workers > 0:
        from crawler.page_stage import start_forkserver

        start_forkserver()  # it loads the page stage while this process loads Scrapy

    from crawler.config import parse_duration
    from crawler.runner import PassResult, default_progress_stream, run_pass
    from crawler.runtime import Runtime

    if not config.sources:
        click.echo(f"newswatch: {config.path}: no [[sources]] configured", err=True)
        ctx.exit(EXIT_CONFIG)
    for name in sources:
        if name not in {s.name for s in config.sources}:
            known = ", ".join(s.name for s in config.sources)
            click.echo(
                f"newswatch: {config.path}: sources: no source named {name!r} "
                f"(configured: {known})",
                err=True,
            )
            ctx.exit(EXIT_CONFIG)
    # The delivery side (its HTTP clients) is loaded only for a config with channels.
    deliverer: Deliverer | None = None
    delivered: DeliveryReport | None = None
    if config.channels:
        from alerts.delivery import Deliverer, DeliveryReport

        deliverer, delivered = Deliverer(config), DeliveryReport()
    budget = (
        alert_budget
        if alert_budget is not None
        else parse_duration(config.delivery.budget).total_seconds()
    )

    def start_delivery(runtime: Runtime) -> None:
        # Alerts go out while the pass runs, as soon as their article is stored.
        if deliverer is not None:
            deliverer.start()
            runtime.on_alerts_queued(deliverer.wake)

    async def finish_delivery(runtime: Runtime, result: PassResult) -> None:
        import asyncio

        if deliverer is not None and delivered is not None:
            delivered.add(await asyncio.to_thread(deliverer.finish, budget))

    result = run_pass(
        config,
        sources or None,
        log_level=ctx.obj["log_level"],
        progress=default_progress_stream(),
        before=start_delivery,
        after=finish_delivery,
    )
    _print_summary(result, config)
    if delivered is not None:
        _print_delivery(delivered)


def _existing_archive(ctx: click.Context, config: Config) -> Any:
    """Open the config's archive for a command that reads it; when there is no archive
    yet, say so (and where it was looked for) and exit 1, creating nothing."""
    from storage import Archive

    path = config.archive_path
    if not path.exists():
        click.echo(
            f"newswatch: no archive yet at {path} (from {config.path}: [archive] path); "
            "`newswatch crawl` creates it",
            err=True,
        )
        ctx.exit(EXIT_NO_ARCHIVE)
    return Archive.open(path)


def _print_delivery(report: Any) -> None:
    line = f"alerts: {report.sent} sent, {report.waiting} to retry, {report.dead} dead"
    if report.failed:
        line += f" ({report.failed} failed attempt(s) on the way)"
    click.echo(line)


def _deliver(config: Config) -> None:
    from alerts.delivery import Deliverer
    from crawler.config import parse_duration

    _print_delivery(
        Deliverer(config).finish(parse_duration(config.delivery.budget).total_seconds())
    )


def _print_summary(result: Any, config: Config) -> None:
    click.echo(f"crawl pass {result.run_id}")
    header = f"{'source':<28} {'new':>6} {'unchanged':>10} {'failed':>7} {'requests':>9}  finish"
    click.echo(header)
    for run in result.runs:
        click.echo(
            f"{run['source']:<28} {run['new_articles']:>6} "
            f"{run['unchanged'] + run['not_modified']:>10} {run['errors']:>7} "
            f"{run['requests']:>9}  {run['finish_reason']}"
        )
    from crawler.pass_report import failure_lines

    for line in failure_lines(result, config):
        click.echo(line)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--url", default=None, help="The URL the page was served at.")
@click.option("--content-type", default=None, help="The Content-Type header it was served with.")
@click.option("--encoding", default=None, help="Force a codec (like a source's encoding).")
@click.option("--language", default=None, help="Language hint (like a source's language).")
@click.option(
    "--fetched-at",
    default=None,
    help="When the page was fetched (ISO 8601; default now): 3小时前 counts back from it.",
)
@click.option(
    "--timezone",
    default="Asia/Shanghai",
    show_default=True,
    help="The time zone of the page's dates (like a source's timezone).",
)
def extract(
    files: tuple[str, ...],
    url: str | None,
    content_type: str | None,
    encoding: str | None,
    language: str | None,
    fetched_at: str | None,
    timezone: str,
) -> None:
    """Run the page pipeline on saved pages; print one JSON object per file.

    Needs no config file.

    Example: newswatch extract saved/article.html --url https://example.com/a.html
    """
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from crawler.text.dates import parse_fetched_at
    from crawler.text.page import process_page

    try:
        ZoneInfo(timezone)
        fetched = parse_fetched_at(fetched_at)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise click.BadParameter(str(exc)) from None
    for name in files:
        body = Path(name).read_bytes()
        page = process_page(
            body,
            url=url,
            content_type=content_type,
            encoding=encoding,
            language=language,
            fetched_at=fetched,
            timezone=timezone,
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

    config = _config(ctx, sends=False)
    states: dict[str, dict[str, Any]] = {}
    if config.archive_path.exists():
        archive = Archive.open(config.archive_path)
        try:
            states = archive.source_states()
        finally:
            archive.close()
    else:
        click.echo(f"(no archive yet at {config.archive_path}: nothing crawled)", err=True)
    if not config.sources:
        click.echo(f"no [[sources]] in {config.path}: nothing will be crawled")
        return
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


@cli.command(cls=QueryCommand)
@click.argument("words", nargs=-1, required=True, metavar="QUERY...")
@click.option("--limit", default=20, show_default=True, help="How many results.")
@click.option(
    "--since", type=TimeParam(), default=None, help=f"Only articles fetched since: {SINCE_HELP}."
)
@click.option(
    "--source",
    "sources",
    multiple=True,
    shell_complete=complete_sources,
    help="Only this source (repeatable).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as a JSON array.")
@click.option(
    "--csv", "as_csv", is_flag=True, help="Print the results as CSV (UTF-8, with a header)."
)
@click.pass_context
def search(
    ctx: click.Context,
    words: tuple[str, ...],
    limit: int,
    since: Any,
    sources: tuple[str, ...],
    as_json: bool,
    as_csv: bool,
) -> None:
    """Full-text search of the archive (Chinese words of any length, English words).

    Words and "quoted phrases" must all occur; A OR B lets either do; -word excludes.
    Prints date, source, title, URL and a snippet with the matches marked, or exports
    them with --json or --csv. The query may be one argument or several.

    Example: newswatch search 昇腾 OR Ascend -股价 --since 7d --csv > ascend.csv
    """
    query = " ".join(words)
    from crawler.search_results import present, render_csv, render_json, render_text
    from crawler.times import format_utc
    from storage.search import parse_query, search_articles

    if as_json and as_csv:
        raise click.UsageError("give at most one of --json and --csv")
    parsed = parse_query(query)
    if not parsed.required:
        raise click.UsageError(
            f"nothing to search for in {query!r}: give at least one word or phrase that "
            "must occur (-word only excludes)"
        )
    config = _config(ctx, sends=False)
    archive = _existing_archive(ctx, config)
    try:
        rows = search_articles(
            archive.db,
            query,
            limit=limit,
            since=format_utc(since) if since else None,
            sources=list(sources) or None,
        )
        results = present(rows, parsed)
        total = archive.count_articles() if not results else 0
    finally:
        archive.close()
    if as_json:
        click.echo(render_json(results))
    elif as_csv:
        click.echo(render_csv(results))
    elif results:
        click.echo(render_text(results))
    if not results:
        where = f"{total} archived article(s)" if total else "the archive, which is empty"
        click.echo(f"no articles match {query!r} in {where}", err=as_json or as_csv)
    elif len(results) == limit and not (as_json or as_csv):
        click.echo(f"\n(the first {limit}; --limit N for more)")


@cli.command()
@click.pass_context
def check(ctx: click.Context) -> None:
    """Validate the config and exit (0 valid, 2 invalid), reporting every missing
    environment variable and every bad key at once; warn when nothing will be crawled.

    Warns (on stderr, still exit 0) about secrets written as literals instead of
    ${ENV} references, and about such a file being readable by other users.

    Example: newswatch --config newswatch.toml check
    """
    from crawler.config import ConfigErrors, usage_warnings

    path = config_path_from(shared(ctx)["config"])
    try:
        config = load_config(path, all_errors=True)
    except ConfigErrors as exc:
        for error in exc.errors:
            click.echo(f"newswatch: config error: {error}", err=True)
        click.echo(f"{path}: {len(exc.errors)} error(s)", err=True)
        ctx.exit(EXIT_CONFIG)
    except ConfigError as exc:
        click.echo(f"newswatch: config error: {exc}", err=True)
        ctx.exit(EXIT_CONFIG)
    for warning in usage_warnings(config):
        click.echo(f"newswatch: warning: {config.path}: {warning}", err=True)
    for warning in config_warnings(config):
        click.echo(f"newswatch: warning: {warning}", err=True)
    counts = [
        f"{n} {word}{'' if n == 1 else 's'}"
        for n, word in (
            (len(config.sources), "source"),
            (len(config.rules), "rule"),
            (len(config.channels), "channel"),
        )
    ]
    click.echo(f"{config.path}: ok ({', '.join(counts)})")


@cli.command()
@click.option(
    "--role",
    type=click.Choice(["archive", "worker"]),
    default=None,
    help="With [cluster]: the node that owns the archive, or a crawl worker (default: "
    "everything in this one process).",
)
@click.pass_context
def run(ctx: click.Context, role: str | None) -> None:
    """Run as a daemon: check each source on its own interval or cron schedule, alert
    within seconds, keep source health; one process, one per archive.

    SIGTERM or Ctrl-C stops it (exit 0); SIGHUP reloads the config. A second daemon on
    the same archive exits 3 at once, naming the running one. With [cluster] in the
    config, --role archive is the one node that owns the archive and --role worker a crawl
    worker (any number, on any machine).

    Example: newswatch --config newswatch.toml --log-format json run
    """
    from crawler.daemon import Daemon
    from crawler.lock import AlreadyRunning, DaemonLock
    from crawler.runner import run_in_reactor
    from crawler.tls import TLSPolicies, warn_unverified

    config = _config(ctx)
    if role is not None and config.cluster is None:
        click.echo(
            f"newswatch: config error: {config.path}: cluster: --role {role} needs a "
            '[cluster] section (redis_url = "redis://127.0.0.1:6379/0")',
            err=True,
        )
        ctx.exit(EXIT_CONFIG)
    warn_unverified(TLSPolicies.from_config(config))
    if role is not None:
        from crawler.cluster.connection import display_url, unreachable

        assert config.cluster is not None
        problem = unreachable(config.cluster)
        if problem is not None:  # exit 1: a restart may find it (systemd, Docker)
            click.echo(
                f"newswatch: cannot reach Redis at {display_url(config.cluster)} "
                f"([cluster] redis_url in {config.path}): {problem}",
                err=True,
            )
            ctx.exit(1)
    elif config.cluster is not None:
        click.echo(
            f"newswatch: warning: {config.path} has [cluster], but this daemon runs alone "
            "(no --role): it crawls and stores by itself; run --role archive and "
            "--role worker to share the work",
            err=True,
        )
    if role == "worker":
        from crawler.cluster.worker import Worker

        worker = Worker(config, log_level=ctx.obj["log_level"], redactor=ctx.obj["redact"])
        ctx.exit(run_in_reactor(worker.run, stop_signals=False))
    try:
        lock = DaemonLock.acquire(config.archive_path, role=role or "daemon")
    except AlreadyRunning as exc:
        click.echo(f"newswatch: {exc}", err=True)
        ctx.exit(EXIT_RUNNING)
    try:
        if role == "archive":
            from crawler.cluster.archive import ArchiveDaemon

            daemon_class: type[Daemon] = ArchiveDaemon
        else:
            daemon_class = Daemon
        daemon = daemon_class(config, log_level=ctx.obj["log_level"], redactor=ctx.obj["redact"])
        code = run_in_reactor(daemon.run, stop_signals=False)
    finally:
        lock.release()
    ctx.exit(code)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object, for machines.")
@click.option(
    "--require-daemon",
    is_flag=True,
    help="Count a daemon that is not running as needing attention (container health checks).",
)
@click.pass_context
def status(ctx: click.Context, as_json: bool, require_daemon: bool) -> None:
    """Each source's health, last and next check; the alert backlog; the daemon.

    Exits 0 when all is healthy, 1 when something needs attention. Reads the archive, so
    it works while the daemon runs.

    Example: newswatch status --json
    """
    from crawler.status import collect_status, render_status

    config = _config(ctx, sends=False)
    report = collect_status(config, require_daemon=require_daemon)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2, default=str))
    else:
        click.echo(render_status(report))
    ctx.exit(EXIT_ATTENTION if report["attention"] else 0)


@cli.command()
@click.option(
    "--port",
    type=int,
    default=None,
    help="Port of the sample portal (default: the one the demo config names, else 8765).",
)
@click.option(
    "--directory",
    type=click.Path(file_okay=False),
    default=".",
    show_default=True,
    help="Where to write the config and the archive.",
)
@click.option(
    "--serve",
    is_flag=True,
    help="Keep the sample portal up after the report, until Ctrl-C, to try crawl and run.",
)
@click.pass_context
def demo(ctx: click.Context, port: int | None, directory: str, serve: bool) -> None:
    """Offline demo: serve a sample portal on 127.0.0.1, crawl it, show what was stored.

    Writes newswatch-demo.toml (never over a copy you edited) and newswatch-demo.db in
    the directory.

    Example: newswatch demo --serve
    """
    from crawler.demo.run import run_demo

    code = run_demo(Path(directory), port=port, serve=serve, log_level=ctx.obj["log_level"])
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
@click.option("--origin", default=None, help="The outlet the --text credits (for origins).")
@click.pass_context
def rules_test(
    ctx: click.Context,
    text: str | None,
    title: str,
    file_: str | None,
    url: str | None,
    origin: str | None,
) -> None:
    """Which rules fire on a text, file or URL, and why (JSON).

    Example: newswatch rules test --url https://example.com/news/1.html
    """
    from alerts.matching import RuleSet
    from crawler.text.page import process_page

    config = _config(ctx, sends=False)
    if sum(x is not None for x in (text, file_, url)) != 1:
        raise click.UsageError("give exactly one of --text, --file, --url")
    lang = source = None
    if text is None:
        if file_:
            body, content_type, page_url = Path(file_).read_bytes(), None, None
        else:
            body, content_type = _fetch(url or "")
            page_url = url
        page = process_page(
            body, url=page_url, content_type=content_type, catalogue=config.catalogue
        )
        title, text, lang, origin = page.title, page.text, page.lang, page.origin
    elif origin:
        origin = config.catalogue.outlet(origin) or origin
    scan = RuleSet(config.rules, config.catalogue).scan(
        title=title, text=text, source=source, lang=lang, origin=origin
    )
    click.echo(
        json.dumps(
            {
                "title": title,
                "lang": lang,
                "origin": origin,
                "entities": scan.entities,
                "fired": [m.to_dict() for m in scan.matches],
            },
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
@click.argument("rule", shell_complete=complete_rules)
@click.option(
    "--since", type=TimeParam(), default=None, help=f"Only articles fetched since: {SINCE_HELP}."
)
@click.pass_context
def rules_backtest(ctx: click.Context, rule: str, since: Any) -> None:
    """What RULE would have fired over the archive, one line per story, without sending.

    Example: newswatch rules backtest ascend --since 2026-01-01
    """
    from alerts.matching import RuleSet
    from crawler.times import format_utc

    config = _config(ctx, sends=False)
    chosen = [r for r in config.rules if r.name == rule]
    if not chosen:
        known = ", ".join(r.name for r in config.rules) or "none"
        raise click.BadParameter(f"no rule named {rule!r} (configured: {known})")
    ruleset = RuleSet(chosen, config.catalogue)
    archive = _existing_archive(ctx, config)
    seen: set[int] = set()
    read = 0
    try:
        for row in archive.articles_since(format_utc(since) if since else None):
            read += 1
            if row["story_id"] in seen:
                continue
            matches = ruleset.match(
                title=row["title"],
                text=row["text"],
                source=row["source"],
                lang=row["lang"],
                origin=row.get("origin"),
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
    after = f" fetched since {format_utc(since)}" if since else ""
    click.echo(f"{len(seen)} stories, of {read} article(s){after}", err=True)


@cli.command()
@click.argument("query", required=False)
@click.option("--kind", default=None, help="Only entities of this kind (company, product ...).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per entity.")
@click.pass_context
def entities(ctx: click.Context, query: str | None, kind: str | None, as_json: bool) -> None:
    """List the entity catalogue (with the config's [[entities]]), or the entries a name
    of which contains QUERY, in any language or script.

    Example: newswatch entities 昇腾
    """
    import os

    from crawler.config import ENV_CONFIG
    from crawler.text.entities import load_catalogue

    named = shared(ctx)["config"] or os.environ.get(ENV_CONFIG)
    # A config named on the line (or in the environment) must exist; with none named, the
    # built-in catalogue is listed unless ./newswatch.toml is there.
    use_config = bool(named) or config_path_from(None).exists()
    catalogue = _config(ctx, sends=False).catalogue if use_config else load_catalogue()
    found = [e for e in catalogue.search(query) if kind is None or e.kind == kind]
    for entity in found:
        if as_json:
            click.echo(json.dumps(entity.to_dict(), ensure_ascii=False))
            continue
        names = [
            *entity.zh_hans,
            *entity.zh_hant,
            *entity.en,
            *entity.abbr,
            *entity.codes,
            *(f"{a.text}?" for a in entity.ambiguous),
        ]
        names = list(dict.fromkeys(n for n in names if n != entity.name))
        click.echo(f"{entity.name:<36} {entity.kind:<10} {' / '.join(names)}")
    if not as_json:
        click.echo(f"{len(found)} of {len(catalogue)} entities", err=True)
    if query and not found:
        ctx.exit(1)


@cli.group(invoke_without_command=True)
@click.option(
    "--status",
    type=click.Choice(["pending", "sending", "sent", "failed", "dead"]),
    default=None,
    help="Only alerts with this status.",
)
@click.option("--limit", default=50, show_default=True, help="How many, newest first.")
@click.pass_context
def alerts(ctx: click.Context, status: str | None, limit: int) -> None:
    """The alert outbox: what was sent, what waits and when it is tried next, what
    failed and why.

    Example: newswatch alerts --status failed
    """
    if ctx.invoked_subcommand is not None:
        return
    from storage.outbox import list_alerts

    config = _config(ctx, sends=False)
    archive = _existing_archive(ctx, config)
    try:
        rows = list_alerts(archive.db, status=status, limit=limit)
    finally:
        archive.close()
    if not rows:
        what = f"no {status} alerts" if status else "no alerts"
        why = ""
        if not config.rules:
            why = f" ({config.path} has no [[rules]])"
        elif not config.channels:
            why = f" ({config.path} has no [[channels]]: rules match, but nothing is queued)"
        click.echo(f"{what} in the outbox of {config.archive_path}{why}")
        return
    from crawler.outbox_view import render_alerts

    click.echo(ctx.obj["redact"].redactor(render_alerts(rows)))
    if len(rows) == limit:
        click.echo(f"(the newest {limit}; --limit N for more)")


@alerts.command("retry")
@click.argument("alert_id", required=False, type=int)
@click.pass_context
def alerts_retry(ctx: click.Context, alert_id: int | None) -> None:
    """Queue failed and dead alerts (or the one given) again, then deliver.

    Example: newswatch alerts retry 42
    """
    from storage import utc_now
    from storage.outbox import retry_alerts

    config = _config(ctx)
    archive = _existing_archive(ctx, config)
    try:
        count = retry_alerts(archive.db, alert_id=alert_id, now=utc_now())
    finally:
        archive.close()
    click.echo(f"{count} alert(s) queued again")
    _deliver(config)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8001, show_default=True, help="Port to listen on (0: any free).")
@click.option("--open", "open_browser", is_flag=True, help="Open it in a web browser.")
@click.option(
    "--public",
    is_flag=True,
    help="Allow a --host other machines can reach without [serve] password_hash.",
)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, open_browser: bool, public: bool) -> None:
    """Browse and search the archive in datasette, read-only (safe beside the daemon).

    Example: newswatch serve --open
    """
    from crawler.serve import serve_archive

    config = _config(ctx, sends=False)
    ctx.exit(
        serve_archive(
            config,
            host=host,
            port=port,
            open_browser=open_browser,
            public=public,
            log_level=ctx.obj["log_level"],
        )
    )


def main() -> None:
    try:
        cli(prog_name="newswatch")
    finally:
        # Whatever the command leaves is the exit's to free: a last collection of a
        # crawl's objects at interpreter shutdown costs a quarter of a second and frees
        # nothing the operating system does not (what holds a resource was closed).
        gc.freeze()


if __name__ == "__main__":
    main()
