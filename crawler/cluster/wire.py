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


def article_event(check: str, record: Any, done: Any) -> tuple[bytes, bytes, bytes, bytes]:
    """The article event of a hand-over in parts, its record packed once: ``head + packed
    + tail`` is ``dumps`` of ``{"t": "article", "check", "record", "done"}`` and
    ``head_alone + packed`` the same event without its ``done`` (a map's entries follow
    its header, each key then its value, so the parts join into exactly those bytes)."""
    fields = dumps("t") + dumps("article") + dumps("check") + dumps(check) + dumps("record")
    packed = dumps(record)
    return b"\x84" + fields, packed, dumps("done") + dumps(done), b"\x83" + fields


def _plain(value: Any) -> Any:
    """Values msgpack does not know: tuples and sets as lists, the rest as text."""
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)
