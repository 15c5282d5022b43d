"""Verified TLS (issue 15): every HTTPS request of a crawl and of the alert channels checks
the certificate and the host name. The servers are Python's own (``http.server`` over
TLS, aiosmtpd) with throwaway certificates from trustme that no system trusts."""

from __future__ import annotations

import json
import sqlite3
import ssl
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from OpenSSL import SSL
from service_identity import VerificationError
from twisted.python.failure import Failure
from twisted.web._newclient import ResponseNeverReceived

from alerts.channels import Transient, send_email, send_slack
from crawler.config import ConfigError, EmailChannel, SlackChannel, parse_config
from crawler.tls import TLSPolicies, TLSPolicy, certificate_failure, describe_refusal
from tests.conftest import run_cli
from tests.https_servers import static_https_site
from tests.servers import SlackWebhook, SmtpServer


def rows(db: Path, sql: str) -> list[sqlite3.Row]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def source_config(db: Path, feed: str, extra: str = "", crawl: str = "") -> str:
    return f"""
[archive]
path = "{db}"
[crawl]
timeout = 5
retries = 2
{crawl}
[[sources]]
name = "desk"
feeds = ["{feed}"]
delay = 0
{extra}
"""


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


# -- policies and config ----------------------------------------------------------------

CONFIG = """
[[sources]]
name = "intranet"
feeds = ["https://news.corp.example/feed.xml"]
ca_bundle = "{bundle}"
host_aliases = {{ "m.corp.example" = "news.corp.example" }}

[[sources]]
name = "lab"
feeds = ["https://lab.example/feed.xml", "https://shared.example/a.xml"]
verify_tls = false

[[sources]]
name = "public"
feeds = ["https://shared.example/b.xml"]

[[sources]]
name = "idn"
feeds = ["https://新闻.example/rss.xml"]
verify_tls = false
"""


def test_policies_apply_to_the_hosts_a_source_names(tmp_path: Path, ca: trustme.CA) -> None:
    bundle = tmp_path / "corp-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    config = parse_config(CONFIG.format(bundle="corp-ca.pem"), path=tmp_path / "n.toml")
    strict = TLSPolicy()

    intranet = TLSPolicies.from_config(config, "intranet")
    assert intranet.for_host("news.corp.example") == TLSPolicy(True, (str(bundle),))
    assert intranet.for_host("M.corp.example") == TLSPolicy(True, (str(bundle),))
    assert intranet.for_host("elsewhere.example") == strict  # an article on another host
    assert intranet.unverified() == {}

    lab = TLSPolicies.from_config(config, "lab")
    assert lab.for_host("lab.example") == TLSPolicy(verify=False)
    assert lab.for_host("news.corp.example") == strict
    assert lab.unverified() == {"lab": frozenset({"lab.example", "shared.example"})}
    # The public source's crawl checks the host the lab source leaves unchecked.
    assert TLSPolicies.from_config(config, "public").for_host("shared.example") == strict

    # Connections name hosts in IDNA.
    idn = TLSPolicies.from_config(config, "idn")
    assert idn.for_host("xn--efvy88h.example") == TLSPolicy(verify=False)

    # Without a known source, a host goes unchecked only if every source naming it says so.
    anyone = TLSPolicies.from_config(config)
    assert anyone.for_host("lab.example") == TLSPolicy(verify=False)
    assert anyone.for_host("shared.example") == strict
    assert anyone.for_host("news.corp.example").ca_bundles == (str(bundle),)


def test_ca_bundle_must_be_a_pem_file_and_excludes_verify_tls_false(tmp_path: Path) -> None:
    source = '[[sources]]\nname = "a"\nfeeds = ["https://a.example/f.xml"]\n'
    path = tmp_path / "n.toml"
    with pytest.raises(ConfigError) as missing:
        parse_config(source + 'ca_bundle = "nope.pem"', path=path)
    assert missing.value.key == "sources[0].ca_bundle" and "nope.pem" in str(missing.value)
    (tmp_path / "junk.pem").write_text("not a certificate")
    with pytest.raises(ConfigError) as junk:
        parse_config(source + 'ca_bundle = "junk.pem"', path=path)
    assert junk.value.key == "sources[0].ca_bundle" and "PEM" in str(junk.value)
    with pytest.raises(ConfigError) as both:
        parse_config(source + 'ca_bundle = "x.pem"\nverify_tls = false', path=path)
    assert both.value.key == "sources[0].ca_bundle"


# -- reasons ----------------------------------------------------------------------------


