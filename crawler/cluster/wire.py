"""What crosses Redis: plain data packed with msgpack, never pickled objects.

Requests are Scrapy's own dict form (``Request.to_dict``: URL, headers, body as bytes,
callback names, meta) and events are dicts whose ``t`` says what they are; processed
articles are the page stage's versioned records (:data:`crawler.page_stage.RECORD_VERSION`).
``loads``/``dumps`` make this module a scrapy-redis serializer (``SCHEDULER_SERIALIZER``).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import msgpack

if TYPE_CHECKING:  # (annotations only: status reads Redis without loading Scrapy)
    from scrapy import Request, Spider

__all__ = ["dumps", "loads", "method_names", "request_dict", "text"]


def dumps(obj: Any) -> bytes:
    return msgpack.packb(obj, use_bin_type=True, default=_plain)  # type: ignore[no-any-return]


def loads(data: bytes) -> Any:
    return msgpack.unpackb(data, raw=False, strict_map_key=False)


def text(value: Any) -> str:
    """A name or id as Redis answers it (bytes), as text."""
    return value.decode() if isinstance(value, bytes) else str(value)


def method_names(spider: Spider) -> dict[object, str]:
    """The name of each of ``spider``'s methods, by function: what :func:`request_dict`
    names callbacks with, looked up once per spider."""
    names: dict[object, str] = {}
    for name, method in inspect.getmembers(spider, inspect.ismethod):
        names.setdefault(method.__func__, name)  # Scrapy names a method by its first name
    return names


def request_dict(request: Request, spider: Spider, names: Mapping[object, str]) -> dict[str, Any]:
    """``request.to_dict(spider=spider)``, its callback and errback named from ``names``
    (:func:`method_names` of ``spider``). Scrapy finds the names with
    ``inspect.getmembers`` of the spider for every request, twice: about 45 µs each on a
    small machine. A callback that is no method of the spider is left to Scrapy, which
    refuses it as it always does."""
    callbacks = (request.callback, request.errback)
    named = [names.get(getattr(f, "__func__", None)) if callable(f) else f for f in callbacks]
    if any(callable(f) and name is None for f, name in zip(callbacks, named, strict=True)):
        return request.to_dict(spider=spider)
    request.callback = request.errback = None
    try:
        record = request.to_dict(spider=spider)
    finally:
        request.callback, request.errback = callbacks
    record["callback"], record["errback"] = named
    return record


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
