"""The page stage: what a downloaded article page becomes before the archive sees it.

:func:`page_input` turns a spider's item and its source's options into plain data;
:func:`process_article` (I/O-free, CPU-bound) runs the page pipeline on it (decode, extract,
repair, clean, language, dates, origin), then the content fingerprint, the MinHash
signature, the catalogue entities the article names, its cross-language story keys and
its full-text search entry (:func:`storage.search.search_entry`), and returns the
*processed article*: a versioned record of plain data (strings, numbers, lists, dicts, the
raw page compressed as the archive stores it; the signature as integers), so it can cross
a process boundary or Redis and be read by another release during an upgrade. What depends
on the archive (stories, revisions) or on the rules (alerts) happens where the archive is.

:class:`PageWorkers` runs the stage in a pool of worker processes fed from the reactor
(``[crawl] workers``, default: the machine's cores), so downloads never wait on it and the
other cores are used; ``workers = 0`` runs it in the crawling process (on a thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import signal
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import Any

from alerts.matching import RuleSet
from crawler.config import EntityConfig, SourceConfig
from crawler.text.crosslang import story_keys
from crawler.text.dedup import fingerprint_and_signature
from crawler.text.entities import Catalogue, load_catalogue
from storage.db import compress_html
from storage.search import computed_entry

__all__ = [
    "RECORD_VERSION",
    "PageWorkers",
    "default_workers",
    "entity_scanner",
    "page_input",
    "process_article",
    "process_batch",
    "record_signature",
    "start_forkserver",
]

LOGGER = logging.getLogger(__name__)

# 1: the raw page as ``html``; 2: compressed, as ``html_zlib`` (what ``articles.html``
# holds), so the archive's one writer no longer compresses every page and a page crosses
# Redis at a fraction of its size. An archive node reads both.
RECORD_VERSION = 2


def page_input(item: Mapping[str, Any], source: SourceConfig) -> dict[str, Any]:
    """The page stage's input for a spider item of ``source`` (plain data)."""
    return {
        "source": item["source"],
        "url": item["url"],
        "body": item["body"],
        "content_type": item.get("content_type"),
        "redirect_urls": list(item.get("redirect_urls") or []),
        "fetched_at": item.get("fetched_at"),
        "hint_title": item.get("hint_title"),
        "hint_published_at": item.get("hint_published_at"),
        "options": {
            "encoding": source.encoding,
            "language": source.language,
            "title_selector": source.selectors.title,
            "body_selector": source.selectors.body,
            "date_selector": source.selectors.date,
            "host_aliases": dict(source.host_aliases),
            "timezone": source.timezone,
        },
    }


def entity_scanner(catalogue: Catalogue) -> RuleSet:
    """A rule set with no rules over ``catalogue``: its scan finds the entities."""
    return RuleSet([], catalogue)


def process_article(
    data: Mapping[str, Any], catalogue: Catalogue, scanner: RuleSet | None = None
) -> dict[str, Any]:
    """The processed article for page-stage input ``data`` (see the module doc), the
    catalogue's entities found by ``scanner`` (:func:`entity_scanner`, built once per
    catalogue by the caller). An empty ``text`` means the page held no article."""
    # Imported here, not with the module: a crawling process whose page stage runs in
    # worker processes never loads the extraction library.
    from crawler.text.page import process_page

    options = data["options"]
    page = process_page(
        data["body"],
        url=data["url"],
        content_type=data.get("content_type"),
        encoding=options.get("encoding"),
        language=options.get("language"),
        title_selector=options.get("title_selector"),
        body_selector=options.get("body_selector"),
        date_selector=options.get("date_selector"),
        host_aliases=options.get("host_aliases") or None,
        fetched_at=data.get("fetched_at"),
        timezone=options.get("timezone") or "Asia/Shanghai",
        catalogue=catalogue,
    )
    title = page.title or data.get("hint_title") or ""
    published = page.published_at or data.get("hint_published_at")
    record: dict[str, Any] = {
        "v": RECORD_VERSION,
        "source": data["source"],
        "url": data["url"],
        "canonical_url": page.canonical_url,
        "redirect_urls": list(data.get("redirect_urls") or []),
        "fetched_at": data.get("fetched_at"),
        "content_type": data.get("content_type"),
        "title": title,
        "text": page.text,
        "lang": page.lang,
        "encoding": page.encoding,
        "published_at": published,
        "published_precision": page.published_precision or ("minute" if published else None),
        "origin": page.origin,
        "repairs": page.repairs,
    }
    if not page.text.strip():
        return record
    basis = page.text or title
    if scanner is None:  # (a RuleSet without rules is falsy: its len is 0)
        scanner = entity_scanner(catalogue)
    scan = scanner.scan(title=title, text=page.text)
    fingerprint, values = fingerprint_and_signature(basis)
    record.update(
        html_zlib=compress_html(data["body"]),
        fingerprint=fingerprint,
        signature=None if values is None else [int(v) for v in values],
        entities=scan.entities,
        story_keys=story_keys(title, page.text, mentions=scan.mentions, published=published),
        search=computed_entry(title, page.text),
    )
    return record


