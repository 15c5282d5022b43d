"""Redis clients for a cluster: one from ``[cluster] redis_url`` (``redis://`` or, with TLS,
``rediss://``), synchronous for scrapy-redis' scheduler, asynchronous for everything that
runs on the reactor's loop."""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio
import redis.asyncio.retry
import redis.retry
from redis.backoff import NoBackoff

from crawler.config import ClusterConfig

__all__ = ["async_client", "sync_client"]

_OPTIONS: dict[str, Any] = {
    "socket_timeout": 30,
    "socket_connect_timeout": 10,
    "health_check_interval": 30,
}
# The synchronous client runs on the reactor's thread (the scheduler's queue): it must
# not block it long when Redis is away. Its commands never block on the server.
_SYNC_OPTIONS: dict[str, Any] = {
    **_OPTIONS,
    "socket_timeout": 5,
    "socket_connect_timeout": 2,
}


def sync_client(cluster: ClusterConfig) -> redis.Redis:
    # One immediate retry (a pooled connection Redis closed when it restarted); longer
    # outages are ridden out by crawler.cluster.outage, not inside one call.
    return redis.Redis.from_url(
        cluster.redis_url, retry=redis.retry.Retry(NoBackoff(), 1), **_SYNC_OPTIONS
    )


def async_client(cluster: ClusterConfig) -> redis.asyncio.Redis:
    return redis.asyncio.Redis.from_url(
        cluster.redis_url, retry=redis.asyncio.retry.Retry(NoBackoff(), 1), **_OPTIONS
    )
