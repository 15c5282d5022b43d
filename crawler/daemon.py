"""``newswatch run``: one long-lived process that checks every source on its own schedule.

One Twisted reactor (asyncio) for the process's whole life. Each enabled source has a
Scrapy crawler kept open between checks (:class:`crawler.runner.SourceCrawler`) and a job
in APScheduler 3's :class:`~apscheduler.schedulers.asyncio.AsyncIOScheduler` on its
``interval`` or ``cron``, with ``jitter``; at most one check of a source runs at a time,
missed runs are coalesced into one, at most ``[crawl] max_parallel_checks`` checks run at
once, and a check still running after the source's ``crawl_timeout`` is ended. A failing
check is logged, counted and recorded in the source's health; it never stops the daemon
or another source.

Alerts committed with an article wake the channel workers at once
(:class:`alerts.delivery.Deliverer`). Signals: SIGTERM/SIGINT stop scheduling, let running
checks finish (up to ``STOP_GRACE`` seconds), deliver what is due and exit 0; SIGHUP
reloads the config (an invalid one is refused, logged, and the running config kept;
sources added, removed or rescheduled take effect at once). Under systemd
(``Type=notify``) the daemon says when it is ready and keeps the watchdog fed from the
reactor, so a wedged reactor is restarted.

The trade-off against a process per check (the earlier design): a check costs a few
milliseconds instead of a fresh interpreter's seconds, but sources share one process, so a
component that leaked or crashed the interpreter would take every source with it. The
daemon guards against that with per-check timeouts, a bounded duplicate filter, robots.txt
and DNS answers that expire, and the memory benchmark in ``bench/daemon.py``; systemd or
Docker restarts it should it die, and the outbox's leases make a restart lose no alert.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from alerts.delivery import Deliverer
from crawler import __version__, stop_signals, systemd
from crawler.config import Config, ConfigError, SourceConfig, load_config
from crawler.extensions import RETIRED, SHUTDOWN, CheckResult
from crawler.redact import RedactingFilter, secret_values
from crawler.runner import SourceCrawler
from crawler.runtime import Runtime
from storage import utc_now, utc_stamp
from storage.daemon import record_daemon_start, record_daemon_stop, record_heartbeat
from storage.health import retire_sources, set_next_check

__all__ = ["Daemon", "trigger_for"]

LOGGER = logging.getLogger(__name__)

KEEP_OPEN_UNDER = 600.0  # seconds: sources checked more often keep their crawler open
STOP_GRACE = 10.0  # seconds running checks may take to finish after SIGTERM
DELIVERY_GRACE = 5.0  # then seconds to deliver what is due
HEARTBEAT = 15.0  # seconds between heartbeats in the archive
SUMMARY_EVERY = 600.0  # seconds between one-line summaries of quiet checks


def trigger_for(source: SourceConfig) -> BaseTrigger:
    jitter = source.jitter_seconds or None
    if source.cron:
        trigger = CronTrigger.from_crontab(source.cron)
        trigger.jitter = jitter
        return trigger
    return IntervalTrigger(seconds=source.every.total_seconds(), jitter=jitter)


def _gap(trigger: BaseTrigger) -> float:
    """Seconds between two checks on ``trigger`` (the next two fire times, jitter aside)."""
    now = datetime.now(UTC)
    jitter = getattr(trigger, "jitter", None)
    trigger.jitter = None  # type: ignore[attr-defined]
    try:
        first = trigger.get_next_fire_time(None, now)
        second = (
            trigger.get_next_fire_time(first, first + timedelta(microseconds=1)) if first else None
        )
    finally:
        trigger.jitter = jitter  # type: ignore[attr-defined]
    if first is None or second is None:
        return float("inf")
    return max(0.0, (second - first).total_seconds())


@dataclass
class _Slot:
    """One source in the daemon: its config, crawler and whether a check runs. Only a
    source checked at least every ``KEEP_OPEN_UNDER`` seconds keeps its crawler open between
    checks; the others open one per check (about 15 ms more, every ten minutes or less
    often) rather than hold an engine, its connections and its TLS context for nothing."""

    config: SourceConfig
    crawler: SourceCrawler
    keep_open: bool = True
    running: bool = False
    retired: bool = False  # removed or changed by a reload: close after the running check


@dataclass
class _Quiet:
    checks: int = 0
    sources: set[str] = field(default_factory=set)
    new: int = 0
    failed: int = 0
    skipped: int = 0
    since: float = field(default_factory=time.monotonic)


class Daemon:
    role = "single"

    def __init__(
        self,
        config: Config,
        *,
        log_level: str = "INFO",
        redactor: RedactingFilter | None = None,
    ) -> None:
        self.config = config
        self.log_level = log_level
        self.redactor = redactor
        self.runtime: Runtime | None = None
        self.deliverer: Deliverer | None = None
        self.scheduler: AsyncIOScheduler | None = None
        self.slots: dict[str, _Slot] = {}
        self.stopping = asyncio.Event()
        self.quiet = _Quiet()
        self.limit = asyncio.Semaphore(config.crawl.max_parallel_checks)
        self.running_checks: set[asyncio.Task[Any]] = set()

    # -- life -----------------------------------------------------------------------

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        self.runtime = runtime = Runtime.open(self.config)
        runtime.pages.warm()
        self.deliverer = Deliverer(self.config)
        await asyncio.to_thread(self.deliverer.start)
        runtime.on_alerts_queued(self.deliverer.wake)
        started = utc_now()
        await runtime.writer.run(
            lambda a: record_daemon_start(
                a.db,
                {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "role": self.role,
                    "version": __version__,
                    "config_path": self.config.path,
                    "started_at": started,
                },
            )
        )
        self.scheduler = AsyncIOScheduler(event_loop=loop)
        self.scheduler.add_listener(self._skipped, EVENT_JOB_MAX_INSTANCES)
        for source in self.config.sources:
            if source.enabled:
                self._add(source, first=True)
        self._retire([s.name for s in self.config.sources if s.enabled])
        self.scheduler.start()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stopping.set)
        loop.add_signal_handler(signal.SIGHUP, self.reload)
        background = [
            asyncio.create_task(self._heartbeat()),
            asyncio.create_task(self._summaries()),
            *await self._begin(),
        ]
        for task in background:
            task.add_done_callback(_crashed)
        LOGGER.info(
            "newswatch %s daemon started (PID %d): %d source(s) scheduled, %d rule(s), "
            "%d channel(s), archive %s",
            __version__,
            os.getpid(),
            len(self.slots),
            len(self.config.rules),
            len(self.config.channels),
            self.config.archive_path,
        )
        systemd.notify("READY=1", f"STATUS=checking {len(self.slots)} source(s)")
        try:
            await self.stopping.wait()
        finally:
            stop_signals.hold_while_stopping(loop, STOP_GRACE)
            try:
                await self._shutdown(background)
            finally:
                stop_signals.release(loop)
        return 0

    async def _shutdown(self, background: list[asyncio.Task[None]]) -> None:
        systemd.notify("STOPPING=1")
        LOGGER.info("stopping: no new checks; %d running", len(self.running_checks))
        assert self.runtime is not None and self.deliverer is not None
        assert self.scheduler is not None
        self.scheduler.pause()  # no new checks; running ones may finish
        if self.running_checks:
            await asyncio.wait(list(self.running_checks), timeout=STOP_GRACE)
        for slot in self.slots.values():
            await slot.crawler.stop(reason=SHUTDOWN)
        if self.running_checks:
            await asyncio.wait(list(self.running_checks), timeout=5)
        self.scheduler.shutdown(wait=False)
        for task in background:
            task.cancel()
        if background:  # each ends what it was in the middle of (a batch of events)
            await asyncio.wait(background, timeout=STOP_GRACE)
        await self._end()
        report = await asyncio.to_thread(self.deliverer.stop, DELIVERY_GRACE)
        await self.runtime.writer.run(lambda a: record_daemon_stop(a.db, os.getpid(), utc_now()))
        self.runtime.close()
        LOGGER.info(
            "stopped: %d alert(s) sent since the start, %d waiting for the next start",
            report.sent,
            report.waiting,
        )

    # -- schedule ---------------------------------------------------------------------

    def _add(self, source: SourceConfig, *, first: bool = False) -> None:
        assert self.runtime is not None and self.scheduler is not None
        trigger = trigger_for(source)
        slot = _Slot(source, self._checker(source), keep_open=_gap(trigger) < KEEP_OPEN_UNDER)
        self.slots[source.name] = slot
        # The first checks start at once, spread over a moment (at most 2 s, or the
        # jitter) rather than all in the same tick; max_parallel_checks bounds the rest.
        delay = random.uniform(0, min(source.jitter_seconds, 2.0)) if first else 0.0
        self.scheduler.add_job(
            self._check,
            trigger,
            args=[source.name],
            id=source.name,
            name=f"check {source.name}",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=datetime.now(UTC) + timedelta(seconds=delay),
            replace_existing=True,
        )
        self._record_next(source.name)

    def _checker(self, source: SourceConfig) -> Any:
        """What runs a source's checks: its crawler, kept in this process."""
        assert self.runtime is not None
        return SourceCrawler(self.runtime, source.name, log_level=self.log_level)

    async def _begin(self) -> list[asyncio.Task[None]]:
        """More background work of a kind of daemon (the archive node's)."""
        return []

    async def _end(self) -> None:
        """Stop what :meth:`_begin` started."""

    def _retire(self, configured: list[str]) -> None:
        """Sources the archive knows that are no longer configured: ``removed`` in their
        health (kept, no longer in trouble, no alarm)."""
        assert self.runtime is not None

        def retire(archive: Any) -> None:
            for name in retire_sources(archive.db, configured):
                LOGGER.info("source %s is no longer configured: its health is kept as removed",
                            name)  # fmt: skip

        self.runtime.writer.post(retire, what="retire")

    def _record_next(self, name: str) -> None:
        assert self.runtime is not None and self.scheduler is not None
        job = self.scheduler.get_job(name)
        when = job.next_run_time if job is not None else None
        stamp = utc_stamp(when) if when else None
        self.runtime.writer.post(lambda a: set_next_check(a.db, name, stamp), what="schedule")

    def _skipped(self, event: JobExecutionEvent) -> None:
        self.quiet.skipped += 1
        LOGGER.debug("check of %s still running at its next time: skipped", event.job_id)

    async def _check(self, name: str) -> None:
        """One scheduled check of source ``name`` (an APScheduler job)."""
        slot = self.slots.get(name)
        if slot is None or slot.retired or self.stopping.is_set():
            return
        task = asyncio.current_task()
        assert task is not None and self.runtime is not None
        self.running_checks.add(task)
        slot.running = True
        try:
            async with self.limit:
                if self.stopping.is_set():
                    return
                result = await self._run_check(slot)
            self._report(result)
        finally:
            slot.running = False
            self.running_checks.discard(task)
            if slot.retired or not slot.keep_open:
                await slot.crawler.stop(reason=RETIRED if slot.retired else SHUTDOWN)
            if not slot.retired and not self.stopping.is_set():
                self._record_next(name)

    async def _run_check(self, slot: _Slot) -> CheckResult:
        assert self.runtime is not None
        name = slot.config.name
        run_id = uuid.uuid4().hex[:12]
        try:
            return await slot.crawler.check(
                run_id=run_id, trigger="daemon", timeout=slot.config.timeout_seconds
            )
        except Exception as exc:
            # Whatever broke, this source's next check starts from a new crawler.
            LOGGER.error("[%s] check failed: %s: %s", name, type(exc).__name__, exc)
            await slot.crawler.stop(reason="error")
            result = CheckResult(source=name, run_id=run_id, trigger="daemon", started_at=utc_now())
            result.finished_at = utc_now()
            result.finish_reason = f"error: {type(exc).__name__}: {exc}"[:300]
            result.stats = {"newswatch/errors": 1, "newswatch/errors/check": 1}
            policy = self.runtime.config.alarms.policy()
            channels = self.runtime.config.alarms.channels
            result.health = await self.runtime.writer.run(
                lambda a: a.record_check(
                    result.row(), policy=policy, alarm_channels=channels, failed=True
                )
            )
            if result.health.alarms:
                self.runtime.alerts_queued()
            return result

    def _report(self, result: CheckResult) -> None:
        counts = result.counts
        unchanged = counts["unchanged"] + counts["not_modified"]
        self.quiet.checks += 1
        self.quiet.sources.add(result.source)
        if result.failed:
            self.quiet.failed += 1
            health = result.health
            reason = health.last_error if health else None
            # The first failure, and the one that raises an alarm, are warnings; a source
            # that keeps failing says so at INFO rather than a warning every check.
            repeated = health is not None and health.consecutive_failures > 1
            log = LOGGER.info if repeated and health and not health.alarms else LOGGER.warning
            log(
                "check %s failed: %d new, %d unchanged, %d errors, %.2f s (%s)",
                result.source,
                counts["new_articles"],
                unchanged,
                counts["errors"],
                result.duration,
                reason or result.finish_reason,
            )
        elif counts["new_articles"] or counts["errors"] or result.cut_short:
            self.quiet.new += counts["new_articles"]
            LOGGER.info(
                "check %s%s: %d new, %d unchanged, %d failed, %.2f s",
                result.source,
                f" cut short ({result.finish_reason})" if result.cut_short else "",
                counts["new_articles"],
                unchanged,
                counts["errors"],
                result.duration,
            )
        for alarm in result.health.alarms if result.health else ():
            log = LOGGER.warning if alarm.event == "raised" else LOGGER.info
            log("alarm %s %s: %s", alarm.kind, alarm.event, alarm.message)

    # -- background -------------------------------------------------------------------

    async def _heartbeat(self) -> None:
        assert self.runtime is not None
        watchdog = systemd.watchdog_interval()
        every = min(HEARTBEAT, watchdog) if watchdog else HEARTBEAT
        last_beat = 0.0
        while True:
            if watchdog:
                systemd.notify("WATCHDOG=1")
            if time.monotonic() - last_beat >= HEARTBEAT:
                last_beat = time.monotonic()
                self.runtime.writer.post(_heartbeat_writer(utc_now()), what="heartbeat")
            await asyncio.sleep(every)

    async def _summaries(self) -> None:
        while True:
            await asyncio.sleep(SUMMARY_EVERY)
            quiet, self.quiet = self.quiet, _Quiet()
            if not quiet.checks:
                continue
            minutes = (time.monotonic() - quiet.since) / 60
            LOGGER.info(
                "last %.0f min: %d checks of %d source(s), %d new article(s), %d failed%s",
                minutes,
                quiet.checks,
                len(quiet.sources),
                quiet.new,
                quiet.failed,
                f", {quiet.skipped} skipped (previous check still running)"
                if quiet.skipped
                else "",
            )

    # -- reload -----------------------------------------------------------------------

    def reload(self) -> None:
        """SIGHUP: take the config file again, or keep the running one if it is invalid."""
        assert self.runtime is not None and self.scheduler is not None
        assert self.deliverer is not None
        path = self.config.path
        try:
            config = load_config(path)
            self.runtime.reload(config)
        except (ConfigError, ValueError) as exc:
            LOGGER.error("config reload refused, the running config stays: %s", exc)
            return
        old = {s.name: s for s in self.config.sources if s.enabled}
        new = {s.name: s for s in config.sources if s.enabled}
        self.config = config
        added = [n for n in new if n not in old]
        removed = [n for n in old if n not in new]
        changed = [n for n in new if n in old and new[n] != old[n]]
        for name in removed + changed:
            slot = self.slots.pop(name)
            slot.retired = True
            if self.scheduler.get_job(name) is not None:
                self.scheduler.remove_job(name)
            if not slot.running:
                asyncio.ensure_future(slot.crawler.stop(reason=RETIRED))
        for name in added + changed:
            self._add(new[name], first=name in added)
        if removed:
            self._retire(list(new))
        asyncio.ensure_future(asyncio.to_thread(self.deliverer.reload, config))
        if self.redactor is not None:
            self.redactor.redactor.add(secret_values(config))
        LOGGER.info(
            "config reloaded: %d source(s) (%d added, %d removed, %d changed), %d rule(s), "
            "%d channel(s)",
            len(new),
            len(added),
            len(removed),
            len(changed),
            len(config.rules),
            len(config.channels),
        )


def _crashed(task: asyncio.Task[None]) -> None:
    """A background loop that ended by an error: said, loudly (it should never end)."""
    if not task.cancelled() and task.exception() is not None:
        name = getattr(task.get_coro(), "__qualname__", task.get_name())
        LOGGER.error(
            "the daemon's %s stopped: %s", name, task.exception(), exc_info=task.exception()
        )


def _heartbeat_writer(stamp: str) -> Any:
    return lambda archive: record_heartbeat(archive.db, os.getpid(), stamp)
