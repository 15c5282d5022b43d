"""The Redis keys of a cluster, all under ``[cluster] key_prefix``.

Per source: its request stream (``{prefix}:{source}:requests``, read by the workers'
consumer group) and, per check, the fingerprints its requests were seen with
(``{prefix}:{source}:seen:{check}``, expiring). Shared: the events stream the archive node
consumes (processed articles, finished requests, fetch outcomes), what the archive knows
(article URLs, entry points' validators, sitemap children), the workers' heartbeats and the
per-host politeness slots.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ARCHIVE_GROUP", "WORKER_HEARTBEAT", "WORKER_GROUP", "Keys"]

WORKER_GROUP = "workers"
ARCHIVE_GROUP = "archive"
WORKER_HEARTBEAT = 5.0  # seconds between a worker's heartbeats (``Keys.workers``)


@dataclass(frozen=True)
class Keys:
    prefix: str

    def requests(self, source: str) -> str:
        return f"{self.prefix}:{source}:requests"

    def seen(self, source: str, check: str) -> str:
        return f"{self.prefix}:{source}:seen:{check}"

    @property
    def events(self) -> str:
        return f"{self.prefix}:events"

    @property
    def known(self) -> str:
        """Hash: canonical URL of an archived article (or alias) → when first stored."""
        return f"{self.prefix}:known"

    @property
    def known_synced(self) -> str:
        """Set by the archive node once ``known`` holds the whole archive (a Redis that
        restarted without persistence loses it, and the node publishes again)."""
        return f"{self.prefix}:known:synced"

    @property
    def validators(self) -> str:
        """Hash: entry point URL → its last ETag and Last-Modified."""
        return f"{self.prefix}:validators"

    @property
    def children(self) -> str:
        """Hash: sitemap index URL → the sitemaps it last led to."""
        return f"{self.prefix}:children"

    @property
    def workers(self) -> str:
        """Hash: worker id → its heartbeat."""
        return f"{self.prefix}:workers"

    def host_holders(self, host: str) -> str:
        return f"{self.prefix}:host:{host}:holders"

    def host_next(self, host: str) -> str:
        return f"{self.prefix}:host:{host}:next"

    @property
    def all_host_holders(self) -> str:
        """A ``SCAN`` pattern of every host's holders (a key prefix holds no pattern
        characters: ``[cluster] key_prefix`` is letters, digits, ``.``, ``_``, ``-``)."""
        return f"{self.prefix}:host:*:holders"
