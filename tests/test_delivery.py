"""Alert delivery through real servers on 127.0.0.1: the Slack webhook stand-in and an
aiosmtpd SMTP server, answering 429/500/404 and 421/451/550 as scripted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from alerts.delivery import deliver_due
from crawler.config import Config, parse_config
from crawler.demo.portal import load_articles
from storage import Archive
from storage.outbox import list_alerts
from tests.servers import SlackReply, SlackWebhook, SmtpServer, slack_and_smtp

NOW = datetime(2026, 3, 20, 8, 0, tzinfo=UTC)


@pytest.fixture
def servers() -> Iterator[tuple[SlackWebhook, SmtpServer]]:
    with slack_and_smtp() as pair:
        yield pair


def config_for(slack: SlackWebhook, smtp: SmtpServer, extra: str = "") -> Config:
    return parse_config(f"""
[delivery]
base_backoff = "10s"
max_attempts = 3

[[rules]]
name = "h20"
keywords = ["H20"]

[[channels]]
name = "slack"
type = "slack"
webhook_url = "{slack.url}"
timeout = 3

[[channels]]
name = "mail"
type = "email"
host = "127.0.0.1"
port = {smtp.port}
sender = "newswatch@example.org"
recipients = ["desk@example.org"]
timeout = 3
{extra}
""")


ARTICLES = load_articles()


def queue(
    archive: Archive, config: Config, n: int = 1, title: str = "英伟达H20 <b>&", start: int = 0
) -> None:
    for i in range(start, start + n):
        body = "英伟达H20芯片：" + "\n".join(ARTICLES[i].paragraphs)
        archive.add_article(
            {
                "url": f"http://x.test/{i}",
                "canonical_url": f"http://x.test/{i}",
                "source": "s",
                "title": title,
                "text": body,
            },
            alerts=[
                {
                    "rule": "h20",
                    "channels": [c.name for c in config.channels],
                    "mode": "immediate",
                    "terms": ["H20"],
                    "spans": [],
                    "snippet": "对英伟达【H20】芯片 <script>",
                }
            ],
        )


def statuses(archive: Archive) -> dict[tuple[int, str], str]:
    return {(r["story_id"], r["channel"]): r["status"] for r in list_alerts(archive.db)}


def test_sent_once_on_both_channels(servers, archive: Archive) -> None:  # type: ignore[no-untyped-def]
    slack, smtp = servers
    config = config_for(slack, smtp)
    queue(archive, config)
    report = deliver_due(archive, config, now=NOW)
    assert (report.sent, report.failed, report.dead) == (2, 0, 0)
    assert deliver_due(archive, config, now=NOW + timedelta(hours=1)).sent == 0
    [payload] = slack.delivered
    blocks = json.dumps(payload["blocks"], ensure_ascii=False)
    assert "*H20*" in blocks and "&lt;script&gt;" in blocks and "<script>" not in blocks
    assert payload["blocks"][0]["text"]["text"].startswith("英伟达H20")
    [message] = smtp.messages
    assert message["Subject"].startswith("[newswatch] h20: 英伟达H20")
    html_part = next(p for p in message.walk() if p.get_content_type() == "text/html")
    assert "<mark>H20</mark>" in html_part.get_payload(decode=True).decode()
    assert "&lt;script&gt;" in html_part.get_payload(decode=True).decode()
    assert message.get_content_type() == "multipart/alternative"


def test_slack_429_honours_retry_after_then_500_then_ok(servers, archive: Archive) -> None:  # type: ignore[no-untyped-def]
    slack, smtp = servers
    slack.script = [
        SlackReply(429, "rate_limited", {"Retry-After": "120"}),
        SlackReply(500, "server_error"),
    ]
    config = config_for(slack, smtp)
    queue(archive, config)
    first = deliver_due(archive, config, now=NOW)
    assert (first.sent, first.failed) == (1, 1)
    row = next(r for r in list_alerts(archive.db) if r["channel"] == "slack")
    assert row["status"] == "failed" and row["next_attempt_at"] == "2026-03-20T08:02:00.000Z"
    assert deliver_due(archive, config, now=NOW + timedelta(seconds=60)).sent == 0  # not yet due
    second = deliver_due(archive, config, now=NOW + timedelta(seconds=121))
    assert second.failed == 1 and "500" in second.errors[0]
    third = deliver_due(archive, config, now=NOW + timedelta(seconds=150))
    assert third.sent == 1
    assert len(slack.delivered) == 1 and len(slack.received) == 3
    assert set(statuses(archive).values()) == {"sent"}


def test_slack_404_is_permanent(servers, archive: Archive) -> None:  # type: ignore[no-untyped-def]
    slack, smtp = servers
    slack.script = [SlackReply(404, "no_service")]
    config = config_for(slack, smtp)
    queue(archive, config)
    report = deliver_due(archive, config, now=NOW)
    assert report.dead == 1
    row = next(r for r in list_alerts(archive.db) if r["channel"] == "slack")
    assert row["status"] == "dead" and "no_service" in row["last_error"]


def test_smtp_4xx_transient_5xx_permanent(servers, archive: Archive) -> None:  # type: ignore[no-untyped-def]
    slack, smtp = servers
    smtp.data_script = ["451 4.3.0 try again later"]
    smtp.rcpt_script = ["421 4.7.0 too busy"]
    config = config_for(slack, smtp)
    queue(archive, config)
    assert deliver_due(archive, config, now=NOW).failed == 1
    assert deliver_due(archive, config, now=NOW + timedelta(seconds=11)).failed == 1
    assert deliver_due(archive, config, now=NOW + timedelta(seconds=40)).sent == 1
    assert len(smtp.messages) == 1
    queue(archive, config, start=1)
    smtp.rcpt_script = ["550 5.1.1 no such user"]
    report = deliver_due(archive, config, now=NOW + timedelta(seconds=60))
    assert report.dead == 1 and "550" in report.errors[0]


def test_server_down_is_transient_and_gives_up_after_max_attempts(archive: Archive) -> None:
    from tests.servers import free_port

    config = parse_config(f"""
