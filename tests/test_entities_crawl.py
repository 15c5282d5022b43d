"""Issue 16 end to end: one crawl of three sites unlike the demo portal (an English wire,
a mainland portal carrying Xinhua copy, a mobile site showing only relative times).
Each Chinese/English report of an event is one story; entity rules alert once per story
across languages and on an English story naming only "Ascend 910C", never on "ascend"
the verb; keywords = ["H20"] alerts once per story; 3小时前 and 昨天 14:30 resolve to the
minute; the Xinhua repost and the Reuters wire name their origin."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import run_cli
from tests.outlets import Outlets, Story
from tests.servers import SlackWebhook

pytestmark = pytest.mark.slow

STORIES = [
    Story(
        "wire",
        "ascend-guidance",
        "US warns using Huawei Ascend chips anywhere may breach export controls",
        (
            "WASHINGTON (Reuters) - The U.S. Commerce Department warned on {weekday} that using "
            "Huawei's Ascend 910B, 910C or 910D chips anywhere in the world could violate U.S. "
            "export controls, and said it would rescind the AI Diffusion Rule.",
            "The Bureau of Industry and Security said firms should also guard against their "
            "chips being used to train Chinese AI models.",
            "Huawei did not immediately respond to a request for comment.",
        ),
        hours_ago=20,
    ),
    Story(
        "portal",
        "ascend-guidance-xinhua",
        "美方称全球任何地方使用昇腾芯片或违反出口管制",
        (
            "新华社华盛顿5月13日电 美国商务部工业与安全局{day}日发布指南称，"
            "在全球任何地方使用华为昇腾910B、910C和910D芯片都可能违反美国出口管制规定。",
            "美方同时宣布将撤销人工智能扩散规则。外交部发言人回应称，美方滥用出口管制，"
            "中方将坚决维护中国企业正当权益。",
        ),
        hours_ago=14,
        credit="新华社",
    ),
    Story(
        "wire",
        "h20-licence",
        "Nvidia to take $5.5 billion charge as US requires licence for H20 exports",
        (
            "SANTA CLARA, California (Reuters) - Nvidia said it expects charges of about "
            "$5.5 billion after the U.S. government told it that exports of its H20 chip to "
            "China now require a licence, indefinitely.",
            "The H20 was designed to comply with earlier export limits. Shares fell about 6% "
            "in extended trading.",
        ),
        hours_ago=30,
    ),
    Story(
        "mobile",
        "h20-licence-cn",
        "英伟达：H20对华出口须获许可 将计提55亿美元",
        (
            "英伟达在提交的文件中表示，美国政府通知公司，H20芯片出口至中国须申请许可证，且该要求无限期有效。",
            "公司预计将因此计提约55亿美元费用。受消息影响，英伟达股价盘后下跌约6%。",
        ),
        hours_ago=3,
        shown_time="3小时前",
    ),
    Story(
        "mobile",
        "h20-demand",
        "英伟达H20在华需求走弱 国内厂商加速替代",
        (
            "多家云服务商人士表示，受出口管制不确定性影响，国内客户对英伟达H20芯片的采购明显放缓。",
            "一家大模型公司的技术负责人说，团队已把主要模型迁移到国产加速卡上，推理业务的国产化比例已超过三成。",
        ),
        hours_ago=30,
        shown_time="昨天 14:30",
    ),
    Story(
        "wire",
        "ascend-910c-clusters",
        "Chinese cloud providers test clusters built on the Ascend 910C",
        (
            "Several Chinese cloud providers have begun testing large training clusters built "
            "on the Ascend 910C, according to three people familiar with the plans.",
            "The people said software tooling remained the main obstacle to moving more "
            "workloads off foreign accelerators.",
        ),
        hours_ago=10,
    ),
    Story(
        "wire",
        "chip-stocks",
        "Chip Stocks Ascend After Upbeat Forecast",
        (
            "Shares of chipmakers continued to ascend on Thursday after a closely watched "
            "memory maker raised its revenue forecast for the quarter.",
            "Ascend they did: the index of semiconductor stocks closed at a record high, with "
            "equipment makers among the biggest gainers.",
        ),
        hours_ago=5,
    ),
]


def test_one_crawl_makes_one_story_per_event_across_languages(
    tmp_path: Path,
    write_config,  # type: ignore[no-untyped-def]
) -> None:
    db = tmp_path / "archive.db"
    slack = SlackWebhook()
    try:
        with Outlets(STORIES) as outlets:
            config = write_config(f"""
