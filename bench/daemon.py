"""The daemon against its baselines, in one run: CPU per check, memory over many checks,
alert latency.

A sample portal runs in this process on 127.0.0.1; the daemon (`newswatch run`) runs in its
own process, measured from /proc, so the portal's work is never counted.

1. **CPU per check of an unchanged source.** ``--sources`` sources (default 20), each one
   feed URL answering 304, every second. The daemon's CPU (user + system) over a window,
   divided by the checks it recorded in that window (``crawl_runs``). Baselines, same run,
   same portal: the process-per-check design (``newswatch crawl --source NAME`` in a fresh
   process, as the daemon used to run each check) and a bare conditional GET (a fresh Python
   doing one ``If-None-Match`` request with urllib; and, as the floor, one more request on
   an open connection in a warm process). Goal: <= 10 ms per check.
2. **Memory and open files over ``--checks`` check cycles** (default 1,000): the daemon's RSS
   and open file descriptors after a warm-up of 10 % of the checks and at the end. Goal:
   <= 10 % growth after warm-up.
3. **Alert latency.** One source checked every ``--interval`` seconds (default 5); articles
   naming H20 are published at random moments; latency is from publication to the Slack
   stand-in receiving the alert. Goal: p95 <= interval + 2 s.

Run: python bench/daemon.py [--sources 20] [--checks 1000] [--interval 5] [--alerts 20]
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.synthetic import common_words, distinct_article  # noqa: E402
from crawler.demo.portal import PortalServer  # noqa: E402
from tests.servers import SlackWebhook  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def checks(db: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    except sqlite3.OperationalError:
        return 0
    try:
        return int(conn.execute("SELECT count(*) FROM crawl_runs").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def wait_for(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.2)


def start_daemon(config: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "crawler.cli", "--config", str(config), "run"],
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )


def stop(daemon: subprocess.Popen[bytes]) -> None:
    daemon.terminate()
    daemon.wait(60)


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def per_process(command: list[str], runs: int) -> float:
    before = child_cpu()
    for _ in range(runs):
        subprocess.run(command, check=True, capture_output=True)
    return (child_cpu() - before) / runs


BARE_GET = """
import sys, urllib.request
request = urllib.request.Request(sys.argv[1], headers={"If-None-Match": sys.argv[2]})
try:
    urllib.request.urlopen(request, timeout=10)
except urllib.error.HTTPError as exc:
    assert exc.code == 304, exc.code