[delivery]
base_backoff = "1s"
max_attempts = 3
[[rules]]
name = "h20"
keywords = ["H20"]
[[channels]]
name = "mail"
type = "email"
host = "127.0.0.1"
port = {free_port()}
sender = "a@example.org"
recipients = ["b@example.org"]
timeout = 2
""")
    queue(archive, config)
    moments = [NOW + timedelta(seconds=s) for s in (0, 2, 10)]
    reports = [deliver_due(archive, config, now=m) for m in moments]
    assert [r.failed for r in reports[:2]] == [1, 1]
    assert reports[2].dead == 1
    [row] = list_alerts(archive.db)
    assert row["status"] == "dead" and "gave up after 3 attempts" in row["last_error"]


def test_budget_leaves_the_rest_for_later(servers, archive: Archive) -> None:  # type: ignore[no-untyped-def]
    slack, smtp = servers
    config = config_for(slack, smtp)
    queue(archive, config, n=3)
    report = deliver_due(archive, config, now=NOW, budget=0)
    assert report.sent == 0 and report.deferred == 6
    assert set(statuses(archive).values()) == {"pending"}
    assert deliver_due(archive, config, now=NOW).sent == 6


def test_a_story_gaining_outlets_does_not_alert_again(servers, archive: Archive) -> None:  # type: ignore[no-untyped-def]
    slack, smtp = servers
    config = config_for(slack, smtp)
    queue(archive, config)
    body = archive.db["articles"].get(1)["text"]
    archive.add_article(
        {
            "url": "http://mirror.test/a",
            "canonical_url": "http://mirror.test/a",
            "source": "m",
            "title": "转载",
            "text": "（来源：合作媒体）\n" + body,
        },
        alerts=[
            {
                "rule": "h20",
                "channels": ["slack", "mail"],
                "mode": "immediate",
                "terms": ["H20"],
                "spans": [],
                "snippet": "x",
            }
        ],
    )
    assert len(list_alerts(archive.db)) == 2
    deliver_due(archive, config, now=NOW)
    assert len(slack.delivered) == 1 and len(smtp.messages) == 1


def test_digest_one_message_per_period(servers, archive: Archive) -> None:  # type: ignore[no-untyped-def]
    slack, smtp = servers
    config = parse_config(f"""
[[rules]]
name = "h20"
keywords = ["H20"]
mode = "digest"
period = "1d"
channels = ["slack"]
[[channels]]
name = "slack"
type = "slack"
webhook_url = "{slack.url}"
""")
    for i in range(3):
        body = "H20：" + "\n".join(ARTICLES[i].paragraphs)
        archive.add_article(
            {
                "url": f"http://x.test/{i}",
                "canonical_url": f"http://x.test/{i}",
                "source": "s",
                "title": f"报道{i}",
                "text": body,
            },
            alerts=[
                {
                    "rule": "h20",
                    "channels": ["slack"],
                    "mode": "digest",
                    "terms": ["H20"],
                    "spans": [],
                    "snippet": f"【H20】{i}",
                }
            ],
        )
    assert deliver_due(archive, config, now=NOW).sent == 3
    assert len(slack.delivered) == 1 and "3 new stories" in slack.delivered[0]["text"]
    archive.add_article(
        {
            "url": "http://x.test/9",
            "canonical_url": "http://x.test/9",
            "source": "s",
            "title": "另一篇",
            "text": "H20：" + "\n".join(ARTICLES[9].paragraphs),
        },
        alerts=[
            {
                "rule": "h20",
                "channels": ["slack"],
                "mode": "digest",
                "terms": ["H20"],
                "spans": [],
                "snippet": "x",
            }
        ],
    )
    assert deliver_due(archive, config, now=NOW + timedelta(hours=2)).sent == 0
    assert deliver_due(archive, config, now=NOW + timedelta(days=1, minutes=1)).sent == 1
    assert len(slack.delivered) == 2
