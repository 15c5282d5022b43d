"""End to end: a crawl of a portal fires exactly the expected alerts on both channels,
through Slack answering 429 and then 500 first; a later pass sends nothing new."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from crawler.demo.portal import DemoArticle, PortalServer
from tests.conftest import run_cli
from tests.servers import SlackReply, slack_and_smtp

pytestmark = pytest.mark.slow


def article(
    slug: str,
    title: str,
    body: list[str],
    *,
    lang: str = "zh-Hans",
    charset: str = "utf-8",
    declare: str = "meta",
) -> DemoArticle:
    return DemoArticle(
        slug=slug,
        section="tech",
        lang=lang,
        charset=charset,
        declare=declare,
        date="2026-03-20T08:00:00+08:00",
        title=title,
        paragraphs=tuple(body),
    )


H20 = article(
    "h20-real",
    "美方H20芯片许可审查再延期",
    [
        "据供应链人士透露，英伟达H20芯片对华出口许可的审查期限将再延长六十天。",
        "一些云服务商已经开始评估国产加速卡的替代方案，以降低交付风险。",
        "一位服务器厂商的采购负责人说，公司已把第二季度的订单拆成两批，等待许可证落地。",
    ],
    charset="gbk",
    declare="header",
)
ARTICLES = [
    H20,
    article(
        "h200-only",
        "新一代数据中心GPU开始交付",
        [
            "英伟达表示，H200加速卡已开始向海外客户批量交付，内存带宽明显提升。",
            "分析师认为，新产品将进一步巩固其在训练市场的地位。",
            "首批客户包括多家北美云计算公司和科研机构。",
        ],
    ),
    article(
        "rise-only",
        "半导体板块情绪升腾",
        [
            "受多项利好消息影响，半导体板块周一情绪升腾，多只个股涨停。",
            "券商人士提醒投资者注意短期波动风险。",
            "成交量较上周五明显放大，北向资金小幅净流入。",
        ],
        declare="none",
    ),
    article(
        "sidebar-only",
        "光伏行业出口数据发布",
        [
            "海关总署公布的数据显示，光伏组件出口量同比增长，欧洲市场需求回暖。",
            "企业表示，海外仓储和物流成本仍然较高。",
            "行业协会预计全年出口规模将保持稳定。",
        ],
    ),
    article(
        "fullwidth",
        "Ｈ２０库存去向引关注",
        [
            "有媒体报道称，部分Ｈ２０库存已被转售给海外数据中心运营商。",
            "相关企业尚未就此作出回应。",
            "知情人士称，交易通过多家中间商完成，最终用户难以核实。",
        ],
        declare="wrong-header",
    ),
    article(
        "ascend-trad",
        "昇騰叢集擴容完成",
        [
            "華為表示，以昇騰處理器為核心的計算叢集已完成擴容，新增算力面向模型訓練。",
            "多所大學實驗室已簽約使用，主要用於蛋白質結構預測與氣象模擬。",
            "工程師介紹，新機櫃採用液冷設計，單櫃功率密度提升約三成。",
        ],
        lang="zh-Hant",
        charset="big5",
        declare="none",
    ),
    article(
        "h20-copy",
        "独家｜审查期限延长，业内怎么看",
        ["（本文转载自合作媒体）", *H20.paragraphs, "责任编辑：张三"],
    ),
]


def portal_config(db: Path, portal: PortalServer, slack_url: str, backoff: str) -> str:
    """The portal's sitemap, the two rules and a Slack channel."""
    return f"""
[archive]
path = "{db}"
[delivery]
base_backoff = "{backoff}"
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
name = "slack"
type = "slack"
webhook_url = "{slack_url}"
"""


def test_alerts_fire_once_per_rule_and_story_on_both_channels(
    tmp_path: Path,
    write_config,  # type: ignore[no-untyped-def]
) -> None:
    db = tmp_path / "archive.db"
    with PortalServer(0, articles=ARTICLES) as portal, slack_and_smtp() as (slack, smtp):
        slack.script = [
            SlackReply(429, "rate_limited", {"Retry-After": "1"}),
            SlackReply(500, "server_error"),
        ]
        config = write_config(f"""{portal_config(db, portal, slack.url, "1s")}
[[channels]]
name = "mail"
type = "email"
host = "127.0.0.1"
port = {smtp.port}
sender = "newswatch@example.org"
recipients = ["desk@example.org"]
""")
        first = run_cli("--config", str(config), "crawl")
        assert first.returncode == 0, first.stderr[-3000:]
        # Within the pass, the 429 (Retry-After: 1) and the 500 are retried after 1-2 s.
        assert "alerts: 6 sent, 0 to retry, 0 dead (2 failed attempt(s)" in first.stdout
        second = run_cli("--config", str(config), "crawl")
        assert "alerts: 0 sent, 0 to retry, 0 dead" in second.stdout, second.stdout

        # The H20 story alerts once, under whichever of its two articles came first.
        same_story = {ARTICLES[-1].title: H20.title}
        expected = sorted([H20.title, "Ｈ２０库存去向引关注", "昇騰叢集擴容完成"])
        slack_titles = [p["blocks"][0]["text"]["text"] for p in slack.delivered]
        assert sorted(same_story.get(t, t) for t in slack_titles) == expected
        assert len(slack.received) == 5  # 3 delivered + the 429 and the 500
        subjects = [str(m["Subject"]).split(": ", 1)[1] for m in smtp.messages]
        assert sorted(same_story.get(t, t) for t in subjects) == expected

    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT rule, channel, status, title FROM alerts").fetchall()
    assert len(rows) == 6 and {r[2] for r in rows} == {"sent"}
    stories = dict(
        conn.execute(
            "SELECT substr(url, instr(url, '/tech/') + 11), story_id FROM articles"
        ).fetchall()
    )
    assert stories["h20-copy.html"] == stories["h20-real.html"]
    fired_titles = {r[3] for r in rows}
    assert (
        conn.execute("SELECT lang FROM articles WHERE url LIKE '%ascend-trad%'").fetchone()[0]
        == "zh-Hant"
    )
    for quiet in ("新一代数据中心GPU开始交付", "半导体板块情绪升腾", "光伏行业出口数据发布"):
        assert quiet not in fired_titles


def test_a_crawl_counts_the_alerts_left_to_retry(
    tmp_path: Path,
    write_config,  # type: ignore[no-untyped-def]
) -> None:
    """Slack answers 500 to every try and the next try is an hour away: the crawl's summary
    says the alerts wait to be retried (it said 0), and the outbox agrees."""
    db = tmp_path / "archive.db"
    with PortalServer(0, articles=ARTICLES) as portal, slack_and_smtp() as (slack, _):
        slack.script = [SlackReply(500, "server_error")] * 20
        config = write_config(portal_config(db, portal, slack.url, "1h"))
        result = run_cli("--config", str(config), "crawl", "--alert-budget", "3")
    assert result.returncode == 0, result.stderr[-3000:]
    waiting = sqlite3.connect(db).execute("SELECT count(*) FROM alerts WHERE status != 'sent'")
    count = waiting.fetchone()[0]
    assert count == 3
    assert f"alerts: 0 sent, {count} to retry, 0 dead" in result.stdout, result.stdout
