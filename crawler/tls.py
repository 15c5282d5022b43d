"""Verified TLS for every HTTPS request of a crawl, with per-source exceptions.

Certificates and host names are checked against the system's trust store (the CA file and
folder Python's ``ssl`` module uses, which honour ``SSL_CERT_FILE``/``SSL_CERT_DIR``), or
certifi's when the system has none. Per source:

- ``ca_bundle = "path/to/ca.pem"`` adds the CAs in that file (intranet portals);
- ``verify_tls = false`` turns checking off, logged once at the start of the crawl.

Either applies to the hosts the source names (its entry points and ``host_aliases``), the
same hosts the address guard lets into private networks; every other host is checked
against the trust store alone. A connection is set up per host, not per request, so the
exception belongs to the host: when the crawl's source is known (one crawler per source)
its own settings decide; otherwise a host is left unchecked only if every source naming it
says so, and trusts the CAs of all of them.

- :class:`SourceTLSContextFactory` (``DOWNLOADER_CLIENTCONTEXTFACTORY``) builds the TLS
  connections and remembers the last one per host, so a refusal can say why.
- :class:`CertificateCheckMiddleware` (560, just before the downloader's retries): a
  refused certificate becomes :class:`CertificateRefused`, never retried, logged once per
  host with its reason; the spider's errback counts it (``newswatch/errors/tls``).
  robots.txt requests fail the same way, quietly, as any ignored request.

Written here because Scrapy offers one verification switch for the whole crawl
(``DOWNLOAD_VERIFY_CERTIFICATES``) and no per-host trust.
"""

from __future__ import annotations

import copy
import logging
import ssl
import warnings
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from cryptography import x509
from OpenSSL import SSL
from scrapy import signals
from scrapy.core.downloader.contextfactory import (
    _ScrapyClientContextFactory as _ScrapyContextFactory,
)
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, ScrapyDeprecationWarning
from scrapy.http import Request
from service_identity import CertificateError, VerificationError
from twisted.internet._sslverify import IOpenSSLTrustRoot  # the type of trustRoot=
from twisted.internet.interfaces import IOpenSSLClientConnectionCreator
from twisted.internet.ssl import optionsForClientTLS
from zope.interface import implementer

from crawler.config import Config, SourceConfig
from crawler.resources import config_for
from crawler.text.urls import host_of

__all__ = [
    "CertificateCheckMiddleware",
    "CertificateRefused",
    "SourceTLSContextFactory",
    "TLSPolicies",
    "TLSPolicy",
    "certificate_failure",
    "describe_refusal",
    "system_trust",
    "warn_unverified",
]

LOGGER = logging.getLogger(__name__)

# Scrapy 2.19 warns that DOWNLOADER_CLIENTCONTEXTFACTORY is deprecated, on every crawl; it
# is still the only way to decide trust per host. The setting names this module, and the
# spiders import it, so the filter is in place before the download handler is built.
warnings.filterwarnings(
    "ignore",
    message="The 'DOWNLOADER_CLIENTCONTEXTFACTORY' setting is deprecated",
    category=ScrapyDeprecationWarning,
)

_REMEMBERED_CONNECTIONS = 64
_VERIFY_FAILED = "certificate verify failed"
_NOT_FOR_HOST = "certificate is not valid for this host"


class CertificateRefused(IgnoreRequest):
    """The server's TLS certificate was refused; an error, never retried."""


@dataclass(frozen=True)
class TLSPolicy:
    """How one host's certificates are checked."""

    verify: bool = True
    ca_bundles: tuple[str, ...] = ()


def _ascii_host(host: str) -> str:
    """A host as connections name it: lower case, IDNA for non-ASCII names."""
    host = host.lower().strip("[]")
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def source_hosts(source: SourceConfig) -> frozenset[str]:
    """The hosts a source names: its entry points and ``host_aliases``."""
    hosts = {host_of(url) for url in source.entry_urls}
    hosts |= {h for pair in source.host_aliases.items() for h in pair}
    return frozenset(_ascii_host(h) for h in hosts if h)


class TLSPolicies:
    """The TLS policy of each host, from the config (see the module docstring)."""

    def __init__(self, by_source: dict[str, tuple[frozenset[str], TLSPolicy]], source: str | None):
        self.by_source = by_source
        self.source = source if source in by_source else None

    @classmethod
    def from_config(cls, config: Config, source: str | None = None) -> TLSPolicies:
        by_source = {}
        for item in config.sources:
            bundles = (str(config.relative_path(item.ca_bundle)),) if item.ca_bundle else ()
            by_source[item.name] = (source_hosts(item), TLSPolicy(item.verify_tls, bundles))
        return cls(by_source, source)

    @classmethod
    def for_crawler(cls, crawler: Crawler) -> TLSPolicies:
        spider = getattr(crawler, "spider", None)
        return cls.from_config(config_for(crawler), getattr(spider, "source_name", None))

    def for_host(self, host: str) -> TLSPolicy:
        host = _ascii_host(host)
        if self.source is not None:
            hosts, policy = self.by_source[self.source]
            return policy if host in hosts else TLSPolicy()
        naming = [policy for hosts, policy in self.by_source.values() if host in hosts]
        if not naming:
            return TLSPolicy()
        bundles = tuple(dict.fromkeys(b for p in naming for b in p.ca_bundles))
        return TLSPolicy(verify=any(p.verify for p in naming), ca_bundles=bundles)

    def unverified(self) -> dict[str, frozenset[str]]:
        """The sources of this crawl that turn checking off, with their hosts."""
        names = [self.source] if self.source is not None else list(self.by_source)
        return {
            name: self.by_source[name][0]
            for name in names
            if name is not None and not self.by_source[name][1].verify
        }


