"""Imported by the page stage's forkserver (``multiprocessing``'s preload) before it forks
any worker: runs the page stage once over three small pages of its own (GBK behind a
``gb2312`` label, Big5 with no label, UTF-8 English), so that what the stage loads on first
use (the extractor, the number reader, the language profiles, compiled patterns) is in the
forkserver's memory already, shared by every worker forked from it, instead of being
loaded again by each worker on its first page.

Nothing here may stop the forkserver: a warm-up that fails is logged and skipped, and the
workers load what they need on their first page, as they would without it.
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["SAMPLE_PAGES", "warm_up"]

LOGGER = logging.getLogger(__name__)


def _page(title: str, published: str, paragraphs: list[str]) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<html><head><title>{title}</title></head><body>"
        f'<nav><a href="/">home</a></nav><article><h1>{title}</h1>'
        f'<time datetime="{published}">{published}</time>{body}</article>'
        "<footer>contact</footer></body></html>"
    )


_SIMPLIFIED = _page(
    "晶圆厂扩产计划推迟",
    "2026-03-18T09:30:00+08:00",
    [
        "一家晶圆代工企业周三表示，受设备交付延迟影响，其新产线的投产时间将推迟一个季度。",
        "该企业今年的资本开支预计为120亿元，较去年增长百分之十五，其中七成用于先进制程。",
        "行业协会的数据显示，国产设备在新建产线中的份额已升至30%，清洗和刻蚀环节进展最快。",
        "分析人士认为，出口许可审查周期延长，是设备交付推迟的主要原因，短期内难以缓解。",
    ],
)
_TRADITIONAL = _page(
    "記憶體價格本季續漲",
    "2026年3月18日 10:15",
    [
        "市場研究機構最新報告指出，受伺服器需求帶動，記憶體合約價格本季預估上漲約8%。",
        "多家模組廠表示，明年上半年將擴大產能，相關投資金額合計超過新台幣500億元。",
        "業者也提醒，終端消費需求仍然疲弱，下半年價格走勢存在不確定性，須密切觀察庫存變化。",
    ],
)
_ENGLISH = _page(
    "Toolmaker trims outlook as licence reviews lengthen",
    "2026-03-18T14:00:00Z",
    [
        "A maker of chip-manufacturing equipment cut its full-year revenue outlook by 6% on "
        "Wednesday, saying licence reviews for some customers now take twice as long.",
        "The company expects about $1.2 billion of orders to slip into next year, and said it "
        "had not yet lost any customer to a competitor because of the delays.",
        "Its shares fell 4.5% in early trading, while the wider semiconductor index was flat.",
    ],
)

# (body, Content-Type) as a portal would serve them.
SAMPLE_PAGES: tuple[tuple[bytes, str], ...] = (
    (_SIMPLIFIED.encode("gbk"), "text/html; charset=gb2312"),
    (_TRADITIONAL.encode("big5"), "text/html"),
    (_ENGLISH.encode("utf-8"), "text/html; charset=utf-8"),
)


def warm_up() -> list[dict[str, Any]]:
    """Run the page stage over :data:`SAMPLE_PAGES`; the processed articles (empty when the
    warm-up failed)."""
    try:
        from crawler.page_stage import entity_scanner, process_article
        from crawler.text.entities import load_catalogue

        catalogue = load_catalogue([])
        scanner = entity_scanner(catalogue)
        return [
            process_article(
                {
                    "source": "warm-up",
                    "url": f"http://warm-up.invalid/{n}.html",
                    "body": body,
                    "content_type": content_type,
                    "fetched_at": "2026-03-18T12:00:00Z",
                    "options": {},
                },
                catalogue,
                scanner,
            )
            for n, (body, content_type) in enumerate(SAMPLE_PAGES)
        ]
    except Exception:  # the workers load on their first page instead
        LOGGER.warning("the page stage's warm-up failed; workers start cold", exc_info=True)
        return []


warm_up()
