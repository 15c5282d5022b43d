"""``newswatch run``: crawl every source on its own schedule, for months.

APScheduler 3.x runs one job per enabled source, on an interval (``interval``, default 1 h)
or a crontab (``cron``). A job runs ``newswatch crawl --source NAME`` in a child process,
because Twisted's reactor cannot restart within one process; a job never overlaps itself
(``max_instances=1``) and missed runs are coalesced into one. With rules and channels, a
delivery job sends due alerts every ``DELIVERY_INTERVAL`` seconds between crawls.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from crawler.config import Config, SourceConfig

__all__ = ["build_scheduler", "crawl_command", "run_daemon", "trigger_for"]

LOGGER = logging.getLogger(__name__)

DELIVERY_INTERVAL = 30


def trigger_for(source: SourceConfig) -> BaseTrigger:
    if source.cron:
        return CronTrigger.from_crontab(source.cron)
    return IntervalTrigger(seconds=source.every.total_seconds())


def crawl_command(config: Config, source: str, *, verbose: bool = False) -> list[str]:
    command = [sys.executable, "-m", "crawler.cli", "--config", config.path]
    if verbose:
        command.append("-v")
    return [*command, "crawl", "--source", source]


def _crawl(command: list[str], source: str) -> None:
    LOGGER.info("crawling %s", source)
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        LOGGER.error(
            "crawl of %s exited %s: %s",
            source,
            completed.returncode,
            completed.stderr.strip()[-2000:],
        )
    else:
        LOGGER.info("crawl of %s done:\n%s", source, completed.stdout.strip())


def build_scheduler(config: Config, *, verbose: bool = False, **kwargs: Any) -> BlockingScheduler:
    scheduler = BlockingScheduler(**kwargs)
    for source in config.sources:
        if not source.enabled:
            continue
        scheduler.add_job(
            _crawl,
            trigger_for(source),
            args=[crawl_command(config, source.name, verbose=verbose), source.name],
            id=source.name,
            name=f"crawl {source.name}",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=_now(),
        )
    if config.rules and config.channels:
        scheduler.add_job(
            _deliver,
            "interval",
            seconds=DELIVERY_INTERVAL,
            args=[config],
            id="deliver-alerts",
            name="deliver alerts",
            max_instances=1,
            coalesce=True,
            next_run_time=_now(),
        )
    return scheduler


def _deliver(config: Config) -> None:
    """The delivery loop: retries due alerts between crawls."""
    from alerts.delivery import deliver_due
    from storage import Archive

    archive = Archive.open(config.archive_path)
    try:
        report = deliver_due(archive, config)
    finally:
        archive.close()
    if report.sent or report.failed or report.dead:
        LOGGER.info(
            "alerts: %d sent, %d to retry, %d dead", report.sent, report.failed, report.dead
        )


def _now() -> Any:
    from datetime import datetime

    return datetime.now().astimezone()


def run_daemon(config: Config, *, verbose: bool = False) -> None:
    scheduler = build_scheduler(config, verbose=verbose)

    def stop(signum: int, frame: Any) -> None:
        LOGGER.info("signal %s: stopping after running crawls finish", signum)
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    LOGGER.warning("newswatch daemon: %d source(s) scheduled", len(scheduler.get_jobs()))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        scheduler.shutdown(wait=True)
