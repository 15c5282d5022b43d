"""End to end: crawls of a portal alert a Feishu bot, a DingTalk robot (both signed) and a
signed generic webhook once per (rule, story), retrying after each one's error body."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from crawler.demo.portal import PortalServer
from tests.chat_servers import (
    DingTalkRobot,
    FeishuBot,
    Reply,
    SignedWebhookReceiver,
    readme_verify,
)
from tests.conftest import run_cli
from tests.test_alerts_crawl import ARTICLES, H20
from tests.test_channels import DINGTALK_SECRET, FEISHU_SECRET, WEBHOOK_SECRET

pytestmark = pytest.mark.slow


def test_feishu_dingtalk_and_webhook_get_each_story_once_through_error_bodies(
    tmp_path: Path,
    write_config,  # type: ignore[no-untyped-def]
) -> None:
    db = tmp_path / "archive.db"
    with (
        PortalServer(0, articles=ARTICLES) as portal,
        FeishuBot(FEISHU_SECRET) as feishu,
        DingTalkRobot(DINGTALK_SECRET) as dingtalk,
        SignedWebhookReceiver(WEBHOOK_SECRET, readme_verify()) as webhook,
    ):
        feishu.script = [FeishuBot.error(11232, "frequency limited psm[lark.oapi]")]
        dingtalk.script = [DingTalkRobot.error(-1, "系统繁忙")]
        webhook.script = [Reply(503, "busy", {"Retry-After": "1"})]
        config = write_config(f"""
[archive]
path = "{db}"
[delivery]
base_backoff = "1s"
[[sources]]
name = "portal"
sitemaps = ["{portal.base}/sitemap.xml"]
delay = 0
[[rules]]
name = "h20"
keywords = ["H20"]
[[rules]]
name = "ascend"
keywords = ["昇腾"]
[[channels]]
name = "feishu"
type = "feishu"
webhook_url = "{feishu.url}"
secret = "${{TEST_FEISHU_SECRET}}"
[[channels]]
name = "dingtalk"
type = "dingtalk"
webhook_url = "{dingtalk.url}"
secret = "${{TEST_DINGTALK_SECRET}}"
[[channels]]
name = "hook"
type = "webhook"
webhook_url = "{webhook.url}"
secret = "${{TEST_WEBHOOK_SECRET}}"
""")
        env = {
            "TEST_FEISHU_SECRET": FEISHU_SECRET,
            "TEST_DINGTALK_SECRET": DINGTALK_SECRET,
            "TEST_WEBHOOK_SECRET": WEBHOOK_SECRET,
        }
        first = run_cli("--config", str(config), "crawl", env=env)
        assert first.returncode == 0, first.stderr[-3000:]
        # each error body is retried within the pass, after a second
        assert "alerts: 9 sent, 0 to retry, 0 dead (3 failed attempt(s)" in first.stdout, (
            first.stdout
        )
        second = run_cli("--config", str(config), "crawl", env=env)
        assert "alerts: 0 sent, 0 to retry, 0 dead" in second.stdout, second.stdout

        # The H20 story alerts once, under whichever of its two articles came first.
        same_story = {ARTICLES[-1].title: H20.title}
        expected = sorted([H20.title, "Ｈ２０库存去向引关注", "昇騰叢集擴容完成"])
        feishu_titles = [p["card"]["header"]["title"]["content"] for p in feishu.delivered]
        assert sorted(same_story.get(t, t) for t in feishu_titles) == expected
        assert len(feishu.received) == 4  # 3 delivered + the one refused with 11232
        dingtalk_titles = [p["markdown"]["title"].split("] ", 1)[1] for p in dingtalk.delivered]
        assert sorted(same_story.get(t, t) for t in dingtalk_titles) == expected
        assert len(dingtalk.received) == 4
        hook_titles = [p["alerts"][0]["title"] for p in webhook.delivered]
        assert sorted(same_story.get(t, t) for t in hook_titles) == expected
        assert webhook.rejected == 0 and webhook.duplicates == 0
        assert len(webhook.received) == 4

    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT channel, status, attempts FROM alerts").fetchall()
    assert len(rows) == 9 and {r[1] for r in rows} == {"sent"}
    assert sorted(r[2] for r in rows) == [1] * 6 + [2] * 3
