"""The new channels through the outbox (alerts.delivery.deliver_due): each alert once,
retries on the services' error bodies at the time they ask for, dead letters with the
reason, and digests on every channel."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alerts.delivery import deliver_due
from crawler.config import Config, parse_config
from crawler.demo.portal import load_articles
from storage import Archive
from storage.outbox import list_alerts
from tests.chat_servers import (
    DingTalkRobot,
    FeishuBot,
    Reply,
    SignedWebhookReceiver,
    StandIn,
    TeamsWorkflow,
    TelegramBotApi,
    WeComBot,
    readme_verify,
)
from tests.test_channels import DINGTALK_SECRET, FEISHU_SECRET, WEBHOOK_SECRET

NOW = datetime(2026, 3, 20, 8, 0, tzinfo=UTC)
ARTICLES = load_articles()
TYPES = ["feishu", "dingtalk", "wecom", "teams", "telegram", "webhook", "log"]


@dataclass
class Services:
    feishu: FeishuBot
    dingtalk: DingTalkRobot
    wecom: WeComBot
    teams: TeamsWorkflow
    telegram: TelegramBotApi
    webhook: SignedWebhookReceiver

    def channel_toml(self, kind: str) -> str:
        body = {
            "feishu": f'webhook_url = "{self.feishu.url}"\nsecret = "{FEISHU_SECRET}"',
            "dingtalk": f'webhook_url = "{self.dingtalk.url}"\nsecret = "{DINGTALK_SECRET}"',
            "wecom": f'webhook_url = "{self.wecom.url}"',
            "teams": f'webhook_url = "{self.teams.url}"',
            "telegram": (
                f'bot_token = "{TelegramBotApi.TOKEN}"\nchat_id = -1001234567890\n'
                f'api_url = "{self.telegram.base}"'
            ),
            "webhook": f'webhook_url = "{self.webhook.url}"\nsecret = "{WEBHOOK_SECRET}"',
            "log": "",
        }[kind]
        return f'[[channels]]\nname = "{kind}-desk"\ntype = "{kind}"\n{body}\n'

    def server(self, kind: str) -> StandIn | None:
        return getattr(self, kind, None)

    def messages(self, kind: str) -> list[str]:
        """What each delivered message shows, as one string per message."""
        server = self.server(kind)
        if kind == "telegram":
            return list(self.telegram.texts)
        assert server is not None
        return [json.dumps(p, ensure_ascii=False) for p in server.delivered]


@pytest.fixture
def services() -> Iterator[Services]:
    with ExitStack() as stack:
        made = Services(
            feishu=stack.enter_context(FeishuBot(FEISHU_SECRET)),  # type: ignore[arg-type]
            dingtalk=stack.enter_context(DingTalkRobot(DINGTALK_SECRET)),  # type: ignore[arg-type]
            wecom=stack.enter_context(WeComBot()),  # type: ignore[arg-type]
            teams=stack.enter_context(TeamsWorkflow()),  # type: ignore[arg-type]
            telegram=stack.enter_context(TelegramBotApi()),  # type: ignore[arg-type]
            webhook=stack.enter_context(SignedWebhookReceiver(WEBHOOK_SECRET, readme_verify())),  # type: ignore[arg-type]
        )
        yield made


def config(services: Services, kinds: list[str], *, mode: str = "immediate") -> Config:
    period = '\nperiod = "1d"' if mode == "digest" else ""
    return parse_config(
        f"""
[delivery]
base_backoff = "10s"
max_attempts = 4

