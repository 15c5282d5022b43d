"""Say in a few words why a download failed.

Scrapy wraps Twisted's errors (``DownloadFailedError: [<twisted.python.failure.Failure
OpenSSL.SSL.Error: [('SSL routines', '', 'wrong version number')]>]``); a reader of a
crawl summary, a log line or ``source_health.last_error`` needs ``TLS handshake failed
(wrong version number)``. :func:`describe_failure` walks the chain of causes (``__cause__``
and the ``reasons`` Twisted's web client collects) and names the first network failure it
recognises: a refused connection, a host name that does not resolve, a TLS failure, a
timeout, a connection lost mid-answer. Anything else keeps its class name and message.
I/O-free.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

__all__ = ["NETWORK_FAILURES", "classify_failure", "describe_failure", "is_network_failure"]

# Class names (Scrapy's wrappers and the Twisted errors under them) -> what they mean.
_REFUSED = {"DownloadConnectionRefusedError", "ConnectionRefusedError"}
_DNS = {"CannotResolveHostError", "DNSLookupError"}
_TIMEOUT = {"DownloadTimeoutError", "TimeoutError", "TCPTimedOutError", "UserTimeoutError"}
_LOST = {"ResponseDataLossError", "ConnectionLost", "ConnectionDone", "ConnectionAborted"}
NETWORK_FAILURES = frozenset({"refused", "dns", "tls"})

_SECONDS_RE = re.compile(r"longer than ([\d.]+) seconds")


def _causes(exc: BaseException, depth: int = 0) -> Iterator[BaseException]:
    """``exc``, then what it wraps: ``__cause__``/``__context__`` and the failures in a
    Twisted ``reasons`` list (bounded: a chain is a handful of links)."""
    if depth > 8:
        return
    yield exc
    for reason in getattr(exc, "reasons", None) or ():
        value = getattr(reason, "value", reason)
        if isinstance(value, BaseException):
            yield from _causes(value, depth + 1)
    inner = exc.__cause__ or exc.__context__
    if inner is not None and inner is not exc:
        yield from _causes(inner, depth + 1)


def _is_tls(exc: BaseException) -> bool:
    module = type(exc).__module__
    return module.startswith(("OpenSSL", "ssl")) or type(exc).__name__ in {
        "SSLError",
        "VerifyError",
    }


def _tls_detail(exc: BaseException) -> str:
    """OpenSSL's reasons (``[('SSL routines', '', 'wrong version number')]``) as text."""
    details: list[str] = []
    for arg in exc.args:
        items = arg if isinstance(arg, list) else [arg]
        for item in items:
            if isinstance(item, tuple) and item:
                details.append(str(item[-1]))
            elif item:
                details.append(str(item))
    return "; ".join(d for d in details if d) or type(exc).__name__


def classify_failure(exc: BaseException) -> tuple[str, str]:
    """``(kind, description)``: kind is ``refused``, ``dns``, ``tls``, ``timeout``,
    ``lost`` or ``other``."""
    chain = list(_causes(exc))
    for link in chain:
        if _is_tls(link):
            return "tls", f"TLS handshake failed ({_tls_detail(link)})"
    for link in chain:
        name = type(link).__name__
        if name in _DNS:
            return "dns", "DNS lookup failed (the host name does not resolve)"
        if name in _REFUSED:
            return "refused", "connection refused"
        if name in _TIMEOUT:
            seconds = _SECONDS_RE.search(str(link))
            after = f" after {float(seconds.group(1)):g} s" if seconds else ""
            return "timeout", f"timed out{after}"
        if name in _LOST:
            return "lost", "connection lost before the answer was complete"
    message = " ".join(str(exc).split())
    return "other", f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def describe_failure(exc: BaseException) -> str:
    """Why a download failed, in a few words (see the module docstring)."""
    return classify_failure(exc)[1]


def is_network_failure(exc: BaseException) -> bool:
    """A refused connection, a DNS failure or a TLS failure: the host cannot be reached
    at all, so every request to it fails the same way."""
    return classify_failure(exc)[0] in NETWORK_FAILURES