"""


def warm_get_cpu(url: str, etag: str, runs: int = 200) -> float:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    start = time.process_time()
    for _ in range(runs):
        conn.request("GET", parts.path + "?" + parts.query, headers={"If-None-Match": etag})
        response = conn.getresponse()
        response.read()
        assert response.status == 304
    conn.close()
    return (time.process_time() - start) / runs


def cpu_and_memory(portal: PortalServer, work: Path, sources: int, target: int) -> dict:  # type: ignore[type-arg]
    db = work / "cpu.db"
    config = work / "cpu.toml"
    lines = [f'[archive]\npath = "{db}"\n[crawl]\nmax_parallel_checks = 64\n']
    for i in range(sources):
        lines.append(
            f'[[sources]]\nname = "s{i:03d}"\nfeeds = ["{portal.base}/feeds/zh.xml?s={i}"]\n'
            'interval = "1s"\ndelay = 0\n'
        )
    config.write_text("\n".join(lines))
    daemon = start_daemon(config, work / "cpu.log")
    try:
        wait_for(lambda: checks(db) >= 3 * sources, 120, "the first checks")
        warm_at = max(3 * sources, target // 10)
        wait_for(lambda: checks(db) >= warm_at, 600, "the warm-up")
        start_checks, start_cpu = checks(db), cpu_seconds(daemon.pid)
        start_rss, start_fds = rss_mib(daemon.pid), open_files(daemon.pid)
        samples = []
        while checks(db) < start_checks + target:
            time.sleep(1)
            samples.append((checks(db), rss_mib(daemon.pid), open_files(daemon.pid)))
        end_checks, end_cpu = checks(db), cpu_seconds(daemon.pid)
        end_rss, end_fds = rss_mib(daemon.pid), open_files(daemon.pid)
    finally:
        stop(daemon)
    url = f"{portal.base}/feeds/zh.xml?s=0"
    etag = sqlite3.connect(db).execute("SELECT etag FROM fetches WHERE url = ?", [url]).fetchone()
    process_per_check = per_process(
        [sys.executable, "-m", "crawler.cli", "--config", str(config), "crawl", "--source", "s000"],
        5,
    )
    bare = per_process([sys.executable, "-c", BARE_GET, url, etag[0]], 10)
    return {
        "checks": end_checks - start_checks,
        "per_check": (end_cpu - start_cpu) / (end_checks - start_checks),
        "process_per_check": process_per_check,
        "bare_get_process": bare,
        "bare_get_warm": warm_get_cpu(url, etag[0]),
        "rss": (start_rss, end_rss, max(s[1] for s in samples)),
        "fds": (start_fds, end_fds, max(s[2] for s in samples)),
        "warm_at": warm_at,
    }


def latency(portal: PortalServer, work: Path, interval: int, count: int) -> list[float]:
    slack = SlackWebhook()
    db = work / "alerts.db"
    config = work / "alerts.toml"
    config.write_text(
        f'[archive]\npath = "{db}"\n'
        f'[[sources]]\nname = "feeds"\nfeeds = ["{portal.base}/feeds/zh.xml"]\n'
        f'interval = "{interval}s"\ndelay = 0\n'
        '[[rules]]\nname = "h20"\nkeywords = ["H20"]\n'
        f'[[channels]]\nname = "slack"\ntype = "slack"\nwebhook_url = "{slack.url}"\n'
    )
    daemon = start_daemon(config, work / "alerts.log")
    latencies = []
    rng, words = random.Random(11), common_words()
    try:
        wait_for(lambda: checks(db) >= 2, 120, "the first check")
        time.sleep(3)  # the demo's own H20 stories go out first
        for i in range(count):
            time.sleep(random.uniform(0.5, interval + 1.0))
            before = len(slack.delivered_at)
            published = time.time()
            portal.publish(distinct_article(i, rng, words))
            wait_for(lambda b=before: len(slack.delivered_at) > b, interval + 60, "an alert")
            latencies.append(slack.delivered_at[before] - published)
    finally:
        stop(daemon)
        slack.close()
    return latencies


def idle_sources(
    portal: PortalServer, work: Path, counts: tuple[int, ...], interval: str = "5m"
) -> list[tuple]:  # type: ignore[type-arg]
    """RSS once every source was checked, and CPU while all wait for their next check, for
    daemons with ``counts`` sources (every 5 minutes: each keeps its crawler open; every
    hour: none does)."""
    rows = []
    for count in counts:
        db = work / f"idle{count}.db"
        config = work / f"idle{count}.toml"
        lines = [f'[archive]\npath = "{db}"\n[crawl]\nmax_parallel_checks = 64\n']
        for i in range(count):
            lines.append(
                f'[[sources]]\nname = "i{i:04d}"\nfeeds = ["{portal.base}/feeds/zh.xml?i={i}"]\n'
                f'interval = "{interval}"\ndelay = 0\n'
            )
        config.write_text("\n".join(lines))
        daemon = start_daemon(config, work / f"idle{count}.log")
        try:
            wait_for(lambda c=count, d=db: checks(d) >= c, 600, "every first check")
            time.sleep(20)  # the last first checks end, and their crawlers close
            cpu0, rss = cpu_seconds(daemon.pid), rss_mib(daemon.pid)
            time.sleep(30)
            idle = (cpu_seconds(daemon.pid) - cpu0) / 30
        finally:
            stop(daemon)
        rows.append((count, rss, idle))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sources", type=int, default=20)
    parser.add_argument("--checks", type=int, default=1000)
    parser.add_argument("--interval", type=int, default=5)
    parser.add_argument("--alerts", type=int, default=20)
    parser.add_argument(
        "--idle", type=int, nargs="*", default=[], help="also: daemons holding N sources open"
    )
    args = parser.parse_args()
    random.seed(7)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as tmp, PortalServer(0) as portal:
        work = Path(tmp)
        result = cpu_and_memory(portal, work, args.sources, args.checks)
        per_check = result["per_check"] * 1000
        print(f"\n1. CPU per check of an unchanged source ({args.sources} sources every second, "
              f"{result['checks']} checks measured)")  # fmt: skip
        print(f"   newswatch daemon:                {per_check:8.2f} ms  (goal <= 10 ms)")
        for label, key in (
            ("process per check (old design)", "process_per_check"),
            ("bare conditional GET, new process", "bare_get_process"),
            ("bare conditional GET, warm", "bare_get_warm"),
        ):
            value = result[key] * 1000
            print(f"   {label:<34}{value:8.2f} ms  (daemon / this = {per_check / value:.3f})")
        rss0, rss1, rss_max = result["rss"]
        fds0, fds1, fds_max = result["fds"]
        print(f"\n2. Memory over {result['checks']} check cycles after {result['warm_at']} "
              "warm-up checks (goal <= 10 % growth)")  # fmt: skip
        print(f"   RSS: {rss0:.1f} MiB -> {rss1:.1f} MiB ({(rss1 / rss0 - 1) * 100:+.1f} %), "
              f"max {rss_max:.1f} MiB")  # fmt: skip
        print(f"   open files: {fds0} -> {fds1} ({(fds1 / fds0 - 1) * 100:+.1f} %), max {fds_max}")
        lat = latency(portal, work, args.interval, args.alerts)
        lat.sort()
        p50 = statistics.median(lat)
        p95 = lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]
        print(f"\n3. Alert latency, publication to Slack, interval {args.interval} s, "
              f"{len(lat)} articles (goal p95 <= {args.interval + 2} s)")  # fmt: skip
        print(f"   p50 {p50:.2f} s, p95 {p95:.2f} s, max {lat[-1]:.2f} s")
        if args.idle:
            print("\n4. Sources checked once, then idle until their next check")
            for interval in ("5m", "1h"):
                for count, rss, idle in idle_sources(portal, work, tuple(args.idle), interval):
                    print(f"   {count:5d} sources every {interval}: RSS {rss:7.1f} MiB, "
                          f"idle CPU {idle * 100:5.2f} %")  # fmt: skip


if __name__ == "__main__":
    main()
