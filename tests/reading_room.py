"""A crawled archive for the reading-room tests: two portals on 127.0.0.1 (a wire and an
outlet that syndicates one of its stories), a source whose feed is broken, two alert rules
delivered to a Slack stand-in."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from crawler.demo.portal import DemoArticle, PortalServer
from tests.servers import SlackWebhook


def _article(slug: str, title: str, body: list[str], **extra: str) -> DemoArticle:
    values = {
        "section": "tech",
        "lang": "zh-Hans",
        "charset": "utf-8",
        "declare": "meta",
        "date": "2026-03-20T08:00:00+08:00",
        **extra,
    }
    return DemoArticle(slug=slug, title=title, paragraphs=tuple(body), **values)  # type: ignore[arg-type]


H20_BODY = [
    "几家服务器厂商的渠道人员说，英伟达H20加速卡的出口许可仍在等待审批，交货时间已经推迟到下个季度。",
    "一些互联网公司正在测试其他型号的加速卡，希望在许可证落地之前先把推理业务迁移过去。",
    "一位代理商表示，市场上零星流通的H20现货价格比上月上涨了约一成，买家大多是中小型云服务商。",
]
WIRE = [
    _article(
        "h20-licence-wait", "H20许可审批迟迟未落地", H20_BODY, charset="gbk", declare="header"
    ),
    _article(
        "ascend-cluster",
        "昇騰叢集新增兩座機房",
        [
            "華為表示，採用昇騰處理器的計算叢集本月新增兩座機房，主要承接大模型的訓練任務。",
            "多家研究機構已經預約使用，首批項目包括材料模擬和天氣預報。",
            "工程人員介紹，新機房的冷卻系統改為浸沒式液冷，能耗比上一期下降約兩成。",
        ],
        lang="zh-Hant",
        charset="big5",
        declare="none",
        date="2026-03-19T10:30:00+08:00",
    ),
    _article(
        "entity-list-update",
        "Commerce adds research institutes to the Entity List",
        [
            "The Commerce Department added several research institutes to the Entity List "
            "on Friday, citing their work on advanced computing for military end users.",
            "Companies that ship controlled items to the listed institutes now need a licence, "
            "and applications face a presumption of denial.",
            "Lawyers advised exporters to review open orders and screen their customers again.",
        ],
        lang="en",
        date="2026-03-18T21:00:00Z",
    ),
]
OUTLET = [
    _article(
        "h20-wait-copy",
        "渠道：H20交货推迟到下季度",
        ["（本文来源：合作媒体）", *H20_BODY, "责任编辑：王五"],
        date="2026-03-20T09:15:00+08:00",
    ),
    _article(
        "solar-exports",
        "光伏组件出口保持增长",
        [
            "海关数据显示，光伏组件出口量继续增长，中东和拉美市场的订单明显增加。",
            "企业表示，海运价格回落降低了交付成本，但部分市场的认证周期较长。",
            "行业协会预计，今年组件出口规模将与去年基本持平。",
        ],
        date="2026-03-17T15:00:00+08:00",
    ),
]
ARTICLE_COUNT = len(WIRE) + len(OUTLET)


@dataclass(frozen=True)
class CrawledArchive:
    path: Path
    config: Path
    wire: str
    outlet: str

    def copy(self, directory: Path, name: str = "copy.db") -> Path:
        """A copy to change (the fixture archive itself is shared and must stay as is)."""
        target = directory / name
        shutil.copy(self.path, target)
        return target


def crawl_archive(directory: Path) -> Iterator[CrawledArchive]:
    from tests.conftest import run_cli  # conftest imports this module

    directory.mkdir(parents=True, exist_ok=True)
    db = directory / "archive.db"
    slack = SlackWebhook()
    try:
        with PortalServer(0, articles=WIRE) as wire, PortalServer(0, articles=OUTLET) as outlet:
            config = directory / "newswatch.toml"
            config.write_text(
                f"""
[archive]
path = "{db}"

[[sources]]
name = "wire"
sitemaps = ["{wire.base}/sitemap.xml"]
delay = 0

[[sources]]
name = "outlet"
listings = ["{outlet.base}/list/"]
article_links = '/news/[a-z]+/\\d{{4}}/[a-z0-9-]+\\.html$'
delay = 0

[[sources]]
name = "broken-feed"
feeds = ["{wire.base}/broken/404"]
delay = 0

[[rules]]
name = "h20"
keywords = ["H20"]

[[rules]]
name = "ascend"
keywords = ["昇腾"]

[[channels]]
name = "desk"
type = "slack"
webhook_url = "{slack.url}"
""",
                encoding="utf-8",
            )
            # The wire first, so that its article starts the H20 story.
            for source in ("wire", "outlet", "broken-feed"):
                result = run_cli("--config", str(config), "crawl", "--source", source)
                assert result.returncode == 0, result.stderr[-3000:]
            yield CrawledArchive(db, config, wire.base, outlet.base)
    finally:
        slack.close()


@pytest.fixture(scope="session")
def crawled_archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrawledArchive]:
    yield from crawl_archive(tmp_path_factory.mktemp("reading-room"))
