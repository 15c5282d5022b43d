"""Secrets (issue 15): ``newswatch check`` warns about literal secrets and a config file
others can read; secret values never reach a log line, an error or a ``--json`` output."""

from __future__ import annotations

import io
import logging
import secrets
import sqlite3
import time
from pathlib import Path

import pytest

from crawler.config import ConfigError, parse_config
from crawler.demo.portal import PortalServer
from crawler.redact import (
    RedactingFilter,
    Redactor,
    config_warnings,
    is_secret_key,
    redact_json,
    secret_fields,
    secret_values,
)
from tests.conftest import run_cli
from tests.servers import SlackReply, SlackWebhook, SmtpServer


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("channels[0].webhook_url", True),
        ("channels[1].password", True),
        ("telegram.bot_token", True),
        ("crawl.secret", True),
        ("proxy.api_secret", True),
        ("queue[2].access_token", True),
        ("channels[1].username", False),
        ("sources[0].feeds[0]", False),
        ("crawl.user_agent", False),
    ],
)
def test_secret_keys(key: str, secret: bool) -> None:
    assert is_secret_key(key) is secret


def test_secret_fields_cover_urls_with_passwords() -> None:
    data = {
        "redis": {"url": "redis://:hunter22@queue.internal:6379/0"},
        "cache": {"url": "redis://queue.internal:6379/1"},
        "sources": [{"feeds": ["https://reader:s3cret-pw@feeds.example/rss"]}],
        "channels": [{"webhook_url": "https://hooks.slack.com/services/T/B/abc", "timeout": 5}],
    }
    found = secret_fields(data, {"channels[0].webhook_url": ("SLACK_WEBHOOK_URL",)})
    assert {(f.key, f.from_env) for f in found} == {
        ("redis.url", False),
        ("sources[0].feeds[0]", False),
        ("channels[0].webhook_url", True),
    }


CHANNELS = """
[[sources]]
name = "portal"
feeds = ["https://news.example/feed.xml"]

[[channels]]
name = "slack"
type = "slack"
webhook_url = {webhook}

[[channels]]
name = "mail"
type = "email"
host = "127.0.0.1"
sender = "newswatch@example.org"
recipients = ["desk@example.org"]
username = "desk"
password = {password}
"""

HOOK = "https://hooks.slack.com/services/T0AAAA/B0BBBB/literalwebhooktoken0001"
PASSWORD = "literal-smtp-password"


def _check(path: Path, mode: int, env: dict[str, str] | None = None) -> tuple[int, str]:
    path.chmod(mode)
    result = run_cli("--config", str(path), "check", env=env)
    return result.returncode, result.stderr


def test_check_warns_about_literal_secrets_and_a_readable_file(tmp_path: Path) -> None:
    path = tmp_path / "newswatch.toml"
    path.write_text(CHANNELS.format(webhook=f'"{HOOK}"', password=f'"{PASSWORD}"'))
    code, stderr = _check(path, 0o644)
    assert code == 0
    warnings = [line for line in stderr.splitlines() if "warning" in line]
    assert len(warnings) == 3, stderr
    assert any("channels[0].webhook_url: holds a secret as a literal" in w for w in warnings)
    assert any("channels[1].password: holds a secret as a literal" in w for w in warnings)
    assert any("readable by other users (mode 0644)" in w for w in warnings)
    assert HOOK not in stderr and PASSWORD not in stderr  # the warning never shows the value

    code, stderr = _check(path, 0o600)
    assert code == 0 and "readable by other users" not in stderr
    assert stderr.count("holds a secret as a literal") == 2

    path.write_text(CHANNELS.format(webhook='"${SLACK_WEBHOOK_URL}"', password='"${SMTP_PW}"'))
    env = {"SLACK_WEBHOOK_URL": HOOK, "SMTP_PW": PASSWORD}
    code, stderr = _check(path, 0o644, env)
    assert code == 0 and "warning" not in stderr, stderr  # no secret in the file itself


def test_partly_referenced_values_count_as_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_PATH", "T0AAAA/B0BBBB/partlyfromenvironment01")
    text = CHANNELS.format(
        webhook='"https://hooks.slack.com/services/${SLACK_PATH}"', password='"hunter2-x"'
    )
    config = parse_config(text, path=tmp_path / "n.toml")
    assert [w.split(": ")[1] for w in config_warnings(config)] == ["channels[1].password"]
    values = secret_values(config)
    assert "T0AAAA/B0BBBB/partlyfromenvironment01" in values
    assert "hunter2-x" in values and "partlyfromenvironment01" in values
    assert "desk" not in values  # the username is not a secret


