"""Send what the outbox holds: immediate alerts as soon as they are committed, digests when
their period is up, and source-health alarms.

:func:`deliver_due` is one delivery round: it claims each due row atomically
(:func:`storage.outbox.claim`, a lease per send, so two deliverers never send one alert),
sends it through its channel and settles it. A :class:`Deliverer` runs one
:class:`ChannelWorker` thread per channel, each with its own connection, so a slow SMTP
server never holds up Slack; a worker sleeps until the next retry or lease is due, or
until :meth:`Deliverer.wake` says an article's transaction queued alerts (no polling
delay). The daemon keeps the workers running; ``newswatch crawl`` and ``alerts retry``
run them until nothing is due within ``[delivery] budget``.

Retries: the first ``fast_retries`` (3) come after 1 s, 2 s and 4 s, then the delay is
``base_backoff`` (30 s) doubling up to ``max_backoff`` (1 h); a 429's ``Retry-After`` wins;
after ``max_attempts`` (12) an alert is ``dead``, as is one the service refuses for good.
Each channel's pace is kept (Slack about one message a second per webhook: the worker
waits rather than bursting into 429s).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alerts.channels import Channel, DeliveryError, Permanent, Transient, build_channel
from crawler.config import ChannelConfig, Config, parse_duration
from crawler.redact import Redactor, secret_fields, url_secrets
from storage import Archive
from storage.outbox import (
    claim,
    claimers,
    digest_rules,
    last_digest,
    next_due,
    record_digest,
    release_claims,
    settle,
)

__all__ = [
    "ChannelWorker",
    "Deliverer",
    "DeliveryReport",
    "Pacer",
    "backoff",
    "claimer_id",
    "deliver_due",
]

LOGGER = logging.getLogger(__name__)

HEALTH_RULE = "source health"  # what alarm messages show as their rule
MAX_WAIT = 30.0  # a worker looks at the outbox at least this often (other processes' rows)


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0  # failed attempts (each retried later, or dead once out of attempts)
    dead: int = 0
    deferred: int = 0
    waiting: int = 0  # after the last round: alerts still waiting to be sent
    errors: list[str] = field(default_factory=list)

    def add(self, other: DeliveryReport) -> None:
        """Count ``other``'s round in; what waits is ``other``'s, the later count."""
        self.sent += other.sent
        self.failed += other.failed
        self.dead += other.dead
        self.deferred += other.deferred
        self.waiting = other.waiting
        self.errors.extend(other.errors)


def _iso(moment: datetime) -> str:
    """Outbox times to the millisecond (``2026-05-14T08:00:01.250Z``), so a retry after 1 s
    is due after 1 s, not up to 2. Every delivery time is written and compared in this one
    form: ISO strings of one precision sort as the moments they name."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def backoff(
    attempts: int,
    retry_after: float | None = None,
    *,
    base: float = 30.0,
    ceiling: float = 3600.0,
    fast: int = 3,
) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones: 1, 2, 4 s for the
    first ``fast`` retries, then ``base`` doubling up to ``ceiling``; ``retry_after`` (the
    service's own request) wins."""
    if retry_after is not None:
        return max(retry_after, 1.0)
    if attempts <= fast:
        return float(2 ** max(0, attempts - 1))
    return float(min(ceiling, base * 2 ** max(0, attempts - fast - 1)))


def claimer_id() -> str:
    """Who claims rows: host, process id and a token unique to this process."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _gone(claimer: str) -> bool:
    """A claimer on this host whose process no longer exists."""
    host, _, rest = claimer.partition(":")
    pid_text = rest.split(":", 1)[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _redactor(config: ChannelConfig | None) -> Redactor:
    """Hides the channel's own secrets (webhook URL and its path, password, token) in an
    error a service's reply may echo: the error is logged and stored in the outbox."""
    values: set[str] = set()
    if config is not None:
        for field in secret_fields(config.model_dump(mode="python")):
            values.add(field.value)
            if "://" in field.value:
                values |= url_secrets(field.value)
    return Redactor(values)


class Pacer:
    """Keeps a channel's pace: ``min_interval`` seconds between messages and at most
    ``per_minute`` in any minute."""

    def __init__(self, min_interval: float = 0.0, per_minute: int | None = None) -> None:
        self.min_interval = min_interval
        self.per_minute = per_minute
        self.recent: deque[float] = deque(maxlen=max(1, per_minute or 1))

    def delay(self) -> float:
        now = time.monotonic()
        wait = 0.0
        if self.recent:
            wait = max(wait, self.recent[-1] + self.min_interval - now)
        if self.per_minute and len(self.recent) >= self.per_minute:
            wait = max(wait, self.recent[0] + 60.0 - now)
        return max(0.0, wait)

    def sent(self) -> None:
        self.recent.append(time.monotonic())


Clock = Callable[[], datetime]


def deliver_due(
    archive: Archive,
    config: Config,
    *,
    budget: float | None = None,
    now: datetime | None = None,
    channels: list[str] | None = None,
    claimer: str | None = None,
    pacers: dict[str, Pacer] | None = None,
    senders: dict[str, Channel] | None = None,
    stop: threading.Event | None = None,
) -> DeliveryReport:
    """One delivery round over ``channels`` (default: every channel with rows waiting):
    claim, send and settle each due alert, alarm and digest. No new send starts after
    ``budget`` seconds or once ``stop`` is set; what is left counts as deferred. ``now``
    fixes the clock (tests)."""
    report = DeliveryReport()
    started = time.monotonic()
    settings = config.delivery
    if budget is None:
        budget = parse_duration(settings.budget).total_seconds()
    base = parse_duration(settings.base_backoff).total_seconds()
    ceiling = parse_duration(settings.max_backoff).total_seconds()
    clock: Clock = (lambda: now) if now is not None else (lambda: datetime.now(UTC))
    claimer = claimer or claimer_id()
    pacers = pacers if pacers is not None else {}
    senders = senders if senders is not None else {}
    configured = {c.name: c for c in config.channels}
    rules = {r.name: r for r in config.rules}
    db = archive.db

    gone = [c for c in claimers(db) if _gone(c)]
    if gone:
        count = release_claims(db, gone)
        LOGGER.warning("%d alert(s) left mid-send by a stopped process are due again", count)

    def out_of_time() -> bool:
        return time.monotonic() - started > budget or (stop is not None and stop.is_set())

    def sender(name: str) -> Channel | None:
        channel_config = configured.get(name)
        if channel_config is None:
            return None
        held = senders.get(name)
        # a cached sender is rebuilt when its channel's config changed (a reload)
        if held is None or getattr(held, "config", channel_config) != channel_config:
            senders[name] = build_channel(channel_config)
        return senders[name]

    def lease(name: str) -> str:
        timeout = float(getattr(configured.get(name), "timeout", 10.0))
        return _iso(clock() + timedelta(seconds=max(60.0, 2 * timeout + 10)))

    def send(table: str, name: str, rule: str, rows: list[dict[str, Any]]) -> bool:
        """Send ``rows`` as one message on channel ``name``; settle; True when delivered."""
        ids = [row["id"] for row in rows]
        what = "alarm" if table == "alarms" else "digest" if len(rows) > 1 else "alert"
        channel = sender(name)
        if channel is None:
            reason = f"channel {name!r} is no longer configured"
            settle(db, ids, table=table, claimer=claimer, status="dead", now=_iso(clock()),
                   error=reason)  # fmt: skip
            report.dead += len(ids)
            LOGGER.error("%s %s → %s is dead: %s", what, rule, name, reason)
            return False
        pacer = pacers.setdefault(name, Pacer(channel.min_interval, channel.per_minute))
        wait = pacer.delay()
        if wait:
            time.sleep(wait)
        sent_at = time.monotonic()
        redact = _redactor(configured.get(name))
        try:
            channel.send(rule, rows)
        except Permanent as raw:
            refused = Permanent(redact(str(raw)))
            pacer.sent()
            settle(db, ids, table=table, claimer=claimer, status="dead", now=_iso(clock()),
                   error=str(refused))  # fmt: skip
            report.dead += len(ids)
            report.errors.append(str(refused))
            LOGGER.error(
                "%s %s → %s is dead (the service refused it): %s", what, rule, name, refused
            )
            return False
        except (Transient, DeliveryError, OSError) as raw:
            pacer.sent()
            exc = DeliveryError(redact(str(raw)))
            attempts = max(int(row["attempts"] or 0) for row in rows) + 1
            retry_after = getattr(raw, "retry_after", None)
            if attempts >= settings.max_attempts:
                settle(db, ids, table=table, claimer=claimer, status="dead", now=_iso(clock()),
                       error=f"gave up after {attempts} attempts: {exc}")  # fmt: skip
                report.dead += len(ids)
                LOGGER.error("%s %s → %s gave up after %d attempts: %s",
                             what, rule, name, attempts, exc)  # fmt: skip
            else:
                delay = backoff(
                    attempts, retry_after, base=base, ceiling=ceiling, fast=settings.fast_retries
                )
                when = clock() + timedelta(seconds=delay)
                settle(db, ids, table=table, claimer=claimer, status="failed", now=_iso(clock()),
                       error=str(exc), next_attempt_at=_iso(when))  # fmt: skip
                report.failed += len(ids)
                LOGGER.warning("%s %s → %s failed (attempt %d, next in %.0f s): %s",
                               what, rule, name, attempts, delay, exc)  # fmt: skip
            report.errors.append(str(exc))
            return False
        pacer.sent()
        settled = settle(db, ids, table=table, claimer=claimer, status="sent", now=_iso(clock()))
        if settled < len(ids):
            LOGGER.warning("%s %s → %s was sent after its claim ran out", what, rule, name)
        report.sent += len(ids)
        title = rows[0].get("title") or rows[0].get("message") or ""
        LOGGER.info("%s %s → %s sent in %.1f s: %s%s", what, rule, name,
                    time.monotonic() - sent_at, title[:80],
                    f" (+{len(rows) - 1} more)" if len(rows) > 1 else "")  # fmt: skip
        return True

    names = channels if channels is not None else _waiting_channels(db)
    for name in names:
        for table in ("alerts", "alarms"):
            while not out_of_time():
                rows = claim(db, table=table, channel=name, now=_iso(clock()),
                             lease_until=lease(name), claimer=claimer)  # fmt: skip
                if not rows:
                    break
                if table == "alarms":
                    send(table, name, HEALTH_RULE, [_alarm_row(rows[0])])
                else:
                    send(table, name, rows[0]["rule"], rows)
        for rule_name in digest_rules(db, name):
            if out_of_time():
                break
            rule = rules.get(rule_name)
            period = parse_duration(rule.period) if rule and rule.period else None
            last = last_digest(db, rule_name, name)
            if period is not None and last is not None and _parse(last) + period > clock():
                continue
            rows = claim(db, channel=name, now=_iso(clock()), lease_until=lease(name),
                         claimer=claimer, rule=rule_name, digest=True, limit=1000)  # fmt: skip
            if rows and send("alerts", name, rule_name, rows):
                record_digest(db, rule_name, name, now=_iso(clock()))
    if out_of_time():
        report.deferred = _due_count(db, names, _iso(clock()))
    return report


def _waiting_channels(db: Any) -> list[str]:
    return [
        row[0]
        for row in db.execute(
            "SELECT channel FROM alerts WHERE status IN ('pending', 'failed', 'sending') "
            "UNION SELECT channel FROM alarms WHERE status IN ('pending', 'failed', 'sending')"
        ).fetchall()
    ]


def _due_count(db: Any, names: list[str], now: str) -> int:
    if not names:
        return 0
    marks = ",".join("?" * len(names))
    return int(
        db.execute(
            f"SELECT count(*) FROM alerts WHERE channel IN ({marks}) "
            "AND status IN ('pending', 'failed') AND (next_attempt_at IS NULL "
            "OR next_attempt_at <= ?)",
            [*names, now],
        ).fetchone()[0]
    )


def _alarm_row(alarm: dict[str, Any]) -> dict[str, Any]:
    """An alarm shaped like an alert row, so every channel renders it."""
    return {
        **alarm,
        "title": alarm["message"],
        "url": None,
        "terms": json.dumps([alarm["kind"], alarm["event"]]),
        "snippet": alarm["message"],
        "published_at": alarm["created_at"],
    }


class ChannelWorker(threading.Thread):
    """Delivers one channel's rows, round after round, until told to stop."""

    def __init__(self, deliverer: Deliverer, channel: str) -> None:
        super().__init__(name=f"newswatch-deliver-{channel}", daemon=True)
        self.deliverer = deliverer
        self.channel = channel
        self.wakeup = threading.Event()
        self.stopping = threading.Event()
        self.report = DeliveryReport()
        self.until: float | None = None  # monotonic deadline: stop once idle past it
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            archive = Archive.open(self.deliverer.path, migrate=False)
        except BaseException as exc:  # reported by whoever waits for the worker
            self.failure = exc
            LOGGER.error("delivery to %s cannot open the archive: %s", self.channel, exc)
            return
        pacers: dict[str, Pacer] = {}
        senders: dict[str, Channel] = {}
        try:
            while True:
                self.wakeup.clear()
                remaining = None if self.until is None else self.until - time.monotonic()
                round_report = deliver_due(
                    archive,
                    self.deliverer.config,
                    budget=float("inf") if remaining is None else max(0.0, remaining),
                    channels=[self.channel],
                    claimer=self.deliverer.claimer,
                    pacers=pacers,
                    senders=senders,
                    stop=self.stopping if self.until is None else None,
                )
                self.report.add(round_report)
                if self.stopping.is_set():
                    break
                wait = self._wait(archive)
                if self.until is not None:
                    left = self.until - time.monotonic()
                    if wait is None or wait > left:
                        self.report.deferred = round_report.deferred
                        break
                self.wakeup.wait(MAX_WAIT if wait is None else min(wait, MAX_WAIT))
        except BaseException as exc:
            self.failure = exc
            LOGGER.exception("delivery to %s stopped: %s", self.channel, exc)
        finally:
            archive.close()

    def _wait(self, archive: Archive) -> float | None:
        """Seconds until something of this channel is due (None: nothing waits)."""
        due = next_due(archive.db, self.channel)
        moments = [] if due is None else [_parse(due)]
        config = self.deliverer.config
        for rule_name in digest_rules(archive.db, self.channel):
            rule = next((r for r in config.rules if r.name == rule_name), None)
            last = last_digest(archive.db, rule_name, self.channel)
            if rule is None or not rule.period or last is None:
                moments.append(datetime.now(UTC))
            else:
                moments.append(_parse(last) + parse_duration(rule.period))
        if not moments:
            return None
        return max(0.0, (min(moments) - datetime.now(UTC)).total_seconds())


class Deliverer:
    """The channel workers of one process (see the module doc)."""

    def __init__(self, config: Config, *, claimer: str | None = None) -> None:
        self.config = config
        self.path = Path(config.archive_path)
        self.claimer = claimer or claimer_id()
        self.workers: dict[str, ChannelWorker] = {}
        self.lock = threading.Lock()

    def start(self) -> None:
        """Start a worker per channel (and one round for rows of channels no longer
        configured, which then become dead letters)."""
        with self.lock:
            for channel in self.config.channels:
                if channel.name not in self.workers:
                    worker = ChannelWorker(self, channel.name)
                    self.workers[channel.name] = worker
                    worker.start()
        self._orphans()

    def _orphans(self) -> None:
        archive = Archive.open(self.path, migrate=False)
        try:
            known = {c.name for c in self.config.channels}
            orphans = [c for c in _waiting_channels(archive.db) if c not in known]
            if orphans:
                deliver_due(archive, self.config, channels=orphans, claimer=self.claimer)
        finally:
            archive.close()

    def wake(self) -> None:
        """Something was queued: every worker looks at the outbox now."""
        for worker in list(self.workers.values()):
            worker.wakeup.set()

    def reload(self, config: Config) -> None:
        """Follow a new config: workers for removed or changed channels stop, new ones start."""
        old = {c.name: c for c in self.config.channels}
        new = {c.name: c for c in config.channels}
        self.config = config
        with self.lock:
            for name, worker in list(self.workers.items()):
                if name not in new or new[name] != old.get(name):
                    worker.stopping.set()
                    worker.wakeup.set()
                    worker.join(30)
                    del self.workers[name]
        self.start()

    def finish(self, budget: float) -> DeliveryReport:
        """Deliver until nothing is due within ``budget`` seconds (fast retries included),
        then stop the workers; returns what they did."""
        self.start()
        deadline = time.monotonic() + budget
        with self.lock:
            workers = list(self.workers.values())
        for worker in workers:
            worker.until = deadline
            worker.wakeup.set()
        report = DeliveryReport()
        for worker in workers:
            worker.join(max(1.0, deadline - time.monotonic()) + 60)
            report.add(worker.report)
        with self.lock:
            self.workers.clear()
        report.waiting = self._waiting()
        return report

    def _waiting(self) -> int:
        archive = Archive.open(self.path, migrate=False)
        try:
            return int(
                archive.db.execute(
                    "SELECT count(*) FROM alerts WHERE status IN ('pending', 'failed', 'sending')"
                ).fetchone()[0]
            )
        finally:
            archive.close()

    def stop(self, timeout: float = 10.0) -> DeliveryReport:
        """Finish the sends under way (new ones: until ``timeout``), then stop."""
        with self.lock:
            workers = list(self.workers.values())
            self.workers.clear()
        deadline = time.monotonic() + timeout
        for worker in workers:
            worker.until = deadline
            worker.wakeup.set()
        report = DeliveryReport()
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()) + 15)
            report.add(worker.report)
        report.waiting = self._waiting()
        return report