[archive]
path = "{db}"
[[sources]]
name = "wire"
sitemaps = ["{outlets.base}/wire/sitemap.xml"]
timezone = "UTC"
delay = 0
[[sources]]
name = "portal"
sitemaps = ["{outlets.base}/portal/sitemap.xml"]
delay = 0
[[sources]]
name = "mobile"
sitemaps = ["{outlets.base}/mobile/sitemap.xml"]
delay = 0
[[rules]]
name = "ascend"
entities = ["昇腾"]
[[rules]]
name = "h20"
keywords = ["H20"]
[[rules]]
name = "xinhua-controls"
keywords = ["出口管制"]
origins = ["新华社"]
[[channels]]
name = "slack"
type = "slack"
webhook_url = "{slack.url}"
""")
            result = run_cli("--config", str(config), "crawl")
            assert result.returncode == 0, result.stderr[-3000:]
            assert "alerts: 5 sent, 0 to retry, 0 dead" in result.stdout, result.stdout
    finally:
        slack.close()

    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    articles = {
        row["url"].rsplit("/", 1)[1].removesuffix(".html"): row
        for row in conn.execute("SELECT * FROM articles")
    }
    assert len(articles) == len(STORIES)
    story = {slug: row["story_id"] for slug, row in articles.items()}
    assert story["ascend-guidance"] == story["ascend-guidance-xinhua"]
    assert story["h20-licence"] == story["h20-licence-cn"]
    others = [
        story["ascend-guidance"],
        story["h20-licence"],
        story["h20-demand"],
        story["ascend-910c-clusters"],
        story["chip-stocks"],
    ]
    assert len(set(others)) == len(others), story
    languages = conn.execute(
        "SELECT languages FROM stories WHERE id = ?", [story["ascend-guidance"]]
    ).fetchone()[0]
    assert sorted(json.loads(languages)) == ["en", "zh-Hans"]

    fired = sorted(
        (row["rule"], row["story_id"]) for row in conn.execute("SELECT rule, story_id FROM alerts")
    )
    assert fired == sorted(
        [
            ("ascend", story["ascend-guidance"]),
            ("ascend", story["ascend-910c-clusters"]),
            ("h20", story["h20-licence"]),
            ("h20", story["h20-demand"]),
            ("xinhua-controls", story["ascend-guidance"]),
        ]
    )
    spans = conn.execute(
        "SELECT spans FROM alerts WHERE rule = 'ascend' AND story_id = ?",
        [story["ascend-910c-clusters"]],
    ).fetchone()[0]
    assert json.loads(spans)[0]["entity"] == "Huawei Ascend"
    assert json.loads(spans)[0]["alias"] == "Ascend 910C"
    assert len(slack.delivered) == 5

    # 3小时前 and 昨天 14:30, against the fetch time, in Beijing time
    relative = articles["h20-licence-cn"]
    fetched = datetime.fromisoformat(relative["fetched_at"].replace("Z", "+00:00"))
    expected = (fetched - timedelta(hours=3)).replace(second=0)
    assert relative["published_at"] == expected.isoformat().replace("+00:00", "Z")
    assert relative["published_precision"] == "estimated"
    yesterday = articles["h20-demand"]
    fetched = datetime.fromisoformat(yesterday["fetched_at"].replace("Z", "+00:00"))
    beijing = fetched.astimezone(ZoneInfo("Asia/Shanghai"))
    at = (beijing - timedelta(days=1)).replace(hour=14, minute=30, second=0)
    assert yesterday["published_at"] == at.astimezone(ZoneInfo("UTC")).isoformat().replace(
        "+00:00", "Z"
    )
    assert yesterday["published_precision"] == "minute"

    assert articles["ascend-guidance-xinhua"]["origin"] == "Xinhua"
    assert articles["ascend-guidance"]["origin"] == "Reuters"
    assert articles["h20-licence-cn"]["origin"] is None
    assert "Huawei Ascend" in json.loads(articles["ascend-910c-clusters"]["entities"])
    assert "Huawei Ascend" not in json.loads(articles["chip-stocks"]["entities"])