def test_refusal_reasons(ca: trustme.CA) -> None:
    def chain(cert: trustme.LeafCert) -> list[x509.Certificate]:
        return [x509.load_pem_x509_certificate(cert.cert_chain_pems[0].bytes())]

    untrusted = chain(ca.issue_cert("news.example"))
    assert describe_refusal("certificate verify failed", untrusted, host="news.example") == (
        "not signed by a trusted CA (issuer: " + untrusted[0].issuer.rfc4514_string() + ")"
    )
    assert describe_refusal(
        "certificate is not valid for this host", untrusted, host="127.0.0.1"
    ) == ("certificate is for news.example, not 127.0.0.1")
    expired = ca.issue_cert(
        "news.example",
        not_before=datetime.now(UTC) - timedelta(days=30),
        not_after=datetime.now(UTC) - timedelta(days=1),
    )
    assert describe_refusal("certificate verify failed", chain(expired), host="x").startswith(
        "certificate expired on "
    )
    root = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    assert describe_refusal("certificate verify failed", [root], host="x").startswith(
        "self-signed certificate"
    )
    assert describe_refusal("certificate verify failed", [], host="x") == (
        "certificate verify failed"
    )


def test_only_certificate_failures_are_refusals() -> None:
    chain_failure = ResponseNeverReceived(
        [Failure(SSL.Error([("SSL routines", "", "certificate verify failed")]))]
    )
    wrapped = RuntimeError("download failed")
    wrapped.__cause__ = chain_failure
    assert certificate_failure(wrapped) == "certificate verify failed"
    name_failure = ResponseNeverReceived([Failure(VerificationError(errors=[]))])
    assert certificate_failure(name_failure) == "certificate is not valid for this host"
    other_tls = ResponseNeverReceived([Failure(SSL.Error([("SSL routines", "", "wrong version")]))])
    assert certificate_failure(other_tls) is None
    assert certificate_failure(ConnectionRefusedError()) is None


# -- crawls -----------------------------------------------------------------------------

pytestmark_slow = pytest.mark.slow


@pytestmark_slow
def test_untrusted_portal_is_refused_then_crawled_with_its_ca_bundle_or_verify_tls_false(
    tmp_path: Path, ca: trustme.CA, write_config
) -> None:  # type: ignore[no-untyped-def]
    """Done-when of issue 15: refused by default with a one-line reason and nothing
    archived; crawled with its ``ca_bundle``; crawled with ``verify_tls = false``."""
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    site = tmp_path / "site"
    with static_https_site(site, ca.issue_cert("127.0.0.1")) as (server, articles):
        feed = f"{server.base}/feed.xml"

        db = tmp_path / "refused.db"
        result = run_cli("--config", str(write_config(source_config(db, feed))), "crawl")
        assert result.returncode == 0, result.stderr[-3000:]
        assert "Traceback" not in result.stderr
        refusals = [line for line in result.stderr.splitlines() if "TLS certificate" in line]
        assert len(refusals) == 1, result.stderr
        assert (
            "[desk] refused the TLS certificate of 127.0.0.1: not signed by a trusted CA"
            in (refusals[0])
        )
        assert server.requested == []  # not even robots.txt got an HTTP request through
        assert rows(db, "SELECT id FROM articles") == []
        [run] = rows(db, "SELECT errors, stats FROM crawl_runs")
        assert run["errors"] == 1
        assert json.loads(run["stats"])["newswatch/errors/tls"] == 1
        assert "desk" in result.stdout and "1  " in result.stdout  # the summary's failed

        db = tmp_path / "bundle.db"
        config = write_config(source_config(db, feed, 'ca_bundle = "ca.pem"'))
        result = run_cli("--config", str(config), "crawl")
        assert result.returncode == 0 and "TLS" not in result.stderr, result.stderr[-3000:]
        assert sorted(r["url"] for r in rows(db, "SELECT url FROM articles")) == sorted(articles)

        db = tmp_path / "unverified.db"
        config = write_config(source_config(db, feed, "verify_tls = false"))
        result = run_cli("--config", str(config), "crawl")
        assert result.returncode == 0, result.stderr[-3000:]
        warnings = [line for line in result.stderr.splitlines() if "verify_tls" in line]
        assert len(warnings) == 1 and "[desk]" in warnings[0] and "127.0.0.1" in warnings[0]
        assert len(rows(db, "SELECT url FROM articles")) == len(articles)


@pytestmark_slow
def test_trust_comes_from_the_system_store(tmp_path: Path, ca: trustme.CA, write_config) -> None:  # type: ignore[no-untyped-def]
    """With the CA in the trust store Python's ssl uses (SSL_CERT_FILE), the portal is
    crawled with no ca_bundle: the crawl trusts what the machine trusts."""
    ca.cert_pem.write_to_path(str(tmp_path / "store.pem"))
    with static_https_site(tmp_path / "site", ca.issue_cert("127.0.0.1")) as (server, articles):
        db = tmp_path / "a.db"
        config = write_config(source_config(db, f"{server.base}/feed.xml"))
        result = run_cli(
            "--config", str(config), "crawl", env={"SSL_CERT_FILE": str(tmp_path / "store.pem")}
        )
        assert result.returncode == 0 and "TLS" not in result.stderr, result.stderr[-3000:]
        assert len(rows(db, "SELECT url FROM articles")) == len(articles)


