"""``newswatch status``: what the daemon and the sources are doing, read from the archive.

Opens the archive read-only (it works while the daemon writes, and never creates or
migrates a file). Something *needs attention* when a source is failing, silent or
degraded, or has not been checked although the daemon has run long enough; when the
daemon died without stopping, stopped heart-beating, or (``--require-daemon``) is not
running; when an alert has waited more than 15 minutes, or one became a dead letter in the
last day.
"""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from crawler.config import Config
from crawler.lock import read_holder
from storage.clock import utc_stamp

__all__ = ["collect_status", "render_status"]

STALE_HEARTBEAT = 120.0  # seconds
WAITING_TOO_LONG = 900.0  # seconds an alert may wait before it needs attention


def _time(stamp: str | None) -> datetime | None:
    if not stamp:
        return None
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _rows(conn: sqlite3.Connection, sql: str, params: list[Any] | None = None) -> list[dict]:  # type: ignore[type-arg]
    try:
        cursor = conn.execute(sql, params or [])
    except sqlite3.OperationalError:  # an archive from before the table existed
        return []
    columns = [c[0] for c in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def collect_status(
    config: Config, *, require_daemon: bool = False, now: datetime | None = None
) -> dict[str, Any]:
    """Everything ``status`` shows, as plain data (``--json`` prints it as it is)."""
    now = now or datetime.now(UTC)
    path = Path(config.archive_path)
    attention: list[str] = []
    report: dict[str, Any] = {
        "config": config.path,
        "archive": str(path),
        "checked_at": utc_stamp(now),
        "archive_exists": path.exists(),
    }
    holder = read_holder(path)
    health: dict[str, dict[str, Any]] = {}
    last_runs: dict[str, dict[str, Any]] = {}
    daemon_row: dict[str, Any] | None = None
    alerts: dict[str, Any] = {"pending": 0, "sending": 0, "failed": 0, "dead": 0, "sent": 0}
    dead_recent = 0
    if path.exists():
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            health = {r["source"]: r for r in _rows(conn, "SELECT * FROM source_health")}
            for row in _rows(
                conn,
                "SELECT source, started_at, finished_at, new_articles, unchanged, not_modified, "
                "errors, duration, finish_reason FROM crawl_runs WHERE id IN "
                "(SELECT max(id) FROM crawl_runs GROUP BY source)",
            ):
                last_runs[row["source"]] = row
            daemon_row = next(iter(_rows(conn, "SELECT * FROM daemon WHERE id = 1")), None)
            for row in _rows(conn, "SELECT status, count(*) AS n FROM alerts GROUP BY status"):
                alerts[row["status"]] = row["n"]
            waiting = _rows(
                conn,
                "SELECT min(created_at) AS oldest FROM alerts "
                "WHERE status IN ('pending', 'failed', 'sending')",
            )
            alerts["oldest_waiting"] = waiting[0]["oldest"] if waiting else None
            day_ago = (now - timedelta(days=1)).isoformat(timespec="seconds")
            recent = _rows(
                conn,
                "SELECT count(*) AS n FROM alerts WHERE status = 'dead' AND created_at >= ?",
                [day_ago.replace("+00:00", "Z")],
            )
            dead_recent = recent[0]["n"] if recent else 0
        finally:
            conn.close()

    # -- the daemon
    daemon: dict[str, Any] = {"running": holder is not None}
    if daemon_row:
        daemon.update(
            pid=daemon_row.get("pid"),
            host=daemon_row.get("host"),
            since=daemon_row.get("started_at"),
            heartbeat_at=daemon_row.get("heartbeat_at"),
            stopped_at=daemon_row.get("stopped_at"),
        )
    if holder is not None:
        daemon["pid"] = holder.get("pid", daemon.get("pid"))
        daemon["since"] = holder.get("since", daemon.get("since"))
        beat = _time(daemon.get("heartbeat_at"))
        if beat is not None:
            age = (now - beat).total_seconds()
            daemon["heartbeat_age"] = round(age, 1)
            if age > STALE_HEARTBEAT:
                attention.append(
                    f"the daemon (PID {daemon.get('pid')}) has not written a heartbeat "
                    f"for {age:.0f} s"
                )
    elif daemon_row and not daemon_row.get("stopped_at"):
        attention.append(
            f"the daemon (PID {daemon_row.get('pid')}) stopped without shutting down "
            f"(last heartbeat {daemon_row.get('heartbeat_at')})"
        )
    elif require_daemon:
        attention.append("no daemon is running on this archive")
    report["daemon"] = daemon
    uptime = None
    if holder is not None and _time(daemon.get("since")):
        uptime = (now - _time(daemon.get("since"))).total_seconds()  # type: ignore[operator]

    # -- the sources
    sources = []
    for source in config.sources:
        state = health.get(source.name, {})
        run = last_runs.get(source.name, {})
        entry = {
            "name": source.name,
            "enabled": source.enabled,
            "schedule": f"cron {source.cron}"
            if source.cron
            else f"every {source.interval or '1h'}",
            "state": state.get("state", "unknown") if source.enabled else "disabled",
            "last_check_at": state.get("last_check_at") or run.get("finished_at"),
            "last_success_at": state.get("last_success_at"),
            "consecutive_failures": state.get("consecutive_failures", 0),
            "last_error": state.get("last_error"),
            "next_check_at": state.get("next_check_at") if holder is not None else None,
            "articles_today": state.get("articles_today"),
            "articles_per_day": state.get("articles_per_day"),
            "empty_share": state.get("empty_share"),
            "repaired_share": state.get("repaired_share"),
            "alarms": [a for a in (state.get("alarm") or "").split(",") if a],
            "last_check": {
                "new": run.get("new_articles"),
                "unchanged": (run.get("unchanged") or 0) + (run.get("not_modified") or 0)
                if run
                else None,
                "errors": run.get("errors"),
                "seconds": run.get("duration"),
                "finish_reason": run.get("finish_reason"),
            },
        }
        sources.append(entry)
        if not source.enabled:
            continue
        if entry["state"] in ("failing", "silent", "degraded"):
            detail = entry["last_error"] if entry["state"] == "failing" else None
            attention.append(
                f"source {source.name} is {entry['state']}" + (f": {detail}" if detail else "")
            )
        elif (
            uptime is not None
            and not entry["last_check_at"]
            and uptime > source.timeout_seconds + source.jitter_seconds + 60
            and not source.cron
            and uptime > source.every.total_seconds() + source.jitter_seconds + 60
        ):
            attention.append(f"source {source.name} has not been checked yet")
    report["sources"] = sources

    # -- the outbox
    oldest = _time(alerts.get("oldest_waiting"))
    if oldest is not None:
        alerts["oldest_waiting_seconds"] = round((now - oldest).total_seconds())
        if alerts["oldest_waiting_seconds"] > WAITING_TOO_LONG:
            attention.append(
                f"an alert has waited {alerts['oldest_waiting_seconds'] // 60} min to be sent"
            )
    alerts["dead_last_day"] = dead_recent
    if dead_recent:
        attention.append(
            f"{dead_recent} alert(s) could not be delivered in the last day "
            "(newswatch alerts --status dead)"
        )
    report["alerts"] = alerts
    if config.cluster is not None:
        # (whether an archive node runs is known where the archive is: its lock)
        archive_down = report["archive_exists"] and not daemon["running"]
        report["cluster"] = _cluster(config, now, attention, daemon_row, archive_down)
    report["attention"] = attention
    report["healthy"] = not attention
    return report


def _cluster(
    config: Config,
    now: datetime,
    attention: list[str],
    daemon_row: dict[str, Any] | None,
    archive_down: bool,
) -> dict[str, Any]:
    """The workers (last heartbeat, pages per minute, errors), the queues' depths and what
    waits for the archive node, read from Redis; what waits while the archive here has no
    node running on it needs attention (the workers' articles are not stored meanwhile).
    A heartbeat's age is read on Redis' clock, which dates the heartbeats: a machine whose
    clock is off makes no worker look dead, nor a dead one alive."""
    import redis

    from crawler.cluster import wire
    from crawler.cluster.connection import server_time, sync_client
    from crawler.cluster.keys import ARCHIVE_GROUP, WORKER_GROUP, Keys

    cluster = config.cluster
    assert cluster is not None
    keys = Keys(cluster.key_prefix)
    client: Any = sync_client(cluster)
    client.connection_pool.connection_kwargs.update(socket_timeout=5, socket_connect_timeout=5)
    out: dict[str, Any] = {"redis": "ok", "workers": [], "queues": {}}
    try:
        with contextlib.suppress(redis.ResponseError):  # TIME refused: this machine's clock
            now = server_time(client.time())
        for raw, value in sorted(client.hgetall(keys.workers).items()):
            beat = wire.loads(value)
            worker = wire.text(raw)
            at = _time(beat.get("heartbeat_at"))
            age = (now - at).total_seconds() if at else None
            entry = {"id": worker, **beat, "heartbeat_age": None if age is None else round(age)}
            out["workers"].append(entry)
            if age is None:
                attention.append(f"worker {worker}'s heartbeat carries no time")
            elif age > cluster.worker_timeout_seconds:
                attention.append(f"worker {worker} has not heart-beaten for {age:.0f} s")
        for source in config.sources:
            if not source.enabled:
                continue
            stream = keys.requests(source.name)
            waiting = int(client.xlen(stream))
            in_flight = _group_pending(client, stream, WORKER_GROUP)
            out["queues"][source.name] = {"waiting": waiting - in_flight, "in_flight": in_flight}
        backlog = int(client.xlen(keys.events))
        out["events_backlog"] = backlog
        out["events_in_progress"] = _group_pending(client, keys.events, ARCHIVE_GROUP)
        if backlog and archive_down:
            attention.append(f"{backlog} event(s) wait for the archive node, which is not running")
        role = (daemon_row or {}).get("role")
        if role == "archive" and not (daemon_row or {}).get("stopped_at") and not out["workers"]:
            attention.append("the archive node runs, but no worker is heart-beating")
    except Exception as exc:  # Redis away: that is what status should say
        out["redis"] = f"unreachable: {exc}"
        attention.append(f"Redis at [cluster] redis_url does not answer ({exc})")
    finally:
        client.close()
    return out


def _group_pending(client: Any, stream: str, group: str) -> int:
    from crawler.cluster import wire

    try:
        groups = client.xinfo_groups(stream)
    except Exception:
        return 0
    for info in groups:
        name = info.get("name")
        if wire.text(name) == group:
            return int(info.get("pending") or 0)
    return 0


def _ago(stamp: str | None, now: datetime) -> str:
    moment = _time(stamp)
    if moment is None:
        return "never"
    seconds = (now - moment).total_seconds()
    if seconds < 0:
        return f"in {_span(-seconds)}"
    return f"{_span(seconds)} ago"


def _next(stamp: str | None, now: datetime) -> str:
    """When a source is checked next: ``in 3 min``; ``now`` once that time has come (its
    check is running, or about to: the next time is written when it ends); ``overdue 2 h``
    when it passed long ago (no daemon checks it)."""
    moment = _time(stamp)
    if moment is None:
        return "-"
    if moment > now:
        return _ago(stamp, now)
    late = (now - moment).total_seconds()
    return "now" if late <= _DUE_NOW else f"overdue {_span(late)}"


_DUE_NOW = 300.0  # seconds past its time that a check counts as running now


def _span(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def render_status(report: dict[str, Any]) -> str:
    now = _time(report["checked_at"]) or datetime.now(UTC)
    lines = []
    daemon = report["daemon"]
    if daemon["running"]:
        beat = daemon.get("heartbeat_at")
        lines.append(
            f"daemon: running, PID {daemon.get('pid')} since {daemon.get('since')} "
            f"(heartbeat {_ago(beat, now)})"
        )
    elif daemon.get("stopped_at"):
        lines.append(f"daemon: not running (stopped {_ago(daemon['stopped_at'], now)})")
    else:
        lines.append("daemon: not running")
    if not report.get("archive_exists", True):
        lines.append(f"archive: no archive yet at {report['archive']} (crawl or run creates it)")
    lines.append("")
    lines.append(
        f"{'source':<24} {'state':<9} {'last check':<12} {'new':>4} {'unch':>5} {'err':>4} "
        f"{'secs':>6}  {'next check':<12} {'today':>5} {'/day':>6}"
    )
    for s in report["sources"]:
        last = s["last_check"]
        seconds = f"{last['seconds']:.2f}" if last.get("seconds") is not None else "-"
        lines.append(
            f"{s['name']:<24} {s['state']:<9} {_ago(s['last_check_at'], now):<12} "
            f"{last['new'] if last['new'] is not None else '-':>4} "
            f"{last['unchanged'] if last['unchanged'] is not None else '-':>5} "
            f"{last['errors'] if last['errors'] is not None else '-':>4} {seconds:>6}  "
            f"{_next(s['next_check_at'], now):<12} "
            f"{s['articles_today'] if s['articles_today'] is not None else '-':>5} "
            f"{s['articles_per_day'] if s['articles_per_day'] is not None else '-':>6}"
        )
    a = report["alerts"]
    waiting = (
        f"; oldest waiting {_span(a['oldest_waiting_seconds'])}"
        if a.get("oldest_waiting_seconds") is not None
        else ""
    )
    lines.append("")
    lines.append(
        f"alerts: {a.get('pending', 0)} pending, {a.get('sending', 0)} sending, "
        f"{a.get('failed', 0)} to retry, {a.get('dead', 0)} dead, {a.get('sent', 0)} sent" + waiting
    )
    cluster = report.get("cluster")
    if cluster is not None:
        lines.append("")
        lines.append(f"cluster: Redis {cluster['redis']}")
        for worker in cluster.get("workers", []):
            lines.append(
                f"  worker {worker['id']:<28} heartbeat {worker.get('heartbeat_age')} s ago, "
                f"{worker.get('pages_per_minute', 0)} pages/min, {worker.get('done', 0)} done, "
                f"{worker.get('errors', 0)} errors, {worker.get('in_flight', 0)} in flight"
                + (f", {kept} waiting for their host" if (kept := worker.get("waiting_for_host"))
                   else "")
            )  # fmt: skip
        queues = cluster.get("queues", {})
        if queues and not any(q["waiting"] or q["in_flight"] for q in queues.values()):
            lines.append(f"  queues: {len(queues)}, all empty")
        for name, queue in queues.items():
            if queue["waiting"] or queue["in_flight"]:
                # held: taken by a worker, in flight or waiting there for its host
                lines.append(
                    f"  queue {name:<29} {queue['waiting']} waiting, "
                    f"{queue['in_flight']} held by workers"
                )
        if "events_backlog" in cluster:
            lines.append(f"  events for the archive node: {cluster['events_backlog']} waiting")
    if report["attention"]:
        lines.append("")
        lines.append("needs attention:")
        lines.extend(f"  - {reason}" for reason in report["attention"])
    else:
        lines.append("all healthy")
    return "\n".join(lines)