[[rules]]
name = "h20"
keywords = ["H20"]
mode = "{mode}"{period}
"""
        + "".join(services.channel_toml(k) for k in kinds)
    )


def queue(archive: Archive, cfg: Config, n: int = 1, *, mode: str = "immediate") -> None:
    for i in range(n):
        archive.add_article(
            {
                "url": f"https://news.example.cn/{i}.html",
                "canonical_url": f"https://news.example.cn/{i}.html",
                "source": "caixin",
                "title": f"第{i}篇：英伟达H20 <b>&",
                "text": "英伟达H20芯片：" + "\n".join(ARTICLES[i].paragraphs),
                "published_at": "2026-03-20T08:00:00+08:00",
            },
            alerts=[
                {
                    "rule": "h20",
                    "channels": [c.name for c in cfg.channels],
                    "mode": mode,
                    "terms": ["H20"],
                    "spans": [],
                    "snippet": f"【独家】第{i}篇：英伟达【H20】芯片 <script>",
                }
            ],
        )


def rows_by_channel(archive: Archive) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for alert in list_alerts(archive.db):
        found.setdefault(alert["channel"], []).append(alert)
    return found


@pytest.mark.parametrize("kind", TYPES)
def test_immediate_alert_sent_once(
    kind: str, services: Services, archive: Archive, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="alerts.channels.log")
    cfg = config(services, [kind])
    queue(archive, cfg, 2)
    assert deliver_due(archive, cfg, now=NOW).sent == 2
    assert deliver_due(archive, cfg, now=NOW + timedelta(hours=1)).sent == 0
    if kind == "log":
        shown = [r.getMessage() for r in caplog.records if r.name == "alerts.channels.log"]
    else:
        shown = services.messages(kind)
    assert len(shown) == 2
    assert "第0篇" in shown[0] and "第1篇" in shown[1]
    assert {r["status"] for r in list_alerts(archive.db)} == {"sent"}


@pytest.mark.parametrize("kind", TYPES)
def test_digest_on_every_channel(
    kind: str, services: Services, archive: Archive, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="alerts.channels.log")
    cfg = config(services, [kind], mode="digest")
    queue(archive, cfg, 3, mode="digest")
    assert deliver_due(archive, cfg, now=NOW).sent == 3
    if kind == "log":
        shown = [r.getMessage() for r in caplog.records if r.name == "alerts.channels.log"]
        assert len(shown) == 3
        return
    [message] = services.messages(kind)
    assert all(f"第{i}篇" in message for i in range(3))
    if kind != "webhook":
        assert "h20: 3 new stories" in message
    else:
        assert '"type": "newswatch.digest"' in message
    assert deliver_due(archive, cfg, now=NOW + timedelta(hours=2)).sent == 0


def test_error_bodies_are_retried_when_the_service_says(
    services: Services, archive: Archive
) -> None:
    kinds = ["feishu", "dingtalk", "wecom", "teams", "telegram", "webhook"]
    cfg = config(services, kinds)
    services.feishu.script = [FeishuBot.error(11232, "frequency limited")]
    services.dingtalk.script = [
        DingTalkRobot.error(130101, "send too fast, exceed 20 times per minute")
    ]
    services.wecom.script = [WeComBot.error(45009, "api freq out of limit")]
    services.teams.script = [
        Reply(429, {"error": {"code": "TooManyRequests"}}, {"Retry-After": "30"})
    ]
    services.telegram.script = [
        TelegramBotApi.error(429, "Too Many Requests: retry after 3", retry_after=3)
    ]
    services.webhook.script = [Reply(503, "busy")]
    queue(archive, cfg)
    report = deliver_due(archive, cfg, now=NOW)
    assert (report.sent, report.failed, report.dead) == (0, 6, 0)
    due = {k: r[0]["next_attempt_at"] for k, r in rows_by_channel(archive).items()}
    assert due == {
        "feishu-desk": "2026-03-20T08:00:01.000Z",  # a fast retry: the code names no wait
        "dingtalk-desk": "2026-03-20T08:10:00.000Z",  # the robot's ten-minute lock-out
        "wecom-desk": "2026-03-20T08:01:00.000Z",
        "teams-desk": "2026-03-20T08:00:30.000Z",  # Retry-After
        "telegram-desk": "2026-03-20T08:00:03.000Z",  # parameters.retry_after
        "webhook-desk": "2026-03-20T08:00:01.000Z",
    }
    errors = {k: r[0]["last_error"] for k, r in rows_by_channel(archive).items()}
    assert "11232" in errors["feishu-desk"] and "130101" in errors["dingtalk-desk"]
    # telegram, feishu and the webhook
    assert deliver_due(archive, cfg, now=NOW + timedelta(seconds=5)).sent == 3
    assert deliver_due(archive, cfg, now=NOW + timedelta(seconds=40)).sent == 1  # teams
    assert deliver_due(archive, cfg, now=NOW + timedelta(seconds=61)).sent == 1  # wecom
    assert deliver_due(archive, cfg, now=NOW + timedelta(seconds=601)).sent == 1  # dingtalk
    assert {r["status"] for r in list_alerts(archive.db)} == {"sent"}
    for kind in kinds:
        assert len(services.messages(kind)) == 1, kind


def test_permanent_answers_are_dead_letters_with_the_reason(
    services: Services, archive: Archive
) -> None:
    cfg = config(services, ["feishu", "dingtalk", "telegram"])
    services.feishu.script = [FeishuBot.error(19024, "Key Words Not Found")]
    services.dingtalk.script = [DingTalkRobot.error(310000, "keywords not in content")]
    services.telegram.script = [
        TelegramBotApi.error(403, "Forbidden: bot was kicked from the group chat")
    ]
    queue(archive, cfg)
    report = deliver_due(archive, cfg, now=NOW)
    assert report.dead == 3
    errors = {k: r[0]["last_error"] for k, r in rows_by_channel(archive).items()}
    assert "19024 Key Words Not Found" in errors["feishu-desk"]
    assert "310000" in errors["dingtalk-desk"] and "check secret" in errors["dingtalk-desk"]
    assert "bot was kicked" in errors["telegram-desk"]
    assert {r["status"] for r in list_alerts(archive.db)} == {"dead"}
