"""Canonical URLs: one spelling per page, so an article is stored once.

w3lib's canonicalisation (sorted query, normalised percent-encoding, no fragment) plus the
removal of tracking parameters (``utm_*``, ``spm``, ``from``, click ids, share tokens) and of
default index pages, and a source's mobile hosts mapped to its desktop host. I/O-free.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url as w3lib_canonicalize

__all__ = ["canonical_url", "host_of", "is_tracking_parameter", "site_of"]

_TRACKING_PREFIXES = ("utm_", "hmsr", "mtm_", "pk_", "__twitter", "_hs")
_TRACKING_NAMES = frozenset(
    {
        "spm",
        "from",
        "fromsource",
        "src",
        "share",
        "share_token",
        "sharetoken",
        "share_source",
        "share_medium",
        "scene",
        "clicktime",
        "enterid",
        "gclid",
        "dclid",
        "fbclid",
        "msclkid",
        "yclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "ref",
        "ref_src",
        "referrer",
        "cmpid",
        "wt.mc_id",
        "ncid",
        "isappinstalled",
        "timestamp",
        "_t",
    }
)
_SECOND_LEVEL = frozenset({"com", "net", "org", "gov", "edu", "co", "ac", "or", "ne", "go"})
_INDEX_PAGE_RE = re.compile(r"/(?:index|default)\.(?:html?|php|aspx?|shtml)$", re.IGNORECASE)


def host_of(url: str) -> str:
    """A URL's host in lower case, without port or IPv6 brackets; empty when it has none."""
    return urlsplit(url).hostname or ""


def site_of(url: str) -> str:
    """The registrable part of a URL's host, roughly: ``news.163.com`` → ``163.com``,
    ``www.xinhuanet.com.cn`` → ``xinhuanet.com.cn``; an IP address stays whole."""
    host = host_of(url)
    labels = host.split(".")
    if host.replace(".", "").isdigit() or len(labels) <= 2:
        return host
    if labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def is_tracking_parameter(name: str) -> bool:
    """Whether a query parameter only tracks the reader and never selects content."""
    lowered = name.lower()
    return lowered in _TRACKING_NAMES or lowered.startswith(_TRACKING_PREFIXES)


def canonical_url(url: str, *, host_aliases: Mapping[str, str] | None = None) -> str:
    """The canonical spelling of ``url``: lower-case scheme and host, no default port,
    no fragment, no tracking parameters, sorted query, no default index page; a host in
    ``host_aliases`` (a source's mobile hosts, ``m.163.com`` → ``www.163.com``) replaced."""
    parts = urlsplit(url.strip())
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not is_tracking_parameter(k)
    ]
    path = _INDEX_PAGE_RE.sub("/", parts.path) or "/"
    host = (parts.hostname or "").lower()
    if host_aliases:
        host = host_aliases.get(host, host)
    port = parts.port
    default_port = {"http": 80, "https": 443}.get(parts.scheme.lower())
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    netloc = host if port in (None, default_port) else f"{host}:{port}"
    rebuilt = urlunsplit((parts.scheme.lower(), netloc, path, urlencode(query), ""))
    return w3lib_canonicalize(rebuilt, keep_fragments=False)