@pytest.mark.parametrize(
    ("url", "lines"),
    [
        # a path of plain words is hidden where it stands as a path, not where its words
        # are part of another path or of a sentence
        (
            "http://127.0.0.1:18660/accept",
            {
                "archive /tmp/accept/a.db, accept all": None,
                "Cannot POST /accept": "Cannot POST [redacted]",
                "127.0.0.1:18660/accept said 404": "127.0.0.1:18660[redacted] said 404",
            },
        ),
        ("https://alerts.example/alerts", {"3 alerts sent to /alerts.db": None}),
        # ntfy: the topic is the secret; Zapier: short ids, one of digits only
        (
            "https://ntfy.example/newswatchalerts",
            {"POST /newswatchalerts: 403": "POST [redacted]: 403"},
        ),
        (
            "https://hooks.zapier.example/hooks/catch/1234567/3abcdef/",
            {"Cannot POST /hooks/catch/1234567/3abcdef/": "Cannot POST [redacted]"},
        ),
        # tokens in the path or the query: hidden on their own too
        (
            "https://open.feishu.example/open-apis/bot/v2/hook/2b5d1c6e-0a0b-4c4d-9e9f-0123456789ab",
            {"hook 2b5d1c6e-0a0b-4c4d-9e9f-0123456789ab is gone": "hook [redacted] is gone"},
        ),
        (
            "https://discord.example/api/webhooks/123456789012345678/AbCdEf-gh_IjKlMnOpQr",
            {"webhook 123456789012345678 unknown": "webhook [redacted] unknown"},
        ),
        ("https://hooks.example/h/3f9a1c7e", {"no hook 3f9a1c7e": "no hook [redacted]"}),
        (
            "https://qyapi.example/cgi-bin/webhook/send?key=693a91f6-7c1d-4bc4-97a0-0ec2a1fa5aaa",
            {
                "invalid key 693a91f6-7c1d-4bc4-97a0-0ec2a1fa5aaa": "invalid key [redacted]",
                "POST /cgi-bin/webhook/send done": "POST [redacted] done",
            },
        ),
        (
            "https://flow.example/workflows/0a1b2c3d/triggers/manual/paths/invoke?sp=%2Ftriggers%2Fmanual%2Frun&sig=Zm9vYmFy%2Bc2VjcmV0",
            {"bad sig Zm9vYmFy%2Bc2VjcmV0 / Zm9vYmFy+c2VjcmV0": "bad sig [redacted] / [redacted]"},
        ),
    ],
)
def test_a_webhook_url_hides_its_secrets_not_its_words(
    url: str, lines: dict[str, str | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each line as the redactor leaves it (None: untouched); the URL itself, with or
    without its scheme, is always hidden."""
    monkeypatch.setenv("HOOK_URL", url)
    text = CHANNELS.format(webhook='"${HOOK_URL}"', password='"hunter2-x"')
    redactor = Redactor(secret_values(parse_config(text, path="n.toml")))
    assert redactor.redact(f"posting to {url} failed") == "posting to [redacted] failed"
    for line, expected in lines.items():
        assert redactor.redact(line) == (line if expected is None else expected)


def test_config_errors_do_not_echo_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "xoxb-not-a-url-but-a-bot-token")
    text = CHANNELS.format(webhook='"${SLACK_WEBHOOK_URL}"', password='"x"')
    with pytest.raises(ConfigError) as error:
        parse_config(text, path="n.toml")
    assert error.value.key == "channels[0].webhook_url"
    assert "xoxb" not in str(error.value) and "[redacted]" in str(error.value)


@pytest.mark.parametrize("value", ["http", "x", "hooks.slack.com/services/T0/B0/abcdef"])
def test_a_short_secret_in_a_config_error_leaves_the_message_readable(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """The value is hidden where the message quotes it; the message's own words stay."""
    monkeypatch.setenv("SLACK_WEBHOOK_URL", value)
    text = CHANNELS.format(webhook='"${SLACK_WEBHOOK_URL}"', password='"x"')
    with pytest.raises(ConfigError) as error:
        parse_config(text, path="n.toml")
    message = str(error.value)
    assert "expected an absolute http(s) URL, got '[redacted]'" in message, message
    assert f"'{value}'" not in message


def test_filter_redacts_messages_arguments_and_exceptions() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter(Redactor({"p4ssw0rd-value"})))
    log = logging.getLogger("tests.redact")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("login with %s failed", "p4ssw0rd-value")
        log.warning("queue at %(url)s", {"url": "redis://:other-pw@queue:6379/0"})
        log.warning("posting to https://hooks.slack.com/services/T1/B2/zzzzzz failed")
        log.warning("GET https://api.example/v1?token=abcdef123&page=2 with Bearer abcdefghijkl")
        try:
            raise RuntimeError("server said: p4ssw0rd-value is wrong")
        except RuntimeError:
            log.exception("delivery failed")
    finally:
        log.removeHandler(handler)
    text = stream.getvalue()
    for leaked in ("p4ssw0rd-value", "other-pw", "zzzzzz", "abcdef123", "abcdefghijkl"):
        assert leaked not in text, text
    assert "redis://:[redacted]@queue:6379/0" in text
    assert "services/[redacted]" in text and "token=[redacted]&page=2" in text
    assert "RuntimeError: server said: [redacted] is wrong" in text  # the traceback stays


def test_redact_json_walks_every_string() -> None:
    redactor = Redactor({"sekrit-value"})
    value = {"source": "a", "errors": ["smtp: 535 sekrit-value refused", 3], "n": None}
    assert redact_json(value, redactor) == {
        "source": "a",
        "errors": ["smtp: 535 [redacted] refused", 3],
        "n": None,
    }


@pytest.mark.slow
def test_logs_of_a_crawl_with_failing_channels_hold_no_secret(
    portal: PortalServer, tmp_path: Path, write_config
) -> None:  # type: ignore[no-untyped-def]
    """Slack answers 500, then 404 echoing the webhook path; the SMTP server refuses the
    login, echoing the credentials. slack_sdk logs the webhook URL at debug level. With
    -vv every line goes to the log file: none holds the webhook token or the password,
    nor do stdout, stderr, ``newswatch alerts`` or the outbox."""
    from aiosmtpd.smtp import AuthResult

    token = secrets.token_urlsafe(18)
    password = secrets.token_urlsafe(12)

    def refuse(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        login, given = auth_data.login.decode(), auth_data.password.decode()
        return AuthResult(success=False, handled=False, message=f"535 5.7.8 {login}:{given} no")

    webhook = SlackWebhook(path=f"T0AAAA/B0BBBB/{token}")
    path = webhook.url.split("/services/", 1)[1]
    webhook.script = [SlackReply(500, "server_error"), SlackReply(404, f"no_service {path}")] * 5
    smtp = SmtpServer(authenticator=refuse, auth_require_tls=False)
    env = {"SLACK_WEBHOOK_URL": webhook.url, "SMTP_PASSWORD": password}
    log = tmp_path / "crawl.log"
    try:
        config = write_config(f"""
[archive]
path = "{tmp_path / "a.db"}"
[delivery]
base_backoff = "1s"
[[sources]]
name = "portal"
sitemaps = ["{portal.base}/sitemap.xml"]
delay = 0
[[rules]]
name = "h20"
keywords = ["H20"]
[[channels]]
name = "slack"
type = "slack"
webhook_url = "${{SLACK_WEBHOOK_URL}}"
[[channels]]
name = "mail"
type = "email"
host = "127.0.0.1"
port = {smtp.port}
sender = "newswatch@example.org"
recipients = ["desk@example.org"]
username = "desk"
password = "${{SMTP_PASSWORD}}"
""")
        outputs = []
        for _ in range(2):  # the second pass meets the 404
            result = run_cli(
                "--config", str(config), "-vv", "--log-file", str(log), "crawl", env=env
            )
            assert result.returncode == 0, result.stderr[-3000:]
            outputs += [result.stdout, result.stderr]
            time.sleep(1.2)  # past the 1 s backoff
        listing = run_cli("--config", str(config), "alerts", env=env)
        outputs += [listing.stdout, listing.stderr]
        assert len(webhook.received) >= 2 and not webhook.delivered and not smtp.messages
    finally:
        webhook.close()
        smtp.close()

    text = log.read_text(encoding="utf-8")
    assert "alert h20 → slack failed" in text and "alert h20 → mail is dead" in text
    assert "no_service" in text and "535 5.7.8" in text  # the replies themselves are logged
    for output in [text, *outputs]:
        assert token not in output and password not in output
    assert "Sending a request - url: " in text  # slack_sdk's debug line, redacted
    errors = [
        row[0]
        for row in sqlite3.connect(tmp_path / "a.db").execute("SELECT last_error FROM alerts")
    ]
    assert errors and all(e and token not in e and password not in e for e in errors)
    assert any("no_service" in e and "[redacted]" in e for e in errors), errors
