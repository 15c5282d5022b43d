"""What ``newswatch crawl`` prints under its table for the sources that failed: one line
each, saying why and where (a refused connection, a DNS failure, a TLS error, an HTTP
status...), read from the archive's fetch records of the pass; never a traceback."""

from __future__ import annotations

from typing import Any

from crawler.config import Config

__all__ = ["failure_lines"]


def failure_lines(result: Any, config: Config) -> list[str]:
    """One line per source that failed or had failures: why (a refused connection, a
    DNS failure, a TLS error, an HTTP status...) and where, never a traceback."""
    from storage import Archive
    from storage.summaries import fetch_failures

    checks = [
        c for c in sorted(result.results, key=lambda c: c.source) if c.failed or c.counts["errors"]
    ]
    if not checks or not config.archive_path.exists():
        return []
    lines = []
    archive = Archive.open(config.archive_path)
    try:
        for check in checks:
            failures = fetch_failures(archive.db, check.source, since=check.started_at)
            articles = [f for f in failures if f["kind"] == "article"]
            more = f"; {len(articles)} article(s) failed too" if articles else ""
            if check.failed and check.health is not None and check.health.last_error:
                lines.append(f"  {check.source} failed: {check.health.last_error}{more}")
            elif articles:
                last = articles[0]
                why = last["last_error"] or f"HTTP {last['last_status']}"
                lines.append(
                    f"  {check.source}: {len(articles)} article(s) failed, "
                    f"last {last['url']}: {why}"
                )
            else:
                kinds = sorted(
                    key.removeprefix("newswatch/errors/")
                    for key in check.stats
                    if key.startswith("newswatch/errors/")
                )
                lines.append(
                    f"  {check.source}: {check.counts['errors']} error(s): "
                    + (", ".join(kinds) or check.finish_reason)
                )
    finally:
        archive.close()
    return lines
