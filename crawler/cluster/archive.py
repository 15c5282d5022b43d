"""``newswatch run --role archive``: the one node of a cluster that owns the SQLite archive.

It is the daemon (:mod:`crawler.daemon`: schedule, signals, reload, health, alerts), with
its checks done by the cluster's workers: a check pushes the source's entry points into the
source's request stream (:class:`RemoteCheck`) and is over when every request it led to is
done. :class:`ArchiveNode` consumes the events stream through the ``archive`` consumer
group, in order: ``spawn`` (a worker pushed a request of a check), ``done`` (a request ended,
with what happened), ``article`` (a processed article: rules, dedup, stories and the
archive transaction, as in a single process), ``fetch`` (what an entry point answered). An
event is acknowledged once handled; after a restart the node first handles what it had
read but not acknowledged. Storing is idempotent (canonical URL unique; one alert per rule,
story and channel), so an article handed over twice changes nothing.

It publishes what workers need to skip work (:mod:`crawler.cluster.state`): the archived
URLs, entry points' validators and sitemap children; after a Redis restart that lost them,
it publishes them again. A worker that stops heart-beating raises an alarm, once, and one
more when it comes back.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections import Counter
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from redis.exceptions import ResponseError
from scrapy import Request

from crawler.cluster import wire
from crawler.cluster.connection import async_client, sync_client
from crawler.cluster.keys import ARCHIVE_GROUP, WORKER_GROUP, WORKER_HEARTBEAT, Keys
from crawler.cluster.outage import REDIS_AWAY, Outage
from crawler.cluster.politeness import free_slots_of
from crawler.cluster.queue import ensure_group
from crawler.daemon import Daemon
from crawler.extensions import WORKER_LOST, CheckResult, summarize_stats
from crawler.page_stage import RECORD_VERSION
from crawler.pipelines import alerts_for, archive_mapping, heavily_repaired
from crawler.runtime import Runtime
from spiders.source import SourceSpider
from storage import utc_now
from storage.db import Fetch
from storage.health import AlarmEvent, queue_alarm

__all__ = ["ArchiveDaemon", "ArchiveNode", "RemoteCheck"]

LOGGER = logging.getLogger(__name__)

RESYNC_EVERY = 30.0  # seconds between looks at whether Redis still has what was published
# The node reads the events stream at most every GATHER seconds (unless a read filled a
# batch of READ_COUNT): each batch costs a few Redis round trips and a commit whatever
# its size, so a crawl whose events come one at a time would otherwise cost the node
# several times as much per article as a backlog does. What a batch takes longer than
# that to handle is not waited for again, so the node's rate is not capped; an alert waits
# at most GATHER longer.
GATHER = 0.1
READ_COUNT = 200


@dataclass
class _Tally:
    """One check in flight across the cluster."""

    result: CheckResult
    pushed: int
    future: asyncio.Future[CheckResult]
    started: float = field(default_factory=time.monotonic)
    done: int = 0
    stats: Counter[str] = field(default_factory=Counter)


class _Published:
    """What one batch of events stored, to publish for the workers in one round trip:
    the archived URLs, entry points' validators and sitemaps' children."""

    def __init__(self) -> None:
        self.known: dict[str, str] = {}
        self.validators: dict[str, bytes] = {}
        self.children: dict[str, bytes] = {}

    def __bool__(self) -> bool:
        return bool(self.known or self.validators or self.children)

    def article(self, mapping: dict[str, Any]) -> None:
        first = mapping.get("fetched_at") or utc_now()
        for url in (mapping["canonical_url"], *mapping.get("aliases", [])):
            self.known.setdefault(url, first)

    def fetch(self, fetch: Fetch, state: Any, children: list[str]) -> None:
        if state is not None and (state.etag or state.last_modified):
            self.validators[fetch.url] = wire.dumps(
                {"etag": state.etag, "last_modified": state.last_modified}
            )
        if fetch.parent:
            self.children[fetch.parent] = wire.dumps(children)

    async def send(self, client: Any, keys: Keys) -> Any:
        pipe = client.pipeline(transaction=False)
        for key, mapping in (
            (keys.known, self.known),
            (keys.validators, self.validators),
            (keys.children, self.children),
        ):
            if mapping:
                pipe.hset(key, mapping=mapping)
        return await pipe.execute()


class RemoteCheck:
    """A source's checks, done by the workers (the archive node's ``SourceCrawler``)."""

    def __init__(self, node: ArchiveNode, source: str) -> None:
        self.node = node
        self.source = source

    async def check(
        self, *, run_id: str | None = None, trigger: str = "daemon", timeout: float | None = None
    ) -> CheckResult:
        return await self.node.run_check(self.source, run_id or "", trigger, timeout)

    async def stop(self, *, reason: str) -> None:
        """Nothing runs here (the workers hold the requests): a check still open ends
        with ``reason``."""
        self.node.end_checks(self.source, reason)


class ArchiveNode:
    def __init__(self, runtime: Runtime) -> None:
        cluster = runtime.config.cluster
        assert cluster is not None, "the archive node needs [cluster]"
        self.runtime = runtime
        self.keys = Keys(cluster.key_prefix)
        self.client: Any = async_client(cluster)
        self.sync: Any = sync_client(cluster)
        self.consumer = f"{socket.gethostname()}:{os.getpid()}"
        self.outage = Outage()
        self.tallies: dict[str, _Tally] = {}
        self.spiders: dict[str, SourceSpider] = {}
        self.stale_workers: set[str] = set()
        self.freed_workers: set[str] = set()  # silent workers whose host slots went back
        self.silences = _Silences()
        self.newer_records = False
        self.handled = 0

    # -- checks --------------------------------------------------------------------------

    def _spider(self, source: str) -> SourceSpider:
        """A spider of ``source`` to build its entry requests (never crawls)."""
        config = self.runtime.config.source(source)
        spider = self.spiders.get(source)
        if spider is None or spider.source_config != config:
            spider = SourceSpider(source=source)
            spider.source_config = config
            self.spiders[source] = spider
        return spider

    async def run_check(
        self, source: str, check: str, trigger: str, timeout: float | None
    ) -> CheckResult:
        spider = self._spider(source)
        requests: list[Request] = list(spider.entry_requests())
        result = CheckResult(source=source, run_id=check, trigger=trigger, started_at=utc_now())
        future: asyncio.Future[CheckResult] = asyncio.get_running_loop().create_future()
        tally = _Tally(result, len(requests), future)
        self.tallies[check] = tally
        stream = self.keys.requests(source)
        await asyncio.to_thread(ensure_group, self.sync, stream)
        pipe = self.client.pipeline(transaction=True)
        for request in requests:
            request.meta["newswatch_check"] = check
            pipe.xadd(stream, {"r": wire.dumps(request.to_dict(spider=spider))})
        try:
            await pipe.execute()
        except Exception:
            self.tallies.pop(check, None)
            raise
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            lost = await self._lost_holders(source)
            if lost:  # not the source's doing: another worker does them after the lease
                LOGGER.info(
                    "[%s] check still open after %.0f s, requests of it held by %s, which "
                    "stopped heart-beating: ending it",
                    source,
                    timeout,
                    ", ".join(lost),
                )
                self._finish(tally, WORKER_LOST)
            else:
                LOGGER.warning("[%s] check still open after %.0f s: ending it", source, timeout)
                self._finish(tally, "check_timeout")
            return await future

    async def _lost_holders(self, source: str) -> list[str]:
        """The workers holding requests of ``source`` that have not heart-beaten for three
        heartbeats (killed, their machine lost); none when Redis cannot tell."""
        try:
            pending = await self.client.xpending(self.keys.requests(source), WORKER_GROUP)
            holders = [
                wire.text(c["name"]) for c in pending.get("consumers") or () if c.get("pending")
            ]
            beats = await self.client.hmget(self.keys.workers, holders) if holders else []
        except Exception as exc:  # a timeout then, as without a cluster
            LOGGER.debug("which workers hold %s's requests: %s", source, exc)
            return []
        now = time.monotonic()
        return [
            holder
            for holder, beat in zip(holders, beats, strict=True)
            if beat is None or self.silences.of(holder, beat, now) > 3 * WORKER_HEARTBEAT
        ]

    def end_checks(self, source: str, reason: str) -> None:
        """End the open checks of ``source`` (what the workers still do for them is stored
        when it arrives, without counting for them)."""
        for tally in [t for t in self.tallies.values() if t.result.source == source]:
            self._finish(tally, reason)

    def _finish(self, tally: _Tally, reason: str) -> None:
        result = tally.result
        self.tallies.pop(result.run_id, None)
        result.finished_at = utc_now()
        result.duration = time.monotonic() - tally.started
        result.finish_reason = reason
        result.stats = dict(tally.stats)
        runtime = self.runtime
        policy = runtime.config.alarms.policy()
        channels = runtime.config.alarms.channels
        future = runtime.writer.submit(
            lambda archive: archive.record_check(
                result.row(),
                policy=policy,
                alarm_channels=channels,
                failed=result.failed,
                cut_short=result.cut_short,
            )
        )
        loop = tally.future.get_loop()

        def recorded(done: Any) -> None:
            exc = done.exception()
            if exc is None:
                result.health = done.result()
                if result.health is not None and result.health.alarms:
                    runtime.alerts_queued()
            else:
                LOGGER.error("recording the check of %s failed: %s", result.source, exc)
            if not tally.future.done():
                tally.future.set_result(result)

        future.add_done_callback(lambda done: loop.call_soon_threadsafe(recorded, done))

    # -- events --------------------------------------------------------------------------

    async def consume(self) -> None:
        """Handle the events stream, in order, forever (the node's one consumer): first
        what an earlier archive node read but did not acknowledge (it stopped, or was
        killed), then what this one read before a restart of the loop, then new events."""
        await asyncio.to_thread(ensure_group, self.sync, self.keys.events, ARCHIVE_GROUP)
        await self._take_over()
        pending = True
        while True:
            try:
                answer = await self.client.xreadgroup(
                    ARCHIVE_GROUP,
                    self.consumer,
                    {self.keys.events: "0" if pending else ">"},
                    count=READ_COUNT,
                    block=None if pending else 1000,
                )
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                LOGGER.warning("the events stream lost its group (Redis restarted?)")
                await asyncio.to_thread(ensure_group, self.sync, self.keys.events, ARCHIVE_GROUP)
                continue
            except asyncio.CancelledError:
                raise
            except REDIS_AWAY as exc:
                self.outage.failed(exc, "reading events")
                await asyncio.sleep(self.outage.wait)
                continue
            except Exception as exc:
                LOGGER.warning("reading events from Redis failed: %s; trying again", exc)
                await asyncio.sleep(1)
                continue
            self.outage.answered()
            read_at = time.monotonic()
            entries = [e for _, batch in answer or [] for e in batch]
            if pending and not entries:
                pending = False
                continue
            events = []
            for _entry_id, fields in entries:
                if fields and b"e" in fields:
                    try:
                        event = wire.loads(fields[b"e"])
                    except Exception as exc:  # one bad event never stops the node
                        LOGGER.error("an event could not be read: %s", exc)
                        continue
                    if isinstance(event, dict):
                        events.append(event)
                    else:
                        LOGGER.error("an event is not a record: %.80r", event)
            # A batch is handled and acknowledged whole: a stop that comes meanwhile waits
            # for it (else the next node would count again what this one counted).
            if entries:
                settling = asyncio.ensure_future(self._settle(events, entries))
                try:
                    await asyncio.shield(settling)
                except asyncio.CancelledError:
                    await settling
                    raise
                self.handled += len(entries)
            rest = GATHER - (time.monotonic() - read_at)
            if entries and not pending and len(entries) < READ_COUNT and rest > 0:
                await asyncio.sleep(rest)

    async def _take_over(self) -> None:
        """Make this node the holder of every event an earlier archive node held."""
        start = "0-0"
        while True:
            next_start, entries, *_ = await self.client.xautoclaim(
                self.keys.events, ARCHIVE_GROUP, self.consumer, min_idle_time=0,
                start_id=start, count=500,
            )  # fmt: skip
            if entries:
                LOGGER.info("took over %d event(s) an earlier archive node had read", len(entries))
            start = wire.text(next_start)
            if start == "0-0":
                return

    async def _ack(self, entry_ids: list[Any]) -> None:
        async def ack() -> Any:
            pipe = self.client.pipeline(transaction=True)
            pipe.xack(self.keys.events, ARCHIVE_GROUP, *entry_ids)
            pipe.xdel(self.keys.events, *entry_ids)
            return await pipe.execute()

        await self.outage.call(ack, "acknowledging events")

    async def _settle(self, events: list[dict[str, Any]], entries: list[Any]) -> None:
        """Handle a batch's events, then acknowledge its entries, the batch at once."""
        if events:
            try:
                await self._handle(events)
            except Exception as exc:  # what went wrong with a batch never stops the node
                LOGGER.exception("a batch of %d event(s) failed: %s", len(events), exc)
        await self._ack([entry_id for entry_id, _ in entries])

    async def _handle(self, events: list[dict[str, Any]]) -> None:
        """Handle one batch of events read together.

        The batch's archive writes (articles and entry points' fetches) go to the writer
        together, in stream order, so articles waiting together share a transaction
        (group commit, :mod:`storage.connection_thread`); then what they stored is
        published to Redis in one round trip, then the requests' ends are counted, in
        stream order. A ``spawn`` counts at once: a request's children are counted before
        any end that follows them in the stream, so no check looks over too early."""
        # (event, its write, what it writes: an article's mapping or a Fetch)
        steps: list[tuple[dict[str, Any], Any, Any]] = []
        for event in events:
            kind = event.get("t")
            try:
                if kind == "article":
                    steps.append((event, *self._store(event)))
                elif kind == "fetch":
                    steps.append((event, *self._record_fetch(event)))
                elif kind == "done":
                    steps.append((event, None, None))
                elif kind == "spawn":
                    tally = self.tallies.get(event.get("check", ""))
                    if tally is not None:
                        tally.pushed += 1
            except Exception as exc:  # one bad event never stops the node
                if kind != "article":
                    LOGGER.exception("a %s event could not be handled: %s", kind, exc)
                    continue
                unstored: Future[Any] = Future()  # counted as an error of its check
                unstored.set_exception(exc)
                steps.append((event, unstored, None))
        writes = [asyncio.wrap_future(write) for _, write, _ in steps if write is not None]
        outcomes = iter(await asyncio.gather(*writes, return_exceptions=True))
        published = _Published()
        ends: list[tuple[dict[str, Any], Any]] = []
        for event, write, written in steps:
            outcome: Any = next(outcomes) if write is not None else None
            failed = isinstance(outcome, BaseException)
            if failed:
                url = event.get("url") or (event.get("record") or {}).get("url")
                LOGGER.error("storing the %s event of %s failed: %s", event["t"], url, outcome)
            if event["t"] == "article":
                if not failed:
                    published.article(written)
                    if outcome.alerts:  # delivery looks now, Redis or not
                        self.runtime.alerts_queued()
                ends.append((event, outcome))
            elif event["t"] == "fetch":
                if not failed:
                    state, children = outcome
                    published.fetch(written, state, children)
            else:
                ends.append((event, None))
        if published:
            try:
                await self.outage.call(
                    lambda: published.send(self.client, self.keys), "publishing what was stored"
                )
            except Exception as exc:  # Redis refused (out of memory, read-only): workers
                # download those articles again, and the archive keeps them once
                LOGGER.error("publishing what was stored to Redis failed: %s", exc)
        late = _Late()  # what belongs to checks already recorded
        for event, outcome in ends:
            try:
                if event["t"] == "article":
                    self._count_article(event, outcome, late)
                    if isinstance(event.get("done"), dict):
                        self._done(event["done"], late)
                else:
                    self._done(event, late)
            except Exception as exc:  # one bad event never stops the node
                LOGGER.exception("the end of a request could not be counted: %s", exc)
        if late:
            rows = late.rows()
            self.runtime.writer.post(
                lambda a: a.add_late_counts(rows), what="counting what came after its check"
            )

    def _store(self, event: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """Send an article event's record to the writer: a Future of what it stored, and
        the mapping stored."""
        record = event["record"]
        if record.get("v", 0) > RECORD_VERSION and not self.newer_records:
            self.newer_records = True
            LOGGER.warning(
                "a worker sends processed articles of version %s (this node reads %s): "
                "upgrade the archive node; what it can read is stored",
                record.get("v"),
                RECORD_VERSION,
            )
        view = self.runtime.view
        alerts = alerts_for(view, record)
        mapping = archive_mapping(record, view.host_aliases.get(record["source"]))
        write = self.runtime.writer.submit(
            lambda a: a.add_article(mapping, alerts=alerts), grouped=True
        )
        return write, mapping

    def _count_article(self, event: dict[str, Any], stored: Any, late: _Late) -> None:
        """Count a handled article for its check (``stored``: what the archive made of
        it, or the exception that stopped it); for a check already recorded (it timed
        out, or the node that ran it stopped), in ``late``."""
        tally = self.tallies.get(event.get("check", ""))
        stats = tally.stats if tally is not None else late.stats(event)
        if stats is not None:
            _article_stats(stats, event, stored)

    def _done(self, event: dict[str, Any], late: _Late) -> None:
        tally = self.tallies.get(event.get("check", ""))
        if tally is None:  # a check that timed out, or from before a restart
            stats = late.stats(event)
            if stats is not None and not event.get("again"):
                _done_stats(stats, event)
            return
        tally.done += 1
        if not event.get("again"):
            _done_stats(tally.stats, event)
        if tally.done >= tally.pushed:
            self._finish(tally, "finished")

    def _record_fetch(self, event: dict[str, Any]) -> tuple[Any, Fetch]:
        """Send what a fetch answered to the writer: a Future of the URL's validators and
        its parent's children (to publish), and the fetch."""
        fetch = Fetch.of(event)
        if not fetch.url or not fetch.kind:
            raise ValueError("a fetch event without its URL or kind")

        def record(archive: Any) -> tuple[Any, list[str]]:
            archive.record_fetch(fetch)
            parent = fetch.parent
            children = archive.children(parent, kind=fetch.kind) if parent else []
            return archive.fetch_state(fetch.url), children

        return self.runtime.writer.submit(record, grouped=True), fetch

    # -- publishing --------------------------------------------------------------------

    async def publish(self) -> None:
        """Keep ``known``, ``validators`` and ``children`` in Redis, again after a Redis
        restart that lost them."""
        while True:
            try:
                if not await self.client.exists(self.keys.known_synced):
                    await self._publish_all()
            except asyncio.CancelledError:
                raise
            except REDIS_AWAY as exc:
                self.outage.failed(exc, "publishing the archive's URLs")
            except Exception as exc:
                LOGGER.warning("publishing the archive's URLs to Redis failed: %s", exc)
            await asyncio.sleep(RESYNC_EVERY)

    async def _publish_all(self) -> None:
        started = time.monotonic()
        batches = await self.runtime.reader.run(lambda a: list(a.known_index()))
        count = 0
        for batch in batches:
            await self.client.hset(self.keys.known, mapping={u: f or "" for u, f in batch})
            count += len(batch)
        # Validators are not published again: they come back with the next fetches. So
        # after Redis lost its data (a restart without persistence), each entry point is
        # next asked unconditionally, and an article that was on its way to this node
        # when the data went is found again in it (a 304 would hide it).
        entries = await self.runtime.reader.run(lambda a: a.entry_validators())
        pipe = self.client.pipeline(transaction=False)
        children: dict[str, list[str]] = {}
        for url, _etag, _modified, parent in entries:
            if parent:
                children.setdefault(parent, []).append(url)
        for parent, urls in children.items():
            pipe.hset(self.keys.children, parent, wire.dumps(sorted(urls)))
        pipe.set(self.keys.known_synced, utc_now())
        await pipe.execute()
        LOGGER.info(
            "published %d archived URLs and %d entry points to Redis in %.1f s",
            count,
            len(entries),
            time.monotonic() - started,
        )

    # -- workers -------------------------------------------------------------------------

    async def watch_workers(self) -> None:
        while True:
            cluster = self.runtime.config.cluster
            assert cluster is not None
            await asyncio.sleep(max(1.0, cluster.worker_timeout_seconds / 3))
            try:
                await self._look_at_workers()
            except REDIS_AWAY as exc:
                self.outage.failed(exc, "looking at the workers' heartbeats")
            except Exception as exc:  # the next look may go better; the watch goes on
                LOGGER.warning("looking at the workers' heartbeats failed: %s", exc)

    async def _look_at_workers(self) -> None:
        """Alarm on workers that stopped heart-beating (and recovered), give back the host
        slots of those silent for the lease, forget those long gone."""
        cluster = self.runtime.config.cluster
        assert cluster is not None
        stale_after = cluster.worker_timeout_seconds
        now = time.monotonic()
        beats: dict[str, tuple[float, dict[str, Any]]] = {}
        for raw, value in (await self.client.hgetall(self.keys.workers)).items():
            worker = wire.text(raw)
            try:
                beat = wire.loads(value)
            except Exception as exc:  # one worker's bad entry hides none of the others
                LOGGER.warning("worker %s's heartbeat cannot be read: %s", worker, exc)
                continue
            beats[worker] = (self.silences.of(worker, value, now), beat)
        for worker, (age, beat) in beats.items():
            if age > stale_after * 20:
                # long gone (killed, its machine lost): no longer listed or alarmed
                await self.client.hdel(self.keys.workers, worker)
                self.stale_workers.discard(worker)
                self.freed_workers.discard(worker)
                self.silences.forget(worker)
                LOGGER.info("forgot worker %s, silent for %.0f s", worker, age)
                continue
            if age > stale_after and worker not in self.stale_workers:
                self.stale_workers.add(worker)
                live = sum(1 for other, _ in beats.values() if other <= stale_after)
                then = (
                    f"what it held goes to the {live} other worker(s) after the lease"
                    if live
                    else "no other worker is heart-beating to take over what it held"
                )
                message = f"worker {worker} stopped heart-beating {age:.0f} s ago; {then}"
                self._alarm(worker, "raised", message)
            elif age <= stale_after and worker in self.stale_workers:
                self.stale_workers.discard(worker)
                self._alarm(worker, "recovered", f"worker {worker} is heart-beating again")
            if age <= stale_after:
                self.freed_workers.discard(worker)
            elif age > cluster.lease_seconds:
                await self._free_slots(worker, str(beat.get("slots") or worker), age)

    async def _free_slots(self, worker: str, holder: str, age: float) -> None:
        """Give back the host slots of a worker silent for longer than the lease, once
        (``holder``: the name its slots are held under, from its heartbeat): its requests
        go to the others then, and its hosts' slots with them (else they would wait for
        the slots to expire, the download timeout + 30 s)."""
        if worker in self.freed_workers:
            return
        try:
            freed = await free_slots_of(self.client, self.keys, holder)
        except REDIS_AWAY as exc:
            self.outage.failed(exc, "giving a silent worker's host slots back")
            return
        except Exception as exc:  # they expire by themselves
            LOGGER.warning("giving worker %s's host slots back failed: %s", worker, exc)
            freed = 0
        self.freed_workers.add(worker)
        if freed:
            LOGGER.info(
                "gave back %d host slot(s) of worker %s, silent for %.0f s", freed, worker, age
            )

    def _alarm(self, worker: str, event: str, message: str) -> None:
        log = LOGGER.warning if event == "raised" else LOGGER.info
        log("alarm worker %s: %s", event, message)
        alarm = AlarmEvent(f"worker {worker}", "worker", event, message)
        channels = self.runtime.config.alarms.channels
        stamp = utc_now()
        written = self.runtime.writer.submit(
            lambda a: queue_alarm(a.db, alarm, channels=channels, now=stamp)
        )
        if channels:  # delivery looks once the alarm is committed
            written.add_done_callback(lambda _: self.runtime.alerts_queued())

    async def close(self) -> None:
        await self.client.aclose()
        self.sync.close()


def _article_stats(stats: Counter[str], event: dict[str, Any], stored: Any) -> None:
    """Count a handled article event in a check's ``stats`` (Scrapy's stat names, as a
    single process counts them: :func:`crawler.extensions.summarize_stats`)."""
    record = event.get("record") or {}
    stats["newswatch/pages"] += 1
    stats[f"newswatch/lang/{record.get('lang')}"] += 1
    if heavily_repaired(record.get("repairs") or {}):
        stats["newswatch/pages_repaired"] += 1
    if stored is None or isinstance(stored, BaseException):
        stats["newswatch/errors"] += 1
        stats["newswatch/errors/archive"] += 1
    elif stored.created:
        stats["newswatch/articles_new"] += 1
        stats["newswatch/stories_new" if stored.new_story else "newswatch/stories_joined"] += 1
    elif stored.revised:
        stats["newswatch/articles_revised"] += 1
    else:
        stats["newswatch/articles_duplicate"] += 1


def _done_stats(stats: Counter[str], event: dict[str, Any]) -> None:
    """Count the end of a request (not a repeat of one) in a check's ``stats``."""
    stats["downloader/request_count"] += 1
    status = event.get("status")
    if status is not None:
        stats["downloader/response_count"] += 1
        stats[f"downloader/response_status_count/{status}"] += 1
        if status == 304:
            stats["newswatch/not_modified"] += 1
    if event.get("known"):
        stats["newswatch/articles_known"] += int(event["known"])
    if event.get("empty"):
        stats["newswatch/pages"] += 1
        stats["newswatch/articles_empty"] += 1
        stats["newswatch/errors"] += 1
    error = event.get("error")
    if error:
        stats["newswatch/errors"] += 1
        stats[f"newswatch/errors/{error}"] += 1
        if event.get("entry_error"):
            stats["newswatch/entry_errors"] += 1


class _Silences:
    """How long each worker's heartbeat has stayed the same, on this node's clock (a
    heartbeat's own time, from Redis' clock or, where Redis refuses TIME, the worker's,
    is not trusted to be comparable with this node's).
    A worker first seen is silent from then: what came before is not known."""

    def __init__(self) -> None:
        self.seen: dict[str, tuple[bytes, float]] = {}  # its heartbeat, since when

    def of(self, worker: str, beat: bytes, now: float) -> float:
        seen = self.seen.get(worker)
        if seen is None or seen[0] != beat:
            self.seen[worker] = (beat, now)
            return 0.0
        return now - seen[1]

    def forget(self, worker: str) -> None:
        self.seen.pop(worker, None)


class _Late:
    """What a batch of events holds for checks recorded already, by check and source."""

    def __init__(self) -> None:
        self.by_check: dict[tuple[str, str], Counter[str]] = {}

    def stats(self, event: dict[str, Any]) -> Counter[str] | None:
        check = str(event.get("check") or "")
        source = str(event.get("source") or (event.get("record") or {}).get("source") or "")
        if not check or not source:
            return None
        return self.by_check.setdefault((check, source), Counter())

    def __bool__(self) -> bool:
        return bool(self.by_check)

    def rows(self) -> dict[tuple[str, str], dict[str, int]]:
        """Each check's counts as its ``crawl_runs`` row has them."""
        return {key: summarize_stats(dict(stats)) for key, stats in self.by_check.items()}


class ArchiveDaemon(Daemon):
    """The daemon of the archive node: its checks go to the workers."""

    role = "archive"

    def _checker(self, source: Any) -> Any:
        if not hasattr(self, "node"):
            assert self.runtime is not None
            self.node = ArchiveNode(self.runtime)
        return RemoteCheck(self.node, source.name)

    async def _begin(self) -> list[asyncio.Task[None]]:
        assert self.runtime is not None
        if not hasattr(self, "node"):
            self.node = ArchiveNode(self.runtime)
        await asyncio.to_thread(self.node.sync.ping)
        return [
            asyncio.create_task(self.node.consume()),
            asyncio.create_task(self.node.publish()),
            asyncio.create_task(self.node.watch_workers()),
        ]

    async def _end(self) -> None:
        await self.node.close()