def system_trust() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The CA files and folders of the system's trust store, as Python's ``ssl`` finds
    them (``SSL_CERT_FILE``/``SSL_CERT_DIR`` included); certifi's bundle when the
    system has none."""
    paths = ssl.get_default_verify_paths()
    files = tuple(f for f in (paths.cafile,) if f and Path(f).is_file())
    dirs = tuple(d for d in (paths.capath,) if d and Path(d).is_dir() and any(Path(d).iterdir()))
    if files or dirs:
        return files, dirs
    import certifi

    return (certifi.where(),), ()


@implementer(IOpenSSLTrustRoot)
class _TrustStore:
    """CA files and folders loaded by OpenSSL itself. Twisted's own trust roots are
    OpenSSL's compiled-in paths (those of the OpenSSL inside cryptography's wheel, which
    need not be the system's) or lists of parsed certificates (cryptography refuses some
    that system stores still hold), hence this small root."""

    def __init__(self, files: Iterable[str], dirs: Iterable[str] = ()) -> None:
        self.files = tuple(files)
        self.dirs = tuple(dirs)

    def _addCACertsToContext(self, context: SSL.Context) -> None:  # noqa: N802 - Twisted's
        for name in self.files:
            context.load_verify_locations(name)
        for name in self.dirs:
            context.load_verify_locations(None, name)


@implementer(IOpenSSLClientConnectionCreator)
class _RememberingCreator:
    """Twisted's verifying creator, keeping the last connection per host and port so a
    refusal can describe the certificate the server sent."""

    def __init__(
        self, creator: Any, key: tuple[str, int], remembered: OrderedDict[tuple[str, int], Any]
    ) -> None:
        self._creator = creator
        self._key = key
        self._remembered = remembered

    def clientConnectionForTLS(self, tlsProtocol: Any) -> SSL.Connection:  # noqa: N802, N803
        connection = self._creator.clientConnectionForTLS(tlsProtocol)
        self._remembered[self._key] = connection
        self._remembered.move_to_end(self._key)
        while len(self._remembered) > _REMEMBERED_CONNECTIONS:
            self._remembered.popitem(last=False)
        return connection


class SourceTLSContextFactory(_ScrapyContextFactory):
    """Scrapy's context factory, verifying by default and deciding per host.

    Scrapy 2.19 made its factory class private and deprecated the public name (subclassing
    that one warns); the settings it reads (ciphers, TLS versions) stay in force here."""

    def __init__(
        self,
        *args: Any,
        policies: TLSPolicies | None = None,
        of_crawler: Crawler | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.policies = policies or TLSPolicies({}, None)
        self.crawler = of_crawler
        self.trust = system_trust()
        # Scrapy's own non-verifying path, for the hosts of verify_tls = false
        self._unverified = copy.copy(self)
        self._unverified._verify_certificates = False
        self._check: CertificateCheckMiddleware | None = None

    @classmethod
    def from_crawler(  # type: ignore[override]
        cls, crawler: Crawler, method: int | None = SSL.SSLv23_METHOD, *args: Any, **kwargs: Any
    ) -> SourceTLSContextFactory:
        policies = TLSPolicies.for_crawler(crawler)
        factory: SourceTLSContextFactory = super().from_crawler(
            crawler, method, *args, policies=policies, of_crawler=crawler, **kwargs
        )
        return factory

    def _remembered(self) -> OrderedDict[tuple[str, int], Any] | None:
        if self._check is None and self.crawler is not None:
            try:
                self._check = self.crawler.get_downloader_middleware(CertificateCheckMiddleware)
            except RuntimeError:  # no engine yet
                return None
        return self._check.connections if self._check is not None else None

    def creatorForNetloc(self, hostname: bytes, port: int) -> Any:  # noqa: N802 - Twisted's
        host = hostname.decode("ascii")
        policy = self.policies.for_host(host)
        if not policy.verify:
            return _ScrapyContextFactory.creatorForNetloc(self._unverified, hostname, port)
        files, dirs = self.trust
        creator = optionsForClientTLS(
            hostname=host,
            trustRoot=cast(Any, _TrustStore((*files, *policy.ca_bundles), dirs)),
            extraCertificateOptions=self._get_cert_options_kwargs(),
        )
        remembered = self._remembered()
        if remembered is None:
            return creator
        return _RememberingCreator(creator, (host.lower(), port), remembered)


def _exceptions(exc: BaseException) -> Iterable[BaseException]:
    """``exc``, its causes and the failures a Twisted ``ResponseFailed`` carries."""
    stack: list[Any] = [exc]
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        item = getattr(item, "value", item)  # a twisted Failure
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        stack.extend(getattr(item, "reasons", None) or [])
        stack.extend([item.__cause__, item.__context__])


def certificate_failure(exc: BaseException) -> str | None:
    """Why the server's certificate was refused, when ``exc`` (a download failure) is a
    refused certificate; None for every other failure."""
    for item in _exceptions(exc):
        if isinstance(item, VerificationError | CertificateError):
            return _NOT_FOR_HOST
        if isinstance(item, SSL.Error) and _VERIFY_FAILED in str(item):
            return _VERIFY_FAILED
    return None


def _names(certificate: x509.Certificate) -> list[str]:
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return [str(a.value) for a in certificate.subject if a.oid == x509.NameOID.COMMON_NAME]
    return [str(n) for n in names.value.get_values_for_type(x509.DNSName)] + [
        str(n) for n in names.value.get_values_for_type(x509.IPAddress)
    ]


def describe_refusal(reason: str, chain: list[x509.Certificate], *, host: str) -> str:
    """A one-line reason from what :func:`certificate_failure` found and the certificate
    chain the server sent (OpenSSL's own verification code is not exposed by pyOpenSSL)."""
    if not chain:
        return reason if reason != _NOT_FOR_HOST else f"certificate is not valid for {host}"
    leaf = chain[0]
    if reason == _NOT_FOR_HOST:
        names = ", ".join(str(n) for n in _names(leaf)) or "no names"
        return f"certificate is for {names}, not {host}"
    now = datetime.now(UTC)
    if leaf.not_valid_after_utc < now:
        return f"certificate expired on {leaf.not_valid_after_utc:%Y-%m-%d}"
    if leaf.not_valid_before_utc > now:
        return f"certificate is not valid before {leaf.not_valid_before_utc:%Y-%m-%d}"
    if leaf.issuer == leaf.subject:
        return f"self-signed certificate ({leaf.subject.rfc4514_string()})"
    return f"not signed by a trusted CA (issuer: {leaf.issuer.rfc4514_string()})"


def _peer_chain(connection: Any) -> list[x509.Certificate]:
    try:
        return list(connection.get_peer_cert_chain(as_cryptography=True) or [])
    except Exception:  # a connection that never got a certificate
        return []


def warn_unverified(policies: TLSPolicies) -> None:
    """One warning per source of ``policies`` that has ``verify_tls = false``."""
    for name, hosts in policies.unverified().items():
        LOGGER.warning(
            "[%s] verify_tls = false: TLS certificates of %s are not checked",
            name,
            ", ".join(sorted(hosts)) or "its hosts",
        )


class _QuietUnverified(logging.Filter):
    """Drops Scrapy's per-connection "certificate is not valid" warning for the hosts a
    source chose not to check: that choice was logged once, at the start."""

    def __init__(self, hosts: Iterable[str]) -> None:
        super().__init__()
        self.quoted = tuple(f'hostname "{host}";' for host in hosts)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (
            message.startswith("Remote certificate") and any(q in message for q in self.quoted)
        )


class CertificateCheckMiddleware:
    """Turns a refused certificate into :class:`CertificateRefused` (logged once per
    host, not retried) and warns at the start of a crawl whose source checks nothing."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.connections: OrderedDict[tuple[str, int], Any] = OrderedDict()
        self._logged: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CertificateCheckMiddleware:
        spider = getattr(crawler, "spider", None)
        source = getattr(spider, "source_name", None) or getattr(spider, "name", "") or ""
        policies = TLSPolicies.for_crawler(crawler)
        if not crawler.settings.getbool("NEWSWATCH_MANAGED_CHECKS"):
            # newswatch's own runner warned once for the whole process (crawl, run);
            # a crawler it keeps open, or opens again, says nothing more.
            warn_unverified(policies)
        unverified = {host for hosts in policies.unverified().values() for host in hosts}
        if unverified:
            quiet = _QuietUnverified(unverified)
            scrapy_tls = logging.getLogger("scrapy.core.downloader.tls")
            scrapy_tls.addFilter(quiet)

            def remove(**_: object) -> None:
                scrapy_tls.removeFilter(quiet)

            crawler.signals.connect(remove, signal=signals.engine_stopped, weak=False)
        return cls(source)

    def process_exception(self, request: Request, exception: Exception, spider: Any = None) -> None:
        reason = certificate_failure(exception)
        if reason is None:
            return None
        host = host_of(request.url)
        connection = self.connections.get((host, _port(request.url)))
        chain = _peer_chain(connection) if connection is not None else []
        reason = describe_refusal(reason, chain, host=host)
        source = request.meta.get("newswatch_source") or self.source
        if host not in self._logged:
            self._logged.add(host)
            LOGGER.warning("[%s] refused the TLS certificate of %s: %s", source, host, reason)
        raise CertificateRefused(f"refused the TLS certificate of {host}: {reason}")


def _port(url: str) -> int:
    from urllib.parse import urlsplit

    try:
        return urlsplit(url).port or 443
    except ValueError:
        return 443
