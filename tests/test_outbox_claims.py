"""Exactly one sender per alert (issue 10): deliverers claim alerts atomically with a lease;
a dead deliverer's lease runs out or is released; concurrent deliverers (threads on their
own connections, and separate processes) send each alert once."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.channels import Transient
from alerts.delivery import deliver_due
from crawler.config import Config, parse_config
from storage import Archive
from storage.outbox import claim, list_alerts, release_claims, settle
from tests.servers import SlackWebhook

NOW = datetime(2026, 5, 14, 8, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def config_for(
    path: Path, webhook: str = "https://hooks.example/services/T/B/x", timeout: float = 10.0
) -> Config:
    """A Slack channel whose claims last ``max(60, 2 × timeout + 10)`` seconds."""
    return parse_config(
        f"""
[archive]
path = "{path}"
[delivery]
max_attempts = 50
[[rules]]
name = "h20"
keywords = ["H20"]
[[channels]]
name = "slack"
type = "slack"
webhook_url = "{webhook}"
timeout = {timeout}
""",
        path=str(path.parent / "c.toml"),
    )


def queue(archive: Archive, n: int) -> None:
    for i in range(n):
        archive.add_article(
            {
                "url": f"https://x.test/{i}",
                "canonical_url": f"https://x.test/{i}",
                "source": "s",
                "title": f"H20 {i}",
                "text": f"第{i}篇：" + "字" * i + "H20",
                "fingerprint": f"fp{i}",
                "signature": None,
            },
            alerts=[
                {
                    "rule": "h20",
                    "channels": ["slack"],
                    "mode": "immediate",
                    "terms": ["H20"],
                    "spans": [],
                    "snippet": "H20",
                }
            ],
        )


class FlakyChannel:
    """Records each alert it delivered; sometimes slow, sometimes failing (transient)."""

    name = "slack"
    min_interval = 0.0
    per_minute = None

    def __init__(self, rng: random.Random, delivered: Counter[str], lock: threading.Lock):
        self.rng = rng
        self.delivered = delivered
        self.lock = lock

    def send(self, rule: str, rows: list[dict[str, Any]]) -> None:
        time.sleep(self.rng.uniform(0, 0.004))
        if self.rng.random() < 0.3:
            raise Transient("503 busy", retry_after=0.0)
        with self.lock:
            for row in rows:
                self.delivered[row["title"]] += 1


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    alerts=st.integers(min_value=1, max_value=15),
    deliverers=st.integers(min_value=2, max_value=4),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_concurrent_deliverers_send_each_alert_once(
    tmp_path_factory: pytest.TempPathFactory, alerts: int, deliverers: int, seed: int
) -> None:
    path = tmp_path_factory.mktemp("claims") / "a.db"
    archive = Archive.open(path)
    queue(archive, alerts)
    archive.close()
    # The shared clock moves half a second at every round of any deliverer: at most
    # 4 × 500 rounds, 1,000 s. A 600 s timeout makes each claim last 1,210 s, so no claim
    # runs out in this test however the threads are scheduled, and a second send can only
    # come from two deliverers holding one alert at once. Claims that run out are tested
    # on their own below.
    config = config_for(path, timeout=600)
    delivered: Counter[str] = Counter()
    lock = threading.Lock()
    errors: list[BaseException] = []
    ticks = [0]

    def clock() -> datetime:
        """One clock for every deliverer, half a second further at each round: a retry
        (1 s) is due two rounds later, a claim (1,210 s) holds for 2,420 rounds."""
        with lock:
            ticks[0] += 1
            return NOW + timedelta(seconds=ticks[0] / 2)

    def deliverer(index: int) -> None:
        rng = random.Random(seed * 10 + index)
        own = Archive.open(path, migrate=False)
        try:
            channel = FlakyChannel(rng, delivered, lock)
            for _ in range(500):
                deliver_due(
                    own,
                    config,
                    claimer=f"test:{index}",
                    senders={"slack": channel},  # type: ignore[dict-item]
                    now=clock(),
                )
                with lock:
                    if len(delivered) == alerts:
                        return
        except BaseException as exc:  # reported to the test thread
            errors.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=deliverer, args=(i,)) for i in range(deliverers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert sorted(delivered) == sorted(f"H20 {i}" for i in range(alerts))
    assert set(delivered.values()) == {1}  # nobody sent an alert another had sent
    archive = Archive.open(path, migrate=False)
    assert {r["status"] for r in list_alerts(archive.db)} == {"sent"}
    archive.close()


def test_a_lease_that_ran_out_is_taken_over_and_the_late_settle_changes_nothing(
    tmp_path: Path,
) -> None:
    archive = Archive.open(tmp_path / "a.db")
    queue(archive, 1)
    db = archive.db
    [first] = claim(
        db, channel="slack", now=iso(NOW), lease_until=iso(NOW + timedelta(seconds=60)),
        claimer="host:1:a",
    )  # fmt: skip
    assert first["status"] == "sending" and first["claimed_by"] == "host:1:a"
    # while the lease holds, nobody else gets it
    during = claim(
        db, channel="slack", now=iso(NOW + timedelta(seconds=59)),
        lease_until=iso(NOW + timedelta(seconds=120)), claimer="host:2:b",
    )  # fmt: skip
    assert during == []
    [taken] = claim(
        db, channel="slack", now=iso(NOW + timedelta(seconds=61)),
        lease_until=iso(NOW + timedelta(seconds=121)), claimer="host:2:b",
    )  # fmt: skip
    assert taken["id"] == first["id"] and taken["claimed_by"] == "host:2:b"
    # the first deliverer comes back late: its settle is ignored
    assert settle(db, [first["id"]], claimer="host:1:a", status="sent", now=iso(NOW)) == 0
    assert settle(db, [first["id"]], claimer="host:2:b", status="sent", now=iso(NOW)) == 1
    assert list_alerts(db)[0]["status"] == "sent"
    archive.close()


def test_claims_of_a_process_known_to_be_gone_are_released(tmp_path: Path) -> None:
    archive = Archive.open(tmp_path / "a.db")
    queue(archive, 2)
    db = archive.db
    claimed = claim(db, channel="slack", now=iso(NOW), limit=2,
                    lease_until=iso(NOW + timedelta(hours=1)), claimer="host:99:x")  # fmt: skip
    assert len(claimed) == 2
    assert release_claims(db, ["host:99:x"]) == 2
    rows = list_alerts(db)
    assert {r["status"] for r in rows} == {"pending"} and not any(r["claimed_by"] for r in rows)
    archive.close()


def test_a_dead_process_on_this_host_leaves_nothing_stuck(tmp_path: Path) -> None:
    """A deliverer killed mid-send (its PID gone) holds a lease for an hour: the next
    round on the same host gives its alert back at once and sends it."""
    import socket

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    pid = int(gone.stdout)
    archive = Archive.open(tmp_path / "a.db")
    queue(archive, 1)
    claim(archive.db, channel="slack", now=iso(datetime.now(UTC)),
          lease_until=iso(datetime.now(UTC) + timedelta(hours=1)),
          claimer=f"{socket.gethostname()}:{pid}:dead")  # fmt: skip
    delivered: Counter[str] = Counter()
    channel = FlakyChannel(random.Random(0), delivered, threading.Lock())
    channel.rng.random = lambda: 1.0  # type: ignore[method-assign]  # never fails
    report = deliver_due(archive, config_for(tmp_path / "a.db"), senders={"slack": channel})  # type: ignore[dict-item]
    assert report.sent == 1 and delivered == Counter({"H20 0": 1})
    archive.close()


@pytest.mark.slow
def test_three_alerts_retry_processes_at_once_send_each_alert_once(tmp_path: Path) -> None:
    webhook = SlackWebhook()
    try:
        path = tmp_path / "a.db"
        archive = Archive.open(path)
        queue(archive, 6)
        archive.db.execute("UPDATE alerts SET status = 'failed', attempts = 1")
        archive.close()
        config = tmp_path / "c.toml"
        config.write_text(
            f'[archive]\npath = "{path}"\n[[rules]]\nname = "h20"\nkeywords = ["H20"]\n'
            f'[[channels]]\nname = "slack"\ntype = "slack"\nwebhook_url = "{webhook.url}"\n'
        )
        command = [sys.executable, "-m", "crawler.cli", "--config", str(config), "alerts", "retry"]
        processes = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(3)]
        outputs = [p.communicate(timeout=120)[0] for p in processes]
        assert all(p.returncode == 0 for p in processes), outputs
        titles = Counter(p["blocks"][0]["text"]["text"] for p in webhook.delivered)
        assert titles == Counter({f"H20 {i}": 1 for i in range(6)}), titles
        # Slack's pace holds within each process: about one message a second
        sent = sum(int(o.split("alerts: ")[1].split(" sent")[0]) for o in outputs)
        assert sent == 6
    finally:
        webhook.close()
