"""Redis clients for a cluster: one from ``[cluster] redis_url`` (``redis://`` or, with TLS,
``rediss://``), synchronous for scrapy-redis' scheduler, asynchronous for everything that
runs on the reactor's loop."""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio

from crawler.config import ClusterConfig

__all__ = ["async_client", "sync_client"]

_OPTIONS: dict[str, Any] = {
    "socket_timeout": 30,
    "socket_connect_timeout": 10,
    "health_check_interval": 30,
}


def sync_client(cluster: ClusterConfig) -> redis.Redis:
    return redis.Redis.from_url(cluster.redis_url, **_OPTIONS)


def async_client(cluster: ClusterConfig) -> redis.asyncio.Redis:
    return redis.asyncio.Redis.from_url(cluster.redis_url, **_OPTIONS)
