"""Redis clients for a cluster: one from ``[cluster] redis_url`` (``redis://`` or, with TLS,
``rediss://``), synchronous for scrapy-redis' scheduler, asynchronous for everything that
runs on the reactor's loop."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis
import redis.asyncio
import redis.asyncio.retry
import redis.retry
from redis.backoff import NoBackoff

from crawler.config import ClusterConfig

__all__ = ["async_client", "display_url", "server_time", "sync_client", "unreachable"]

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


def display_url(cluster: ClusterConfig) -> str:
    """``redis_url`` without its credentials or query, for messages."""
    parts = urlsplit(cluster.redis_url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit((parts.scheme, f"{host}{port}", parts.path, "", ""))


def unreachable(cluster: ClusterConfig) -> str | None:
    """Why Redis does not answer a PING, or None when it does."""
    client = sync_client(cluster)
    try:
        client.ping()
    except redis.RedisError as exc:
        return str(exc) or type(exc).__name__
    except OSError as exc:
        return str(exc)
    finally:
        client.close()
    return None


def server_time(answer: tuple[int, int] | list[int]) -> datetime:
    """Redis' ``TIME`` answer (seconds, microseconds) as a moment: the one clock every
    worker and ``newswatch status`` share, whatever each machine's own clock says."""
    seconds, micros = answer
    return datetime.fromtimestamp(int(seconds) + int(micros) / 1e6, UTC)
