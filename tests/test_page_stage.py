"""The page stage in worker processes (issue 12): the processed article is plain,
versioned data; a pool that breaks is replaced; workers that cannot start give way to
processing in the crawling process."""

from __future__ import annotations

import asyncio
import os
import pickle
from typing import Any

import pytest

from crawler.page_stage import RECORD_VERSION, PageWorkers, process_article
from tests.portal_pages import CONFIG, page


def test_the_processed_article_is_plain_versioned_data() -> None:
    record = process_article(page(), CONFIG.catalogue)
    assert record["v"] == RECORD_VERSION and record["text"] and record["lang"]
    assert all(type(v) is int for v in record["signature"]) and len(record["signature"]) == 128
    assert isinstance(record["html"], bytes) and isinstance(record["story_keys"], dict)
    # plain data: it crosses a process boundary unchanged
    assert pickle.loads(pickle.dumps(record)) == record
    empty = process_article({**page(), "body": b"<html></html>"}, CONFIG.catalogue)
    assert empty["text"] == "" and "signature" not in empty


def test_worker_processes_give_the_same_record_as_this_process() -> None:
    async def run() -> list[dict[str, Any]]:
        workers = PageWorkers(2, CONFIG.entities, CONFIG.catalogue)
        try:
            return list(await asyncio.gather(*(workers.process(page(i)) for i in range(4))))
        finally:
            workers.close()

    in_pool = asyncio.run(run())
    here = [process_article(page(i), CONFIG.catalogue) for i in range(4)]
    assert in_pool == here


def test_pages_wait_for_workers_started_in_the_background(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def run() -> dict[str, Any]:
        workers = PageWorkers(2, CONFIG.entities, CONFIG.catalogue)
        try:
            workers.warm()  # returns at once; the forkserver starts on a thread of its own
            return await workers.process(page())
        finally:
            workers.close()

    assert run_record_matches(asyncio.run(run()))
    # Closed at once after warm(), the pool waits for its workers to start, then stops.
    workers = PageWorkers(1, CONFIG.entities, CONFIG.catalogue)
    workers.warm()
    workers.close()
    assert not [r for r in caplog.records if "did not start" in r.getMessage()]


def run_record_matches(record: dict[str, Any]) -> bool:
    return record == process_article(page(), CONFIG.catalogue)


def test_worker_processes_run_at_a_lower_cpu_priority_than_their_owner() -> None:
    from crawler.page_stage import WORKER_NICENESS

    workers = PageWorkers(1, CONFIG.entities, CONFIG.catalogue)
    try:
        theirs = workers.executor.submit(os.nice, 0).result(60)
    finally:
        workers.close()
    assert theirs == min(os.nice(0) + WORKER_NICENESS, 19)


def test_a_broken_pool_is_replaced_and_the_page_tried_again() -> None:
    async def run() -> tuple[dict[str, Any], int]:
        workers = PageWorkers(1, CONFIG.entities, CONFIG.catalogue)
        try:
            first = workers.executor
            await workers.process(page())
            # a worker dies (the OOM killer, say): the pool is broken
            with pytest.raises(Exception, match="terminated abruptly"):
                await asyncio.wrap_future(first.submit(os._exit, 1))
            record = await workers.process(page(1))
            assert workers.executor is not first
            return record, workers.workers
        finally:
            workers.close()

    record, still = asyncio.run(run())
    assert record["text"] and still == 1


def test_workers_that_cannot_start_give_way_to_this_process(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def run() -> tuple[dict[str, Any], int]:
        workers = PageWorkers(1, CONFIG.entities, CONFIG.catalogue)
        workers.executor.shutdown()
        workers.entities = [{"not an entity field": 1}]  # every new worker fails to start
        workers.executor = workers._executor()
        try:
            return await workers.process(page()), workers.workers
        finally:
            workers.close()

    record, workers = asyncio.run(run())
    assert record["text"] and workers == 0
    assert "processing pages in this process" in caplog.text


OWNER = """
import asyncio, os, sys, time
from crawler.config import parse_config
from crawler.page_stage import PageWorkers
text = '[[sources]]\\nname = "p"\\nfeeds = ["http://p.test/f.xml"]\\n'
config = parse_config(text, path="t.toml")
workers = PageWorkers(2, config.entities, config.catalogue)
for future in [workers.executor.submit(time.sleep, 0.5) for _ in range(4)]:
    future.result(60)
print(os.getpid(), flush=True)
time.sleep(600)
"""


def test_worker_processes_end_when_their_owner_is_killed() -> None:
    """SIGKILL leaves no page-stage process behind (nor the forkserver they keep alive)."""
    psutil = pytest.importorskip("psutil")
    import signal
    import subprocess
    import sys
    import time

    owner = subprocess.Popen([sys.executable, "-c", OWNER], stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout is not None
        assert int(owner.stdout.readline()) == owner.pid
        family = psutil.Process(owner.pid).children(recursive=True)
        pool = [p for p in family if "forkserver" in " ".join(p.cmdline())]
        assert len(pool) >= 3  # the forkserver and two workers
        owner.send_signal(signal.SIGKILL)
        owner.wait(10)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(p.is_running() and p.status() != "zombie"
                                                  for p in pool):  # fmt: skip
            time.sleep(0.2)
        left = [p.pid for p in pool if p.is_running() and p.status() != "zombie"]
        assert left == [], f"still running after their owner was killed: {left}"
    finally:
        if owner.poll() is None:
            owner.kill()