def record_signature(record: Mapping[str, Any]) -> Any:
    """The MinHash signature of a processed article as the archive stores it (numpy)."""
    import numpy as np

    values = record.get("signature")
    return None if values is None else np.asarray(values, dtype=np.uint64)


# -- the worker processes ------------------------------------------------------------------

# A worker process's catalogue and entity scanner, set by the pool's initializer: built
# once per worker process, since they (hundreds of entities, one automaton) are too large
# to send with every page. These live only in the pool's processes.
_WORKER: dict[str, Any] = {}


def _start_worker(entities: Sequence[Mapping[str, Any]], owner: int | None = None) -> None:
    # Ctrl-C in a terminal, or a SIGTERM to the whole process group (systemd's cgroup,
    # GNU timeout, tini -g), reaches the workers too: their owner ends them once it has
    # stopped (and they end themselves if it dies), so they let it decide.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    _yield_cpu()
    catalogue = load_catalogue([EntityConfig(**e) for e in entities])
    _WORKER.update(catalogue=catalogue, scanner=entity_scanner(catalogue))
    if owner is not None:
        threading.Thread(target=_outlive_no_owner, args=(owner,), daemon=True).start()


# How much lower a worker process's CPU priority is than its owner's: when the machine's
# cores are all busy, the reactor's downloads and the archive's writes (which callers and
# AutoThrottle's latency measure wait on) run first, page work in the time left over.
WORKER_NICENESS = 10


def _yield_cpu() -> None:
    # Where nice() is missing or refused, the workers keep their owner's priority.
    with contextlib.suppress(AttributeError, OSError):
        os.nice(WORKER_NICENESS)


OWNER_CHECK = 2.0  # seconds between a worker process's looks at whether its owner lives