@pytestmark_slow
def test_ca_bundle_checks_names_and_covers_only_the_source_hosts(
    tmp_path: Path, ca: trustme.CA, write_config
) -> None:  # type: ignore[no-untyped-def]
    """A trusted CA does not excuse a certificate for another name; and the source's
    bundle covers the hosts it names, not a host its feed links to."""
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    with static_https_site(tmp_path / "other", ca.issue_cert("news.test")) as (server, _):
        db = tmp_path / "mismatch.db"
        text = source_config(db, f"{server.base}/feed.xml", 'ca_bundle = "ca.pem"')
        result = run_cli("--config", str(write_config(text)), "crawl")
        assert "certificate is for news.test, not 127.0.0.1" in result.stderr, result.stderr
        assert rows(db, "SELECT id FROM articles") == [] and server.requested == []

        # verify_tls = false takes even that, with one warning at the start and no more
        db = tmp_path / "unchecked.db"
        text = source_config(db, f"{server.base}/feed.xml", "verify_tls = false")
        result = run_cli("--config", str(write_config(text)), "crawl")
        assert len(rows(db, "SELECT id FROM articles")) == 2, result.stderr[-3000:]
        noise = [line for line in result.stderr.splitlines() if "certificate" in line.lower()]
        assert len(noise) == 1 and "verify_tls = false" in noise[0], result.stderr

    # One server, two names: the feed is fetched as 127.0.0.1 (named, bundle trusted),
    # its articles live on localhost (not named: the system store alone, refused).
    with static_https_site(tmp_path / "two", ca.issue_cert("127.0.0.1", "localhost")) as (
        server,
        articles,
    ):
        feed = (tmp_path / "two" / "feed.xml").read_text(encoding="utf-8")
        (tmp_path / "two" / "feed.xml").write_text(
            feed.replace("https://127.0.0.1:", "https://localhost:"), encoding="utf-8"
        )
        db = tmp_path / "scoped.db"
        text = source_config(
            db,
            f"{server.base}/feed.xml",
            'ca_bundle = "ca.pem"',
            crawl="allow_private_addresses = true",
        )
        result = run_cli("--config", str(write_config(text)), "crawl")
        assert result.returncode == 0, result.stderr[-3000:]
        assert server.requested == ["/robots.txt", "/feed.xml"]
        refusals = [line for line in result.stderr.splitlines() if "TLS certificate" in line]
        assert len(refusals) == 1 and "of localhost: not signed by a trusted CA" in refusals[0]
        [run] = rows(db, "SELECT stats FROM crawl_runs")
        assert json.loads(run["stats"])["newswatch/errors/tls"] == len(articles)
        assert rows(db, "SELECT id FROM articles") == []


# -- alert channels ---------------------------------------------------------------------


def _server_context(cert: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    return context


def test_slack_channel_verifies_the_webhook_certificate(
    ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    webhook = SlackWebhook(tls=_server_context(ca.issue_cert("127.0.0.1")))
    try:
        channel = SlackChannel(name="s", type="slack", webhook_url=webhook.url, timeout=5)
        with pytest.raises(Transient, match="CERTIFICATE_VERIFY_FAILED"):
            send_slack(channel, {"text": "H20"})
        assert webhook.received == []
        # The same server is accepted once the machine trusts its CA: the refusal was
        # the certificate, nothing else.
        ca.cert_pem.write_to_path(str(tmp_path / "store.pem"))
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "store.pem"))
        send_slack(channel, {"text": "H20"})
        assert webhook.delivered == [{"text": "H20"}]
    finally:
        webhook.close()


@pytest.mark.parametrize("mode", ["ssl", "starttls"])
def test_email_channel_verifies_the_smtp_certificate(
    mode: str, ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    context = _server_context(ca.issue_cert("127.0.0.1"))
    options = {"ssl_context": context} if mode == "ssl" else {"tls_context": context}
    if mode == "ssl":
        # aiosmtpd checks that the server is up over TLS; it must trust the CA to do so
        client = ssl.create_default_context()
        ca.configure_trust(client)
        options["server_hostname"] = "127.0.0.1"
    server = SmtpServer(**options)
    try:
        channel = EmailChannel(
            name="m",
            type="email",
            host="127.0.0.1",
            port=server.port,
            sender="newswatch@example.org",
            recipients=["desk@example.org"],
            timeout=5,
            **{mode: True},
        )

        def message() -> EmailMessage:
            mail = EmailMessage()
            mail["Subject"] = "H20"
            mail.set_content("body")
            return mail

        with pytest.raises(Transient, match="CERTIFICATE_VERIFY_FAILED"):
            send_email(channel, message())
        assert server.messages == []
        ca.cert_pem.write_to_path(str(tmp_path / "store.pem"))
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "store.pem"))
        send_email(channel, message())
        assert len(server.messages) == 1
    finally:
        server.close()
