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
from storage import decompress_html
from tests.portal_pages import CONFIG, page


def test_the_processed_article_is_plain_versioned_data() -> None:
    record = process_article(page(), CONFIG.catalogue)
    assert record["v"] == RECORD_VERSION and record["text"] and record["lang"]
    assert all(type(v) is int for v in record["signature"]) and len(record["signature"]) == 128
    assert isinstance(record["story_keys"], dict)
    # the raw page, compressed as the archive stores it (so the archive does not)
    assert "html" not in record and decompress_html(record["html_zlib"]) == page()["body"]
    # plain data: it crosses a process boundary unchanged
    assert pickle.loads(pickle.dumps(record)) == record
    empty = process_article({**page(), "body": b"<html></html>"}, CONFIG.catalogue)
    assert empty["text"] == "" and "signature" not in empty and "html_zlib" not in empty


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


def test_the_warm_up_runs_the_whole_stage_on_its_sample_pages() -> None:
    """The forkserver's warm-up (crawler.page_warmup) reaches every part of the stage: each
    sample page gives an article in its language, with figures read for its story keys."""
    from crawler.page_warmup import SAMPLE_PAGES, warm_up

    records = warm_up()
    assert len(records) == len(SAMPLE_PAGES) == 3
    assert [r["lang"] for r in records] == ["zh-Hans", "zh-Hant", "en"]
    assert all(r["text"] and r["signature"] and r["search"]["text"] for r in records)
    assert [r["encoding"] for r in records][:2] == ["gb18030", "cp950"]  # the wider codecs
    money = [k for r in records for k in r["story_keys"] if k.startswith(("cny:", "usd:", "twd:"))]
    assert money, "no figure was read: the number reader was not loaded"


def test_workers_start_with_the_page_stage_loaded() -> None:
    """Workers fork from a forkserver that has loaded and warmed up the page stage: what it
    loads on first use is there before a worker's first page."""
    workers = PageWorkers(1, CONFIG.entities, CONFIG.catalogue)
    try:
        loaded = workers.executor.submit(
            eval,
            "sorted(m for m in ('cn2an', 'crawler.text.page', 'trafilatura') "
            "if m in __import__('sys').modules)",
        ).result(60)
    finally:
        workers.close()
    assert loaded == ["cn2an", "crawler.text.page", "trafilatura"]


CRAWLING_PROCESS = r"""
import atexit, gc, runpy, sys
WATCHED = ("trafilatura", "bs4", "cn2an", "crawler.text.page", "aiohttp", "httpx",
           "scrapy.extensions.remote_control", "scrapy.extensions.telnet")
def report():
    print("frozen:", gc.get_freeze_count() > 0)
    print("loaded:" + ",".join(m for m in WATCHED if m in sys.modules))
atexit.register(report)
sys.argv = ["newswatch", "--config", sys.argv[1], "crawl"]
runpy.run_module("crawler.cli", run_name="__main__")
"""


def test_the_crawling_process_loads_no_extractor_and_leaves_its_objects_to_the_exit(
    tmp_path: Any,
) -> None:
    """With the page stage in workers, a `newswatch crawl` process never loads the
    extraction library (the workers' forkserver does), nor the modules of Scrapy's
    listening extensions (off, and left out of the list Scrapy imports), nor, with no
    alert channels configured, the delivery side's HTTP client. Its objects are
    left to the exit (``gc.freeze``): the interpreter's last collection of a crawl's
    objects took a quarter of a second and freed nothing the exit does not."""
    import sqlite3
    import subprocess
    import sys

    from crawler.demo.portal import PortalServer, load_articles

    with PortalServer(0, articles=load_articles()[:3]) as portal:
        config = tmp_path / "n.toml"
        config.write_text(
            f'[archive]\npath = "{tmp_path / "a.db"}"\n[crawl]\nworkers = 1\n'
            f'[[sources]]\nname = "portal"\nsitemaps = ["{portal.url("/sitemaps/news.xml")}"]\n'
            "delay = 0\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", CRAWLING_PROCESS, str(config)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr
    stored = sqlite3.connect(tmp_path / "a.db").execute("SELECT count(*) FROM articles")
    assert stored.fetchone()[0] == 3  # the pages were processed (in the worker)
    assert done.stdout.splitlines()[-2:] == ["frozen: True", "loaded:"]


def test_pages_that_arrive_together_go_to_the_workers_as_one_batch() -> None:
    """Pages gathered within BATCH_WAIT go as one task, at most BATCH_MAX to a task, and
    each caller gets its own page's record."""
    sizes: list[int] = []

    async def run() -> list[dict[str, Any]]:
        workers = PageWorkers(1, CONFIG.entities, CONFIG.catalogue)
        workers.BATCH_WAIT, workers.BATCH_MAX = 5.0, 3  # a long wait: only the cap sends
        submit = workers.executor.submit

        def counted(fn: Any, batch: list[Any], *args: Any) -> Any:
            sizes.append(len(batch))
            return submit(fn, batch, *args)

        workers.executor.submit = counted  # type: ignore[method-assign]
        try:
            return list(await asyncio.gather(*(workers.process(page(i)) for i in range(6))))
        finally:
            workers.close()

    records = asyncio.run(run())
    assert sizes == [3, 3]
    assert records == [process_article(page(i), CONFIG.catalogue) for i in range(6)]


def test_a_page_that_fails_fails_alone_in_its_batch() -> None:
    async def run() -> list[Any]:
        workers = PageWorkers(1, CONFIG.entities, CONFIG.catalogue)
        broken = {key: value for key, value in page(1).items() if key != "options"}
        try:
            return list(
                await asyncio.gather(
                    workers.process(page(0)),
                    workers.process(broken),
                    workers.process(page(2)),
                    return_exceptions=True,
                )
            )
        finally:
            workers.close()

    first, failed, last = asyncio.run(run())
    assert first == process_article(page(0), CONFIG.catalogue)
    assert isinstance(failed, KeyError) and "options" in str(failed)
    assert last == process_article(page(2), CONFIG.catalogue)


def test_an_error_that_cannot_cross_processes_is_sent_as_what_it_was() -> None:
    import threading

    from crawler.page_stage import _sendable

    plain = ValueError("bad page")
    assert _sendable(plain) is plain
    sent = _sendable(ValueError(threading.Lock()))
    assert isinstance(sent, RuntimeError) and str(sent).startswith("ValueError: <unlocked")


def test_closing_the_workers_sends_the_batch_being_gathered() -> None:
    """Pages still waiting for their batch when the workers close are processed all the
    same (a reload closes the old pool while pages wait)."""

    async def run() -> list[dict[str, Any]]:
        workers = PageWorkers(1, CONFIG.entities, CONFIG.catalogue)
        workers.BATCH_WAIT = 60.0
        waiting = [asyncio.ensure_future(workers.process(page(i))) for i in range(2)]
        await asyncio.sleep(0.2)  # both are in the batch; its timer is a minute away
        assert not any(task.done() for task in waiting)
        workers.close()
        return list(await asyncio.wait_for(asyncio.gather(*waiting), 30))

    assert asyncio.run(run()) == [process_article(page(i), CONFIG.catalogue) for i in range(2)]


FROZEN_AT_START = """
import gc
from crawler.runner import run_in_reactor

async def main():
    return gc.get_freeze_count()

print(run_in_reactor(main))
"""


def test_what_is_loaded_before_the_reactor_runs_is_out_of_the_collectors_way() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", FROZEN_AT_START], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip()) > 10_000  # the modules' objects, at least