def _outlive_no_owner(owner: int) -> None:
    """End this worker process once the process that owns the pool is gone. A pool's
    workers wait on a queue they hold both ends of, so an owner killed with SIGKILL (the
    OOM killer, ``kill -9``) would otherwise leave them, and the forkserver they keep
    alive, running for good."""
    while True:
        time.sleep(OWNER_CHECK)
        try:
            os.kill(owner, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:  # the PID went to another user's process: ours is gone
            os._exit(0)


def _ready() -> bool:
    return "catalogue" in _WORKER


# What a batch gives back per page: (True, the processed article) or (False, the error).
Outcome = tuple[bool, Any]
# A page waiting in a batch: its page-stage input and the future its caller awaits.
Waiting = tuple[Mapping[str, Any], "asyncio.Future[Any]"]


def process_batch(
    batch: Sequence[Mapping[str, Any]], catalogue: Catalogue, scanner: RuleSet | None = None
) -> list[Outcome]:
    """:func:`process_article` for each page of ``batch``, in order; a page that fails
    gives its error and the others go on."""
    outcomes: list[Outcome] = []
    for data in batch:
        try:
            outcomes.append((True, process_article(data, catalogue, scanner)))
        except Exception as exc:
            outcomes.append((False, _sendable(exc)))
    return outcomes


def _sendable(exc: Exception) -> Exception:
    """``exc``, or a RuntimeError that says what it was when it cannot cross a process
    boundary (an error that does not pickle would fail the whole batch's answer)."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


def _in_worker(batch: Sequence[Mapping[str, Any]]) -> list[Outcome]:
    return process_batch(batch, _WORKER["catalogue"], _WORKER["scanner"])


class PageWorkers:
    """Runs :func:`process_article` for the crawl: in ``workers`` worker processes, or on
    one thread of this process when ``workers`` is 0. Worker processes are started with
    ``forkserver`` (never forked from a process running the reactor and archive threads).

    Pages go to the workers in batches: the pages that arrive within ``BATCH_WAIT``
    seconds of a batch's first page, up to ``BATCH_MAX``, go as one task. A task per page
    woke a worker and this process's pool threads once per page, and a woken worker
    starts on cold caches: on two cores that cost about an eighth of the crawl's CPU. A
    page waits at most ``BATCH_WAIT`` more, nothing beside alerting's seconds.

    A pool that breaks (a worker killed, say by the kernel's OOM killer) is replaced and
    the batch tried again on the new one; should worker processes keep failing to start
    (``MAX_RESTARTS`` in a row), the stage goes on in this process, and says so."""

    MAX_RESTARTS = 3
    BATCH_WAIT = 0.05
    BATCH_MAX = 32

    def __init__(self, workers: int, entities: Sequence[EntityConfig], catalogue: Catalogue):
        self.workers = workers
        self.catalogue = catalogue
        self.entities = [e.model_dump() for e in entities]
        self.scanner: RuleSet | None = None
        self.restarts = 0
        self.executor = self._executor()
        self._started: Future[None] | None = None
        self._batch: list[Waiting] = []  # the batch being gathered
        self._flush_timer: asyncio.TimerHandle | None = None

    def _executor(self) -> Executor:
        if self.workers > 0:
            return ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=_forkserver_context(),
                initializer=_start_worker,
                initargs=(self.entities, os.getpid()),
            )
        self.scanner = entity_scanner(self.catalogue)
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="page-stage")

    async def process(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """The processed article for page-stage input ``data``."""
        loop = asyncio.get_running_loop()
        if self._started is not None and not self._started.done():
            await asyncio.wrap_future(self._started)
        if self.workers == 0:
            return await loop.run_in_executor(
                self.executor, process_article, data, self.catalogue, self.scanner
            )
        waiter: asyncio.Future[Any] = loop.create_future()
        self._batch.append((data, waiter))
        if len(self._batch) >= self.BATCH_MAX:
            self._flush()
        elif self._flush_timer is None:
            self._flush_timer = loop.call_later(self.BATCH_WAIT, self._flush)
        return await waiter

    def _flush(self) -> None:
        """Send the batch gathered so far."""
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        batch, self._batch = self._batch, []
        if batch:
            self._submit(batch)

    def _submit(self, batch: list[Waiting]) -> None:
        pages = [data for data, _ in batch]
        loop = batch[0][1].get_loop()
        while True:
            executor = self.executor
            try:
                if self.workers > 0:
                    future = executor.submit(_in_worker, pages)
                else:  # the workers gave way to this process since the batch began
                    future = executor.submit(process_batch, pages, self.catalogue, self.scanner)
            except BrokenProcessPool as exc:
                self._replace(executor, exc)
                continue
            except Exception as exc:  # shut down under it: its callers learn why
                _settle(batch, exc)
                return
            break

        def answered(done: Future[list[Outcome]]) -> None:
            # On the pool's thread: hand the answer to the event loop's thread.
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._answered, executor, batch, done)

        future.add_done_callback(answered)

    def _answered(
        self, executor: Executor, batch: list[Waiting], done: Future[list[Outcome]]
    ) -> None:
        try:
            outcomes = done.result()
        except BrokenProcessPool as exc:
            self._replace(executor, exc)
            self._submit(batch)  # again, on the new pool
            return
        except BaseException as exc:
            _settle(batch, exc)
            return
        if self.workers > 0:
            self.restarts = 0
        for (ok, value), (_, waiter) in zip(outcomes, batch, strict=True):
            if waiter.done():  # its caller was cancelled
                continue
            if ok:
                waiter.set_result(value)
            else:
                waiter.set_exception(value)

    def _replace(self, broken: Executor, exc: BaseException) -> None:
        if broken is not self.executor:
            return  # another page already replaced it
        broken.shutdown(wait=False, cancel_futures=True)
        self.restarts += 1
        if self.restarts > self.MAX_RESTARTS:
            LOGGER.error(
                "page-stage worker processes keep failing (%s); processing pages in this "
                "process from now on",
                exc,
            )
            self.workers = 0
        else:
            LOGGER.warning("a page-stage worker process died (%s); starting new ones", exc)
        self.executor = self._executor()

    def warm(self) -> None:
        """Start the worker processes now, rather than when the first page arrives, on a
        thread of their own: the first start launches the forkserver, which imports the
        text library (a second or two) while the caller's first entry points download.
        :meth:`process` waits for it, without holding up the event loop."""
        if self.workers > 0 and self._started is None:
            self._started = Future()
            threading.Thread(target=self._start, name="page-stage-start", daemon=True).start()

    def _start(self) -> None:
        assert self._started is not None
        try:
            for _ in range(self.workers):
                self.executor.submit(_ready)
        except BaseException as exc:  # the pages that wait for it try (and fail) on their own
            LOGGER.warning("page-stage worker processes did not start: %s", exc)
        finally:
            self._started.set_result(None)

    def close(self, *, wait: bool = True) -> None:
        """Stop the workers; with ``wait``, once the pages they hold are done. A batch
        still being gathered is sent first, so its pages are processed all the same."""
        if self._started is not None:
            self._started.result(60)  # not while the thread is still starting them
        self._flush()
        self.executor.shutdown(wait=wait)


def _settle(batch: list[Waiting], exc: BaseException) -> None:
    """Fail the pages of ``batch`` that still wait with ``exc`` (from any thread)."""
    for _, waiter in batch:
        if not waiter.done():
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits
                waiter.get_loop().call_soon_threadsafe(_fail, waiter, exc)


def _fail(waiter: asyncio.Future[Any], exc: BaseException) -> None:
    if not waiter.done():
        waiter.set_exception(exc)


# What the forkserver imports before it forks any worker: the page stage, warmed up on
# sample pages (crawler.page_warmup), so workers start with what it loads on first use.
FORKSERVER_PRELOAD = ["crawler.page_warmup"]


def _forkserver_context() -> Any:
    context = get_context("forkserver")
    context.set_forkserver_preload(FORKSERVER_PRELOAD)
    return context


def start_forkserver() -> None:
    """Start the forkserver the page-stage workers are forked from, now, so that it loads
    and warms up the page stage on another core while this process is still starting
    (Scrapy, the archive): the first pages then find their workers ready. It returns at
    once; a pool started later uses the same forkserver (there is one per process)."""
    from multiprocessing import forkserver

    _forkserver_context()
    forkserver.ensure_running()


def default_workers() -> int:
    """The machine's cores (what this process may use of them)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
