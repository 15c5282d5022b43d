"""What crosses Redis: plain data packed with msgpack, never pickled objects.

Requests are Scrapy's own dict form (``Request.to_dict``: URL, headers, body as bytes,
callback names, meta) and events are dicts whose ``t`` says what they are; processed
articles are the page stage's versioned records (:data:`crawler.page_stage.RECORD_VERSION`).
``loads``/``dumps`` make this module a scrapy-redis serializer (``SCHEDULER_SERIALIZER``).
"""

from __future__ import annotations

from typing import Any

import msgpack

__all__ = ["dumps", "loads"]


def dumps(obj: Any) -> bytes:
    return msgpack.packb(obj, use_bin_type=True, default=_plain)  # type: ignore[no-any-return]


def loads(data: bytes) -> Any:
    return msgpack.unpackb(data, raw=False, strict_map_key=False)


def _plain(value: Any) -> Any:
    """Values msgpack does not know: tuples and sets as lists, the rest as text."""
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)
