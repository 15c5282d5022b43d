"""Crawl workers over Redis: pages per second with 1, 2 and 4 workers, one run.

``--hosts`` sample portals (default 40), each on its own loopback address (127.0.0.2, .3,
...) so each is a host of its own, each serving ``--articles`` synthetic articles (default
100) behind ``--latency`` seconds per page (default 0.2: a portal far away), one source per
portal (its sitemap). For each worker count: a fresh archive and key prefix, one archive
node (``newswatch run --role archive``) and N workers (``--role worker``, the page stage in
each worker's process), in child processes. Two rates: pages per second from the first
stored article to the last (the whole run), and while the middle 80 % of the articles
were stored (the steady rate: a run's start and end cost it the same seconds whatever
the number of workers, so in a short run they weigh on the many workers' ratio; see
:func:`steady_rate`). Prints the rates, their ratios to one worker, the archive node's
articles per second when fed from a backlog (what it can store at most), and the
machine's load.

``--concurrency N`` sets each worker's requests in flight (``[cluster] worker_concurrency``,
default 16: one worker then reaches about 80 pages/s at 200 ms a page). Where the machine's
cores are the limit at 4 workers, a lower N measures how the cluster itself scales.

``--page-workers N`` sets each worker's ``[crawl] workers``: 0 (the default here) runs the
page stage on a thread of the worker's own process, N > 0 in N processes beside it.

``--page-kb N`` pads every article page to about N KB with the markup a real portal
wraps articles in (a site map, a script: :func:`bench.synthetic.site_chrome`); without
it a page is about 2 KB, where real portals serve 50–200 KB.

``--slow-hosts K`` adds K portals (127.0.1.2, ...) whose sources wait ``--slow-delay``
seconds (default 10) between two requests, each with ``--slow-articles`` articles
(default 3): a cautious source among quick ones. Their requests wait for their delay
without taking the places of the others' (:mod:`crawler.cluster.hostwaits`).

Needs a Redis on 127.0.0.1:6379.
Run: python bench/scale_out.py [--hosts 40] [--articles 100] [--concurrency N] [--page-kb N]
     [--page-workers N] [--workers 1 2 4] [--slow-hosts K [--slow-delay S] [--slow-articles N]]
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import Spent, cpu_times  # noqa: E402
from bench.synthetic import site_chrome, synthetic_articles  # noqa: E402
from crawler.demo.portal import PortalServer  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/0"


def count(db: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    except sqlite3.OperationalError:
        return 0
    try:
        return int(conn.execute("SELECT count(*) FROM articles").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def config_text(
    db: Path,
    prefix: str,
    portals: list[PortalServer],
    concurrency: int | None = None,
    delays: list[float] | None = None,
    page_workers: int = 0,
) -> str:
    cluster = f'[cluster]\nredis_url = "{REDIS_URL}"\nkey_prefix = "{prefix}"\n'
    if concurrency is not None:
        cluster += f"worker_concurrency = {concurrency}\n"
    lines = [
        f'[archive]\npath = "{db}"\n',
        cluster,
        f"[crawl]\nworkers = {page_workers}\nmax_parallel_checks = 256\n",
    ]
    for i, portal in enumerate(portals):
        sitemap = portal.url("/sitemaps/news.xml")
        lines.append(
            f'[[sources]]\nname = "site{i:03d}"\nsitemaps = ["{sitemap}"]\n'
            f'interval = "1h"\ndelay = {delays[i] if delays else 0}\n'
        )
    return "\n".join(lines)


def start(config: Path, role: str, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "crawler.cli", "--config", str(config), "run", "--role", role],
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()


def drop(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


def run(
    portals: list[PortalServer],
    workers: int,
    total: int,
    work: Path,
    concurrency: int | None,
    delays: list[float] | None = None,
    page_workers: int = 0,
) -> Rates:
    prefix = f"nwbench-{uuid.uuid4().hex[:8]}"
    db = work / f"w{workers}.db"
    config = work / f"w{workers}.toml"
    config.write_text(config_text(db, prefix, portals, concurrency, delays, page_workers))
    # The whole run's CPU, start-up and stop included, but this process's (the portals):
    # the workers' page-stage processes are nobody's waited-for children (bench.machine).
    with Spent() as cost:
        processes = [start(config, "archive", work / f"archive{workers}.log")]
        processes += [
            start(config, "worker", work / f"worker{workers}-{i}.log") for i in range(workers)
        ]
        try:
            deadline = time.monotonic() + 1800
            first, machine0 = None, (0, 0)
            timeline: list[tuple[float, int]] = []  # (when, articles stored), every 0.1 s
            while time.monotonic() < deadline:
                stored = count(db)
                if stored and first is None:
                    first = (time.monotonic(), stored)
                    machine0 = cpu_times()
                if first is not None:
                    timeline.append((time.monotonic(), stored))
                if stored >= total:
                    break
                time.sleep(0.1)
            end = time.monotonic()
            machine1 = cpu_times()
            stored = count(db)
        finally:
            stop(processes)
            drop(prefix)
    assert first is not None and stored >= total, f"stored {stored} of {total}"
    spent = machine1[1] - machine0[1]
    machine = (machine1[0] - machine0[0]) / spent if spent else 0.0
    whole = (stored - first[1]) / (end - first[0])
    return Rates(whole, steady_rate(timeline, total), cost.cpu, machine)


@dataclass(frozen=True)
class Rates:
    whole: float  # pages/s from the first stored article to the last
    steady: float  # pages/s while the middle 80 % of the articles were stored
    busy: float  # CPU seconds the run took, but this process's (the portals): bench.machine
    machine: float  # the machine's busy share over the run


def ratio(rate: float, base: float) -> str:
    return f"{rate / base:.2f}" if base else "n/a"


def steady_rate(timeline: list[tuple[float, int]], total: int) -> float:
    """Pages per second between the samples where 10 % and 90 % of ``total`` were stored:
    the rate without the run's start (the first checks are spread over up to 2 s, and
    each site's robots.txt and sitemap come before its articles) and its end (the last
    sites, each held to its own politeness, finish alone), which cost every run the same
    seconds whatever the number of workers."""
    low = next(sample for sample in timeline if sample[1] >= total * 0.1)
    high = next(sample for sample in timeline if sample[1] >= total * 0.9)
    return (high[1] - low[1]) / (high[0] - low[0]) if high[0] > low[0] else 0.0


def archive_rate(portals: list[PortalServer], total: int, work: Path) -> tuple[float, float]:
    """The archive node alone, from a backlog: it is paused (SIGSTOP) once it has pushed
    every check, four workers fill the events stream, then it goes on (SIGCONT) and the
    time it takes to store what waits is taken. Its articles per second, and the bytes
    of Redis' memory the events stream took per article waiting in it."""
    import redis

    prefix = f"nwbench-{uuid.uuid4().hex[:8]}"
    db = work / "backlog.db"
    config = work / "backlog.toml"
    config.write_text(config_text(db, prefix, portals))
    client = redis.Redis.from_url(REDIS_URL)
    key = f"{prefix}:events"
    archive = start(config, "archive", work / "backlog-archive.log")
    workers = [start(config, "worker", work / f"backlog-worker{i}.log") for i in range(4)]
    try:
        while count(db) == 0:  # every check is pushed within its first seconds
            time.sleep(0.1)
        time.sleep(3)
        archive.send_signal(signal.SIGSTOP)
        last, still = -1, 0
        while still < 20:  # the workers are done when the stream stops growing for 2 s
            now = int(client.xlen(key))
            still = still + 1 if now == last else 0
            last = now
            time.sleep(0.1)
        waiting = client.memory_usage(key, samples=0) or 0  # articles and fetch records
        before = count(db)
        started = time.monotonic()
        archive.send_signal(signal.SIGCONT)
        while client.xlen(key) > 0 and time.monotonic() - started < 300:
            time.sleep(0.02)
        seconds = time.monotonic() - started
        stored = count(db) - before
    finally:
        archive.send_signal(signal.SIGCONT)
        stop([archive, *workers])
        drop(prefix)
    return stored / seconds, waiting / max(stored, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=40)
    parser.add_argument("--articles", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2, 4])
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="each worker's [cluster] worker_concurrency (default: the config's default, 16)."
        " Lower, the workers' pages per second fit a small machine's cores, so that the"
        " ratios show the cluster's own limits rather than the machine's",
    )
    parser.add_argument(
        "--page-workers",
        type=int,
        default=0,
        help="each worker's [crawl] workers: 0 runs the page stage on a thread of the worker's"
        " process, N in N processes beside it",
    )
    parser.add_argument(
        "--slow-hosts",
        type=int,
        default=0,
        help="this many more portals whose sources wait --slow-delay seconds between two"
        " requests (a cautious source), each serving --slow-articles articles",
    )
    parser.add_argument("--slow-delay", type=float, default=10.0)
    parser.add_argument("--slow-articles", type=int, default=3)
    parser.add_argument(
        "--page-kb",
        type=int,
        default=0,
        help="pad every article page to about this many KB with a real portal's markup"
        " around the article (site map, script); default: the plain ~2 KB pages",
    )
    args = parser.parse_args()
    chrome = site_chrome(args.page_kb * 1024)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    portals = []
    try:
        for i in range(args.hosts):
            articles = synthetic_articles(args.articles, seed=100 + i)
            portal = PortalServer(0, articles=articles, host=f"127.0.0.{i + 2}").start()
            portal.latency = args.latency
            portal.site.chrome = chrome
            portals.append(portal)
        delays = [0.0] * args.hosts
        for i in range(args.slow_hosts):
            articles = synthetic_articles(args.slow_articles, seed=900 + i)
            portal = PortalServer(0, articles=articles, host=f"127.0.1.{i + 2}").start()
            portal.latency = args.latency
            portal.site.chrome = chrome
            portals.append(portal)
            delays.append(args.slow_delay)
        total = args.hosts * args.articles + args.slow_hosts * args.slow_articles
        print(
            f"{args.hosts} hosts x {args.articles} articles, {args.latency * 1000:.0f} ms a page, "
            f"{args.concurrency or 'default'} requests in flight per worker, the page stage "
            + (
                f"in {args.page_workers} process(es) beside each worker"
                if args.page_workers
                else "on a thread of each worker"
            )
            + ", pages of "
            f"{len(portals[0].site.article_reply(portals[0].site.articles[0]).body) / 1024:.0f} KB"
        )
        if args.slow_hosts:
            print(f"and {args.slow_hosts} hosts x {args.slow_articles} articles whose sources "
                  f"wait {args.slow_delay:g} s between two requests")  # fmt: skip
        with tempfile.TemporaryDirectory() as tmp:
            rates: dict[int, Rates] = {}
            for workers in args.workers:
                rate = run(
                    portals, workers, total, Path(tmp), args.concurrency, delays, args.page_workers
                )
                rates[workers] = rate
                base = rates[args.workers[0]]
                limit = "  <- the machine's CPU is the limit" if rate.machine > 0.9 else ""
                print(f"{workers} worker(s): {rate.whole:6.1f} pages/s  "
                      f"x{rate.whole / base.whole:.2f}  "
                      f"(steady: {rate.steady:6.1f} pages/s  x{ratio(rate.steady, base.steady)};"
                      f" CPU of the cluster and Redis: {rate.busy:.1f} s; machine "
                      f"{rate.machine:.0%} busy){limit}", flush=True)  # fmt: skip
            stored, per_article = archive_rate(portals, total, Path(tmp))
            print(f"archive node alone, from a backlog: {stored:.0f} articles/s "
                  f"(an article waiting in Redis: {per_article / 1024:.1f} KB)")  # fmt: skip
    finally:
        for portal in portals:
            portal.stop()


if __name__ == "__main__":
    main()
